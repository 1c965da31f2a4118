//! The vCard files the carnet exports (3.0 and 4.0), read by a parser this project did not
//! write: `vobject` from PyPI, which scripts/test.sh installs in a virtual environment and
//! names in `CARTABLE_TEST_VOBJECT_PYTHON`. It must find every card with the same name,
//! e-mail address, telephone, title, organisation and UID.
//!
//! Outside scripts/test.sh, the test runs with `python3` if `vobject` imports there, and
//! is skipped with a loud message if not.

use std::process::Command;
use std::sync::Arc;

use cartable_carnet::Carnet;
use cartable_testkit::TestKit;

/// Prints, for each card of the file, its fields as JSON.
const READ: &str = r#"
import json, sys
import vobject
out = []
with open(sys.argv[1], encoding="utf-8") as f:
    for card in vobject.readComponents(f.read()):
        def first(name):
            items = card.contents.get(name.lower(), [])
            if not items:
                return ""
            v = items[0].value
            if name == "N":
                return [v.family, v.given]
            if name == "ORG":
                return ", ".join(v) if isinstance(v, list) else v
            if name == "ADR":
                return v.street
            return v
        out.append({k: first(k) for k in ["UID", "FN", "N", "EMAIL", "TEL", "TITLE", "ORG", "NOTE", "ADR"]})
print(json.dumps(out, ensure_ascii=False))
"#;

/// The Python that has `vobject`; `None` (skip) outside scripts/test.sh where it is
/// missing.
fn python() -> Option<String> {
    let given = std::env::var("CARTABLE_TEST_VOBJECT_PYTHON").ok();
    let python = given.clone().unwrap_or_else(|| "python3".into());
    let found = Command::new(&python)
        .args(["-c", "import vobject"])
        .output()
        .is_ok_and(|o| o.status.success());
    match (found, given) {
        (true, _) => Some(python),
        (false, Some(_)) => panic!(
            "CARTABLE_TEST_VOBJECT_PYTHON={python} cannot import vobject: scripts/test.sh \
             installs it (pip install vobject in a venv)"
        ),
        (false, None) => {
            eprintln!(
                "\n!!!!!!!! vobject NOT FOUND: the vCard export was NOT read by an independent \
                 parser. Run scripts/test.sh, or `pip install vobject` and set \
                 CARTABLE_TEST_VOBJECT_PYTHON. !!!!!!!!\n"
            );
            None
        }
    }
}

#[tokio::test]
async fn vobject_reads_the_vcard_exports() {
    let Some(python) = python() else {
        return;
    };
    let kit = TestKit::new(Arc::new(Carnet::new()));
    for (nom, prenom, courriel, fonction) in [
        (
            "Martin",
            "Léa",
            "lea.martin@example.fr",
            "Professeure; principale, 3e B",
        ),
        ("Nguyễn", "Văn An", "an@example.vn", "Parent délégué"),
        ("O'Brien", "Seán", "sean@example.ie", ""),
    ] {
        kit.action([
            ("op", "add"),
            ("nom", nom),
            ("prenom", prenom),
            ("courriel", courriel),
            ("fonction", fonction),
            ("institution", "Lycée Victor-Hugo"),
            ("telephone", "+33 1 23 45 67 89"),
            ("adresse", "12 rue des Écoles\n75005 Paris"),
            ("note", &"Une note assez longue pour être pliée sur plusieurs lignes, avec des accents : éèàç. ".repeat(3)),
        ])
        .await
        .unwrap();
    }
    let dir = std::env::temp_dir().join(format!("carnet-vobject-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for format in ["vcard4", "vcard3"] {
        let out = kit.resource("export", [("format", format)]).await.unwrap();
        let path = dir.join(format!("{format}.vcf"));
        std::fs::write(&path, &out.body).unwrap();
        let run = Command::new(&python)
            .args(["-c", READ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{format}: vobject failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let cards: Vec<serde_json::Value> = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(cards.len(), 3, "{format}: {cards:?}");
        let lea = cards
            .iter()
            .find(|c| c["EMAIL"] == "lea.martin@example.fr")
            .expect("Léa's card");
        assert_eq!(lea["FN"], "Léa Martin", "{format}");
        assert_eq!(lea["N"], serde_json::json!(["Martin", "Léa"]), "{format}");
        assert_eq!(lea["TITLE"], "Professeure; principale, 3e B", "{format}");
        assert_eq!(lea["ORG"], "Lycée Victor-Hugo", "{format}");
        assert_eq!(lea["TEL"], "+33 1 23 45 67 89", "{format}");
        assert_eq!(lea["ADR"], "12 rue des Écoles\n75005 Paris", "{format}");
        assert!(
            lea["NOTE"].as_str().unwrap().ends_with("éèàç."),
            "{format}: {lea}"
        );
        assert!(lea["UID"].as_str().unwrap().ends_with("@cartable"));
        let an = cards
            .iter()
            .find(|c| c["EMAIL"] == "an@example.vn")
            .expect("An's card");
        assert_eq!(an["FN"], "Văn An Nguyễn", "{format}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
