//! The client side: a portal that delegates its login to an external CAS server reads
//! the server's validation answers and its single logout requests.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use crate::CasError;

/// A user as a CAS server vouches for her.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasUser {
    /// `cas:user`.
    pub user: String,
    /// `cas:attributes`, multi-valued.
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// The largest validation answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// Read a `serviceValidate` XML answer. A failure answer is an error carrying the
/// server's code. Entities other than the five XML ones are never expanded (quick-xml
/// does not read DTDs).
pub fn parse_validation(xml: &str) -> Result<CasUser, CasError> {
    if xml.len() > MAX_ANSWER {
        return Err(CasError::BadAnswer("answer too large".into()));
    }
    // Text is not trimmed while reading: entity references split it into pieces.
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut user: Option<String> = None;
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failure: Option<String> = None;
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Err(e) => return Err(CasError::BadAnswer(e.to_string())),
            Ok(Event::Eof) => break,
            Ok(Event::DocType(_)) => {
                return Err(CasError::BadAnswer("a DOCTYPE is not accepted".into()));
            }
            Ok(Event::Start(e)) => {
                let name = local(e.name().as_ref());
                if name == "authenticationFailure" {
                    let code = e
                        .try_get_attribute("code")
                        .ok()
                        .flatten()
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                        .unwrap_or_else(|| "UNKNOWN".into());
                    failure = Some(code);
                }
                path.push(name);
                text.clear();
            }
            Ok(Event::Text(t)) => {
                let piece = t.decode().map_err(|e| CasError::BadAnswer(e.to_string()))?;
                text.push_str(&piece);
            }
            Ok(Event::GeneralRef(r)) => {
                let name = r.decode().map_err(|e| CasError::BadAnswer(e.to_string()))?;
                let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                    .map(str::to_string)
                    .or_else(|| r.resolve_char_ref().ok().flatten().map(|c| c.to_string()))
                    .ok_or_else(|| {
                        CasError::BadAnswer(format!("unknown entity &{name}; not expanded"))
                    })?;
                text.push_str(&resolved);
            }
            Ok(Event::CData(c)) => {
                text.push_str(&String::from_utf8_lossy(&c.into_inner()));
            }
            Ok(Event::End(_)) => {
                let depth = path.len();
                if depth >= 3
                    && path[depth - 2] == "authenticationSuccess"
                    && path[depth - 1] == "user"
                {
                    user = Some(text.trim().to_string());
                } else if depth >= 4 && path[depth - 2] == "attributes" {
                    attributes
                        .entry(path[depth - 1].clone())
                        .or_default()
                        .push(text.trim().to_string());
                }
                path.pop();
                text.clear();
            }
            Ok(_) => {}
        }
    }
    if let Some(code) = failure {
        return Err(CasError::BadAnswer(format!(
            "the CAS server refused the ticket: {code}"
        )));
    }
    match user {
        Some(user) if !user.is_empty() => Ok(CasUser { user, attributes }),
        _ => Err(CasError::BadAnswer("no cas:user in the answer".into())),
    }
}

/// The ticket named by a back-channel logout request (`samlp:SessionIndex`), if the
/// request can be read.
pub fn parse_logout_request(xml: &str) -> Option<String> {
    if xml.len() > MAX_ANSWER {
        return None;
    }
    let mut reader = Reader::from_str(xml);
    // The text is read whole, entity references included (they split it into pieces), as
    // in `parse_validation`: its first piece alone would name another ticket.
    let mut inside = false;
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Err(_) | Ok(Event::Eof) | Ok(Event::DocType(_)) => return None,
            Ok(Event::Start(e)) => {
                inside = local(e.name().as_ref()) == "SessionIndex";
                text.clear();
            }
            Ok(Event::Text(t)) if inside => text.push_str(&t.decode().ok()?),
            Ok(Event::GeneralRef(r)) if inside => {
                let name = r.decode().ok()?;
                let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                    .map(str::to_string)
                    .or_else(|| r.resolve_char_ref().ok().flatten().map(|c| c.to_string()))?;
                text.push_str(&resolved);
            }
            Ok(Event::CData(c)) if inside => text.push_str(&String::from_utf8_lossy(&c)),
            Ok(Event::End(_)) if inside => {
                let value = text.trim();
                return (!value.is_empty()).then(|| value.to_string());
            }
            Ok(Event::End(_)) => inside = false,
            Ok(_) => {}
        }
    }
}

fn local(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    match name.rsplit_once(':') {
        Some((_, local)) => local.to_string(),
        None => name.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_apereo_style_answer() {
        let xml = r#"<?xml version="1.0"?>
<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
 <cas:authenticationSuccess>
  <cas:user>lea.martin</cas:user>
  <cas:attributes>
   <cas:mail>lea@lycee.fr</cas:mail>
   <cas:ENTPersonProfils>National_ELV</cas:ENTPersonProfils>
   <cas:ENTPersonProfils>National_TUT</cas:ENTPersonProfils>
  </cas:attributes>
 </cas:authenticationSuccess>
</cas:serviceResponse>"#;
        let u = parse_validation(xml).expect("parse");
        assert_eq!(u.user, "lea.martin");
        assert_eq!(u.attributes["ENTPersonProfils"].len(), 2);
    }

    #[test]
    fn refuses_doctype_and_unknown_entities() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess><cas:user>&a;</cas:user></cas:authenticationSuccess></cas:serviceResponse>"#;
        assert!(parse_validation(laughs).is_err());
        let unknown = r#"<cas:serviceResponse xmlns:cas="x"><cas:authenticationSuccess><cas:user>&a;</cas:user></cas:authenticationSuccess></cas:serviceResponse>"#;
        assert!(parse_validation(unknown).is_err());
    }

    /// Found by the `cas_client` fuzz target: the ticket was read up to its first entity
    /// reference (`&lt;…` gave the text after it, `ST-1&amp;x` gave `ST-1`).
    #[test]
    fn logout_request_ticket_is_read_whole_with_its_entities() {
        let request = |index: &str| {
            format!(
                "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
                 <samlp:SessionIndex>{index}</samlp:SessionIndex></samlp:LogoutRequest>"
            )
        };
        assert_eq!(
            parse_logout_request(&request("&lt;cas:x a=&quot;b&quot;&gt;")).as_deref(),
            Some("<cas:x a=\"b\">")
        );
        assert_eq!(
            parse_logout_request(&request(" ST-1&amp;x&#33; ")).as_deref(),
            Some("ST-1&x!")
        );
        assert_eq!(
            parse_logout_request(&request("ST-<![CDATA[a<b]]>")).as_deref(),
            Some("ST-a<b")
        );
        assert_eq!(parse_logout_request(&request("&unknown;")), None);
        assert_eq!(parse_logout_request(&request(" ")), None);
        let ticket = "ST-a&b<c>\"d'";
        assert_eq!(
            parse_logout_request(&crate::response::logout_request(ticket, "LR-1", "now"))
                .as_deref(),
            Some(ticket)
        );
    }

    #[test]
    fn an_empty_or_garbage_answer_is_an_error() {
        assert!(parse_validation("").is_err());
        assert!(parse_validation("<html>oops</html>").is_err());
        assert!(parse_validation("<cas:serviceResponse><cas:authenticationSuccess>").is_err());
    }
}
