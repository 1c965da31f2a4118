//! The bookmarks in the ENT-wide search: each of a user's links is a document, its id
//! `<owner>/<number>`, read by its owner (`user:<owner>`) and by whoever a folder around
//! it is shared with (`user:<uid>`, `group:<id>`); nobody else finds it. At query time
//! [`Searchable::may_read`] checks the shares again, so that a folder no longer shared is
//! not found even before the index is updated. A hit opens the bookmark itself.

use cartable_portlet::LocalizedText;
use cartable_portlet::async_trait;
use cartable_portlet::search::{
    DocumentSink, Principal, Reader, SearchContext, SearchDocument, SearchError, SearchHit,
    SearchKind, Searchable,
};
use cartable_portlet::sqlx::{self, AnyConnection};

use crate::store::{self, Share};
use crate::tree::{Link, Tree};
use crate::{Bookmarks, MESSAGES, SERVICE};

/// The type of the bookmarks' documents.
pub const KIND: &str = "signet";

/// A link's document id: `<owner>/<number>`.
pub(crate) fn document_id(owner: &str, id: u64) -> String {
    format!("{owner}/{id}")
}

/// Who reads link `link` of `owner`: she, and those its folder (or a folder around it) is
/// shared with.
fn readers(owner: &str, tree: &Tree, shares: &[Share], link: &Link) -> Vec<Principal> {
    let mut readers = vec![Principal::user(owner)];
    let around: Vec<u64> = tree.path(link.folder).iter().map(|f| f.id).collect();
    for s in shares.iter().filter(|s| around.contains(&s.folder)) {
        let p = match s.kind.as_str() {
            "user" => Principal::user(&s.target),
            "group" => Principal::group(&s.target),
            _ => continue,
        };
        if !readers.contains(&p) {
            readers.push(p);
        }
    }
    readers
}

fn document(owner: &str, tree: &Tree, shares: &[Share], link: &Link) -> SearchDocument {
    let path: Vec<&str> = tree
        .path(link.folder)
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let mut doc = SearchDocument::new(document_id(owner, link.id), KIND, link.title.clone())
        .text(
            format!("{} {}", path.join(" › "), link.url)
                .trim()
                .to_string(),
        )
        .link(link.url.clone());
    if let Some(t) = link.modified_at.or(link.created_at) {
        doc = doc
            .date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0).unsigned_abs()));
    }
    for r in readers(owner, tree, shares, link) {
        doc = doc.reader(r);
    }
    doc
}

