//! The e-mail digest against a real SMTP server on 127.0.0.1 (the sink in `support`):
//! who gets what, once, by one node of several, and what happens when the server is down.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cartable_annonces::News;
use cartable_mail::{DigestError, DigestSender, MailConfig, TlsMode};
use cartable_socle::DbStore;
use cartable_socle::digest::{self, DigestOptIns, Marker};
use cartable_socle::{
    Audience, DataScope, GroupPolicy, Groups, Notification, Notifier, Person, Profile, SocleError,
    Storage, SystemClock, Version, Versioned,
};
use cartable_testkit::{TestDirectory, TestKit};
use support::SmtpSink;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

fn person(id: &str, name: &str, profiles: &[Profile], mail: Option<&str>) -> Person {
    let mut attributes = BTreeMap::new();
    if let Some(mail) = mail {
        attributes.insert("mail".to_string(), vec![mail.to_string()]);
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
        "lmartin",
        "Léa Martin",
        &[Profile::Eleve],
        Some("lea.martin@lycee.example.org"),
    )
}

fn tom() -> Person {
    person(
        "tpetit",
        "Tom Petit",
        &[Profile::Eleve],
        Some("tom.petit@lycee.example.org"),
    )
}

fn paul() -> Person {
    person(
        "pdurand",
        "Paul Durand",
        &[Profile::Enseignant],
        Some("paul.durand@lycee.example.org"),
    )
}

/// A storage (also the notifier), a directory and an SMTP sink.
struct World {
    storage: Arc<DbStore>,
    directory: Arc<TestDirectory>,
    sink: SmtpSink,
}

impl World {
    async fn new(people: Vec<Person>) -> World {
        World {
            storage: Arc::new(DbStore::in_memory().await.unwrap()),
            directory: Arc::new(TestDirectory::new(people)),
            sink: SmtpSink::start().await,
        }
    }

    fn config(&self, port: u16) -> MailConfig {
        let mut config = MailConfig::new(
            "127.0.0.1",
            "ENT du lycée Victor Hugo <ne-pas-repondre@lycee.example.org>",
            60,
        );
        config.starttls = TlsMode::None;
        config.smtp_port = Some(port);
        config.timeout_ms = 3000;
        config.portal_url = Some("https://ent.lycee.example.org/".into());
        config
    }

    /// A sender (a portal node) on this world, through the sink.
    fn sender(&self) -> DigestSender {
        self.sender_to(self.sink.addr.port())
    }

    fn sender_to(&self, port: u16) -> DigestSender {
        DigestSender::new(
            self.config(port),
            "Lycée Victor Hugo",
            self.storage.clone(),
            self.directory.clone(),
            self.storage.clone(),
        )
        .unwrap()
    }

    /// Opt a user in through the socle's digest state, her digests starting at `at`.
    async fn opt_in(&self, user: &str, at: SystemTime) {
        self.opt_ins().opt_in(user, at).await.unwrap();
    }

    fn opt_ins(&self) -> DigestOptIns {
        DigestOptIns::new(self.storage.clone())
    }

    async fn marker(&self, user: &str) -> Option<Marker> {
        self.opt_ins().marker(user).await.unwrap().value
    }

    async fn publish(&self, title: &str, audience: Audience, at: SystemTime) {
        self.storage
            .publish(Notification {
                source: "nouveautes".into(),
                title: title.into(),
                link: Some("/page/accueil".into()),
                audience,
                at,
            })
            .await
            .unwrap();
    }
}

/// Now, to the second (markers count whole seconds).
fn now() -> SystemTime {
    Marker::at(SystemTime::now()).last_time()
}

