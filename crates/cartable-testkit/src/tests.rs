use std::time::SystemTime;

use cartable_portlet::PreferenceError;
use cartable_portlet::markup::escape;
use cartable_portlet::prelude::*;
use cartable_socle::{Audience, PersonQuery, Reader};

use super::*;

/// A tiny portlet exercising every phase.
struct Echo(Descriptor);

impl Echo {
    fn new() -> Self {
        Echo(
            Descriptor::new("echo", "Écho")
                .mode(Mode::Help)
                .preference(
                    PreferenceSpec::new("color", "Couleur", "rouge").choices(["rouge", "bleu"]),
                )
                .preference(PreferenceSpec::new("size", "Taille", "10"))
                .consumes("demo.ping"),
        )
    }

    fn restricted() -> Self {
        let mut echo = Echo::new();
        echo.0 = echo.0.profiles([Profile::Enseignant]);
        echo
    }
}

#[async_trait]
impl Portlet for Echo {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let ns = ctx.window().namespace();
        let html = format!(
            r#"<h3>{hello} {name}</h3><p>mode={mode} state={state} p={p} color={color} size={size} lang={lang}</p>
<form method="post" action="{action}">{csrf}<label for="{ns}-op">Op</label><input id="{ns}-op" name="op"><button type="submit">Go</button></form>"#,
            hello = if ctx.is_english() { "Hello" } else { "Bonjour" },
            name = escape(&ctx.user().display_name),
            mode = ctx.mode(),
            state = ctx.window().state,
            p = escape(ctx.param("p").unwrap_or("-")),
            color = ctx.preferences.get("color").unwrap_or("?"),
            size = ctx.preferences.get("size").unwrap_or("?"),
            lang = ctx.locale(),
            action = escape(&ctx.urls().action().to_string()),
            csrf = ctx.csrf_field(),
        );
        Ok(RenderResponse::new(Markup::trusted_html(html)).title("Écho !"))
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        match request.required("op")? {
            "color" => ctx.preferences.set("color", request.required("value")?)?,
            "store" => {
                ctx.data()
                    .set("k", request.required("value")?.as_bytes())
                    .await?
            }
            "publish" => {
                ctx.notifier()
                    .publish(Notification {
                        source: "echo".into(),
                        title: request.required("value")?.into(),
                        link: None,
                        audience: Audience::Users(vec!["someone-else".into()]),
                        at: SystemTime::now(),
                    })
                    .await?;
            }
            "maximize" => {
                return Ok(ActionResponse::default()
                    .param("p", "after")
                    .state(WindowState::Maximized)
                    .mode(Mode::Help));
            }
            other => return Err(PortletError::BadRequest(format!("unknown op {other}"))),
        }
        Ok(ActionResponse::default())
    }

    async fn resource(
        &self,
        ctx: &PortletContext,
        request: ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        match request.id.as_str() {
            "echo" => ResourceResponse::json(&serde_json::json!({
                "method": request.method.as_str(),
                "params": request.params,
                "user": ctx.user().id,
            })),
            "friend" => {
                let found = ctx
                    .directory()
                    .search(&PersonQuery {
                        name: Some("theo".into()),
                        ..Default::default()
                    })
                    .await?;
                Ok(ResourceResponse::text(
                    found
                        .iter()
                        .map(|p| p.display_name.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ))
            }
            other => Err(PortletError::NotFound(other.into())),
        }
    }

    async fn event(
        &self,
        ctx: &mut PortletContext,
        event: &Event,
    ) -> Result<Vec<Event>, PortletError> {
        let size = event.payload.as_str().unwrap_or_default();
        ctx.preferences.set("size", size)?;
        Ok(vec![Event::new("demo.pong", serde_json::json!(size))])
    }
}

fn kit() -> TestKit {
    TestKit::new(Arc::new(Echo::new()))
}

