//! The window through the test kit: books, entries, people of the directory, groups,
//! shares, files; and that a pupil never reaches another's entries, through any door, on
//! SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cartable_portlet::dav::{DavError, DavService};
use cartable_portlet::export::Portable;
use cartable_portlet::prelude::*;
use cartable_portlet::recipients::{
    Recipient, RecipientKind, RecipientSource, Visibility, VisiblePerson,
};
use cartable_portlet::search::{SearchContext, SearchError, Searchable};
use cartable_portlet::{LocalizedText, sqlx};
use cartable_socle::{GroupPolicy, Groups, SystemClock, ToolGrant};
use cartable_testkit::{CallError, RenderOptions, TestFile, TestKit};

use super::*;

const THUNDERBIRD_VCF: &[u8] = include_bytes!("../tests/fixtures/thunderbird.vcf");
const GOOGLE_VCF: &[u8] = include_bytes!("../tests/fixtures/google.vcf");
const OUTLOOK_VCF: &[u8] = include_bytes!("../tests/fixtures/outlook.vcf");
const THUNDERBIRD_LDIF: &[u8] = include_bytes!("../tests/fixtures/thunderbird.ldif");

/// A stand-in for the directory's rule of visibility (the annuaire's, tested with the
/// real one in the workspace's tests): pupils see a person's `mail` and `title`, never
/// her `telephoneNumber`; nobody finds a person whose `hidden` attribute is `yes`.
pub(crate) struct Rule(Descriptor);

impl Rule {
    pub(crate) fn new() -> Arc<Rule> {
        Arc::new(Rule(Descriptor::new("regle", LocalizedText::fr("Règle"))))
    }
}

#[async_trait]
impl Portlet for Rule {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    fn recipients(&self) -> Option<&dyn RecipientSource> {
        Some(self)
    }
    async fn render(&self, _: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::text("").into())
    }
}

#[async_trait]
impl RecipientSource for Rule {
    fn source(&self) -> &str {
        "regle"
    }
    async fn find(
        &self,
        cx: &SearchContext,
        _: &Person,
        text: &str,
        limit: usize,
    ) -> Result<Vec<Recipient>, SearchError> {
        let q = cartable_socle::PersonQuery {
            name: Some(text.to_string()),
            limit,
            ..Default::default()
        };
        Ok(cx
            .services()
            .directory
            .search(&q)
            .await?
            .into_iter()
            .filter(|p| p.attribute("hidden") != Some("yes"))
            .map(|p| Recipient {
                id: Recipient::user_id(&p.id),
                kind: RecipientKind::Person,
                label: p.display_name,
                detail: String::new(),
                email: None,
                source: "regle".into(),
            })
            .collect())
    }
    async fn members(
        &self,
        _: &SearchContext,
        _: &Person,
        _: &str,
    ) -> Result<Option<Vec<String>>, SearchError> {
        Ok(None)
    }
    async fn person(
        &self,
        cx: &SearchContext,
        _: &Person,
        uid: &str,
    ) -> Result<Visibility, SearchError> {
        let Some(p) = cx.services().directory.person(uid).await? else {
            return Ok(Visibility::Hidden);
        };
        if p.attribute("hidden") == Some("yes") {
            return Ok(Visibility::Hidden);
        }
        let fields: BTreeMap<String, Vec<String>> = p
            .attributes
            .into_iter()
            .filter(|(k, _)| k == "mail" || k == "title")
            .collect();
        Ok(Visibility::Visible(VisiblePerson {
            id: p.id,
            display_name: p.display_name,
            fields,
        }))
    }
}

fn person(id: &str, name: &str, profile: Profile, attrs: &[(&str, &str)]) -> Person {
    Person {
        id: id.into(),
        display_name: name.into(),
        profiles: vec![profile],
        attributes: attrs
            .iter()
            .map(|(k, v)| ((*k).to_string(), vec![(*v).to_string()]))
            .collect(),
    }
}

/// Camille (a pupil), with Théo (a pupil), Mme Durand (a teacher with a mail, a title
/// and a telephone number) and Secret (someone nobody finds) in the directory.
pub(crate) fn kit() -> TestKit {
    TestKit::new(Arc::new(Carnet::new()))
        .person(person("theo", "Théo Bernard", Profile::Eleve, &[]))
        .person(person(
            "durand",
            "Anne Durand",
            Profile::Enseignant,
            &[
                ("mail", "anne.durand@lycee.fr"),
                ("title", "Professeure de lettres"),
                ("telephoneNumber", "01 99 99 99 99"),
            ],
        ))
        .person(person(
            "secret",
            "Sam Secret",
            Profile::Eleve,
            &[("hidden", "yes")],
        ))
        .with_recipient_source(Rule::new(), [])
}

fn as_theo(kit: &TestKit) -> TestKit {
    kit.clone()
        .user_with("theo", "Théo Bernard", [Profile::Eleve])
}

async fn add(kit: &TestKit, nom: &str, courriel: &str) -> ActionResponse {
    kit.action([
        ("op", "add"),
        ("nom", nom),
        ("prenom", "Jean"),
        ("fonction", "Parent délégué"),
        ("telephone", "06 12 34 56 78"),
        ("courriel", courriel),
        ("adresse", "3 place de la Mairie\n75004 Paris"),
    ])
    .await
    .unwrap()
}

async fn import(kit: &TestKit, name: &str, bytes: Vec<u8>) -> Result<ActionResponse, CallError> {
    kit.action_with_files(
        [("op", "import")],
        [TestFile::new("file", name, "text/vcard", bytes)],
    )
    .await
}

