//! The annuaire portlet through the test kit, as the portal would call it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cartable_annuaire::{Annuaire, CARNET_KEY, CARNET_PREFIX, MAX_CARNET, hidden_key};
use cartable_portlet::prelude::*;
use cartable_socle::{AuthError, Directory, PersonQuery, SocleError};
use cartable_testkit::{CallError, RenderOptions, Rendered, TestDirectory, TestKit};

fn person(id: &str, name: &str, profiles: &[Profile], attrs: &[(&str, &str)]) -> Person {
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in attrs {
        attributes
            .entry((*k).to_string())
            .or_default()
            .push((*v).to_string());
    }
    Person {
        id: id.into(),
        display_name: name.into(),
        profiles: profiles.to_vec(),
        attributes,
    }
}

fn lea() -> Person {
    person(
        "lea",
        "Léa Martin",
        &[Profile::Eleve],
        &[
            ("mail", "lea.martin@lycee.example.org"),
            ("ENTEleveClasses", "2nde-3"),
            ("ENTPersonStructRattach", "0750001A"),
        ],
    )
}

fn theo() -> Person {
    person(
        "theo",
        "Théo Petit",
        &[Profile::Eleve],
        &[
            ("mail", "theo.petit@lycee.example.org"),
            ("ENTEleveClasses", "2nde-3"),
            ("ENTPersonStructRattach", "0750002B"),
        ],
    )
}

fn paul() -> Person {
    person(
        "paul",
        "Paul Durand",
        &[Profile::Enseignant],
        &[
            ("mail", "paul.durand@lycee.example.org"),
            ("telephoneNumber", "+33 1 40 00 00 12"),
            ("title", "Professeur de mathématiques"),
            ("ENTAuxEnsClasses", "2nde-3"),
            ("ENTPersonStructRattach", "0750001A"),
        ],
    )
}

fn sophie() -> Person {
    person(
        "sophie",
        "Sophie Martin",
        &[Profile::Parent],
        &[("mail", "sophie.martin@example.org")],
    )
}

fn nadia() -> Person {
    person(
        "nadia",
        "Nadia Benali",
        &[Profile::Personnel],
        &[
            ("mail", "nadia.benali@lycee.example.org"),
            ("telephoneNumber", "+33 1 40 00 00 01"),
        ],
    )
}

fn admin() -> Person {
    person("root", "Alice Admin", &[Profile::Admin], &[])
}

fn everyone() -> Vec<Person> {
    vec![lea(), theo(), paul(), sophie(), nadia(), admin()]
}

/// A kit where `viewer` is logged in and everyone is in the directory.
fn kit(viewer: Person) -> TestKit {
    let mut kit = TestKit::new(Arc::new(Annuaire::new()));
    for p in everyone() {
        kit = kit.person(p);
    }
    kit.user(viewer)
}

async fn search(kit: &TestKit, params: &[(&str, &str)]) -> Rendered {
    let mut options = RenderOptions::new();
    for (k, v) in params {
        options = options.param(k, *v);
    }
    let out = kit.render_with(&options).await.unwrap();
    out.assert_accessible();
    out
}