#[tokio::test]
async fn renders_with_defaults() {
    let out = kit().render().await.unwrap();
    assert_eq!(
        out.text(),
        "Bonjour Camille Test mode=view state=normal p=- color=rouge size=10 lang=fr Op Go"
    );
    assert_eq!(out.title(), Some("Écho !"));
    assert_eq!(out.namespace(), "w-test-window");
    assert!(out.html().contains(r#"action="/action/test/test-window""#));
    assert!(out.html().contains(r#"value="test-csrf""#));
    out.assert_accessible();
    // Deref to the response.
    assert!(out.head.is_empty());
}

#[tokio::test]
async fn user_locale_modes_and_params() {
    let kit = kit()
        .user_with("lea", "<Léa>", [Profile::Eleve])
        .locale("en");
    let out = kit
        .render_with(
            &RenderOptions::new()
                .mode(Mode::Help)
                .state(WindowState::Maximized)
                .param("p", "a&b"),
        )
        .await
        .unwrap();
    assert!(out.html().contains("Hello &lt;Léa&gt;"), "{}", out.html());
    assert!(out.text().contains("mode=help state=maximized p=a&b"));
    assert!(out.text().contains("lang=en"));
    assert!(
        kit.render_mode(Mode::Edit)
            .await
            .unwrap()
            .text()
            .contains("mode=edit")
    );
    assert!(
        kit.render_state(WindowState::Minimized)
            .await
            .unwrap()
            .text()
            .contains("state=minimized")
    );
}

#[tokio::test]
async fn the_portal_checks_are_applied() {
    // A mode the descriptor lacks.
    struct ViewOnly(Descriptor);
    #[async_trait]
    impl Portlet for ViewOnly {
        fn descriptor(&self) -> &Descriptor {
            &self.0
        }
        async fn render(&self, _: &PortletContext) -> Result<RenderResponse, PortletError> {
            Ok(Markup::text("x").into())
        }
    }
    let mut descriptor = Descriptor::new("view-only", "V");
    descriptor.states = vec![WindowState::Normal];
    let view_only = TestKit::new(Arc::new(ViewOnly(descriptor)));
    assert!(matches!(
        view_only.render_mode(Mode::Help).await,
        Err(CallError::UnsupportedMode { .. })
    ));
    assert!(matches!(
        view_only.render_state(WindowState::Maximized).await,
        Err(CallError::UnsupportedState { .. })
    ));
    // The default action refuses.
    assert!(matches!(
        view_only.action([("a", "b")]).await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));

    // The audience.
    let restricted = TestKit::new(Arc::new(Echo::restricted()));
    assert!(matches!(
        restricted.render().await,
        Err(CallError::Forbidden { .. })
    ));
    let teacher = restricted.user_with("paul", "Paul", [Profile::Enseignant, Profile::Parent]);
    teacher.render().await.unwrap();

    // The CSRF token: a forged one, or none in a form sent as is, is refused.
    let kit = kit();
    assert!(matches!(
        kit.action([("_csrf", "forged"), ("op", "store"), ("value", "x")])
            .await,
        Err(CallError::Csrf)
    ));
    let missing = kit
        .action_exactly([("op", "store"), ("value", "x")])
        .await
        .unwrap_err();
    assert_eq!(missing.status(), http::StatusCode::FORBIDDEN);
    assert_eq!(kit.data().get("k").await.unwrap(), None);
    kit.action([("_csrf", CSRF_TOKEN), ("op", "store"), ("value", "x")])
        .await
        .unwrap();
    assert_eq!(kit.data().get("k").await.unwrap(), Some(b"x".to_vec()));
}

#[tokio::test]
async fn actions_persist_preferences_in_the_user_layer() {
    let kit = kit();
    kit.action([("op", "color"), ("value", "bleu")])
        .await
        .unwrap();
    assert_eq!(kit.preferences().await.unwrap().get("color"), Some("bleu"));
    assert_eq!(
        kit.user_preferences().await.unwrap(),
        BTreeMap::from([("color".to_string(), "bleu".to_string())])
    );
    assert!(kit.render().await.unwrap().text().contains("color=bleu"));

    // A value outside the spec's choices is refused and nothing changes.
    let err = kit
        .action([("op", "color"), ("value", "vert")])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CallError::Portlet(PortletError::Preference(PreferenceError::Invalid { .. }))
        ),
        "{err:?}"
    );
    assert_eq!(kit.preferences().await.unwrap().get("color"), Some("bleu"));

    // Another user of the same world has her own layer.
    let other = kit.clone().user_with("theo", "Théo", [Profile::Eleve]);
    assert_eq!(
        other.preferences().await.unwrap().get("color"),
        Some("rouge")
    );
}

#[tokio::test]
async fn establishment_values_and_locks() {
    let kit = kit()
        .establishment_preference("color", "bleu", false)
        .establishment_preference("size", "12", true);
    let prefs = kit.preferences().await.unwrap();
    assert_eq!(prefs.get("color"), Some("bleu"));
    assert!(!prefs.is_locked("color"));
    assert_eq!(prefs.get("size"), Some("12"));
    assert!(prefs.is_locked("size"));

    // The user's value wins over an unlocked établissement value.
    kit.submit_preferences([("color", "rouge")]).await.unwrap();
    assert_eq!(kit.preferences().await.unwrap().get("color"), Some("rouge"));
    // A locked one is disabled in the form: a value for it is forged and ignored, as by
    // the portal; the rest of the form is stored. Undeclared names are ignored too.
    kit.submit_preferences([("color", "bleu"), ("size", "3"), ("nope", "x")])
        .await
        .unwrap();
    let prefs = kit.preferences().await.unwrap();
    assert_eq!(prefs.get("color"), Some("bleu"));
    assert_eq!(prefs.get("size"), Some("12"));
    assert!(!kit.user_preferences().await.unwrap().contains_key("nope"));
    // An invalid value is refused with a 400, and nothing is stored.
    let bad = kit
        .submit_preferences([("color", "violet")])
        .await
        .unwrap_err();
    assert_eq!(bad.status(), http::StatusCode::BAD_REQUEST);
    assert_eq!(kit.preferences().await.unwrap().get("color"), Some("bleu"));
    // An event trying to change a locked preference fails in the portlet itself.
    assert!(matches!(
        kit.event(Event::new("demo.ping", serde_json::json!("20")))
            .await,
        Err(CallError::Portlet(PortletError::Preference(
            PreferenceError::Locked(_)
        )))
    ));

    // A value stored before the lock is ignored while locked.
    let unlocked = TestKit::new(Arc::new(Echo::new()));
    unlocked.submit_preferences([("size", "99")]).await.unwrap();
    let locked = unlocked
        .clone()
        .establishment_preference("size", "12", true);
    assert_eq!(locked.preferences().await.unwrap().get("size"), Some("12"));
    assert!(locked.render().await.unwrap().text().contains("size=12"));
}

#[tokio::test]
async fn render_after_follows_the_action() {
    let kit = kit();
    let act = kit.action([("op", "maximize")]).await.unwrap();
    let out = kit.render_after(&act).await.unwrap();
    assert!(
        out.text().contains("mode=help state=maximized p=after"),
        "{}",
        out.text()
    );
    assert!(matches!(
        kit.action([("op", "nope")]).await,
        Err(CallError::Portlet(PortletError::BadRequest(_)))
    ));
}

#[tokio::test]
async fn resources() {
    let kit = kit().person(Person {
        id: "theo".into(),
        display_name: "Théo Blanc".into(),
        profiles: vec![Profile::Eleve],
        attributes: BTreeMap::new(),
    });
    let res = kit.resource("echo", [("q", "1")]).await.unwrap();
    assert_eq!(res.content_type, "application/json");
    let v: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(v["method"], "GET");
    assert_eq!(v["params"]["q"], "1");
    assert_eq!(v["user"], "camille");
    let res = kit
        .resource("friend", Vec::<(&str, &str)>::new())
        .await
        .unwrap();
    assert_eq!(&res.body[..], "Théo Blanc".as_bytes());
    assert!(matches!(
        kit.resource("nope", [("a", "b")]).await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
    let post = kit
        .resource_with(
            &RenderOptions::new(),
            ResourceRequest {
                id: "echo".into(),
                method: Method::POST,
                params: params([("_csrf", CSRF_TOKEN), ("x", "y")]),
                body: Bytes::new(),
                files: Default::default(),
            },
        )
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(v["method"], "POST");
    assert_eq!(v["params"], serde_json::json!({ "x": "y" }));
}

#[tokio::test]
async fn events_and_notifications() {
    let kit = kit();
    let out = kit
        .event(Event::new("demo.ping", serde_json::json!("20")))
        .await
        .unwrap();
    assert_eq!(out, [Event::new("demo.pong", serde_json::json!("20"))]);
    assert_eq!(kit.preferences().await.unwrap().get("size"), Some("20"));
    assert!(matches!(
        kit.event(Event::new("other", serde_json::Value::Null))
            .await,
        Err(CallError::Portlet(PortletError::BadRequest(_)))
    ));

    kit.action([("op", "publish"), ("value", "Nouveau !")])
        .await
        .unwrap();
    let published = kit.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].title, "Nouveau !");
    // Recorded whatever the audience, and passed on to the real notifier.
    assert!(
        kit.notifier()
            .recent(&Reader::new("camille", [Profile::Eleve]), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        kit.notifier()
            .recent(&Reader::new("someone-else", []), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    kit.clear_published();
    assert!(kit.published().is_empty());
}

#[tokio::test]
async fn the_default_directory_knows_the_user_and_added_people() {
    let kit = kit()
        .user_with("lea", "Léa Martin", [Profile::Eleve])
        .attribute("ENTEleveClasses", ["2nde-3"])
        .person(Person {
            id: "paul".into(),
            display_name: "Paul Durand".into(),
            profiles: vec![Profile::Enseignant],
            attributes: BTreeMap::new(),
        });
    let dir = kit.directory();
    let lea = dir.person("LEA").await.unwrap().unwrap();
    assert_eq!(lea.attribute("ENTEleveClasses"), Some("2nde-3"));
    assert_eq!(kit.current_user().id, "lea");
    let teachers = dir
        .search(&PersonQuery {
            profile: Some(Profile::Enseignant),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(teachers.len(), 1);
    let class = dir
        .search(&PersonQuery {
            attribute: Some(("enteleveclasses".into(), "2nde-3".into())),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(class[0].id, "lea");
    assert!(dir.authenticate("lea", "x").await.is_err());

    let replaced = kit.with_directory(Arc::new(TestDirectory::default()));
    assert!(replaced.directory().person("lea").await.unwrap().is_none());
}

#[tokio::test]
async fn services_can_be_replaced() {
    let storage: Arc<dyn Storage> = Arc::new(cartable_socle::DbStore::in_memory().await.unwrap());
    let notifier = Arc::new(MemoryNotifier::new(5));
    let kit = kit()
        .with_storage(storage.clone())
        .with_notifier(notifier.clone());
    kit.action([("op", "store"), ("value", "v")]).await.unwrap();
    assert_eq!(
        storage
            .data(
                "echo",
                &cartable_socle::DataScope::User("camille".into()),
                "k"
            )
            .await
            .unwrap(),
        Some(b"v".to_vec())
    );
    kit.action([("op", "publish"), ("value", "t")])
        .await
        .unwrap();
    assert_eq!(
        notifier
            .recent(&Reader::new("someone-else", []), 5)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(kit.descriptor().id, "echo");
    assert_eq!(kit.portlet().descriptor().id, "echo");
    assert!(format!("{kit:?}").contains("echo"));
}

/// Stores the files of its form and serves them back.
struct FileDrop(Descriptor);

#[async_trait]
impl Portlet for FileDrop {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::text("dépôt").into())
    }
    async fn action(
        &self,
        ctx: &mut PortletContext,
        mut request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let mut response = ActionResponse::default().param("title", request.required("title")?);
        while let Some(file) = request.files.next().await? {
            let space = cartable_socle::Space::User(ctx.user().id.clone());
            let stored = file.store(ctx.files()?, "depot", space, 1 << 20).await?;
            response = response.param("file", stored.id);
        }
        Ok(response)
    }
    async fn resource(
        &self,
        ctx: &PortletContext,
        request: ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        let id = request
            .params
            .get("id")
            .and_then(|id| cartable_socle::FileId::parse(id))
            .ok_or_else(|| PortletError::BadRequest("id".into()))?;
        let file = ctx
            .files()?
            .get(&id)
            .await?
            .ok_or(PortletError::Forbidden)?;
        Ok(ResourceResponse::file(file))
    }
}

#[tokio::test]
async fn a_test_sends_files_to_an_action_and_reads_them_back() {
    let kit = TestKit::new(Arc::new(FileDrop(
        Descriptor::new("depot", "Dépôt").upload_limit(64 * 1024),
    )));
    let sent = TestFile::new("file", "C:\\docs\\notes.txt", "text/plain", "bonjour");
    let done = kit
        .action_with_files([("title", "Notes")], [sent])
        .await
        .unwrap();
    assert_eq!(done.params["title"], "Notes");
    let id = done.params["file"].clone();
    let file = kit.resource("file", [("id", id.as_str())]).await.unwrap();
    assert_eq!(file.file.as_ref().unwrap().name, "notes.txt");
    assert_eq!(&kit.download(&file).await.unwrap()[..], b"bonjour");
    let space = cartable_socle::Space::User("camille".into());
    assert_eq!(kit.files().await.unwrap().usage(&space).await.unwrap(), 7);

    // Over the portlet's limit: refused before the portlet runs, as by the portal.
    let big = TestFile::new(
        "file",
        "big.bin",
        "application/octet-stream",
        vec![0u8; 70_000],
    );
    let refused = kit
        .action_with_files([("title", "Gros")], [big])
        .await
        .unwrap_err();
    assert_eq!(refused.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(kit.files().await.unwrap().usage(&space).await.unwrap(), 7);
    // Without the token: refused.
    let forged = kit
        .action_with_files(
            [("_csrf", "forged"), ("title", "x")],
            [TestFile::new("file", "a.txt", "text/plain", "x")],
        )
        .await;
    assert!(matches!(forged, Err(CallError::Csrf)));
}

/// A portlet whose periodic task publishes the time it ran at.
struct Ticker(Descriptor);

#[async_trait]
impl Portlet for Ticker {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }

    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::text("tic").into())
    }

    fn periodic(&self) -> Option<&dyn cartable_portlet::periodic::Periodic> {
        Some(self)
    }
}

#[async_trait]
impl cartable_portlet::periodic::Periodic for Ticker {
    fn every(&self) -> Duration {
        Duration::from_secs(60)
    }

    async fn run(&self, services: &Services) -> Result<(), PortletError> {
        let at = services.clock.now();
        let minutes = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|e| PortletError::Internal(e.to_string()))?
            .as_secs()
            / 60;
        services
            .notifier
            .publish(Notification {
                source: "ticker".into(),
                title: format!("minute {minutes}"),
                link: None,
                audience: Audience::Everyone,
                at,
            })
            .await?;
        Ok(())
    }
}

#[tokio::test]
async fn run_periodic_runs_the_task_now_on_the_kits_clock() {
    let kit =
        TestKit::new(Arc::new(Ticker(Descriptor::new("ticker", "Tic")))).at("2026-12-07T09:00:00Z");
    kit.run_periodic().await.unwrap();
    kit.advance(Duration::from_secs(60));
    kit.run_periodic().await.unwrap();
    let titles: Vec<String> = kit.published().into_iter().map(|n| n.title).collect();
    let first = 1_796_634_000 / 60;
    assert_eq!(
        titles,
        vec![format!("minute {first}"), format!("minute {}", first + 1)]
    );
    // A portlet without one: a clear error, nothing run.
    let echo = TestKit::new(Arc::new(Echo::new()));
    let err = echo.run_periodic().await.unwrap_err();
    assert!(err.to_string().contains("no periodic task"), "{err}");
}