async fn count(kit: &TestKit, book: &str) -> i64 {
    let db = kit.database().await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM carnet_entry WHERE book = $1")
        .bind(book)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

fn opts(params: &[(&str, &str)]) -> RenderOptions {
    let mut o = RenderOptions::new();
    for (k, v) in params {
        o = o.param(k, *v);
    }
    o
}

#[test]
fn every_message_is_in_english() {
    assert!(
        MESSAGES.untranslated("en").is_empty(),
        "{:?}",
        MESSAGES.untranslated("en")
    );
}

#[tokio::test]
async fn own_contacts_are_added_edited_and_removed() {
    let kit = kit();
    let empty = kit.render().await.unwrap();
    empty.assert_accessible();
    assert!(empty.text().contains("Ce carnet est vide."));
    let done = add(&kit, "Dupont <b>", "jean.dupont@example.fr").await;
    let fiche = kit.render_after(&done).await.unwrap();
    fiche.assert_accessible();
    assert!(
        fiche.html().contains("Dupont &lt;b&gt;"),
        "{}",
        fiche.html()
    );
    let list = kit.render().await.unwrap();
    list.assert_accessible();
    assert!(list.html().contains("<th scope=\"col\">Fonction</th>"));
    assert!(list.html().contains("mailto:jean.dupont@example.fr"));
    kit.action([
        ("op", "edit"),
        ("id", "1"),
        ("nom", "Dupont"),
        ("prenom", "Jeanne"),
        ("courriel", "jeanne@example.fr"),
    ])
    .await
    .unwrap();
    assert!(kit.render().await.unwrap().text().contains("Jeanne Dupont"));
    // A bad address or an empty entry is refused, nothing changed.
    for form in [
        vec![
            ("op", "edit"),
            ("id", "1"),
            ("nom", "x"),
            ("courriel", "pas@"),
        ],
        vec![("op", "add"), ("note", "rien d'autre")],
    ] {
        let err = kit.action(form).await.unwrap_err();
        assert!(
            matches!(err, CallError::Portlet(PortletError::BadRequest(_))),
            "{err:?}"
        );
    }
    assert!(
        kit.render()
            .await
            .unwrap()
            .text()
            .contains("jeanne@example.fr")
    );
    // Removal is confirmed first.
    let ask = kit.action([("op", "remove"), ("id", "1")]).await.unwrap();
    let confirm = kit.render_after(&ask).await.unwrap();
    confirm.assert_accessible();
    assert!(confirm.text().contains("Supprimer « Jeanne Dupont »"));
    assert_eq!(count(&kit, "u:camille").await, 1);
    kit.action([("op", "remove"), ("id", "1"), ("confirm", "yes")])
        .await
        .unwrap();
    assert_eq!(count(&kit, "u:camille").await, 0);
    // Help, in both languages; the page in English.
    let help = kit.render_mode(Mode::Help).await.unwrap();
    help.assert_accessible();
    assert!(help.text().contains("jamais ce qu’elle a choisi de cacher"));
    let en = kit.clone().locale("en").render().await.unwrap();
    assert!(en.text().contains("This address book is empty."));
}

#[tokio::test]
async fn people_of_the_directory_are_shown_as_the_reader_may_see_them() {
    let kit = kit();
    // The search lists whom she may find, not whom she may not.
    let found = kit.render_with(&opts(&[("annuaire", "an")])).await.unwrap();
    found.assert_accessible();
    assert!(found.text().contains("Anne Durand"), "{}", found.text());
    assert!(!found.text().contains("Sam Secret"));
    kit.action([("op", "add-person"), ("person", "durand")])
        .await
        .unwrap();
    // Nobody she may not find is added, even by a forged form.
    let err = kit
        .action([("op", "add-person"), ("person", "secret")])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CallError::Portlet(PortletError::BadRequest(_))
    ));
    let page = kit.render().await.unwrap();
    page.assert_accessible();
    assert!(page.text().contains("anne.durand@lycee.fr"));
    assert!(page.text().contains("Professeure de lettres"));
    assert!(
        !page.text().contains("01 99 99 99 99"),
        "her telephone is not for pupils"
    );
    // Nothing of hers is stored but her name.
    let db = kit.database().await.unwrap();
    let row: (Option<String>, String, String, String) = sqlx::query_as(
        "SELECT person, courriel, telephone, fonction FROM carnet_entry WHERE book = 'u:camille'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            Some("durand".into()),
            String::new(),
            String::new(),
            String::new()
        )
    );
    // The exports follow the same rule.
    for format in ["vcard4", "vcard3", "ldif"] {
        let out = kit.resource("export", [("format", format)]).await.unwrap();
        let text = String::from_utf8(out.body.to_vec()).unwrap();
        assert!(text.contains("anne.durand@lycee.fr"), "{text}");
        assert!(!text.contains("99 99"), "{format}: {text}");
    }
    // An entry of someone who may no longer be found keeps her name only.
    sqlx::query("UPDATE carnet_entry SET person = 'secret' WHERE book = 'u:camille'")
        .execute(db.pool())
        .await
        .unwrap();
    let page = kit.render().await.unwrap();
    assert!(page.text().contains("n’apparaît plus dans l’annuaire"));
    assert!(!page.text().contains("anne.durand@lycee.fr"));
}

/// A group of Mme Durand's with Camille as a reader, Théo as a contributor, with the
/// carnet's tool or not.
async fn group(kit: &TestKit, with_tool: bool) -> String {
    let groups = Groups::new(
        kit.storage().clone(),
        Arc::new(SystemClock),
        GroupPolicy::default(),
    );
    let owner = person("durand", "Anne Durand", Profile::Enseignant, &[]);
    let g = groups
        .create(
            &owner,
            "Club lecture",
            vec!["camille".into(), "theo".into()],
            SystemTime::now() + Duration::from_secs(30 * 86_400),
        )
        .await
        .unwrap();
    let members = vec![
        cartable_socle::Member {
            uid: "camille".into(),
            right: cartable_socle::GroupRight::Reader,
        },
        cartable_socle::Member {
            uid: "theo".into(),
            right: cartable_socle::GroupRight::Contributor,
        },
    ];
    groups
        .set_members_with_rights(&owner, &g.id, members)
        .await
        .unwrap();
    if with_tool {
        let tools = BTreeMap::from([(SERVICE.to_string(), ToolGrant { limit: None })]);
        groups.set_tools(&owner, &g.id, tools, 10).await.unwrap();
    }
    g.id
}