#[tokio::test]
async fn each_opted_in_user_gets_the_items_of_her_audience_once() {
    let world = World::new(vec![lea(), tom(), paul()]).await;
    let t0 = now();

    // Léa opts in through the news portlet; Paul too (directly); Tom does not.
    let kit = TestKit::new(Arc::new(News::new()))
        .with_storage(world.storage.clone())
        .user(lea());
    kit.action([("op", "digest"), ("digest", "oui")])
        .await
        .unwrap();
    world.opt_in("pdurand", t0).await;

    // Léa's group, and another one, both created by the CPE (owners are members too).
    let cpe = person("cpe", "Nadia Benali", &[Profile::Personnel], None);
    let groups = Groups::new(
        world.storage.clone(),
        Arc::new(SystemClock),
        GroupPolicy::default(),
    );
    let club = groups
        .create(&cpe, "Club théâtre", vec!["lmartin".into()], t0 + HOUR * 48)
        .await
        .unwrap();
    let other = groups
        .create(&cpe, "Chorale", vec!["tpetit".into()], t0 + HOUR * 48)
        .await
        .unwrap();

    world
        .publish("Avant l’inscription", Audience::Everyone, t0 - HOUR)
        .await;
    let items = [
        ("Réunion parents-professeurs", Audience::Everyone),
        ("Sortie au musée", Audience::Profiles(vec![Profile::Eleve])),
        (
            "Conseil de classe",
            Audience::Profiles(vec![Profile::Enseignant]),
        ),
        ("Répétition mardi", Audience::Groups(vec![club.id.clone()])),
        ("Chorale jeudi", Audience::Groups(vec![other.id.clone()])),
        ("Pour Léa", Audience::Users(vec!["lmartin".into()])),
        ("Pour Tom", Audience::Users(vec!["tpetit".into()])),
    ];
    for (i, (title, audience)) in items.iter().enumerate() {
        let at = t0 + MINUTE * (u32::try_from(i).unwrap() + 1);
        world.publish(title, audience.clone(), at).await;
    }

    let sender = world.sender();
    let report = sender.run_once(t0 + HOUR * 2).await.unwrap();
    let mut sent = report.sent.clone();
    sent.sort();
    assert_eq!(sent, ["lmartin", "pdurand"], "{report:?}");
    assert!(report.skipped.is_empty(), "{report:?}");
    assert_eq!(world.sink.messages().len(), 2);
    assert!(world.sink.to("tom.petit@lycee.example.org").is_empty());

    let mails = world.sink.to("lea.martin@lycee.example.org");
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "ne-pas-repondre@lycee.example.org");
    assert_eq!(mail.subject(), "Résumé des nouveautés – Lycée Victor Hugo");
    assert!(
        mail.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative"),
        "{:?}",
        mail.header("Content-Type")
    );
    let text = mail.text();
    assert!(text.starts_with("Bonjour Léa Martin,"), "{text}");
    for title in [
        "Réunion parents-professeurs",
        "Sortie au musée",
        "Répétition mardi",
        "Pour Léa",
    ] {
        assert!(text.contains(&format!("- {title}\n")), "{title} in {text}");
    }
    for title in [
        "Conseil de classe",
        "Chorale jeudi",
        "Pour Tom",
        "Avant l’inscription",
    ] {
        assert!(!text.contains(title), "{title} not in {text}");
    }
    assert!(text.contains("Voici les 4 nouveautés publiées pour vous"));
    // Newest first, with absolute links.
    let first = text.find("Pour Léa").unwrap();
    assert!(first < text.find("Réunion").unwrap());
    assert!(text.contains("https://ent.lycee.example.org/page/accueil"));
    let html = mail.html();
    assert!(
        html.contains(
            "<a href=\"https://ent.lycee.example.org/page/accueil\">Répétition mardi</a>"
        )
    );
    assert!(html.contains("<html lang=\"fr\">"));

    let paul_text = world.sink.to("paul.durand@lycee.example.org")[0].text();
    assert!(paul_text.contains("Conseil de classe") && paul_text.contains("Réunion"));
    assert!(!paul_text.contains("Sortie au musée") && !paul_text.contains("Répétition"));

    // A second run sends nothing new: not due yet, then nothing new.
    let again = sender.run_once(t0 + HOUR * 2 + MINUTE).await.unwrap();
    assert!(again.sent.is_empty(), "{again:?}");
    assert_eq!(again.not_due, 2);
    let later = sender.run_once(t0 + HOUR * 4).await.unwrap();
    assert!(later.sent.is_empty(), "{later:?}");
    assert_eq!(later.nothing_new.len(), 2);
    assert_eq!(world.sink.messages().len(), 2);

    // The next digest has only what is new.
    world
        .publish("Nouvelle annonce", Audience::Everyone, t0 + HOUR * 5)
        .await;
    let next = sender.run_once(t0 + HOUR * 6).await.unwrap();
    assert_eq!(next.sent.len(), 2, "{next:?}");
    let mails = world.sink.to("lea.martin@lycee.example.org");
    assert_eq!(mails.len(), 2);
    let text = mails[1].text();
    assert!(
        text.contains("Voici la nouveauté publiée pour vous"),
        "{text}"
    );
    assert!(text.contains("Nouvelle annonce") && !text.contains("Pour Léa"));

    // She opts out through the portlet: no more digest, her index key is gone.
    kit.action([("op", "digest")]).await.unwrap();
    world
        .publish("Encore une", Audience::Everyone, t0 + HOUR * 7)
        .await;
    let after = sender.run_once(t0 + HOUR * 9).await.unwrap();
    assert_eq!(after.sent, ["pdurand"], "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_racing_send_each_digest_once() {
    let people: Vec<Person> = (0..12)
        .map(|i| {
            person(
                &format!("eleve{i}"),
                &format!("Élève {i}"),
                &[Profile::Eleve],
                Some(&format!("eleve{i}@lycee.example.org")),
            )
        })
        .collect();
    let world = World::new(people.clone()).await;
    let t0 = now();
    for p in &people {
        world.opt_in(&p.id, t0).await;
    }
    world
        .publish("Pour tous", Audience::Everyone, t0 + MINUTE)
        .await;
    // Two portal nodes, each with its own sender, on the same storage.
    let (a, b) = (world.sender(), world.sender());
    for round in 1..=3u32 {
        let at = t0 + HOUR * (2 * round);
        let (ra, rb) = tokio::join!(
            tokio::spawn({
                let a = a.clone();
                async move { a.run_once(at).await }
            }),
            tokio::spawn({
                let b = b.clone();
                async move { b.run_once(at).await }
            }),
        );
        let (ra, rb) = (ra.unwrap().unwrap(), rb.unwrap().unwrap());
        if round == 1 {
            assert_eq!(ra.sent.len() + rb.sent.len(), people.len(), "{ra:?} {rb:?}");
            for s in &ra.sent {
                assert!(!rb.sent.contains(s), "{s} sent by both nodes");
            }
        } else {
            assert!(ra.sent.is_empty() && rb.sent.is_empty(), "{ra:?} {rb:?}");
        }
    }
    for p in &people {
        let address = format!("{}@lycee.example.org", p.id);
        assert_eq!(world.sink.to(&address).len(), 1, "{address}");
    }
    assert_eq!(world.sink.messages().len(), people.len());
}

