//! `serviceValidate` answers (CAS 3.0 protocol, §2.5 and §2.6), XML or JSON.

use std::collections::BTreeMap;

use quick_xml::escape::escape;

use crate::ValidationError;

/// The CAS XML namespace.
pub const CAS_NS: &str = "http://www.yale.edu/tp/cas";

/// A successful validation as XML, with the released attributes.
pub fn success_xml(user: &str, attributes: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<cas:serviceResponse xmlns:cas=\"");
    out.push_str(CAS_NS);
    out.push_str("\">\n  <cas:authenticationSuccess>\n    <cas:user>");
    out.push_str(&escape(user));
    out.push_str("</cas:user>\n    <cas:attributes>\n");
    for (name, values) in attributes {
        // Attribute names become element names: keep only what XML allows.
        if !is_xml_name(name) {
            continue;
        }
        for value in values {
            out.push_str("      <cas:");
            out.push_str(name);
            out.push('>');
            out.push_str(&escape(value.as_str()));
            out.push_str("</cas:");
            out.push_str(name);
            out.push_str(">\n");
        }
    }
    out.push_str("    </cas:attributes>\n  </cas:authenticationSuccess>\n</cas:serviceResponse>\n");
    out
}

/// A refused validation as XML.
pub fn failure_xml(error: &ValidationError) -> String {
    format!(
        "<cas:serviceResponse xmlns:cas=\"{CAS_NS}\">\n  <cas:authenticationFailure code=\"{}\">{}</cas:authenticationFailure>\n</cas:serviceResponse>\n",
        error.code(),
        escape(error.to_string().as_str())
    )
}

/// A successful validation as JSON (`format=JSON`).
pub fn success_json(user: &str, attributes: &BTreeMap<String, Vec<String>>) -> String {
    serde_json::json!({
        "serviceResponse": {
            "authenticationSuccess": { "user": user, "attributes": attributes }
        }
    })
    .to_string()
}

/// A refused validation as JSON.
pub fn failure_json(error: &ValidationError) -> String {
    serde_json::json!({
        "serviceResponse": {
            "authenticationFailure": { "code": error.code(), "description": error.to_string() }
        }
    })
    .to_string()
}

/// A SAML 1.1-style logout request sent back-channel to a service (CAS protocol
/// §2.3.3): the service ends the session it opened with `ticket`.
pub fn logout_request(ticket: &str, id: &str, instant: &str) -> String {
    format!(
        "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{}\" Version=\"2.0\" IssueInstant=\"{}\"><saml:NameID>@NOT_USED@</saml:NameID><samlp:SessionIndex>{}</samlp:SessionIndex></samlp:LogoutRequest>",
        escape(id),
        escape(instant),
        escape(ticket)
    )
}

fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client;

    #[test]
    fn success_round_trips_through_the_client_parser() {
        let mut attrs = BTreeMap::new();
        attrs.insert(
            "displayName".to_string(),
            vec!["Zoé <O'Brien> & co".to_string()],
        );
        attrs.insert(
            "profiles".to_string(),
            vec!["eleve".into(), "parent".into()],
        );
        attrs.insert("bad name".to_string(), vec!["dropped".into()]);
        let xml = success_xml("zoe.obrien", &attrs);
        let parsed = client::parse_validation(&xml).expect("parse");
        assert_eq!(parsed.user, "zoe.obrien");
        assert_eq!(parsed.attributes["displayName"], ["Zoé <O'Brien> & co"]);
        assert_eq!(parsed.attributes["profiles"], ["eleve", "parent"]);
        assert!(!parsed.attributes.contains_key("bad name"));
    }

    #[test]
    fn failures_carry_the_code() {
        let xml = failure_xml(&ValidationError::InvalidService);
        assert!(xml.contains("code=\"INVALID_SERVICE\""));
        assert!(client::parse_validation(&xml).is_err());
        let json: serde_json::Value =
            serde_json::from_str(&failure_json(&ValidationError::InvalidTicket)).expect("json");
        assert_eq!(
            json["serviceResponse"]["authenticationFailure"]["code"],
            "INVALID_TICKET"
        );
    }

    #[test]
    fn json_success_has_user_and_attributes() {
        let mut attrs = BTreeMap::new();
        attrs.insert("mail".to_string(), vec!["a@b.fr".to_string()]);
        let json: serde_json::Value =
            serde_json::from_str(&success_json("a", &attrs)).expect("json");
        let ok = &json["serviceResponse"]["authenticationSuccess"];
        assert_eq!(ok["user"], "a");
        assert_eq!(ok["attributes"]["mail"][0], "a@b.fr");
    }

    #[test]
    fn logout_request_names_the_ticket() {
        let xml = logout_request("ST-abc", "LR-1", "2026-11-26T08:00:00Z");
        assert_eq!(
            client::parse_logout_request(&xml).as_deref(),
            Some("ST-abc")
        );
    }
}