/// One link's document as it is now, with its tree and shares.
async fn current(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<(String, Tree, Vec<Share>, u64)>, SearchError> {
    let Some((owner, number)) = id.rsplit_once('/') else {
        return Ok(None);
    };
    let Ok(number) = number.parse::<u64>() else {
        return Ok(None);
    };
    let tree = Tree::load(conn, owner).await?;
    if tree.link(number).is_none() {
        return Ok(None);
    }
    let shares = store::shares(conn, owner).await?;
    Ok(Some((owner.to_string(), tree, shares, number)))
}

#[async_trait]
impl Searchable for Bookmarks {
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
        let db = cx.db()?;
        let owners: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT owner FROM signets_link ORDER BY owner")
                .fetch_all(db.pool())
                .await?;
        for owner in owners {
            let (tree, shares) = {
                let mut conn = db.pool().acquire().await?;
                let tree = Tree::load(&mut conn, &owner).await?;
                let shares = store::shares(&mut conn, &owner).await?;
                (tree, shares)
            };
            let mut links: Vec<&Link> = tree.links.iter().collect();
            links.sort_by_key(|l| l.id);
            for link in links {
                sink.add(document(&owner, &tree, &shares, link)).await?;
            }
        }
        Ok(())
    }

    async fn document(
        &self,
        cx: &SearchContext,
        id: &str,
    ) -> Result<Option<SearchDocument>, SearchError> {
        let mut conn = cx.db()?.pool().acquire().await?;
        Ok(current(&mut conn, id)
            .await?
            .and_then(|(owner, tree, shares, n)| {
                tree.link(n)
                    .map(|link| document(&owner, &tree, &shares, link))
            }))
    }

    /// The shares as they are now: a hit in a folder no longer shared with her (or one
    /// moved out of a shared folder) is not shown.
    async fn may_read(
        &self,
        cx: &SearchContext,
        reader: &Reader,
        hit: &SearchHit,
    ) -> Result<bool, SearchError> {
        let mut conn = cx.db()?.pool().acquire().await?;
        let Some((owner, tree, shares, n)) = current(&mut conn, &hit.id).await? else {
            return Ok(false);
        };
        Ok(tree.link(n).is_some_and(|link| {
            readers(&owner, &tree, &shares, link)
                .iter()
                .any(|p| reader.holds(p))
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use cartable_portlet::prelude::*;
    use cartable_portlet::search::MemoryDocuments;
    use cartable_socle::Person;

    use super::*;
    use crate::folder_tests::{folder_id, kit, link_id, post_in, tree};
    use crate::tree::TOP;

    fn reader(id: &str, profile: Profile, groups: &[&str]) -> Reader {
        Reader::new(
            Arc::new(Person {
                id: id.into(),
                display_name: id.into(),
                profiles: vec![profile].into_iter().collect(),
                attributes: BTreeMap::new(),
            }),
            groups.iter().map(|g| g.to_string()),
        )
    }

    fn hit(doc: &SearchDocument) -> SearchHit {
        SearchHit {
            service: SERVICE.into(),
            id: doc.id.clone(),
            kind: doc.kind.clone(),
            title: doc.title.clone(),
            link: doc.link.clone(),
            date: doc.date,
            excerpt: String::new(),
            readers: doc.readers.clone(),
        }
    }

    #[tokio::test]
    async fn she_finds_her_links_and_those_shared_with_her_never_others() {
        let camille = kit().person(Person {
            id: "lea".into(),
            display_name: "Léa".into(),
            profiles: vec![Profile::Eleve].into_iter().collect(),
            attributes: BTreeMap::new(),
        });
        for name in ["Cours", "Privé"] {
            post_in(&camille, TOP, &[("op", "add-folder"), ("name", name)])
                .await
                .unwrap();
        }
        let t = tree(&camille, "camille").await;
        let (cours, prive) = (folder_id(&t, "Cours"), folder_id(&t, "Privé"));
        post_in(&camille, cours, &[("op", "add-folder"), ("name", "Maths")])
            .await
            .unwrap();
        let maths = folder_id(&tree(&camille, "camille").await, "Maths");
        for (folder, title) in [(maths, "Géogébra"), (prive, "Secret")] {
            post_in(
                &camille,
                folder,
                &[
                    ("op", "add"),
                    ("title", title),
                    (
                        "url",
                        &format!("https://{}.example.org", title.to_lowercase()),
                    ),
                ],
            )
            .await
            .unwrap();
        }
        post_in(
            &camille,
            TOP,
            &[
                ("op", "share"),
                ("id", &cours.to_string()),
                ("kind", "user"),
                ("target", "lea"),
            ],
        )
        .await
        .unwrap();
        post_in(
            &camille,
            TOP,
            &[
                ("op", "share"),
                ("id", &prive.to_string()),
                ("kind", "group"),
                ("target", "g-club"),
            ],
        )
        .await
        .unwrap_err(); // not one of her groups
        let t = tree(&camille, "camille").await;
        let (geo, secret) = (link_id(&t, "Géogébra"), link_id(&t, "Secret"));
        let lea = camille.clone().user_with("lea", "Léa", [Profile::Eleve]);
        lea.action([
            ("op", "add"),
            ("title", "À Léa"),
            ("url", "https://lea.example.org"),
        ])
        .await
        .unwrap();

        // What the actions told the index.
        let changed: Vec<String> = camille
            .search_changes()
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        for id in [
            format!("camille/{geo}"),
            format!("camille/{secret}"),
            "lea/1".to_string(),
        ] {
            assert!(changed.contains(&id), "{id} in {changed:?}");
        }

        let services = lea.data_context("lea").await.unwrap().services().clone();
        let cx = SearchContext::new(services, Default::default(), "");
        let signets = Bookmarks::new();
        let mut all = MemoryDocuments::default();
        signets.documents(&cx, &mut all).await.unwrap();
        let by_id = |id: String| all.documents.iter().find(|d| d.id == id).unwrap().clone();
        let geo_doc = by_id(format!("camille/{geo}"));
        assert_eq!(
            geo_doc.readers,
            [Principal::user("camille"), Principal::user("lea")]
        );
        assert_eq!(
            geo_doc.link,
            t.link(geo).unwrap().url,
            "a hit opens the bookmark"
        );
        assert!(geo_doc.text.contains("Cours › Maths"), "{}", geo_doc.text);
        let secret_doc = by_id(format!("camille/{secret}"));
        assert_eq!(secret_doc.readers, [Principal::user("camille")]);
        assert_eq!(by_id("lea/1".into()).readers, [Principal::user("lea")]);

        // The last word at query time: Léa reads Géogébra and hers, never the secret;
        // Théo, a pupil with no share, nothing of Camille's.
        let (lea_r, theo_r) = (
            reader("lea", Profile::Eleve, &[]),
            reader("theo", Profile::Eleve, &["g-club"]),
        );
        assert!(signets.may_read(&cx, &lea_r, &hit(&geo_doc)).await.unwrap());
        assert!(
            !signets
                .may_read(&cx, &lea_r, &hit(&secret_doc))
                .await
                .unwrap()
        );
        assert!(
            !signets
                .may_read(&cx, &theo_r, &hit(&geo_doc))
                .await
                .unwrap()
        );
        assert!(
            !signets
                .may_read(&cx, &theo_r, &hit(&secret_doc))
                .await
                .unwrap()
        );
        // A forged hit, a gone link: nothing.
        let mut forged = hit(&secret_doc);
        forged.readers = vec![Principal::user("lea")];
        assert!(!signets.may_read(&cx, &lea_r, &forged).await.unwrap());
        forged.id = "camille/999".into();
        assert!(!signets.may_read(&cx, &lea_r, &forged).await.unwrap());
        // The share ends: her hit is refused at once, and the index told.
        post_in(
            &camille,
            TOP,
            &[
                ("op", "unshare"),
                ("id", &cours.to_string()),
                ("kind", "user"),
                ("target", "lea"),
            ],
        )
        .await
        .unwrap();
        assert!(!signets.may_read(&cx, &lea_r, &hit(&geo_doc)).await.unwrap());
        assert_eq!(
            signets
                .document(&cx, &geo_doc.id)
                .await
                .unwrap()
                .unwrap()
                .readers,
            [Principal::user("camille")]
        );
        for gone in ["camille/999", "camille", "x/y", ""] {
            assert!(
                signets.document(&cx, gone).await.unwrap().is_none(),
                "{gone}"
            );
        }
    }
}