#[tokio::test]
async fn a_group_book_is_read_by_members_and_written_by_contributors() {
    let kit = kit();
    let theo = as_theo(&kit);
    let g = group(&kit, true).await;
    let key = format!("g:{g}");
    theo.action([
        ("op", "add"),
        ("carnet", &key),
        ("nom", "Librairie"),
        ("courriel", "contact@librairie.fr"),
    ])
    .await
    .unwrap();
    let page = kit.render_with(&opts(&[("carnet", &key)])).await.unwrap();
    page.assert_accessible();
    assert!(page.text().contains("Librairie"));
    assert!(
        !page.html().contains("name=\"p.annuaire\""),
        "a reader adds nothing"
    );
    let err = kit
        .action([("op", "add"), ("carnet", &key), ("nom", "Intrus")])
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Portlet(PortletError::NotFound(_))));
    // « Tout »: hers and the group's, until she leaves the group's out.
    add(&kit, "Martin", "m@example.fr").await;
    let all = kit.render_with(&opts(&[("vue", "tout")])).await.unwrap();
    all.assert_accessible();
    assert!(all.text().contains("Librairie") && all.text().contains("Martin"));
    kit.action([("op", "consolidate")]).await.unwrap();
    let all = kit.render_with(&opts(&[("vue", "tout")])).await.unwrap();
    assert!(!all.text().contains("Librairie") && all.text().contains("Martin"));
    // The group's export, for its members only.
    let out = kit
        .resource("export", [("carnet", key.as_str())])
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&out.body).contains("Librairie"));
    let stranger = kit.clone().user_with("zoe", "Zoé", [Profile::Eleve]);
    assert!(matches!(
        stranger
            .resource("export", [("carnet", key.as_str())])
            .await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
    // A group without the tool has no book.
    let other = group(&kit, false).await;
    assert!(matches!(
        kit.render_with(&opts(&[("carnet", &format!("g:{other}"))]))
            .await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
}

#[tokio::test]
async fn shared_entries_are_read_only_for_their_readers() {
    let kit = kit();
    let theo = as_theo(&kit);
    add(&kit, "Partagé", "p@example.fr").await;
    add(&kit, "Privé", "x@example.fr").await;
    kit.action([
        ("op", "share"),
        ("id", "1"),
        ("kind", "user"),
        ("target", "theo"),
    ])
    .await
    .unwrap();
    let err = kit
        .action([
            ("op", "share"),
            ("id", "1"),
            ("kind", "user"),
            ("target", "personne"),
        ])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CallError::Portlet(PortletError::BadRequest(_))
    ));
    let shared = theo
        .render_with(&opts(&[("vue", "partages")]))
        .await
        .unwrap();
    shared.assert_accessible();
    assert!(shared.text().contains("Partagé") && !shared.text().contains("Privé"));
    let fiche = theo
        .render_with(&opts(&[("fiche", "u:camille/1")]))
        .await
        .unwrap();
    fiche.assert_accessible();
    assert!(!fiche.html().contains("name=\"op\" value=\"edit\""));
    // Théo copies it; he neither edits nor removes Camille's.
    theo.action([("op", "copy"), ("carnet", "u:camille"), ("id", "1")])
        .await
        .unwrap();
    assert!(theo.render().await.unwrap().text().contains("Partagé"));
    for form in [
        vec![
            ("op", "edit"),
            ("carnet", "u:camille"),
            ("id", "1"),
            ("nom", "x"),
        ],
        vec![
            ("op", "remove"),
            ("carnet", "u:camille"),
            ("id", "1"),
            ("confirm", "yes"),
        ],
    ] {
        assert!(matches!(
            theo.action(form).await,
            Err(CallError::Portlet(PortletError::NotFound(_)))
        ));
    }
    kit.action([
        ("op", "unshare"),
        ("id", "1"),
        ("kind", "user"),
        ("target", "theo"),
    ])
    .await
    .unwrap();
    assert!(matches!(
        theo.render_with(&opts(&[("fiche", "u:camille/1")])).await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
    assert_eq!(count(&kit, "u:camille").await, 2);
    // Shared with a group's book: Théo, a contributor of the club, copies his own entry
    // there; Camille, a reader, reads it and may not copy into it.
    let g = group(&kit, true).await;
    let key = format!("g:{g}");
    let fiche = theo
        .render_with(&opts(&[("fiche", "u:theo/1")]))
        .await
        .unwrap();
    fiche.assert_accessible();
    assert!(
        fiche.html().contains(&format!(r#"<option value="{key}">"#)),
        "{}",
        fiche.html()
    );
    theo.action([
        ("op", "copy"),
        ("carnet", "u:theo"),
        ("id", "1"),
        ("vers", &key),
    ])
    .await
    .unwrap();
    assert!(
        kit.render_with(&opts(&[("carnet", &key)]))
            .await
            .unwrap()
            .text()
            .contains("Partagé")
    );
    assert!(matches!(
        kit.action([
            ("op", "copy"),
            ("carnet", "u:camille"),
            ("id", "2"),
            ("vers", &key)
        ])
        .await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
}

/// Every door to Camille's entries, tried by Théo: the pages, the export, the actions,
/// the recipient picker.
async fn no_door_opens(kit: &TestKit) {
    add(kit, "Confidentiel", "confidentiel@example.fr").await;
    kit.action([("op", "add-person"), ("person", "durand")])
        .await
        .unwrap();
    let theo = as_theo(kit);
    for params in [
        vec![("carnet", "u:camille")],
        vec![("fiche", "u:camille/1")],
        vec![("fiche", "u:camille/2")],
        vec![("supprimer", "u:camille/1")],
        vec![("nouveau", "u:camille")],
        vec![("carnet", "u:camille"), ("annuaire", "a")],
        vec![("fiche", "u:camille/x")],
    ] {
        let got = theo.render_with(&opts(&params)).await;
        assert!(
            matches!(got, Err(CallError::Portlet(PortletError::NotFound(_)))),
            "{params:?}: {got:?}"
        );
    }
    for format in ["vcard4", "vcard3", "ldif"] {
        assert!(matches!(
            theo.resource("export", [("carnet", "u:camille"), ("format", format)])
                .await,
            Err(CallError::Portlet(PortletError::NotFound(_)))
        ));
    }
    let own = theo
        .resource("export", [("format", "vcard4")])
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&own.body).contains("Confidentiel"));
    for form in [
        vec![("op", "add"), ("carnet", "u:camille"), ("nom", "x")],
        vec![
            ("op", "edit"),
            ("carnet", "u:camille"),
            ("id", "1"),
            ("nom", "x"),
        ],
        vec![
            ("op", "remove"),
            ("carnet", "u:camille"),
            ("id", "1"),
            ("confirm", "yes"),
        ],
        vec![("op", "copy"), ("carnet", "u:camille"), ("id", "1")],
        vec![
            ("op", "add-person"),
            ("carnet", "u:camille"),
            ("person", "theo"),
        ],
        vec![("op", "import"), ("carnet", "u:camille")],
    ] {
        let got = theo.action(form.clone()).await;
        assert!(
            matches!(got, Err(CallError::Portlet(PortletError::NotFound(_)))),
            "{form:?}: {got:?}"
        );
    }
    // Sharing names her own entries only: Théo's "entry 1" is not Camille's.
    assert!(matches!(
        theo.action([
            ("op", "share"),
            ("id", "1"),
            ("kind", "user"),
            ("target", "theo2")
        ])
        .await,
        Err(CallError::Portlet(_))
    ));
    // The picker: nothing of Camille's for Théo.
    let picker = theo.recipients().await.unwrap();
    let found = picker.find(theo.current_user(), "", 100).await.unwrap();
    assert!(found.iter().all(|r| r.source != SERVICE), "{found:?}");
    assert_eq!(
        picker
            .members(theo.current_user(), "carnet:u:camille/1")
            .await
            .unwrap(),
        None
    );
    // CardDAV: Théo's home holds his own book only; Camille's cards are not in it, nor
    // reachable by any name or collection he sends.
    let dav = Carnet::new();
    let cx = theo.data_context("theo").await.unwrap();
    let collections = DavService::collections(&dav, &cx).await.unwrap();
    let ids: Vec<&str> = collections.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["personnel"]);
    assert!(
        DavService::members(&dav, &cx, "personnel", None)
            .await
            .unwrap()
            .is_empty()
    );
    for name in ["e1.vcf", "e2.vcf"] {
        assert!(
            DavService::get(&dav, &cx, "personnel", name)
                .await
                .unwrap()
                .is_none()
        );
    }
    for collection in ["groupe-camille", "u:camille", "../camille/personnel"] {
        assert!(matches!(
            DavService::members(&dav, &cx, collection, None).await,
            Err(DavError::NotFound(_))
        ));
    }
    let changes = DavService::changes(&dav, &cx, "personnel", None)
        .await
        .unwrap();
    assert!(changes.changed.is_empty() && changes.removed.is_empty());
    let camille_cx = kit.data_context("camille").await.unwrap();
    let mine = DavService::members(&dav, &camille_cx, "personnel", None)
        .await
        .unwrap();
    assert_eq!(mine.len(), 2, "{mine:?}");
    // Camille's own still there, and hers in the picker.
    assert_eq!(count(kit, "u:camille").await, 2);
    let mine = kit
        .recipients()
        .await
        .unwrap()
        .find(kit.current_user(), "confid", 10)
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].email.as_deref(), Some("confidentiel@example.fr"));
}

#[tokio::test]
async fn a_pupil_never_reaches_another_pupils_entries() {
    no_door_opens(&kit()).await;
}

#[tokio::test]
async fn a_pupil_never_reaches_another_pupils_entries_on_postgresql() {
    let Some(pg) = cartable_db::testing::TestDatabase::postgres("carnet_doors").await else {
        return;
    };
    let kit = kit().with_database(pg.db.clone());
    no_door_opens(&kit).await;
}

#[tokio::test]
async fn files_of_thunderbird_google_and_outlook_are_imported() {
    let kit = kit();
    let summary = |r: &ActionResponse| r.params.get("importe").cloned().unwrap_or_default();
    let r = import(&kit, "thunderbird.vcf", THUNDERBIRD_VCF.to_vec())
        .await
        .unwrap();
    assert!(
        summary(&r).contains("2 contact(s) ajouté(s)"),
        "{}",
        summary(&r)
    );
    let r = import(&kit, "google.vcf", GOOGLE_VCF.to_vec())
        .await
        .unwrap();
    assert!(
        summary(&r).contains("2 contact(s) ajouté(s)"),
        "{}",
        summary(&r)
    );
    let r = import(&kit, "outlook.vcf", OUTLOOK_VCF.to_vec())
        .await
        .unwrap();
    assert!(
        summary(&r).contains("1 contact(s) ajouté(s)"),
        "{}",
        summary(&r)
    );
    assert!(summary(&r).contains("windows-1252"), "{}", summary(&r));
    let r = import(&kit, "thunderbird.ldif", THUNDERBIRD_LDIF.to_vec())
        .await
        .unwrap();
    assert!(
        summary(&r).contains("2 contact(s) ajouté(s)"),
        "{}",
        summary(&r)
    );
    let page = kit.render().await.unwrap();
    page.assert_accessible();
    for name in [
        "Hélène Rousseau",
        "Bruno Lefèvre",
        "Chloé Garnier",
        "François Müller",
        "Élodie Perrin",
        "Mathis Caron",
    ] {
        assert!(page.text().contains(name), "{name}: {}", page.text());
    }
    // The same file twice adds nothing.
    let r = import(&kit, "google.vcf", GOOGLE_VCF.to_vec())
        .await
        .unwrap();
    assert!(
        summary(&r).contains("0 contact(s) ajouté(s), 2 déjà présent(s)"),
        "{}",
        summary(&r)
    );
}

#[tokio::test]
async fn bad_files_are_refused_or_bounded_and_nothing_stored_is_lost() {
    let kit = kit();
    add(&kit, "Gardé", "garde@example.fr").await;
    // 50 MB: refused before the service reads it.
    let huge = vec![b'A'; 50 * 1024 * 1024];
    let err = import(&kit, "huge.vcf", huge).await.unwrap_err();
    assert!(
        matches!(err, CallError::Portlet(PortletError::File(_))),
        "the portal's 413: {err:?}"
    );
    assert!(matches!(
        import::decode(&vec![b'A'; 50 * 1024 * 1024]),
        Err(import::FileError::TooLarge { .. })
    ));
    // Not an address book.
    let err = import(
        &kit,
        "image.vcf",
        b"\x89PNG\r\n\x1a\n\x00\x00binary".to_vec(),
    )
    .await
    .unwrap_err();
    let CallError::Portlet(PortletError::BadRequest(msg)) = err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("ni un carnet vCard"), "{msg}");
    // A card with a 20 MB photo: the card kept, the photo not, and said so.
    let photo = "QUFB".repeat(20 * 1024 * 1024 / 3);
    let card = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Avec Photo\r\nN:Photo;Avec;;;\r\nPHOTO;ENCODING=b;TYPE=JPEG:{photo}\r\nEND:VCARD\r\n"
    );
    let r = import(&kit, "photo.vcf", card.into_bytes()).await.unwrap();
    let s = r.params.get("importe").cloned().unwrap_or_default();
    assert!(
        s.contains("1 contact(s) ajouté(s)") && s.contains("1 photo(s) non gardée(s)"),
        "{s}"
    );
    // Broken encodings and lines folded inside a character; a broken card among good ones.
    let mixed = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Ren\xC3\r\n \xA9e;Claire;;;\r\nEMAIL:c@example.fr\r\nEND:VCARD\r\n\
                  BEGIN:VCARD\r\nVERSION:3.0\r\nN:;;;;\r\nEMAIL:pas une adresse\r\nEND:VCARD\r\n\
                  BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Coup\xE9e"
        .to_vec();
    let r = import(&kit, "casse.vcf", mixed).await.unwrap();
    let s = r.params.get("importe").cloned().unwrap_or_default();
    assert!(s.contains("windows-1252"), "{s}");
    let page = kit.render().await.unwrap();
    assert!(page.text().contains("Gardé"), "nothing stored lost");
    assert!(page.text().contains("Avec Photo"));
    // More cards than a book holds: kept up to its capacity, the rest counted.
    let many: String = (0..MAX_ENTRIES + 5)
        .map(|i| format!("BEGIN:VCARD\nVERSION:4.0\nUID:m{i}\nFN:Nom {i}\nEND:VCARD\n"))
        .collect();
    let r = import(&kit, "many.vcf", many.into_bytes()).await.unwrap();
    let s = r.params.get("importe").cloned().unwrap_or_default();
    assert!(s.contains("au-delà de la capacité"), "{s}");
    assert_eq!(count(&kit, "u:camille").await, MAX_ENTRIES as i64);
    assert!(kit.render().await.unwrap().text().contains("Gardé"));
}

