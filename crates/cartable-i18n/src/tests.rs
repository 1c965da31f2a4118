//! The messages' lookups, fallbacks and locale directories.

use std::sync::LazyLock;

use super::*;

const FR: &str = "\
titre = Annuaire
    .description = Trouver une personne
bonjour = Bonjour { $nom } !
trouvees = { $n ->
    [one] { $n } personne trouvée
   *[other] { $n } personnes trouvées
}
seulement-fr = Seulement en français
";

const EN: &str = "\
titre = Directory
    .description = Find someone
bonjour = Hello { $nom }!
trouvees = { $n ->
    [one] one person found
   *[other] { $n } people found
}
";

static MESSAGES: LazyLock<Messages> =
    LazyLock::new(|| Messages::new("cartable-i18n-test", &[("fr", FR), ("en", EN)]));

#[test]
fn lookups_by_locale_with_arguments_and_plurals() {
    assert_eq!(MESSAGES.get("fr", "titre"), "Annuaire");
    assert_eq!(MESSAGES.get("en", "titre"), "Directory");
    assert_eq!(MESSAGES.get("en-GB", "titre"), "Directory");
    assert_eq!(MESSAGES.get("en_US", "titre"), "Directory");
    assert_eq!(MESSAGES.get("en", "titre.description"), "Find someone");
    let lea = args! { "nom" => "Léa" };
    assert_eq!(MESSAGES.get_args("fr", "bonjour", &lea), "Bonjour Léa !");
    assert_eq!(MESSAGES.get_args("en", "bonjour", &lea), "Hello Léa!");
    // French "one" covers 0 and 1.
    for (n, fr, en) in [
        (0, "0 personne trouvée", "0 people found"),
        (1, "1 personne trouvée", "one person found"),
        (42, "42 personnes trouvées", "42 people found"),
    ] {
        assert_eq!(MESSAGES.get_args("fr", "trouvees", &args! { "n" => n }), fr);
        assert_eq!(MESSAGES.get_args("en", "trouvees", &args! { "n" => n }), en);
    }
}

#[test]
fn output_is_plain_text_without_isolation_marks() {
    let text = MESSAGES.get_args("fr", "bonjour", &args! { "nom" => "<b>Léa</b>" });
    assert_eq!(
        text, "Bonjour <b>Léa</b> !",
        "escaping is the template's job"
    );
    assert!(!text.contains(['\u{2068}', '\u{2069}']));
}

#[test]
fn falls_back_to_french_then_to_the_id() {
    assert_eq!(MESSAGES.get("en", "seulement-fr"), "Seulement en français");
    assert_eq!(MESSAGES.get("de", "titre"), "Annuaire");
    assert_eq!(MESSAGES.get("", "titre"), "Annuaire");
    assert_eq!(MESSAGES.get("not a tag!", "titre"), "Annuaire");
    assert_eq!(MESSAGES.get("en", "nulle-part"), "nulle-part");
    assert_eq!(MESSAGES.get("en", "titre.nope"), "titre.nope");
    // A missing argument shows its name rather than failing.
    assert_eq!(MESSAGES.get("fr", "bonjour"), "Bonjour {$nom} !");
    assert_eq!(MESSAGES.untranslated("en"), ["seulement-fr"]);
    assert!(MESSAGES.untranslated("fr").is_empty());
    assert!(MESSAGES.untranslated("de").is_empty(), "no German at all");
}

#[test]
fn translations_list_every_language_default_first() {
    assert_eq!(
        MESSAGES.translations("titre"),
        [
            ("fr".to_string(), "Annuaire".to_string()),
            ("en".to_string(), "Directory".to_string())
        ]
    );
    assert_eq!(
        MESSAGES.translations("seulement-fr"),
        [("fr".to_string(), "Seulement en français".to_string())]
    );
    assert!(MESSAGES.translations("nulle-part").is_empty());
    assert_eq!(MESSAGES.domain(), "cartable-i18n-test");
}

#[test]
fn usable_from_many_threads() {
    fn shared<T: Send + Sync>(_: &T) {}
    shared(&*MESSAGES);
    let handles: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let locale = if i % 2 == 0 { "fr" } else { "en" };
                MESSAGES.get_args(locale, "trouvees", &args! { "n" => i })
            })
        })
        .collect();
    let texts: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(texts[2], "2 personnes trouvées");
    assert_eq!(texts[3], "3 people found");
}

