//! The carnet's part of the recipient picker: the people and contacts of the books the
//! picker reads (her own and her groups'), and her groups.
//!
//! | id | stands for |
//! |---|---|
//! | `user:<uid>` | a person of the directory in one of her books |
//! | `group:<id>` | a group of hers: its members |
//! | `carnet:<book>/<n>` | a contact with an e-mail address, no user of the ENT |

use cartable_portlet::async_trait;
use cartable_portlet::recipients::{Recipient, RecipientKind, RecipientSource};
use cartable_portlet::search::{SearchContext, SearchError};
use cartable_socle::{GroupPolicy, Groups, Person, fold_name};

use crate::books::Access;
use crate::model::Book;
use crate::views::parse_ref;
use crate::{Carnet, SERVICE, store};

fn groups(cx: &SearchContext) -> Groups {
    let s = cx.services();
    Groups::new(s.storage.clone(), s.clock.clone(), GroupPolicy::default())
}

fn readable_books(access: &Access) -> Vec<Book> {
    std::iter::once(access.own())
        .chain(
            access
                .tool_groups
                .iter()
                .map(|(g, _, _)| Book::Group(g.clone())),
        )
        .collect()
}

#[async_trait]
impl RecipientSource for Carnet {
    fn source(&self) -> &str {
        SERVICE
    }

    async fn find(
        &self,
        cx: &SearchContext,
        picker: &Person,
        text: &str,
        limit: usize,
    ) -> Result<Vec<Recipient>, SearchError> {
        let access = Access::for_user(&groups(cx), &picker.id).await?;
        let needle = fold_name(text.trim());
        let matches = |s: &str| needle.is_empty() || fold_name(s).contains(&needle);
        let mut out = Vec::new();
        for (id, name) in &access.groups {
            if matches(name) {
                out.push(Recipient {
                    id: Recipient::group_id(id),
                    kind: RecipientKind::Group,
                    label: name.clone(),
                    detail: String::new(),
                    email: None,
                    source: SERVICE.into(),
                });
            }
        }
        let db =
            cx.services().db.as_ref().ok_or_else(|| {
                SearchError::Other("the host gives the carnet no database".into())
            })?;
        let mut conn = db.pool().acquire().await.map_err(SearchError::from)?;
        for book in readable_books(&access) {
            for e in store::entries(&mut conn, &book).await? {
                if out.len() >= limit {
                    return Ok(out);
                }
                let name = e.fields.display_name();
                match &e.person {
                    Some(uid) if matches(&name) => {
                        let id = Recipient::user_id(uid);
                        if !out.iter().any(|r| r.id == id) {
                            out.push(Recipient {
                                id,
                                kind: RecipientKind::Person,
                                label: name,
                                detail: String::new(),
                                email: None,
                                source: SERVICE.into(),
                            });
                        }
                    }
                    None if !e.fields.courriel.is_empty()
                        && (matches(&name) || matches(&e.fields.courriel)) =>
                    {
                        out.push(Recipient {
                            id: format!("{SERVICE}:{}/{}", book.key(), e.id),
                            kind: RecipientKind::Contact,
                            label: name,
                            detail: e.fields.fonction.clone(),
                            email: Some(e.fields.courriel.clone()),
                            source: SERVICE.into(),
                        });
                    }
                    _ => {}
                }
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn members(
        &self,
        cx: &SearchContext,
        picker: &Person,
        id: &str,
    ) -> Result<Option<Vec<String>>, SearchError> {
        let groups = groups(cx);
        if let Some(g) = id.strip_prefix("group:") {
            let Some(group) = groups
                .get(g)
                .await
                .map_err(|e| SearchError::Other(e.to_string()))?
            else {
                return Ok(None);
            };
            if group.right_of(&picker.id).is_none() {
                return Ok(None);
            }
            return Ok(Some(group.members.clone()));
        }
        let access = Access::for_user(&groups, &picker.id).await?;
        let Some(db) = cx.services().db.as_ref() else {
            return Ok(None);
        };
        let mut conn = db.pool().acquire().await.map_err(SearchError::from)?;
        if let Some(uid) = id.strip_prefix("user:") {
            for book in readable_books(&access) {
                if store::by_person(&mut conn, &book, uid).await?.is_some() {
                    return Ok(Some(vec![uid.to_string()]));
                }
            }
            return Ok(None);
        }
        if let Some(r) = id.strip_prefix("carnet:")
            && let Some((book, n)) = parse_ref(r)
            && access.may_read(&book)
            && store::entry(&mut conn, &book, n).await?.is_some()
        {
            return Ok(Some(Vec::new()));
        }
        Ok(None)
    }
}
