//! Group tools through a running portal (issue 15): services that declare a group mode
//! are offered to groups, a group's owner and managers choose its tools, quotas and
//! members' rights on `/compte/groupes/{id}` within the caps `[groups]` sets per profile,
//! a reader or a pupil is refused everywhere, and an administrator lists, filters, pages
//! and edits every group on `/admin/groupes`. A service sees the group's tool and the
//! caller's right through its context.

mod common;

use std::sync::Arc;

use cartable::portlet::{GroupTool, LocalizedText, ToolMeasure};
use cartable::prelude::*;
use common::*;

const CONFIG: &str = r#"
[groups]
creators = ["enseignant", "personnel"]
file_quota_mb = 10
max_file_quota_mb = 500

[groups.profiles.enseignant]
tools = ["forum"]
max_file_quota_mb = 50
tool_limits = { forum = 100 }

[groups.profiles.personnel]
max_groups = 40

[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "forum" }]]
"#;

/// A group tool that counts messages; its window shows what it knows of the group
/// `p.group` (`?p.group=<id>`): the group's setting of the tool and the user's right.
struct Forum(Descriptor);

#[async_trait]
impl Portlet for Forum {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let Some(group) = ctx.param("group") else {
            return Ok(Markup::text("no group").into());
        };
        Ok(Markup::text(&match ctx.group_access(group).await? {
            Some((grant, right)) => format!(
                "ACCESS right={} limit={}",
                right.as_str(),
                grant.limit.map_or("default".into(), |l| l.to_string())
            ),
            None => "NO-ACCESS".into(),
        })
        .into())
    }
}

/// A group tool with nothing to measure.
struct Documents(Descriptor);

#[async_trait]
impl Portlet for Documents {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::text("documents").into())
    }
}

fn portlets() -> Vec<Arc<dyn Portlet>> {
    vec![
        Arc::new(Forum(
            Descriptor::new("forum", "Forum").group_tool(
                GroupTool::new(LocalizedText::fr("Forum du groupe").with("en", "Group forum"))
                    .measure(ToolMeasure::new("messages", 200, 10_000)),
            ),
        )),
        Arc::new(Documents(
            Descriptor::new("documents", "Documents").group_tool(GroupTool::new(
                LocalizedText::fr("Documents partagés").with("en", "Shared documents"),
            )),
        )),
        Hello::shared("hello"),
    ]
}