/// A storage that makes two senders read each digest marker together (a barrier in
/// `data_versioned`), so that both try to claim the same version: the conditional write
/// of exactly one of them succeeds.
struct Lockstep {
    inner: Arc<DbStore>,
    barrier: tokio::sync::Barrier,
}

#[async_trait::async_trait]
impl Storage for Lockstep {
    async fn preferences(&self, u: &str, w: &str) -> Result<BTreeMap<String, String>, SocleError> {
        self.inner.preferences(u, w).await
    }
    async fn set_preferences(
        &self,
        u: &str,
        w: &str,
        v: &BTreeMap<String, String>,
    ) -> Result<(), SocleError> {
        self.inner.set_preferences(u, w, v).await
    }
    async fn layout(&self, u: &str) -> Result<Option<String>, SocleError> {
        self.inner.layout(u).await
    }
    async fn set_layout(&self, u: &str, l: &str) -> Result<(), SocleError> {
        self.inner.set_layout(u, l).await
    }
    async fn reset_layout(&self, u: &str) -> Result<(), SocleError> {
        self.inner.reset_layout(u).await
    }
    async fn data(&self, p: &str, s: &DataScope, k: &str) -> Result<Option<Vec<u8>>, SocleError> {
        self.inner.data(p, s, k).await
    }
    async fn set_data(&self, p: &str, s: &DataScope, k: &str, v: &[u8]) -> Result<(), SocleError> {
        self.inner.set_data(p, s, k, v).await
    }
    async fn delete_data(&self, p: &str, s: &DataScope, k: &str) -> Result<(), SocleError> {
        self.inner.delete_data(p, s, k).await
    }
    async fn delete_user(&self, u: &str) -> Result<(), SocleError> {
        self.inner.delete_user(u).await
    }
    async fn data_keys(&self, p: &str, s: &DataScope, k: &str) -> Result<Vec<String>, SocleError> {
        self.inner.data_keys(p, s, k).await
    }
    async fn preferences_versioned(
        &self,
        u: &str,
        w: &str,
    ) -> Result<Versioned<BTreeMap<String, String>>, SocleError> {
        self.inner.preferences_versioned(u, w).await
    }
    async fn set_preferences_if(
        &self,
        u: &str,
        w: &str,
        v: &BTreeMap<String, String>,
        e: Version,
    ) -> Result<Version, SocleError> {
        self.inner.set_preferences_if(u, w, v, e).await
    }
    async fn layout_versioned(&self, u: &str) -> Result<Versioned<Option<String>>, SocleError> {
        self.inner.layout_versioned(u).await
    }
    async fn set_layout_if(&self, u: &str, l: &str, e: Version) -> Result<Version, SocleError> {
        self.inner.set_layout_if(u, l, e).await
    }
    async fn data_versioned(
        &self,
        p: &str,
        s: &DataScope,
        k: &str,
    ) -> Result<Versioned<Option<Vec<u8>>>, SocleError> {
        let read = self.inner.data_versioned(p, s, k).await;
        if k == digest::MARKER_KEY {
            self.barrier.wait().await;
        }
        read
    }
    async fn set_data_if(
        &self,
        p: &str,
        s: &DataScope,
        k: &str,
        v: &[u8],
        e: Version,
    ) -> Result<Version, SocleError> {
        self.inner.set_data_if(p, s, k, v, e).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_senders_claiming_the_same_marker_the_loser_skips() {
    let people = [lea(), tom()];
    let world = World::new(people.to_vec()).await;
    let t0 = now();
    for p in &people {
        world.opt_in(&p.id, t0).await;
    }
    world
        .publish("Pour tous", Audience::Everyone, t0 + MINUTE)
        .await;
    let storage = Arc::new(Lockstep {
        inner: world.storage.clone(),
        barrier: tokio::sync::Barrier::new(2),
    });
    let node = || {
        DigestSender::new(
            world.config(world.sink.addr.port()),
            "Lycée Victor Hugo",
            storage.clone(),
            world.directory.clone(),
            world.storage.clone(),
        )
        .unwrap()
    };
    let (a, b) = (node(), node());
    let at = t0 + HOUR * 2;
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move { a.run_once(at).await }),
        tokio::spawn(async move { b.run_once(at).await }),
    );
    let (ra, rb) = (ra.unwrap().unwrap(), rb.unwrap().unwrap());
    // Both read every marker before either claimed it: each digest has one winner and
    // one loser of the conditional write.
    assert_eq!(ra.sent.len() + rb.sent.len(), 2, "{ra:?} {rb:?}");
    assert_eq!(
        ra.other_node.len() + rb.other_node.len(),
        2,
        "{ra:?} {rb:?}"
    );
    for p in &people {
        let address = p.attribute("mail").unwrap();
        assert_eq!(world.sink.to(address).len(), 1, "{address}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_and_the_digest_is_retried() {
    let world = World::new(vec![lea()]).await;
    let t0 = now();
    world.opt_in("lmartin", t0).await;
    world
        .publish("Réunion", Audience::Everyone, t0 + MINUTE)
        .await;

    // A port nobody listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let down = world.sender_to(closed);
    let err = down.run_once(t0 + HOUR * 2).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, DigestError::Smtp { .. }), "{err:?}");
    assert!(
        message.contains(&format!("127.0.0.1:{closed}"))
            && message.contains("lmartin")
            && message.contains("retried at the next run"),
        "{message}"
    );
    // The marker was not advanced, and no claim is left behind.
    assert_eq!(world.marker("lmartin").await, Some(Marker::at(t0)));