#[tokio::test]
async fn mes_donnees_export_imports_back() {
    let kit = kit();
    add(&kit, "Exporté", "e@example.fr").await;
    kit.action([("op", "add-person"), ("person", "durand")])
        .await
        .unwrap();
    kit.action([
        ("op", "share"),
        ("id", "1"),
        ("kind", "user"),
        ("target", "theo"),
    ])
    .await
    .unwrap();
    let cx = kit.data_context("camille").await.unwrap();
    let mut sink = cartable_portlet::export::MemorySink::default();
    Portable::export(&Carnet::new(), &cx, &mut sink)
        .await
        .unwrap();
    let names: Vec<&str> = sink.files.iter().map(|(f, _)| f.path.as_str()).collect();
    assert_eq!(names, [EXPORT_FILE, SHARES_FILE]);
    // Into another ENT's empty book.
    let other = self::kit();
    let files: Vec<cartable_portlet::export::ImportFile> = sink
        .files
        .iter()
        .map(|(f, bytes)| {
            cartable_portlet::export::ImportFile::new(
                &f.path,
                &f.media_type,
                &f.format,
                bytes.clone(),
            )
        })
        .collect();
    let cx = other.data_context("camille").await.unwrap();
    let db = other.database().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let report = Portable::import(&Carnet::new(), &cx, &mut tx, files)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((report.accepted(), report.refused()), (3, 0), "{report:?}");
    let page = other.render().await.unwrap();
    assert!(page.text().contains("Exporté") && page.text().contains("anne.durand@lycee.fr"));
}