/// The group id of a `/compte/groupes/{id}?…` redirect.
fn group_id(location: &str) -> String {
    let rest = location
        .split("/compte/groupes/")
        .nth(1)
        .unwrap_or_else(|| panic!("not a group page: {location}"));
    rest.split('?').next().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_choose_tools_and_rights_and_others_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = TestPortal::start(CONFIG, dir.path(), portlets()).await;
    let mut paul = p.login("paul").await;
    let r = paul
        .post_csrf(
            "/compte/groups",
            &[
                ("op", "create"),
                ("name", "Club théâtre"),
                ("members", "lea, ines, ancien"),
                ("ends", "2099-01-01"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "beyond max_days: {}", r.body);
    let ends = {
        // Within `max_days` (400) of today.
        let now = std::time::SystemTime::now() + std::time::Duration::from_secs(86_400 * 30);
        let g = cartable::socle::format_generalized_time(now);
        format!("{}-{}-{}", &g[0..4], &g[4..6], &g[6..8])
    };
    let r = paul
        .post_csrf(
            "/compte/groups",
            &[
                ("op", "create"),
                ("name", "Club théâtre"),
                ("members", "lea, ines, ancien"),
                ("ends", &ends),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let id = group_id(r.location());
    let page = paul.get(&format!("/compte/groupes/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    // The teacher's profile allows the forum only; its cap is shown.
    assert!(page.body.contains("Forum du groupe"), "{}", page.body);
    assert!(!page.body.contains("Documents partagés"));
    assert!(page.body.contains(r#"max="100""#), "the forum's cap");
    assert!(page.body.contains(r#"max="50""#), "the quota's cap");

    // Rights: lea reads, ines manages, ancien contributes.
    let path = format!("/compte/groupes/{id}");
    let r = paul
        .post_csrf(
            &path,
            &[
                ("op", "members"),
                ("uid.0", "lea"),
                ("right.0", "reader"),
                ("uid.1", "ines"),
                ("right.1", "manager"),
                ("uid.2", "ancien"),
                ("right.2", "contributor"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // Beyond the teacher's caps: refused with the reason, nothing changed.
    for (fields, what) in [
        (
            vec![("tool.documents", "on"), ("file_quota_mb", "10")],
            "a tool the profile may not give",
        ),
        (
            vec![
                ("tool.forum", "on"),
                ("limit.forum", "101"),
                ("file_quota_mb", "10"),
            ],
            "a limit past the cap",
        ),
        (
            vec![("tool.forum", "on"), ("file_quota_mb", "51")],
            "a quota past the cap",
        ),
        (
            vec![
                ("tool.forum", "on"),
                ("limit.forum", "beaucoup"),
                ("file_quota_mb", "10"),
            ],
            "not a number",
        ),
    ] {
        let mut form = vec![("op", "tools")];
        form.extend(fields);
        let r = paul.post_csrf(&path, &form).await;
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        assert!(r.body.contains("error-box"), "{what}");
    }

    // The reader (a pupil) and the contributor are refused, whatever they post.
    for who in ["lea", "ancien"] {
        let mut c = p.login(who).await;
        assert_eq!(c.get(&path).await.status, 403, "{who} reads no edit page");
        for op in [
            vec![
                ("op", "tools"),
                ("tool.forum", "on"),
                ("file_quota_mb", "10"),
            ],
            vec![("op", "members"), ("uid.0", who), ("right.0", "manager")],
            vec![
                ("op", "settings"),
                ("name", "Pris"),
                ("ends", ends.as_str()),
            ],
            vec![("op", "delete")],
        ] {
            let r = c.post_csrf(&path, &op).await;
            assert_eq!(r.status, 403, "{who} {op:?}");
        }
        assert_eq!(c.get("/admin/groupes").await.status, 403);
        assert_eq!(c.get(&format!("/admin/groupes/{id}")).await.status, 403);
        let r = c
            .post_csrf(&format!("/admin/groupes/{id}"), &[("op", "delete")])
            .await;
        assert_eq!(r.status, 403);
        let account = c.get("/compte").await.body;
        assert!(account.contains("Club théâtre"));
        assert!(!account.contains(&path), "no manage link for {who}");
    }

    // The manager chooses the tools and quota; she may not delete.
    let mut ines = p.login("ines").await;
    assert!(
        ines.get("/compte").await.body.contains(&path),
        "manage link"
    );
    let r = ines
        .post_csrf(
            &path,
            &[
                ("op", "tools"),
                ("tool.forum", "on"),
                ("limit.forum", "50"),
                ("file_quota_mb", "20"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(ines.post_csrf(&path, &[("op", "delete")]).await.status, 403);

    // The service's view, through its context.
    let mut lea = p.login("lea").await;
    let w = lea.get(&format!("/page/accueil/forum?p.group={id}")).await;
    assert!(
        w.body.contains("ACCESS right=reader limit=50"),
        "{}",
        w.body
    );
    let w = paul.get(&format!("/page/accueil/forum?p.group={id}")).await;
    assert!(w.body.contains("ACCESS right=owner limit=50"), "{}", w.body);
    let mut nadia = p.login("nadia").await;
    let w = nadia
        .get(&format!("/page/accueil/forum?p.group={id}"))
        .await;
    assert!(w.body.contains("NO-ACCESS"), "not a member: {}", w.body);
    assert!(
        lea.get("/compte").await.body.contains("Forum du groupe"),
        "members see the group's tools"
    );

    // The owner deletes it.
    let r = paul.post_csrf(&path, &[("op", "delete")]).await;
    assert_eq!(r.status, 303);
    assert_eq!(paul.get(&path).await.status, 404);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_lists_filters_pages_and_edits_every_group() {
    let dir = tempfile::tempdir().unwrap();
    let p = TestPortal::start(CONFIG, dir.path(), portlets()).await;
    let ends = {
        let now = std::time::SystemTime::now() + std::time::Duration::from_secs(86_400 * 30);
        let g = cartable::socle::format_generalized_time(now);
        format!("{}-{}-{}", &g[0..4], &g[4..6], &g[6..8])
    };
    let mut paul = p.login("paul").await;
    let r = paul
        .post_csrf(
            "/compte/groups",
            &[
                ("op", "create"),
                ("name", "Chorale"),
                ("members", "lea ines"),
                ("ends", &ends),
            ],
        )
        .await;
    let id = group_id(r.location());
    // Staff's many groups, to page through.
    let mut ines = p.login("ines").await;
    for i in 0..27 {
        let r = ines
            .post_csrf(
                "/compte/groups",
                &[
                    ("op", "create"),
                    ("name", &format!("Atelier {i:02}")),
                    ("members", ""),
                    ("ends", &ends),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    let mut nadia = p.login("nadia").await;
    assert!(nadia.get("/admin").await.body.contains("/admin/groupes"));
    let list = nadia.get("/admin/groupes").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("28") && list.body.contains("1 / 2"),
        "{}",
        list.body
    );
    assert!(list.body.contains("Atelier 00") && !list.body.contains("Atelier 26"));
    let second = nadia.get("/admin/groupes?page=2").await.body;
    assert!(second.contains("Atelier 26") && second.contains("Chorale"));
    let filtered = nadia.get("/admin/groupes?q=chorale").await.body;
    assert!(filtered.contains("Chorale") && !filtered.contains("Atelier"));
    assert!(filtered.contains(&format!("/admin/groupes/{id}")));
    let by_member = nadia.get("/admin/groupes?q=lea").await.body;
    assert!(
        by_member.contains("Chorale"),
        "filtered by a member's login"
    );

    // She edits it: tools past the teacher's caps (up to `[groups]`'), members and
    // rights, name and end date; then deletes it.
    let path = format!("/admin/groupes/{id}");
    let page = nadia.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Documents partagés"),
        "every tool for her"
    );
    let r = nadia
        .post_csrf(
            &path,
            &[
                ("op", "tools"),
                ("tool.documents", "on"),
                ("tool.forum", "on"),
                ("limit.forum", "5000"),
                ("file_quota_mb", "400"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = nadia
        .post_csrf(&path, &[("op", "tools"), ("file_quota_mb", "501")])
        .await;
    assert_eq!(r.status, 400, "past `[groups] max_file_quota_mb`");
    let r = nadia
        .post_csrf(
            &path,
            &[
                ("op", "members"),
                ("uid.0", "lea"),
                ("right.0", "remove"),
                ("uid.1", "ines"),
                ("right.1", "reader"),
                ("add", "ancien, inconnu"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "an unknown login");
    assert!(r.body.contains("inconnu"));
    let r = nadia
        .post_csrf(
            &path,
            &[
                ("op", "members"),
                ("uid.0", "lea"),
                ("right.0", "remove"),
                ("uid.1", "ines"),
                ("right.1", "reader"),
                ("add", "ancien"),
                ("add_right", "manager"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = nadia
        .post_csrf(
            &path,
            &[
                ("op", "settings"),
                ("name", "Chorale du lycée"),
                ("ends", &ends),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = nadia
        .post_csrf(
            &path,
            &[
                ("op", "settings"),
                ("name", "Rebaptisée"),
                ("ends", "2999-01-01"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "past max_days: {}", r.body);
    let list = nadia.get("/admin/groupes?q=chorale").await.body;
    assert!(!list.contains("Rebaptisée"), "nothing half-changed");
    assert!(list.contains("Chorale du lycée") && list.contains("Documents partagés"));
    let mut ancien = p.login("ancien").await;
    assert_eq!(
        ancien.get(&format!("/compte/groupes/{id}")).await.status,
        200,
        "made a manager by the admin"
    );
    let w = ines.get(&format!("/page/accueil/forum?p.group={id}")).await;
    assert!(
        w.body.contains("ACCESS right=reader limit=5000"),
        "{}",
        w.body
    );
    let mut lea = p.login("lea").await;
    assert!(
        !lea.get("/compte").await.body.contains("Chorale"),
        "removed"
    );

    let r = nadia.post_csrf(&path, &[("op", "delete")]).await;
    assert_eq!(r.status, 303);
    assert_eq!(nadia.get(&path).await.status, 404);
    assert!(!nadia.get("/admin/groupes").await.body.contains("Chorale"));
    p.stop().await;
}
