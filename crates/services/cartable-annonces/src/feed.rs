//! The private feed: RSS 2.0 of the current announcements a reader may see, written with
//! the `rss` crate, served at her secret URL (`<base>/flux/nouveautes/<token>/rss.xml`)
//! through [`SecretResource`].

use std::sync::Arc;

use cartable_portlet::export::DataContext;
use cartable_portlet::secret::{SecretRequest, SecretResource};
use cartable_portlet::{PortletError, ResourceResponse, Services, async_trait};
use cartable_socle::{GroupPolicy, Groups};
use chrono::{DateTime, Utc};
use rss::extension::dublincore::{self, DublinCoreExtension};
use rss::{Channel, Guid, Item};

use crate::model::{Announcement, paragraphs};
use crate::{MAX_LISTED, MESSAGES, News, seconds, store};

/// The feed's file name, the last segment of its URL.
pub const FEED_FILE: &str = "rss.xml";

/// Its media type.
const MEDIA_TYPE: &str = "application/rss+xml; charset=utf-8";

/// `text` with the five XML special characters escaped, for HTML inside the feed.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A body as HTML paragraphs (what feed readers show), every character escaped.
fn body_html(body: &str) -> String {
    paragraphs(body)
        .iter()
        .map(|lines| {
            let inner: Vec<String> = lines.iter().map(|l| escape(l)).collect();
            format!("<p>{}</p>", inner.join("<br>"))
        })
        .collect()
}

/// What the feed says about itself.
pub(crate) struct FeedInfo<'a> {
    /// The channel's title ("Annonces – Léa Martin").
    pub title: String,
    /// What it is.
    pub description: String,
    /// The portal's root, absolute, without a trailing `/`.
    pub portal_url: &'a str,
    /// The language of its texts (`fr`, `en`).
    pub language: &'a str,
}

/// The RSS 2.0 document of `list`.
pub(crate) fn rss(info: &FeedInfo<'_>, list: &[Announcement]) -> String {
    let home = format!("{}/", info.portal_url);
    let items: Vec<Item> = list
        .iter()
        .map(|a| {
            let mut item = Item {
                title: Some(a.title.clone()),
                link: Some(home.clone()),
                guid: Some(Guid {
                    value: format!("{}/#annonce-{}", info.portal_url, a.id),
                    permalink: false,
                }),
                pub_date: Some(
                    DateTime::<Utc>::from_timestamp(a.shown_from, 0)
                        .unwrap_or_default()
                        .to_rfc2822(),
                ),
                ..Item::default()
            };
            let html = body_html(&a.body);
            if !html.is_empty() {
                item.description = Some(html);
            }
            if !a.author_name.is_empty() {
                item.dublin_core_ext = Some(DublinCoreExtension {
                    creators: vec![a.author_name.clone()],
                    ..DublinCoreExtension::default()
                });
            }
            item
        })
        .collect();
    let mut channel = Channel {
        title: info.title.clone(),
        link: home,
        description: info.description.clone(),
        language: Some(info.language.to_string()),
        generator: Some("Cartable".into()),
        items,
        ..Channel::default()
    };
    channel
        .namespaces
        .insert("dc".into(), dublincore::NAMESPACE.into());
    channel.to_string()
}

#[async_trait]
impl SecretResource for News {
    async fn owner(
        &self,
        services: &Services,
        token: &str,
    ) -> Result<Option<String>, PortletError> {
        let Some(db) = &services.db else {
            return Ok(None);
        };
        Ok(store::owner_of(db, token).await?)
    }

    async fn serve(
        &self,
        cx: &DataContext,
        request: SecretRequest,
    ) -> Result<ResourceResponse, PortletError> {
        if request.file != FEED_FILE {
            return Err(PortletError::NotFound(format!(
                "no feed file {:?}",
                request.file
            )));
        }
        let user = cx.user();
        let fallback = Groups::new(
            cx.services().storage.clone(),
            Arc::clone(cx.clock()),
            GroupPolicy::default(),
        );
        let (viewer, _) = self.viewer(fallback, user).await?;
        let now = seconds(cx.clock().now());
        // What she reads, never her own announcements outside their period.
        let list = store::visible(cx.db()?, &viewer.keys(), "", now, MAX_LISTED).await?;
        let info = FeedInfo {
            title: cx.t_args(
                &MESSAGES,
                "feed-title",
                &cartable_portlet::i18n::args! { "name" => user.display_name.clone() },
            ),
            description: cx.t(&MESSAGES, "feed-description"),
            portal_url: &request.portal_url,
            language: cx.locale(),
        };
        Ok(ResourceResponse::bytes(MEDIA_TYPE, rss(&info, &list)))
    }
}