#[test]
fn bad_sources_are_refused_with_a_clear_error() {
    let err = Messages::try_new("x", &[("fr", "ok = Oui\nmauvais message\n")]).unwrap_err();
    assert!(matches!(err, I18nError::Syntax { .. }), "{err}");
    assert!(err.to_string().contains("line 2"), "{err}");
    let err = Messages::try_new("x", &[("fr", "a = 1\na = 2\n")]).unwrap_err();
    assert!(matches!(err, I18nError::Duplicate { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "x (fr): message \"a\" is defined twice; keep one"
    );
    let err = Messages::try_new("x", &[("fr", ""), ("fr", "")]).unwrap_err();
    assert!(matches!(err, I18nError::Duplicate { .. }), "{err}");
    let err = Messages::try_new("x", &[("français", "a = 1")]).unwrap_err();
    assert!(matches!(err, I18nError::BadLanguage { .. }), "{err}");
}

#[test]
#[should_panic(expected = "do not parse")]
fn new_panics_on_a_broken_embedded_source() {
    let _ = Messages::new("x", &[("fr", "{{{")]);
}

#[test]
fn a_third_language_is_added_by_a_file() {
    let domain = "cartable-i18n-test-locale-dir";
    // Built before the directory is added, as a `static` may be.
    let messages = Messages::new(domain, &[("fr", FR), ("en", EN)]);
    assert_eq!(messages.get("de", "titre"), "Annuaire");

    let dir = tempfile::tempdir().unwrap();
    let write = |lang: &str, file: &str, text: &str| {
        std::fs::create_dir_all(dir.path().join(lang)).unwrap();
        std::fs::write(dir.path().join(lang).join(file), text).unwrap();
    };
    write(
        "de",
        &format!("{domain}.ftl"),
        "titre = Verzeichnis\nbonjour = Hallo { $nom }!\n",
    );
    write(
        "br",
        &format!("{domain}.ftl"),
        "titre = Levr-chomz\n\nmauvais message\n",
    );
    write(
        "fr",
        &format!("{domain}.ftl"),
        "seulement-fr = Mot de l’établissement\n",
    );
    write("it", "another-domain.ftl", "titre = Rubrica\n");
    std::fs::create_dir_all(dir.path().join("not a language")).unwrap();

    let mut found: Vec<String> = add_locale_dir(dir.path())
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    found.sort();
    assert_eq!(found, ["br", "de", "fr", "it"]);

    assert_eq!(messages.get("de", "titre"), "Verzeichnis");
    assert_eq!(messages.get("de-AT", "titre"), "Verzeichnis");
    assert_eq!(
        messages.get_args("de", "bonjour", &args! { "nom" => "Léa" }),
        "Hallo Léa!"
    );
    assert_eq!(messages.get("de", "trouvees.x"), "trouvees.x");
    assert_eq!(
        messages.get_args("de", "trouvees", &args! { "n" => 2 }),
        "2 personnes trouvées",
        "a message the file lacks comes in French"
    );
    // A file with an error keeps its valid messages.
    assert_eq!(messages.get("br", "titre"), "Levr-chomz");
    // A file for a language the crate has overrides what it defines.
    assert_eq!(messages.get("fr", "seulement-fr"), "Mot de l’établissement");
    assert_eq!(messages.get("fr", "titre"), "Annuaire");
    // Another domain's file is not ours.
    assert_eq!(messages.get("it", "titre"), "Annuaire");
    let languages: Vec<String> = messages
        .languages()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(languages, ["fr", "en", "br", "de"]);
    let titles = messages.translations("titre");
    assert!(titles.contains(&("de".to_string(), "Verzeichnis".to_string())));
    assert_eq!(messages.untranslated("de"), ["seulement-fr", "trouvees"]);

    // Built after: the same languages.
    let later = Messages::new(domain, &[("fr", FR), ("en", EN)]);
    assert_eq!(later.get("de", "titre"), "Verzeichnis");
}

#[test]
fn an_unreadable_locale_dir_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent");
    let err = add_locale_dir(&missing).unwrap_err();
    assert!(matches!(err, I18nError::LocaleDir { .. }), "{err}");
    assert!(err.to_string().contains("absent"), "{err}");
}
