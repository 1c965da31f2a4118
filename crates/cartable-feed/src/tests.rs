use std::sync::Arc;

use cartable_fetch::HostPolicy;
use cartable_testkit::TestKit;

use super::*;

fn two_feeds() -> FeedConfig {
    FeedConfig::new(
        "actualites",
        "Actualités",
        vec![
            ApprovedFeed::new("Académie", "https://ac.example/rss.xml"),
            ApprovedFeed::new("Éduscol", "https://eduscol.example/feed.atom"),
        ],
    )
}

fn fetcher() -> Fetcher {
    Fetcher::new(
        HostPolicy::new()
            .allow("ac.example")
            .allow("eduscol.example"),
    )
}

#[test]
fn descriptor_declares_preferences_and_help() {
    let p = FeedPortlet::new(two_feeds(), fetcher()).unwrap();
    let d = p.descriptor();
    assert_eq!(d.id, "actualites");
    assert!(d.supports_mode(Mode::Help) && d.supports_mode(Mode::Edit));
    let items = d.preference_spec(ITEMS_PREFERENCE).unwrap();
    assert_eq!(items.default, "5");
    assert_eq!(items.choices, ["3", "5", "10", "20"]);
    let feed = d.preference_spec(FEED_PREFERENCE).unwrap();
    assert_eq!(feed.default, "Académie");
    assert_eq!(feed.choices, ["Académie", "Éduscol"]);

    let mut one = two_feeds();
    one.feeds.truncate(1);
    let p = FeedPortlet::new(one, fetcher()).unwrap();
    assert!(
        p.descriptor().preference_spec(FEED_PREFERENCE).is_none(),
        "nothing to choose with one feed"
    );
}

#[test]
fn feeds_the_policy_refuses_are_a_configuration_error() {
    let err = FeedPortlet::new(
        two_feeds(),
        Fetcher::new(HostPolicy::new().allow("ac.example")),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::BadUrl { name, .. } if name == "Éduscol"),
        "{err}"
    );
    assert!(err.to_string().contains("allow"), "{err}");
}

#[tokio::test]
async fn edit_mode_offers_the_approved_feeds_unless_locked() {
    let kit = TestKit::new(Arc::new(FeedPortlet::new(two_feeds(), fetcher()).unwrap()));
    let edit = kit.render_mode(Mode::Edit).await.unwrap();
    edit.assert_accessible();
    assert!(
        edit.html()
            .contains(r#"<option value="Éduscol">Éduscol</option>"#)
    );
    assert!(edit.html().contains(r#"<option value="20">20</option>"#));
    kit.submit_preferences([("feed", "Éduscol"), ("items", "10")])
        .await
        .unwrap();
    assert!(
        kit.submit_preferences([("feed", "https://evil.example/")])
            .await
            .is_err(),
        "only approved feeds"
    );
    assert!(kit.submit_preferences([("items", "1000")]).await.is_err());

    let locked = kit
        .clone()
        .establishment_preference("feed", "Académie", true);
    let edit = locked.render_mode(Mode::Edit).await.unwrap();
    edit.assert_accessible();
    assert!(edit.html().contains("disabled"));
    // A value for the disabled field is forged: ignored, as by the portal.
    locked
        .submit_preferences([("feed", "Éduscol")])
        .await
        .unwrap();
    assert_eq!(
        locked.preferences().await.unwrap().get("feed"),
        Some("Académie")
    );
    let help = locked.render_mode(Mode::Help).await.unwrap();
    help.assert_accessible();
    assert!(
        help.text().contains("fixé par l’établissement"),
        "{}",
        help.text()
    );
    assert!(
        help.text().contains("date de plus de 15 minutes"),
        "{}",
        help.text()
    );
    let help = locked.locale("en").render_mode(Mode::Help).await.unwrap();
    assert!(help.text().contains("The school has set the feed."));
}

#[tokio::test]
async fn an_unreachable_feed_says_so_in_the_window() {
    // A port nobody listens on (bound, then closed).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut config = two_feeds();
    config.feeds = vec![ApprovedFeed::new(
        "Local",
        &format!("http://127.0.0.1:{port}/rss.xml"),
    )];
    let fetcher = Fetcher::new(HostPolicy::new().allow(&format!("127.0.0.1:{port}")));
    let kit = TestKit::new(Arc::new(FeedPortlet::new(config, fetcher).unwrap()));
    let out = kit.render().await.unwrap();
    out.assert_accessible();
    assert_eq!(
        out.text(),
        "Le flux « Local » est indisponible : le serveur du flux est injoignable. Réessayez plus tard."
    );
    assert!(out.html().contains(r#"role="alert""#));
    let en = kit.locale("en").render().await.unwrap();
    assert_eq!(
        en.text(),
        "The feed “Local” is unavailable: the feed server cannot be reached. Try again later."
    );
}