#[tokio::test]
async fn an_empty_book_goes_out_and_comes_back_as_nothing() {
    let kit = kit();
    let cx = kit.data_context("camille").await.unwrap();
    let mut sink = cartable_portlet::export::MemorySink::default();
    Portable::export(&Carnet::new(), &cx, &mut sink)
        .await
        .unwrap();
    let files: Vec<cartable_portlet::export::ImportFile> = sink
        .files
        .iter()
        .map(|(f, bytes)| {
            cartable_portlet::export::ImportFile::new(
                &f.path,
                &f.media_type,
                &f.format,
                bytes.clone(),
            )
        })
        .collect();
    let db = kit.database().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let report = Portable::import(&Carnet::new(), &cx, &mut tx, files)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Neither restored nor refused: there was nothing.
    assert_eq!((report.accepted(), report.refused()), (0, 0), "{report:?}");
}

/// What `who`, a member of `groups`, finds for `words` in the carnet: (title, link).
async fn found(
    search: &cartable_search::Search,
    who: &Person,
    groups: &[&str],
    words: &str,
) -> Vec<(String, String)> {
    let results = search
        .query(
            Arc::new(who.clone()),
            groups.iter().map(|g| (*g).to_string()).collect(),
            words,
            None,
        )
        .await
        .unwrap();
    let mut hits: Vec<(String, String)> = results
        .groups
        .into_iter()
        .filter(|g| g.service == SERVICE)
        .flat_map(|g| g.hits.into_iter().map(|h| (h.title, h.link)))
        .collect();
    hits.sort();
    hits
}

