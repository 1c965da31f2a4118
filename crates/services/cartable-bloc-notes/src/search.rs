//! The notes in the ENT-wide search: each note is a document that only its owner reads
//! (`user:<owner>`), its id `<owner>/<number>`.

use cartable_portlet::LocalizedText;
use cartable_portlet::async_trait;
use cartable_portlet::search::{
    DocumentSink, Principal, SearchContext, SearchDocument, SearchError, SearchKind, Searchable,
};

use crate::{MESSAGES, Note, Notes, SERVICE, excerpt, store};

/// The type of the notes' documents.
pub const KIND: &str = "note";

/// A note's document id: `<owner>/<number>`.
pub(crate) fn document_id(owner: &str, id: u64) -> String {
    format!("{owner}/{id}")
}

fn document(cx: &SearchContext, owner: &str, note: &Note) -> SearchDocument {
    SearchDocument::new(document_id(owner, note.id), KIND, excerpt(&note.text, 60))
        .text(note.text.clone())
        .link(cx.window_link(SERVICE, &[]))
        .date(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(note.created.max(0).unsigned_abs()),
        )
        .reader(Principal::user(owner))
}

#[async_trait]
impl Searchable for Notes {
    fn service(&self) -> &str {
        SERVICE
    }

    fn kinds(&self) -> Vec<SearchKind> {
        vec![SearchKind::new(
            KIND,
            LocalizedText::from_messages(&MESSAGES, "search-kind-note"),
        )]
    }

    async fn documents(
        &self,
        cx: &SearchContext,
        sink: &mut dyn DocumentSink,
    ) -> Result<(), SearchError> {
        for (owner, note) in store::all(cx.db()?).await? {
            sink.add(document(cx, &owner, &note)).await?;
        }
        Ok(())
    }

    async fn document(
        &self,
        cx: &SearchContext,
        id: &str,
    ) -> Result<Option<SearchDocument>, SearchError> {
        let Some((owner, number)) = id.rsplit_once('/') else {
            return Ok(None);
        };
        let Ok(number) = number.parse::<u64>() else {
            return Ok(None);
        };
        Ok(store::get(cx.db()?, owner, number)
            .await?
            .map(|note| document(cx, owner, &note)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cartable_portlet::Profile;
    use cartable_portlet::search::MemoryDocuments;
    use cartable_testkit::TestKit;

    use super::*;

    #[tokio::test]
    async fn each_note_is_a_document_only_its_owner_reads() {
        let kit =
            TestKit::new(Arc::new(Notes::new())).user_with("lea", "Léa Martin", [Profile::Eleve]);
        kit.action([("op", "add"), ("text", "Réviser les réunions")])
            .await
            .unwrap();
        kit.action([("op", "add"), ("text", "Acheter du pain")])
            .await
            .unwrap();
        kit.action([("op", "delete"), ("id", "2")]).await.unwrap();
        // The actions recorded what changed, for the index's job.
        assert_eq!(
            kit.search_changes(),
            [
                ("bloc-notes".to_string(), "lea/1".to_string()),
                ("bloc-notes".to_string(), "lea/2".to_string()),
                ("bloc-notes".to_string(), "lea/2".to_string()),
            ]
        );
        let services = kit.data_context("lea").await.unwrap().services().clone();
        let cx = SearchContext::new(services, Default::default(), "/ent");
        let notes = Notes::new();
        let doc = notes.document(&cx, "lea/1").await.unwrap().unwrap();
        assert_eq!(doc.kind, KIND);
        assert_eq!(doc.text, "Réviser les réunions");
        assert_eq!(doc.readers, [Principal::user("lea")]);
        assert_eq!(doc.link, "/ent/recherche/aller/bloc-notes");
        // Deleted, another's, malformed: nothing.
        for gone in ["lea/2", "theo/1", "lea", "lea/x", ""] {
            assert!(notes.document(&cx, gone).await.unwrap().is_none(), "{gone}");
        }
        let mut all = MemoryDocuments::default();
        notes.documents(&cx, &mut all).await.unwrap();
        assert_eq!(all.documents, [doc]);
    }
}