    // Next time, through a working server, she gets it.
    let report = world.sender().run_once(t0 + HOUR * 2).await.unwrap();
    assert_eq!(report.sent, ["lmartin"]);
    let mails = world.sink.to("lea.martin@lycee.example.org");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text().contains("Réunion"));
    assert_eq!(
        world.marker("lmartin").await,
        Some(Marker::at(t0 + HOUR * 2))
    );
}

#[tokio::test]
async fn claims_addresses_and_stale_opt_ins() {
    let no_mail = person("sansmail", "Sans Courriel", &[Profile::Eleve], None);
    let refused = person(
        "refuse",
        "Adresse Refusée",
        &[Profile::Eleve],
        Some("refuse@lycee.example.org"),
    );
    let world = World::new(vec![lea(), tom(), no_mail, refused]).await;
    let t0 = now();
    for user in ["lmartin", "tpetit", "sansmail", "refuse", "inconnu"] {
        world.opt_in(user, t0).await;
    }
    world
        .publish("Réunion", Audience::Everyone, t0 + MINUTE)
        .await;
    // Tom's digest is being sent by another node (claim still valid); Léa's claim was
    // abandoned by a node that stopped: it is taken over.
    let at = t0 + HOUR * 2;
    let claimed = |until: SystemTime| Marker {
        last: Marker::at(t0).last,
        claimed_until: Some(Marker::at(until).last),
    };
    for (user, marker) in [
        ("tpetit", claimed(at + MINUTE)),
        ("lmartin", claimed(at - MINUTE)),
    ] {
        world
            .storage
            .set_data(
                digest::NAMESPACE,
                &DataScope::User(user.into()),
                digest::MARKER_KEY,
                &marker.to_json(),
            )
            .await
            .unwrap();
    }
    // Zoé opted out, but her index key was left behind.
    world
        .storage
        .set_data(
            digest::NAMESPACE,
            &DataScope::Shared,
            &digest::index_key("zoe"),
            digest::OPTED_IN,
        )
        .await
        .unwrap();

    let report = world.sender().run_once(at).await.unwrap();
    assert_eq!(report.sent, ["lmartin"], "{report:?}");
    assert_eq!(report.other_node, ["tpetit"]);
    let skipped: BTreeMap<_, _> = report.skipped.iter().cloned().collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(skipped["sansmail"].contains("no mail attribute"));
    assert!(skipped["inconnu"].contains("not in the directory"));
    assert!(skipped["refuse"].contains("refused"), "{skipped:?}");
    // A permanent refusal skips that period (no retry loop); the others are retried.
    assert_eq!(world.marker("refuse").await, Some(Marker::at(at)));
    assert_eq!(world.marker("sansmail").await, Some(Marker::at(t0)));
    assert!(
        world
            .storage
            .data(
                digest::NAMESPACE,
                &DataScope::Shared,
                &digest::index_key("zoe")
            )
            .await
            .unwrap()
            .is_none(),
        "stale index key forgotten"
    );
    assert_eq!(world.sink.messages().len(), 1);
}