fn titles(hits: &[(String, String)]) -> Vec<&str> {
    hits.iter().map(|(t, _)| t.as_str()).collect()
}

#[tokio::test]
async fn contacts_are_found_by_who_reads_them_on_the_page() {
    let kit = kit();
    let theo = as_theo(&kit);
    let camille = kit.current_user().clone();
    let theo_p = theo.current_user().clone();
    let zoe = person("zoe", "Zoé Petit", Profile::Eleve, &[]);
    // Camille's own contact, a person of the directory in her book, and Théo's group book.
    kit.action([
        ("op", "add"),
        ("nom", "Lefèvre"),
        ("prenom", "Marc"),
        ("fonction", "Parent délégué"),
        ("institution", "FCPE du lycée"),
        ("telephone", "06 12 34 56 78"),
        ("courriel", "marc.lefevre@example.fr"),
    ])
    .await
    .unwrap();
    kit.action([("op", "add-person"), ("person", "durand")])
        .await
        .unwrap();
    let g = group(&kit, true).await;
    let key = format!("g:{g}");
    theo.action([
        ("op", "add"),
        ("carnet", &key),
        ("nom", "Librairie Colette"),
        ("courriel", "contact@colette.fr"),
    ])
    .await
    .unwrap();
    // Every change was recorded for the index, by the entry's reference.
    let changes: Vec<String> = kit.search_changes().into_iter().map(|(_, id)| id).collect();
    assert!(changes.contains(&"u:camille/1".to_string()), "{changes:?}");
    assert!(changes.contains(&format!("{key}/1")), "{changes:?}");

    let services = kit
        .data_context("camille")
        .await
        .unwrap()
        .services()
        .clone();
    let cx = SearchContext::new(services, Default::default(), "/ent");
    let portlet: Arc<dyn Portlet> = Arc::new(Carnet::new());
    let search = cartable_search::Search::new(
        Arc::new(cartable_search::SearchIndex::in_memory().unwrap()),
        [(portlet, cx.clone())],
    );
    // Her contact and the group's; the person of the directory is the annuaire's.
    assert_eq!(search.rebuild(None).await.unwrap(), 2);

    // Found by name, fonction, institution, e-mail and telephone, with its page's link.
    for words in [
        "lefevre",
        "marc",
        "délégué",
        "FCPE",
        "marc.lefevre@example.fr",
        "0612345678",
    ] {
        let hits = found(&search, &camille, &[], words).await;
        assert_eq!(titles(&hits), ["Marc Lefèvre"], "{words}");
        assert_eq!(
            hits[0].1, "/ent/recherche/aller/carnet?fiche=u%3Acamille%2F1",
            "the link opens the entry"
        );
    }
    // The person of the directory is not in the carnet's part of the index.
    assert!(
        found(&search, &camille, &[g.as_str()], "durand")
            .await
            .is_empty()
    );
    let doc = Searchable::document(&Carnet::new(), &cx, "u:camille/2")
        .await
        .unwrap();
    assert_eq!(doc, None, "a person of the directory is the annuaire's");
    // Another pupil never finds Camille's contact; the group's members find its book.
    assert!(
        found(&search, &theo_p, &[g.as_str()], "lefevre")
            .await
            .is_empty()
    );
    assert!(found(&search, &zoe, &[], "lefevre").await.is_empty());
    assert_eq!(
        titles(&found(&search, &camille, &[g.as_str()], "colette").await),
        ["Librairie Colette"]
    );
    assert_eq!(
        titles(&found(&search, &theo_p, &[g.as_str()], "colette").await),
        ["Librairie Colette"]
    );
    assert!(found(&search, &zoe, &[], "colette").await.is_empty());
    // A forged membership does not open it: the page's rule has the last word.
    assert!(
        found(&search, &zoe, &[g.as_str()], "colette")
            .await
            .is_empty()
    );

    // Shared with Théo: he finds it once the change reaches the index; not after.
    kit.action([
        ("op", "share"),
        ("id", "1"),
        ("kind", "user"),
        ("target", "theo"),
    ])
    .await
    .unwrap();
    let last = kit.search_changes().last().cloned().unwrap();
    assert_eq!(last, (SERVICE.to_string(), "u:camille/1".to_string()));
    search
        .update(SERVICE, std::slice::from_ref(&last.1))
        .await
        .unwrap();
    assert_eq!(
        titles(&found(&search, &theo_p, &[], "lefevre").await),
        ["Marc Lefèvre"]
    );
    // A rebuild gives the same readers.
    assert_eq!(search.rebuild(None).await.unwrap(), 2);
    assert_eq!(
        titles(&found(&search, &theo_p, &[], "lefevre").await),
        ["Marc Lefèvre"]
    );
    kit.action([
        ("op", "unshare"),
        ("id", "1"),
        ("kind", "user"),
        ("target", "theo"),
    ])
    .await
    .unwrap();
    // Even before the index is updated, the share withdrawn hides it.
    assert!(found(&search, &theo_p, &[], "lefevre").await.is_empty());
    // Shared with the club: its members find it, someone claiming to be one does not.
    kit.action([
        ("op", "share"),
        ("id", "1"),
        ("kind", "group"),
        ("target", &g),
    ])
    .await
    .unwrap();
    search
        .update(SERVICE, &["u:camille/1".to_string()])
        .await
        .unwrap();
    assert_eq!(
        titles(&found(&search, &theo_p, &[g.as_str()], "lefevre").await),
        ["Marc Lefèvre"]
    );
    assert!(
        found(&search, &zoe, &[g.as_str()], "lefevre")
            .await
            .is_empty()
    );
    kit.action([
        ("op", "unshare"),
        ("id", "1"),
        ("kind", "group"),
        ("target", &g),
    ])
    .await
    .unwrap();

    // Edited, then removed: the index follows.
    kit.action([
        ("op", "edit"),
        ("id", "1"),
        ("nom", "Lefèvre"),
        ("prenom", "Marc"),
        ("fonction", "Trésorier"),
    ])
    .await
    .unwrap();
    let ids: Vec<String> = kit.search_changes().into_iter().map(|(_, id)| id).collect();
    search.update(SERVICE, &ids).await.unwrap();
    assert_eq!(
        titles(&found(&search, &camille, &[], "trésorier").await),
        ["Marc Lefèvre"]
    );
    assert!(found(&search, &camille, &[], "FCPE").await.is_empty());
    kit.action([("op", "remove"), ("id", "1"), ("confirm", "yes")])
        .await
        .unwrap();
    let ids: Vec<String> = kit.search_changes().into_iter().map(|(_, id)| id).collect();
    search.update(SERVICE, &ids).await.unwrap();
    assert!(found(&search, &camille, &[], "lefevre").await.is_empty());

    // An import's new contacts are recorded too.
    let before = kit.search_changes().len();
    import(
        &kit,
        "a.vcf",
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Iris Roux\r\nN:Roux;Iris;;;\r\nEND:VCARD\r\n".to_vec(),
    )
    .await
    .unwrap();
    let added: Vec<String> = kit.search_changes()[before..]
        .iter()
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(added, ["u:camille/3"]);
    search.update(SERVICE, &added).await.unwrap();
    assert_eq!(
        titles(&found(&search, &camille, &[], "roux").await),
        ["Iris Roux"]
    );

    // A card put by a CardDAV client, then deleted by it: both recorded.
    let feed = Arc::new(cartable_portlet::search::MemoryFeed::default());
    let mut services = kit
        .data_context("camille")
        .await
        .unwrap()
        .services()
        .clone();
    services.search = Some(feed.clone());
    let dav_cx =
        cartable_portlet::export::DataContext::new(Arc::new(camille.clone()), services, "fr");
    let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Hugo Blanc\r\nN:Blanc;Hugo;;;\r\nEND:VCARD\r\n";
    DavService::put(
        &Carnet::new(),
        &dav_cx,
        "personnel",
        cartable_portlet::dav::DavPut {
            name: "hugo.vcf".into(),
            precondition: cartable_portlet::dav::Precondition::Absent,
            body: card.as_bytes().to_vec().into(),
        },
    )
    .await
    .unwrap();
    DavService::delete(
        &Carnet::new(),
        &dav_cx,
        "personnel",
        "hugo.vcf",
        cartable_portlet::dav::Precondition::None,
    )
    .await
    .unwrap();
    let recorded: Vec<String> = feed.changes().into_iter().map(|(_, id)| id).collect();
    assert_eq!(recorded, ["u:camille/4", "u:camille/4"]);
}