/// The names in the results table (its row headers).
fn result_names(out: &Rendered) -> Vec<String> {
    let html = out.html();
    let Some(start) = html.find("<tbody>") else {
        return Vec::new();
    };
    html[start..]
        .split(r#"<th scope="row">"#)
        .skip(1)
        .map(|s| cartable_testkit::decode_entities(&s[..s.find("</th>").unwrap()]))
        .collect()
}

/// A directory that records the queries it is asked and can be made to fail.
struct Recording {
    inner: TestDirectory,
    queries: Mutex<Vec<PersonQuery>>,
    down: bool,
}

impl Recording {
    fn new(people: Vec<Person>) -> Arc<Self> {
        Arc::new(Recording {
            inner: TestDirectory::new(people),
            queries: Mutex::new(Vec::new()),
            down: false,
        })
    }

    fn queries(&self) -> Vec<PersonQuery> {
        self.queries.lock().unwrap().clone()
    }
}

#[async_trait]
impl Directory for Recording {
    async fn authenticate(&self, login: &str, password: &str) -> Result<Person, AuthError> {
        self.inner.authenticate(login, password).await
    }

    async fn person(&self, id: &str) -> Result<Option<Person>, SocleError> {
        self.inner.person(id).await
    }

    async fn search(&self, query: &PersonQuery) -> Result<Vec<Person>, SocleError> {
        self.queries.lock().unwrap().push(query.clone());
        if self.down {
            return Err(SocleError::Unavailable {
                backend: "ldap directory",
                detail: "connection refused".into(),
            });
        }
        self.inner.search(query).await
    }
}

#[tokio::test]
async fn empty_search_shows_the_form_and_queries_nothing() {
    let dir = Recording::new(everyone());
    let kit = kit(lea()).with_directory(dir.clone());
    let out = search(&kit, &[]).await;
    let html = out.html();
    assert!(html.contains(r#"<form method="get" action="/page/test/test-window""#));
    for name in ["p.nom", "p.classe", "p.structure", "p.profil"] {
        assert!(html.contains(&format!(r#"name="{name}""#)), "{name}");
    }
    assert!(html.contains(r#"<label for="w-test-window-nom">Nom</label>"#));
    assert!(html.contains(r#"<h3 id="w-test-window-search-title">"#));
    assert!(!html.contains("<table"));
    assert!(out.text().contains("Votre carnet est vide"));
    // Blank values are no search either.
    search(&kit, &[("nom", "  "), ("classe", ""), ("profil", "")]).await;
    assert!(dir.queries().is_empty(), "{:?}", dir.queries());
}

#[tokio::test]
async fn search_by_name_ignores_accents_and_case() {
    let kit = kit(lea());
    let out = search(&kit, &[("nom", "MARTIN")]).await;
    assert_eq!(result_names(&out), ["Léa Martin", "Sophie Martin"]);
    assert!(out.text().contains("2 personnes trouvées."));
    assert!(
        out.html()
            .contains("<caption>Résultats de la recherche</caption>")
    );
    assert!(out.html().contains(r#"<th scope="col">Courriel</th>"#));
    let out = search(&kit, &[("nom", "theo")]).await;
    assert_eq!(result_names(&out), ["Théo Petit"]);
    assert!(out.text().contains("1 personne trouvée."));
    let out = search(&kit, &[("nom", "zzz")]).await;
    assert!(result_names(&out).is_empty());
    assert!(
        out.text()
            .contains("Aucune personne ne correspond à votre recherche.")
    );
    // The form shows the search again.
    assert!(out.html().contains(r#"name="p.nom" value="zzz""#));
}

#[tokio::test]
async fn search_by_class_structure_and_profile_combine() {
    let kit = kit(paul());
    let out = search(&kit, &[("classe", "2nde-3")]).await;
    // ENTEleveClasses only: Paul teaches 2nde-3 (ENTAuxEnsClasses) but is not in it.
    assert_eq!(result_names(&out), ["Léa Martin", "Théo Petit"]);
    let out = search(&kit, &[("classe", "2nde-3"), ("structure", "0750002B")]).await;
    assert_eq!(result_names(&out), ["Théo Petit"]);
    let out = search(&kit, &[("classe", "2nde-3"), ("nom", "lea")]).await;
    assert_eq!(result_names(&out), ["Léa Martin"]);
    let out = search(&kit, &[("structure", "0750001A")]).await;
    assert_eq!(result_names(&out), ["Léa Martin", "Paul Durand"]);
    let out = search(&kit, &[("profil", "enseignant")]).await;
    assert_eq!(result_names(&out), ["Paul Durand"]);
    assert!(
        out.html()
            .contains(r#"<option value="enseignant" selected>Enseignant</option>"#)
    );
    let out = search(&kit, &[("profil", "parent"), ("nom", "martin")]).await;
    assert_eq!(result_names(&out), ["Sophie Martin"]);
    // Exact values only.
    let out = search(&kit, &[("classe", "2nde")]).await;
    assert!(result_names(&out).is_empty());
}

#[tokio::test]
async fn queries_pass_one_attribute_and_the_rest_is_filtered_here() {
    let dir = Recording::new(everyone());
    let kit = kit(paul()).with_directory(dir.clone());
    search(
        &kit,
        &[
            ("nom", "a"),
            ("classe", "2nde-3"),
            ("structure", "0750001A"),
            ("profil", "eleve"),
        ],
    )
    .await;
    let q = &dir.queries()[0];
    assert_eq!(q.name.as_deref(), Some("a"));
    assert_eq!(q.profile, Some(Profile::Eleve));
    assert_eq!(
        q.attribute,
        Some(("ENTEleveClasses".to_string(), "2nde-3".to_string()))
    );
    search(&kit, &[("nom", "a")]).await;
    assert_eq!(dir.queries()[1].limit, 51, "one more than shown, to know");
}

#[tokio::test]
async fn pupils_do_not_see_teachers_telephones_staff_does() {
    let out = search(&kit(lea()), &[("nom", "durand")]).await;
    assert_eq!(result_names(&out), ["Paul Durand"]);
    assert!(out.text().contains("paul.durand@lycee.example.org"));
    assert!(out.text().contains("Professeur de mathématiques"));
    assert!(!out.text().contains("+33 1 40 00 00 12"));
    assert!(!out.html().contains("Téléphone"));

    let out = search(&kit(nadia()), &[("nom", "durand")]).await;
    assert!(out.text().contains("+33 1 40 00 00 12"));
    assert!(out.html().contains(r#"<th scope="col">Téléphone</th>"#));

    // Parents and teachers do not see them either, by default.
    for viewer in [sophie(), paul()] {
        let out = search(&kit(viewer), &[("nom", "benali")]).await;
        assert!(!out.text().contains("+33 1 40 00 00 01"));
    }
    // English labels.
    let out = search(&kit(nadia()).locale("en"), &[("nom", "durand")]).await;
    assert!(out.html().contains(r#"<th scope="col">Telephone</th>"#));
    assert!(out.html().contains(r#"<th scope="col">Email</th>"#));
    assert!(out.text().contains("1 person found."));
}

#[tokio::test]
async fn several_profiles_see_the_union() {
    let mut both = paul();
    both.id = "prof-parent".into();
    both.profiles = vec![Profile::Parent, Profile::Personnel];
    let out = search(&kit(both), &[("nom", "durand")]).await;
    assert!(out.text().contains("+33 1 40 00 00 12"));
}

#[tokio::test]
async fn locked_preferences_decide_unlocked_ones_only_narrow() {
    // The établissement lets pupils see telephones, and only that.
    let k = kit(lea()).establishment_preference("fields_eleve", "telephoneNumber", true);
    let out = search(&k, &[("nom", "durand")]).await;
    assert!(out.text().contains("+33 1 40 00 00 12"));
    assert!(!out.text().contains("paul.durand@"));

    // Not locked: a value cannot widen the default...
    let k = kit(lea()).establishment_preference("fields_eleve", "mail,telephoneNumber", false);
    let out = search(&k, &[("nom", "durand")]).await;
    assert!(out.text().contains("paul.durand@"));
    assert!(!out.text().contains("+33 1 40 00 00 12"));

    // ...even when the pupil sets it herself with the portal's preference form.
    let k = kit(lea());
    k.submit_preferences([("fields_eleve", "telephoneNumber,mail")])
        .await
        .unwrap();
    let out = search(&k, &[("nom", "durand")]).await;
    assert!(!out.text().contains("+33 1 40 00 00 12"));
    assert!(out.text().contains("paul.durand@"));

    // Locked by the établissement: the user cannot change it at all (the form disables
    // the field, and a forged value is ignored, as by the portal).
    let k = kit(lea()).establishment_preference("fields_eleve", "mail", true);
    k.submit_preferences([("fields_eleve", "telephoneNumber")])
        .await
        .unwrap();
    assert!(k.user_preferences().await.unwrap().is_empty());
    let prefs = k.preferences().await.unwrap();
    assert_eq!(prefs.get("fields_eleve"), Some("mail"));
}

#[tokio::test]
async fn who_can_be_found_depends_on_the_viewer_profile() {
    let k = kit(lea()).establishment_preference("people_eleve", "eleve", true);
    let edit = k.render_mode(Mode::Edit).await.unwrap();
    assert!(
        edit.text()
            .contains("Établissement — ne trouve que : Élève Parent")
    );
    let out = search(&k, &[("nom", "e")]).await;
    assert_eq!(result_names(&out), ["Léa Martin", "Théo Petit"]);
    // Nor can she add a teacher to her address book by posting his uid.
    assert!(matches!(
        k.action([("op", "carnet"), ("uid", "paul")]).await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
    // Teachers still find everyone.
    let k = kit(paul()).establishment_preference("people_eleve", "eleve", true);
    let out = search(&k, &[("nom", "e")]).await;
    assert!(result_names(&out).contains(&"Nadia Benali".to_string()));
}

#[tokio::test]
async fn a_hidden_mail_is_shown_to_nobody_but_herself_and_admins() {
    let lea_kit = kit(lea());
    let edit = lea_kit.render_mode(Mode::Edit).await.unwrap();
    edit.assert_accessible();
    let html = edit.html();
    assert!(html.contains(r#"name="show.mail" value="1" checked"#));
    assert!(html.contains(r#"name="show.ENTEleveClasses" value="1" checked"#));
    assert!(html.contains(
        r#"<label for="w-test-window-show-mail">Courriel : lea.martin@lycee.example.org</label>"#
    ));
    assert!(!html.contains("show.telephoneNumber"), "she has none");
    assert!(html.contains(r#"name="_csrf" value="test-csrf""#));

    // She unticks her mail (and tries to act on Théo's settings: ignored).
    let resp = lea_kit
        .action([
            ("_csrf", "test-csrf"),
            ("op", "visibilite"),
            ("show.ENTEleveClasses", "1"),
            ("show.ENTPersonStructRattach", "1"),
            ("uid", "theo"),
        ])
        .await
        .unwrap();
    assert_eq!(resp.mode, Some(Mode::Edit));
    let shared = lea_kit.data().shared();
    let stored: Vec<String> = shared.get_json(&hidden_key("lea")).await.unwrap().unwrap();
    assert_eq!(stored, ["mail"]);
    assert_eq!(shared.get(&hidden_key("theo")).await.unwrap(), None);
    let edit = lea_kit.render_after(&resp).await.unwrap();
    edit.assert_accessible();
    assert!(edit.text().contains("Vos choix sont enregistrés."));
    assert!(edit.html().contains(r#"name="show.mail" value="1">"#));

    // Théo no longer sees it; the class is still there.
    let out = search(&lea_kit.clone().user(theo()), &[("nom", "lea")]).await;
    assert_eq!(result_names(&out), ["Léa Martin"]);
    assert!(!out.text().contains("lea.martin@"));
    assert!(out.text().contains("2nde-3"));
    // Nor do teachers or staff.
    for viewer in [paul(), nadia()] {
        let out = search(&lea_kit.clone().user(viewer), &[("nom", "lea")]).await;
        assert!(!out.text().contains("lea.martin@"));
    }
    // She does, marked as hidden.
    let out = search(&lea_kit, &[("nom", "lea")]).await;
    assert!(
        out.text()
            .contains("lea.martin@lycee.example.org (masqué aux autres)")
    );
    assert!(out.text().contains("C’est vous"));
    // Administrators see everything.
    let out = search(&lea_kit.clone().user(admin()), &[("nom", "lea")]).await;
    assert!(out.text().contains("lea.martin@lycee.example.org"));
}

#[tokio::test]
async fn nobody_finds_a_pupil_by_a_class_she_hid() {
    let lea_kit = kit(lea());
    lea_kit
        .action([("op", "visibilite"), ("show.mail", "1")])
        .await
        .unwrap();
    let theo_kit = lea_kit.clone().user(theo());
    let out = search(&theo_kit, &[("classe", "2nde-3")]).await;
    assert_eq!(result_names(&out), ["Théo Petit"]);
    let out = search(&theo_kit, &[("structure", "0750001A")]).await;
    assert!(!result_names(&out).contains(&"Léa Martin".to_string()));
    // By name, yes, without the class.
    let out = search(&theo_kit, &[("nom", "léa")]).await;
    assert_eq!(result_names(&out), ["Léa Martin"]);
    assert!(out.text().contains("lea.martin@"));
    assert!(!out.text().contains("2nde-3"));
    // Ticking everything again hides nothing (an empty list is kept: it is written with
    // its version, and a delete could not be).
    lea_kit
        .action([
            ("op", "visibilite"),
            ("show.mail", "1"),
            ("show.ENTEleveClasses", "1"),
            ("show.ENTPersonStructRattach", "1"),
        ])
        .await
        .unwrap();
    assert_eq!(
        lea_kit
            .data()
            .shared()
            .get(&hidden_key("lea"))
            .await
            .unwrap()
            .as_deref(),
        Some(&b"[]"[..])
    );
    let out = search(&theo_kit, &[("classe", "2nde-3")]).await;
    assert_eq!(result_names(&out), ["Léa Martin", "Théo Petit"]);
}

#[tokio::test]
async fn an_unreadable_hidden_list_hides_everything() {
    let k = kit(theo());
    k.data()
        .shared()
        .set(&hidden_key("lea"), b"not json")
        .await
        .unwrap();
    let out = search(&k, &[("nom", "lea")]).await;
    assert_eq!(result_names(&out), ["Léa Martin"]);
    assert!(!out.text().contains("lea.martin@"));
    assert!(!out.text().contains("2nde-3"));
}

#[tokio::test]
async fn carnet_add_list_and_remove() {
    let k = kit(lea());
    let resp = k
        .action([
            ("op", "carnet"),
            ("uid", "paul"),
            ("nom", "durand"),
            ("profil", "nope"),
        ])
        .await
        .unwrap();
    // Back to the same search (invalid criteria dropped).
    assert_eq!(resp.params.get("nom").map(String::as_str), Some("durand"));
    assert!(!resp.params.contains_key("profil"));
    // One record per person.
    assert_eq!(k.data().keys(CARNET_PREFIX).await.unwrap(), ["carnet/paul"]);
    assert_eq!(k.data().get(CARNET_KEY).await.unwrap(), None);
    // Twice is once; case does not matter.
    k.action([("op", "carnet"), ("uid", "PAUL")]).await.unwrap();
    assert_eq!(k.data().keys(CARNET_PREFIX).await.unwrap(), ["carnet/paul"]);

    let out = k.render_after(&resp).await.unwrap();
    out.assert_accessible();
    assert_eq!(result_names(&out), ["Paul Durand"]);
    assert!(out.text().contains("Retirer du carnet – Paul Durand"));
    assert!(
        out.text()
            .contains("Mon carnet d’adresses Paul Durand Retirer – Paul Durand")
    );
    assert!(
        out.html()
            .contains(r#"<input type="hidden" name="nom" value="durand">"#)
    );
    // Other users' address books are their own.
    let theo_out = search(&k.clone().user(theo()), &[]).await;
    assert!(theo_out.text().contains("Votre carnet est vide"));

    k.action([("op", "retirer"), ("uid", "paul")])
        .await
        .unwrap();
    assert!(k.data().keys(CARNET_PREFIX).await.unwrap().is_empty());
    let out = search(&k, &[("nom", "durand")]).await;
    assert!(out.text().contains("Ajouter au carnet – Paul Durand"));
    assert!(out.text().contains("Votre carnet est vide"));
    // Removing again is harmless.
    k.action([("op", "retirer"), ("uid", "paul")])
        .await
        .unwrap();
}

#[tokio::test]
async fn carnet_refuses_bad_requests_and_has_a_limit() {
    let k = kit(lea());
    assert!(matches!(
        k.action([("op", "carnet"), ("uid", "nobody")]).await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
    for uid in ["", "  ", "a\u{0}b"] {
        assert!(matches!(
            k.action([("op", "carnet"), ("uid", uid)]).await,
            Err(CallError::Portlet(PortletError::BadRequest(_)))
        ));
    }
    assert!(matches!(
        k.action([("op", "carnet")]).await,
        Err(CallError::Portlet(PortletError::BadRequest(_)))
    ));
    assert!(matches!(
        k.action([("op", "nope")]).await,
        Err(CallError::Portlet(PortletError::BadRequest(_)))
    ));
    assert!(matches!(
        k.action([("op", "carnet"), ("uid", "paul"), ("_csrf", "forged")])
            .await,
        Err(CallError::Csrf)
    ));
    assert_eq!(k.data().get(CARNET_KEY).await.unwrap(), None);
    assert!(k.data().keys(CARNET_PREFIX).await.unwrap().is_empty());

    // An address book as earlier versions stored it (one list) still counts, and shows.
    let full: Vec<String> = (0..MAX_CARNET).map(|i| format!("old{i}")).collect();
    k.data().set_json(CARNET_KEY, &full).await.unwrap();
    let err = k
        .action([("op", "carnet"), ("uid", "paul")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::Portlet(PortletError::BadRequest(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains("500"));
    // The window lists the most recent 20, unknown people marked, and links to all.
    let out = search(&k, &[]).await;
    assert!(out.text().contains("old499 (n’est plus dans l’annuaire)"));
    assert!(!out.text().contains("old479 "));
    assert!(out.text().contains("Voir tout le carnet (500 personnes)"));
    let max = k
        .render_with(&RenderOptions::new().state(WindowState::Maximized))
        .await
        .unwrap();
    max.assert_accessible();
    assert!(max.text().contains("old0 "));
    assert!(
        max.html()
            .contains(r#"<input type="hidden" name="state" value="maximized">"#)
    );
}

#[tokio::test]
async fn bad_input_gets_a_message_and_no_search() {
    let dir = Recording::new(everyone());
    let k = kit(lea()).with_directory(dir.clone());
    let long = "é".repeat(101);
    let out = search(&k, &[("nom", &long)]).await;
    assert!(
        out.text()
            .contains("« Nom » fait 101 caractères ; 100 au plus sont acceptés.")
    );
    assert!(out.html().contains(r#"role="alert""#));
    let out = search(&k, &[("classe", "2nde\u{7}3")]).await;
    assert!(
        out.text()
            .contains("« Classe » contient des caractères de contrôle.")
    );
    assert!(out.html().contains(r#"name="p.classe" value="2nde3""#));
    let out = search(&k, &[("profil", "admin")]).await;
    assert!(out.text().contains("Le profil choisi n’existe pas"));
    let out = search(&k.clone().locale("en"), &[("structure", &"x".repeat(150))]).await;
    assert!(
        out.text()
            .contains("“School (UAI code)” is 150 characters long; at most 100 are accepted.")
    );
    assert!(dir.queries().is_empty(), "{:?}", dir.queries());
    // Exactly 100 characters is accepted.
    search(&k, &[("nom", &"é".repeat(100))]).await;
    assert_eq!(dir.queries().len(), 1);
}

#[tokio::test]
async fn ldap_metacharacters_are_plain_text_and_leak_nothing() {
    let dir = Recording::new(everyone());
    let k = kit(lea()).with_directory(dir.clone());
    for (field, value) in [
        ("nom", "*)(uid=*"),
        ("nom", "*"),
        ("nom", "a*)(|(objectClass=*"),
        ("classe", "*"),
        ("classe", "2nde-3)(uid=*"),
        ("structure", "*)(ENTPersonProfils=*"),
    ] {
        let out = search(&k, &[(field, value)]).await;
        assert!(result_names(&out).is_empty(), "{field}={value}: {out:?}");
        assert!(
            out.text()
                .contains("Aucune personne ne correspond à votre recherche.")
        );
        for p in everyone() {
            assert!(!out.text().contains(&p.display_name), "{field}={value}");
        }
    }
    let queries = dir.queries();
    assert_eq!(queries[0].name.as_deref(), Some("*)(uid=*"), "passed as is");
    assert_eq!(
        queries[4].attribute,
        Some(("ENTEleveClasses".into(), "2nde-3)(uid=*".into()))
    );
}

#[tokio::test]
async fn names_and_values_are_escaped() {
    let evil = person(
        "evil",
        "<script>alert('x')</script> Évil",
        &[Profile::Eleve],
        &[
            ("mail", "\"><img src=x onerror=alert(1)>@x.fr"),
            ("ENTEleveClasses", "<b>2nde</b>"),
        ],
    );
    let k = kit(theo()).person(evil);
    let out = search(&k, &[("nom", "evil")]).await;
    let html = out.html();
    assert!(!html.contains("<script>"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Évil"));
    assert!(!html.contains("mailto:"), "not an address: no link");
    assert!(out.text().contains("<script>alert('x')</script> Évil"));
    // In the address book too, and a search value shown again in the form.
    k.action([("op", "carnet"), ("uid", "evil")]).await.unwrap();
    let out = search(&k, &[("nom", "\"><script>")]).await;
    assert!(!out.html().contains("<script>"));
    assert!(out.html().contains(r#"value="&quot;&gt;&lt;script&gt;""#));
    assert!(
        out.text()
            .contains("Mon carnet d’adresses <script>alert('x')</script> Évil")
    );
}

#[tokio::test]
async fn more_than_fifty_asks_to_refine() {
    let mut k = kit(paul());
    for i in 0..60 {
        k = k.person(person(
            &format!("dupont{i}"),
            &format!("Jean Dupont {i:02}"),
            &[Profile::Eleve],
            &[],
        ));
    }
    let out = search(&k, &[("nom", "dupont")]).await;
    assert_eq!(result_names(&out).len(), 50);
    assert_eq!(result_names(&out)[0], "Jean Dupont 00");
    assert!(
        out.text()
            .contains("Plus de 50 personnes correspondent ; les 50 premières sont affichées.")
    );
    assert!(out.text().contains("Affinez votre recherche"));
    // With a filter applied after the search, the count is exact.
    let out = search(&k, &[("nom", "dupont"), ("structure", "nowhere")]).await;
    assert!(result_names(&out).is_empty());
    let out = search(&k, &[("nom", "martin")]).await;
    assert!(!out.text().contains("Affinez"));
}

#[tokio::test]
async fn mail_addresses_are_links() {
    let out = search(&kit(lea()), &[("nom", "durand")]).await;
    assert!(out.html().contains(
        r#"<a href="mailto:paul.durand@lycee.example.org">paul.durand@lycee.example.org</a>"#
    ));
}

#[tokio::test]
async fn a_directory_that_is_down_gets_a_message() {
    let dir = Arc::new(Recording {
        inner: TestDirectory::new(everyone()),
        queries: Mutex::new(Vec::new()),
        down: true,
    });
    let k = kit(lea()).with_directory(dir);
    let out = search(&k, &[("nom", "martin")]).await;
    assert!(
        out.text()
            .contains("L’annuaire ne répond pas pour l’instant")
    );
    assert!(out.html().contains(r#"name="p.nom" value="martin""#));
}

#[tokio::test]
async fn help_edit_and_audience() {
    let help = kit(lea()).render_mode(Mode::Help).await.unwrap();
    help.assert_accessible();
    assert!(
        help.text()
            .contains("Les administrateurs de l’ENT voient toujours toutes les informations")
    );
    let help = kit(lea())
        .locale("en")
        .render_mode(Mode::Help)
        .await
        .unwrap();
    help.assert_accessible();
    assert!(
        help.text()
            .contains("administrators always see every detail")
    );

    let edit = kit(lea()).render_mode(Mode::Edit).await.unwrap();
    assert!(edit.text().contains("Ce que voit chaque profil"));
    assert!(edit.text().contains("Personnel Courriel, Téléphone"));
    let edit = kit(admin())
        .locale("en")
        .render_mode(Mode::Edit)
        .await
        .unwrap();
    edit.assert_accessible();
    assert!(
        edit.text()
            .contains("The directory shows nothing about you but your name and profiles.")
    );

    let guest = kit(person("g", "Guest", &[Profile::Invite], &[]));
    assert!(matches!(
        guest.render().await,
        Err(CallError::Forbidden { .. })
    ));

    let d = Annuaire::new();
    assert_eq!(d.descriptor().id, "annuaire");
    assert!(d.descriptor().supports_mode(Mode::Help));
    for name in [
        "fields_eleve",
        "fields_parent",
        "fields_enseignant",
        "fields_personnel",
        "fields_admin",
        "people_eleve",
        "people_admin",
    ] {
        assert!(d.descriptor().preference_spec(name).is_some(), "{name}");
    }
}

#[tokio::test]
async fn english_view() {
    let k = kit(lea()).locale("en");
    let out = search(&k, &[("nom", "martin")]).await;
    assert!(out.text().contains("Find a person"));
    assert!(out.text().contains("2 people found."));
    assert!(out.text().contains("Add to address book – Sophie Martin"));
    assert!(out.text().contains("My visible details"));
    assert!(out.html().contains("/page/test/test-window?mode=edit"));
}

#[tokio::test]
async fn an_address_book_of_earlier_versions_is_read_and_shrunk() {
    let k = kit(lea());
    // Earlier versions: one JSON list of uids, oldest first.
    k.data()
        .set_json(CARNET_KEY, &["paul", "gone"])
        .await
        .unwrap();
    k.action([("op", "carnet"), ("uid", "theo")]).await.unwrap();
    // Already there in the old list: not added twice.
    k.action([("op", "carnet"), ("uid", "Paul")]).await.unwrap();
    let out = search(&k, &[]).await;
    assert!(
        out.text().contains(
            "Mon carnet d’adresses Théo Petit Retirer – Théo Petit gone (n’est plus dans l’annuaire) Retirer – gone Paul Durand Retirer – Paul Durand"
        ),
        "most recent first: {}",
        out.text()
    );
    let old: Vec<String> = k.data().get_json(CARNET_KEY).await.unwrap().unwrap();
    assert_eq!(old, ["paul", "gone"], "the old list is never grown");
    assert_eq!(k.data().keys(CARNET_PREFIX).await.unwrap(), ["carnet/theo"]);

    k.action([("op", "retirer"), ("uid", "PAUL")])
        .await
        .unwrap();
    let old: Vec<String> = k.data().get_json(CARNET_KEY).await.unwrap().unwrap();
    assert_eq!(old, ["gone"]);
    k.action([("op", "retirer"), ("uid", "gone")])
        .await
        .unwrap();
    assert_eq!(
        k.data().get(CARNET_KEY).await.unwrap(),
        None,
        "gone once empty"
    );
    let out = search(&k, &[("nom", "durand")]).await;
    assert!(out.text().contains("Ajouter au carnet – Paul Durand"));
    assert!(out.text().contains("Mon carnet d’adresses Théo Petit"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_additions_to_the_address_book_are_all_kept() {
    let mut k = kit(lea());
    for i in 0..20 {
        k = k.person(person(
            &format!("camarade{i:02}"),
            &format!("Camarade {i:02}"),
            &[Profile::Eleve],
            &[],
        ));
    }
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let k = k.clone();
            tokio::spawn(async move {
                k.action([("op", "carnet"), ("uid", &format!("camarade{i:02}"))])
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(k.data().keys(CARNET_PREFIX).await.unwrap().len(), 20);
    let max = k
        .render_with(&RenderOptions::new().state(WindowState::Maximized))
        .await
        .unwrap();
    for i in 0..20 {
        assert!(
            max.text().contains(&format!("Retirer – Camarade {i:02}")),
            "camarade{i:02}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_visibility_from_two_sessions_keeps_a_consistent_choice() {
    let k = kit(lea());
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let k = k.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    k.action([("op", "visibilite"), ("show.mail", "1")]).await
                } else {
                    k.action([
                        ("op", "visibilite"),
                        ("show.mail", "1"),
                        ("show.ENTEleveClasses", "1"),
                    ])
                    .await
                }
            })
        })
        .collect();
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => {}
            Err(CallError::Portlet(PortletError::Socle(SocleError::Conflict { .. }))) => {
                conflicts += 1
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(conflicts < 10, "some save went through");
    let stored: Vec<String> = k
        .data()
        .shared()
        .get_json(&hidden_key("lea"))
        .await
        .unwrap()
        .unwrap();
    // One of the two forms, whole: never a mix, never both.
    assert!(
        stored == ["ENTEleveClasses", "ENTPersonStructRattach"]
            || stored == ["ENTPersonStructRattach"],
        "{stored:?}"
    );
}
