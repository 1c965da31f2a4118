//! The announcements in the ENT-wide search: each announcement is a document (its id the
//! row's number) whose readers are its audience (`everyone`, `profile:`, `class:`,
//! `group:`, `user:`) and its author. The display period is not in the index: it is
//! checked when she searches ([`Searchable::may_read`]), so that an announcement no
//! longer (or not yet) shown is found by its author only.

use std::time::{Duration, UNIX_EPOCH};

use cartable_portlet::search::{
    DocumentSink, Principal, Reader, SearchContext, SearchDocument, SearchError, SearchHit,
    SearchKind, Searchable,
};
use cartable_portlet::{LocalizedText, async_trait};

use crate::model::{Announcement, Target};
use crate::{ID, MESSAGES, News, SERVICE, seconds, store};

/// The type of the announcements' documents.
pub const KIND: &str = "annonce";

/// Who may read an announcement, as principals of the index.
fn principals(a: &Announcement) -> Vec<Principal> {
    let mut readers: Vec<Principal> = a
        .targets
        .iter()
        .map(|t| match t {
            Target::Everyone => Principal::everyone(),
            Target::Profile(p) => Principal::profile(p),
            Target::Class(c) => Principal::class(c),
            Target::Group(g) => Principal::group(g),
            Target::User(u) => Principal::user(u),
        })
        .collect();
    if !a.author.is_empty() {
        readers.push(Principal::user(&a.author));
    }
    readers
}

fn document(cx: &SearchContext, a: &Announcement) -> SearchDocument {
    let mut doc = SearchDocument::new(a.id.to_string(), KIND, a.title.clone())
        .text(a.body.clone())
        .link(cx.window_link(ID, &[]))
        .date(
            UNIX_EPOCH + Duration::from_secs(a.shown_from.max(a.created_at).max(0).unsigned_abs()),
        );
    doc.readers = principals(a);
    doc
}

#[async_trait]
impl Searchable for News {
    fn service(&self) -> &str {
        SERVICE
    }

    fn kinds(&self) -> Vec<SearchKind> {
        vec![SearchKind::new(
            KIND,
            LocalizedText::from_messages(&MESSAGES, "search-kind"),
        )]
    }

    async fn documents(
        &self,
        cx: &SearchContext,
        sink: &mut dyn DocumentSink,
    ) -> Result<(), SearchError> {
        for a in store::all(cx.db()?).await? {
            sink.add(document(cx, &a)).await?;
        }
        Ok(())
    }

    async fn document(
        &self,
        cx: &SearchContext,
        id: &str,
    ) -> Result<Option<SearchDocument>, SearchError> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        Ok(store::get(cx.db()?, id).await?.map(|a| document(cx, &a)))
    }

    /// Readers find an announcement in its display period; its author, always.
    async fn may_read(
        &self,
        cx: &SearchContext,
        reader: &Reader,
        hit: &SearchHit,
    ) -> Result<bool, SearchError> {
        let Ok(id) = hit.id.parse::<i64>() else {
            return Ok(false);
        };
        let Some(a) = store::get(cx.db()?, id).await? else {
            return Ok(false);
        };
        let now = seconds(cx.clock().now());
        Ok(a.is_current(now) || (!a.author.is_empty() && a.author == reader.person().id))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use cartable_portlet::search::MemoryDocuments;
    use cartable_portlet::{Person, Portlet, Profile};
    use cartable_search::{Search, SearchIndex};
    use cartable_testkit::TestKit;

    use super::*;

    fn person(id: &str, profile: Profile, class: Option<(&str, &str)>) -> Person {
        let mut p = Person {
            id: id.into(),
            display_name: id.into(),
            profiles: vec![profile],
            attributes: Default::default(),
        };
        if let Some((a, c)) = class {
            p.attributes.insert(a.into(), vec![c.into()]);
        }
        p
    }

    /// What `who` finds for `words`, by title.
    async fn found(search: &Search, who: &Person, words: &str) -> Vec<String> {
        let results = search
            .query(Arc::new(who.clone()), Vec::new(), words, None)
            .await
            .unwrap();
        let mut titles: Vec<String> = results
            .groups
            .into_iter()
            .flat_map(|g| g.hits.into_iter().map(|h| h.title))
            .collect();
        titles.sort();
        titles
    }

    #[tokio::test]
    async fn a_pupil_a_teacher_and_a_parent_find_different_announcements() {
        let paul = person(
            "paul",
            Profile::Enseignant,
            Some(("ENTAuxEnsClasses", "2nde-3")),
        );
        let lea = person("lea", Profile::Eleve, Some(("ENTEleveClasses", "2nde-3")));
        let tom = person("tom", Profile::Eleve, Some(("ENTEleveClasses", "2nde-1")));
        let sophie = person("sophie", Profile::Parent, None);
        let kit = TestKit::new(Arc::new(News::new()))
            .at("2026-12-07T09:00:00Z")
            .user(paul.clone());
        for (title, audience) in [
            ("Sortie au musée", "c:2nde-3"),
            ("Sortie des enseignants", "p:enseignant"),
            ("Sortie avec les parents", "p:parent"),
            ("Réunion générale", "all"),
        ] {
            kit.action([("op", "publish"), ("title", title), ("audience", audience)])
                .await
                .unwrap();
        }
        kit.action([
            ("op", "publish"),
            ("title", "Sortie de printemps"),
            ("audience", "all"),
            ("from", "2027-03-01"),
        ])
        .await
        .unwrap();
        assert_eq!(kit.search_changes().len(), 5, "each publication recorded");

        let mut services = kit.data_context("x").await.unwrap().services().clone();
        services.clock = Arc::new(cartable_socle::ManualClock::new(
            std::time::UNIX_EPOCH + Duration::from_secs(1_796_634_000),
        ));
        let cx = SearchContext::new(services, Default::default(), "/ent");
        let portlet: Arc<dyn Portlet> = Arc::new(News::new());
        let search = Search::new(
            Arc::new(SearchIndex::in_memory().unwrap()),
            [(portlet, cx.clone())],
        );
        assert_eq!(search.rebuild(None).await.unwrap(), 5);

        // The same word, three readers, three answers; the one for March only to its
        // author.
        assert_eq!(found(&search, &lea, "sortie").await, ["Sortie au musée"]);
        assert!(found(&search, &tom, "sortie").await.is_empty());
        assert_eq!(
            found(&search, &sophie, "sorties").await,
            ["Sortie avec les parents"]
        );
        assert_eq!(
            found(&search, &paul, "sortie").await,
            [
                "Sortie au musée",
                "Sortie avec les parents",
                "Sortie de printemps",
                "Sortie des enseignants"
            ]
        );
        assert_eq!(found(&search, &lea, "reunion").await, ["Réunion générale"]);

        // A document as the index gets it.
        let news = News::new();
        let doc = news.document(&cx, "1").await.unwrap().unwrap();
        assert_eq!(doc.kind, KIND);
        assert_eq!(
            doc.link, "/ent/recherche/aller/nouveautes",
            "the whole list"
        );
        assert_eq!(
            doc.readers,
            [Principal::class("2nde-3"), Principal::user("paul")]
        );
        for gone in ["99", "x", ""] {
            assert!(news.document(&cx, gone).await.unwrap().is_none());
        }
        let mut all = MemoryDocuments::default();
        news.documents(&cx, &mut all).await.unwrap();
        assert_eq!(all.documents.len(), 5);
    }
}