/// A directory the test changes while clients poll (the kit's [`TestDirectory`] behind a
/// lock).
struct Changing(std::sync::RwLock<cartable_testkit::TestDirectory>);

impl Changing {
    fn new(people: Vec<Person>) -> Arc<Changing> {
        Arc::new(Changing(std::sync::RwLock::new(
            cartable_testkit::TestDirectory::new(people),
        )))
    }

    /// Replace a person (the directory changed her).
    fn set(&self, person: Person) {
        self.0.write().unwrap().add(person);
    }

    fn now(&self) -> cartable_testkit::TestDirectory {
        cartable_testkit::TestDirectory::new(self.0.read().unwrap().people().to_vec())
    }
}

#[async_trait]
impl cartable_socle::Directory for Changing {
    async fn authenticate(&self, _: &str, _: &str) -> Result<Person, cartable_socle::AuthError> {
        Err(cartable_socle::AuthError::InvalidCredentials)
    }
    async fn person(&self, id: &str) -> Result<Option<Person>, cartable_socle::SocleError> {
        cartable_socle::Directory::person(&self.now(), id).await
    }
    async fn search(
        &self,
        query: &cartable_socle::PersonQuery,
    ) -> Result<Vec<Person>, cartable_socle::SocleError> {
        cartable_socle::Directory::search(&self.now(), query).await
    }
}

/// One request through the CardDAV door (`/ent/dav/carnet/<uid>/…`), as `cx`'s user.
async fn carddav(
    cx: &cartable_portlet::export::DataContext,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (http::StatusCode, String) {
    let carnet = Carnet::new();
    let mounts = [cartable_dav::Mount {
        id: SERVICE,
        service: &carnet,
    }];
    let dav = cartable_dav::Dav {
        root: "/ent/dav",
        cx,
        mounts: &mounts,
    };
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    let r = dav
        .handle(&cartable_dav::Request {
            method: http::Method::from_bytes(method.as_bytes()).unwrap(),
            path: path.into(),
            headers: map,
            body: bytes::Bytes::from(body.to_string()),
        })
        .await;
    let (parts, body) = r.into_parts();
    (parts.status, String::from_utf8(body.to_vec()).unwrap())
}

/// The text between `open` and `close` in `body`.
fn between<'b>(body: &'b str, open: &str, close: &str) -> &'b str {
    let start = body
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in {body}"))
        + open.len();
    let len = body[start..].find(close).unwrap();
    &body[start..start + len]
}

