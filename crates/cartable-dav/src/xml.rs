//! The XML of WebDAV requests read into a small tree (bodies are bounded by the portal),
//! and the multistatus answers written.

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// `DAV:`.
pub const DAV: &str = "DAV:";
/// CalDAV, RFC 4791.
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
/// CardDAV, RFC 6352.
pub const CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";
/// Apple's calendarserver extensions (`getctag`).
pub const CS: &str = "http://calendarserver.org/ns/";
/// Apple's iCal extensions (`calendar-color`).
pub const APPLE: &str = "http://apple.com/ns/ical/";

/// The deepest nesting of a request body that is read.
const MAX_DEPTH: usize = 64;
/// The most elements of a request body that are read.
const MAX_ELEMENTS: usize = 50_000;

/// A namespaced element name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name {
    /// Its namespace (`""` when unbound).
    pub ns: String,
    /// Its local name.
    pub local: String,
}

impl Name {
    /// A name in `ns`.
    pub fn new(ns: &str, local: &str) -> Name {
        Name {
            ns: ns.to_string(),
            local: local.to_string(),
        }
    }

    /// Whether it is `local` in `ns`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }
}

/// An element of a request body.
#[derive(Debug, Clone, Default)]
pub struct Elem {
    /// Its name.
    pub name: Option<Name>,
    /// Its attributes without a namespace (`start`, `end`, `name`).
    pub attrs: Vec<(String, String)>,
    /// Its child elements.
    pub children: Vec<Elem>,
    /// Its text.
    pub text: String,
}

impl Elem {
    /// Whether it is `local` in `ns`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.name.as_ref().is_some_and(|n| n.is(ns, local))
    }

    /// The first child named `local` in `ns`.
    pub fn child(&self, ns: &str, local: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.is(ns, local))
    }

    /// Every element below (not itself) named `local` in `ns`, in document order.
    pub fn descendants<'a>(&'a self, ns: &str, local: &str, out: &mut Vec<&'a Elem>) {
        for c in &self.children {
            if c.is(ns, local) {
                out.push(c);
            }
            c.descendants(ns, local, out);
        }
    }

    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Read a request body into its root element; an empty body is `None`.
pub fn parse(body: &[u8]) -> Result<Option<Elem>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let text = std::str::from_utf8(body).map_err(|_| "the XML body is not UTF-8".to_string())?;
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Elem> = vec![Elem::default()];
    let mut count = 0usize;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("the XML body is not well-formed: {e}"))?;
        let ns = match ns {
            ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
            _ => String::new(),
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                count += 1;
                if count > MAX_ELEMENTS || stack.len() > MAX_DEPTH {
                    return Err("the XML body is too large or too deep".into());
                }
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let mut elem = Elem {
                    name: Some(Name { ns, local }),
                    ..Elem::default()
                };
                for attr in e.attributes().flatten() {
                    let key = attr.key.local_name();
                    if attr.key.as_ref().starts_with(b"xmlns") {
                        continue;
                    }
                    let value = attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| format!("an XML attribute is not readable: {e}"))?;
                    elem.attrs.push((
                        String::from_utf8_lossy(key.as_ref()).into_owned(),
                        value.into_owned(),
                    ));
                }
                if matches!(event, Event::Start(_)) {
                    stack.push(elem);
                } else if let Some(top) = stack.last_mut() {
                    top.children.push(elem);
                }
            }
            Event::End(_) => {
                let done = stack.pop().ok_or("unbalanced XML")?;
                match stack.last_mut() {
                    Some(top) => top.children.push(done),
                    None => return Err("unbalanced XML".into()),
                }
            }
            Event::Text(t) => {
                let s = t
                    .xml_content(XmlVersion::Implicit1_0)
                    .map_err(|e| format!("XML text is not readable: {e}"))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                let s = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match r.decode().as_deref() {
                        Ok("amp") => "&".into(),
                        Ok("lt") => "<".into(),
                        Ok("gt") => ">".into(),
                        Ok("quot") => "\"".into(),
                        Ok("apos") => "'".into(),
                        _ => return Err("the XML body uses an unknown entity".into()),
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::DocType(_) => return Err("a DOCTYPE is not accepted in a request".into()),
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err("the XML body ends before its elements are closed".into());
    }
    let root = stack.pop().unwrap_or_default();
    Ok(root.children.into_iter().next())
}

/// Escape text for an element's content or an attribute.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// The prefix of a namespace declared on every answer's root element.
fn prefix(ns: &str) -> Option<&'static str> {
    match ns {
        DAV => Some("d"),
        CALDAV => Some("c"),
        CARDDAV => Some("card"),
        CS => Some("cs"),
        APPLE => Some("a"),
        _ => None,
    }
}

/// The namespace declarations of an answer's root element.
pub const DECLARATIONS: &str = r#"xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/" xmlns:a="http://apple.com/ns/ical/""#;

/// `<name>inner</name>` (or empty) for a property, in any namespace.
pub fn element(name: &Name, inner: Option<&str>) -> String {
    let (open, close) = match prefix(&name.ns) {
        Some(p) => (format!("{p}:{}", name.local), format!("{p}:{}", name.local)),
        None => (
            format!("x:{} xmlns:x=\"{}\"", name.local, escape(&name.ns)),
            format!("x:{}", name.local),
        ),
    };
    match inner {
        Some(inner) if !inner.is_empty() => format!("<{open}>{inner}</{close}>"),
        _ => format!("<{open}/>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_propfind_is_read_with_its_namespaces() {
        let body = br#"<?xml version="1.0"?>
            <A:propfind xmlns:A="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
              <A:prop><A:getetag/><C:calendar-home-set/><x xmlns="urn:other"/></A:prop>
            </A:propfind>"#;
        let root = parse(body).unwrap().unwrap();
        assert!(root.is(DAV, "propfind"));
        let prop = root.child(DAV, "prop").unwrap();
        let names: Vec<_> = prop
            .children
            .iter()
            .map(|c| c.name.clone().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                Name::new(DAV, "getetag"),
                Name::new(CALDAV, "calendar-home-set"),
                Name::new("urn:other", "x")
            ]
        );
    }

    #[test]
    fn text_and_entities_are_kept() {
        let root = parse(b"<d:href xmlns:d=\"DAV:\">/a&amp;b/&#233;</d:href>")
            .unwrap()
            .unwrap();
        assert_eq!(root.text, "/a&b/\u{e9}");
    }

    #[test]
    fn bad_bodies_are_refused_with_a_reason() {
        assert!(parse(b"").unwrap().is_none());
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a>").is_err());
        assert!(parse(b"<!DOCTYPE x [<!ENTITY e \"x\">]><a>&e;</a>").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn unknown_namespaces_are_declared_where_used() {
        assert_eq!(
            element(&Name::new(DAV, "getetag"), Some("\"1\"")),
            "<d:getetag>\"1\"</d:getetag>"
        );
        assert_eq!(
            element(&Name::new("urn:x", "y"), None),
            "<x:y xmlns:x=\"urn:x\"/>"
        );
    }
}
