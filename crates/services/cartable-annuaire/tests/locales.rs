//! The annuaire's messages: complete in English, and a third language added by a file.

use std::sync::Arc;

use cartable_annuaire::{Annuaire, MESSAGES};
use cartable_portlet::i18n;
use cartable_portlet::prelude::*;
use cartable_testkit::{RenderOptions, TestKit};

#[test]
fn every_message_is_in_english() {
    assert!(
        MESSAGES.untranslated("en").is_empty(),
        "add to locales/en.ftl: {:?}",
        MESSAGES.untranslated("en")
    );
    assert_eq!(MESSAGES.domain(), "cartable-annuaire");
}

#[tokio::test]
async fn a_breton_file_translates_the_window() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("br")).unwrap();
    std::fs::write(
        dir.path().join("br").join("cartable-annuaire.ftl"),
        "title = Levr-chomz\nsearch-title = Klask un den\nfound = { $count ->\n    [one] { $count } den kavet.\n   *[other] { $count } a dud kavet.\n}\nfield-mail = Postel\n",
    )
    .unwrap();
    let languages = i18n::add_locale_dir(dir.path()).unwrap();
    assert_eq!(
        languages,
        ["br".parse::<i18n::LanguageIdentifier>().unwrap()]
    );

    // Built after the directory was added, as the portal builds its portlets.
    let annuaire = Annuaire::new();
    assert_eq!(annuaire.descriptor().title.get("br"), "Levr-chomz");
    assert_eq!(annuaire.descriptor().title.get("fr"), "Annuaire");

    let lea = Person {
        id: "lea".into(),
        display_name: "Léa Martin".into(),
        profiles: vec![Profile::Eleve],
        attributes: [("mail".to_string(), vec!["lea@example.org".to_string()])].into(),
    };
    let kit = TestKit::new(Arc::new(annuaire))
        .person(lea.clone())
        .user(lea)
        .locale("br");
    let out = kit
        .render_with(&RenderOptions::new().param("nom", "léa"))
        .await
        .unwrap();
    let text = out.text();
    assert!(text.contains("Klask un den"), "{text}");
    assert!(text.contains("1 den kavet."), "{text}");
    assert!(out.html().contains(r#"<th scope="col">Postel</th>"#));
    // What the file does not translate comes in French.
    assert!(text.contains("Mon carnet d’adresses"), "{text}");
}