const BOOK: &str = "/ent/dav/carnet/camille/personnel/";

/// The book's ctag and sync token, as a client polls them.
async fn poll(cx: &cartable_portlet::export::DataContext) -> (String, String) {
    let ask = r#"<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/><d:sync-token/></d:prop></d:propfind>"#;
    let (status, body) = carddav(cx, "PROPFIND", BOOK, &[("depth", "0")], ask).await;
    assert_eq!(status, http::StatusCode::MULTI_STATUS, "{body}");
    (
        between(&body, "<cs:getctag>", "</cs:getctag>").to_string(),
        between(&body, "<d:sync-token>", "</d:sync-token>").to_string(),
    )
}

/// A card's ETag and body, by GET.
async fn fetch(cx: &cartable_portlet::export::DataContext, name: &str) -> (String, String) {
    let carnet = Carnet::new();
    let got = DavService::get(&carnet, cx, "personnel", name)
        .await
        .unwrap()
        .unwrap();
    let (status, body) = carddav(cx, "GET", &format!("{BOOK}{name}"), &[], "").await;
    assert_eq!(status, http::StatusCode::OK);
    (got.member.etag, body)
}

async fn revision_rows(kit: &TestKit) -> (i64, i64) {
    let db = kit.database().await.unwrap();
    sqlx::query_as(
        "SELECT (SELECT revision FROM carnet_book WHERE book = 'u:camille'), \
         (SELECT COUNT(*) FROM carnet_seen)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn a_change_in_the_directory_moves_the_ctag_the_token_and_the_card() {
    directory_change_reaches_the_client(None).await;
}

#[tokio::test]
async fn a_change_in_the_directory_moves_the_ctag_the_token_and_the_card_on_postgresql() {
    let Some(pg) = cartable_db::testing::TestDatabase::postgres("carnet_seen").await else {
        return;
    };
    directory_change_reaches_the_client(Some(pg.db.clone())).await;
}

/// A client polls Camille's book while the directory changes the person in it.
async fn directory_change_reaches_the_client(db: Option<cartable_portlet::Database>) {
    let durand = |title: &str, phone: &str, hidden: bool| {
        let mut attrs = vec![
            ("mail", "anne.durand@lycee.fr"),
            ("title", title),
            ("telephoneNumber", phone),
        ];
        if hidden {
            attrs.push(("hidden", "yes"));
        }
        person("durand", "Anne Durand", Profile::Enseignant, &attrs)
    };
    let directory = Changing::new(vec![
        person("camille", "Camille Test", Profile::Eleve, &[]),
        durand("Professeure de lettres", "01 99 99 99 99", false),
    ]);
    let mut kit = kit().with_directory(directory.clone());
    if let Some(db) = db {
        kit = kit.with_database(db);
    }
    kit.action([("op", "add-person"), ("person", "durand")])
        .await
        .unwrap();
    add(&kit, "Martin", "m@example.fr").await;
    let cx = kit.data_context("camille").await.unwrap();

    // A client's first sync.
    let (ctag, token) = poll(&cx).await;
    let (etag, card) = fetch(&cx, "e1.vcf").await;
    assert!(card.contains("Professeure de lettres"), "{card}");
    let (own_etag, _) = fetch(&cx, "e2.vcf").await;
    // Polls of an unchanged book: the same answer, and nothing written.
    let rows = revision_rows(&kit).await;
    for _ in 0..3 {
        assert_eq!(poll(&cx).await, (ctag.clone(), token.clone()));
    }
    assert_eq!(
        revision_rows(&kit).await,
        rows,
        "a poll of an unchanged book writes nothing"
    );

    // The directory gives her a new title: the ctag, the token and the card's ETag move,
    // and sync-collection names her card (and not the contact that did not change).
    directory.set(durand("Proviseure adjointe", "01 99 99 99 99", false));
    let (ctag2, token2) = poll(&cx).await;
    assert_ne!(ctag2, ctag);
    assert_ne!(token2, token);
    let sync = format!(
        r#"<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#
    );
    let (status, body) = carddav(&cx, "REPORT", BOOK, &[], &sync).await;
    assert_eq!(status, http::StatusCode::MULTI_STATUS, "{body}");
    let (etag2, card2) = fetch(&cx, "e1.vcf").await;
    assert_ne!(etag2, etag);
    assert!(card2.contains("Proviseure adjointe"), "{card2}");
    assert!(body.contains(&format!("{BOOK}e1.vcf")), "{body}");
    assert!(body.contains(&format!("&quot;{etag2}&quot;")), "{body}");
    assert!(!body.contains("e2.vcf"), "{body}");
    assert_eq!(fetch(&cx, "e2.vcf").await.0, own_etag);
    assert_eq!(
        poll(&cx).await,
        (ctag2.clone(), token2.clone()),
        "then still"
    );

    // A field the pupil may not see changes: what she is served did not, nothing moves.
    directory.set(durand("Proviseure adjointe", "01 11 11 11 11", false));
    assert_eq!(poll(&cx).await, (ctag2.clone(), token2.clone()));
    assert_eq!(fetch(&cx, "e1.vcf").await.0, etag2);

    // She hides herself: her card keeps her name only, and the client learns it.
    directory.set(durand("Proviseure adjointe", "01 11 11 11 11", true));
    let (ctag3, token3) = poll(&cx).await;
    assert_ne!(ctag3, ctag2);
    let sync = format!(
        r#"<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token2}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/><card:address-data xmlns:card="urn:ietf:params:xml:ns:carddav"/></d:prop></d:sync-collection>"#
    );
    let (_, body) = carddav(&cx, "REPORT", BOOK, &[], &sync).await;
    assert!(body.contains("e1.vcf") && body.contains("Durand"), "{body}");
    assert!(!body.contains("anne.durand@lycee.fr"), "{body}");
    assert!(!body.contains("Proviseure"), "{body}");
    assert_ne!(token3, token2);
}
