//! The directory in the recipient picker ([`cartable_portlet::recipients`]): the people a
//! picker may find, the parents of a class she may address, and **what a viewer may see
//! of one person** — the établissement's rules of [`visibility`](crate::visibility)
//! (`fields_*`, `people_*`) and what the person hid, the same as on the annuaire's page.
//!
//! | id | stands for | who may pick it |
//! |---|---|---|
//! | `user:<uid>` | a person of the directory | whoever may find her |
//! | `parents:<class>` | the parents (`ENTEleveParents`) of the pupils of a class | whoever may find parents, and teaches the class (`ENTAuxEnsClasses`), or is staff or administrator |

use std::collections::{BTreeMap, BTreeSet};

use cartable_portlet::recipients::{
    Recipient, RecipientKind, RecipientSource, Visibility, VisiblePerson,
};
use cartable_portlet::search::{SearchContext, SearchError};
use cartable_portlet::{Person, PortletData, Profile, async_trait};
use cartable_socle::PersonQuery;

use crate::visibility::{CLASS_ATTRIBUTE, Viewer, load_hidden};
use crate::{Annuaire, FETCH_LIMIT, ID, MESSAGES};

/// The pupils' attribute naming their parents' uids.
pub const PARENTS_ATTRIBUTE: &str = "ENTEleveParents";
/// The teachers' attribute naming the classes they teach.
pub const TAUGHT_ATTRIBUTE: &str = "ENTAuxEnsClasses";

fn shared(cx: &SearchContext) -> PortletData {
    PortletData::new(cx.services().storage.clone(), ID, "").shared()
}

/// Whether the viewer may find parents at all.
fn finds_parents(viewer: &Viewer) -> bool {
    viewer
        .findable()
        .is_none_or(|profiles| profiles.contains(&Profile::Parent))
}

/// The classes whose parents `picker` may address (`None`: any, for staff and
/// administrators).
fn addressable_classes(picker: &Person) -> Option<Vec<String>> {
    if picker.has_profile(&Profile::Admin) || picker.has_profile(&Profile::Personnel) {
        return None;
    }
    Some(
        picker
            .attributes
            .get(TAUGHT_ATTRIBUTE)
            .cloned()
            .unwrap_or_default(),
    )
}

/// The pupils of `class`.
async fn pupils_of(cx: &SearchContext, class: &str) -> Result<Vec<Person>, SearchError> {
    let q = PersonQuery {
        profile: Some(Profile::Eleve),
        attribute: Some((CLASS_ATTRIBUTE.to_string(), class.to_string())),
        limit: FETCH_LIMIT,
        ..PersonQuery::default()
    };
    Ok(cx.services().directory.search(&q).await?)
}

fn parents_label(class: &str) -> String {
    MESSAGES.get_args(
        "fr",
        "recipient-parents",
        &cartable_portlet::i18n::args! { "class" => class },
    )
}

impl Annuaire {
    /// What `viewer` may see of `person` (already known findable): the fields of her
    /// profile's rules, without what the person hid.
    async fn visible(
        &self,
        cx: &SearchContext,
        viewer: &Viewer,
        person: Person,
    ) -> Result<VisiblePerson, SearchError> {
        let hidden = load_hidden(&shared(cx), &person.id).await?;
        let mut fields = BTreeMap::new();
        for f in &viewer.fields {
            let values = viewer.values(&person, &hidden, f);
            if !values.is_empty() {
                fields.insert(f.clone(), values.to_vec());
            }
        }
        Ok(VisiblePerson {
            id: person.id,
            display_name: person.display_name,
            fields,
        })
    }
}

#[async_trait]
impl RecipientSource for Annuaire {
    fn source(&self) -> &str {
        ID
    }

    async fn find(
        &self,
        cx: &SearchContext,
        picker: &Person,
        text: &str,
        limit: usize,
    ) -> Result<Vec<Recipient>, SearchError> {
        let text = text.trim();
        // Nobody lists the whole directory through the picker.
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let viewer = Viewer::of(picker, cx.preferences());
        let mut out = Vec::new();
        let q = PersonQuery {
            name: Some(text.to_string()),
            limit: FETCH_LIMIT,
            ..PersonQuery::default()
        };
        for person in cx.services().directory.search(&q).await? {
            if out.len() >= limit {
                break;
            }
            if !viewer.may_find(&person) {
                continue;
            }
            let mut detail = person
                .profiles
                .iter()
                .map(|p| p.label_fr())
                .collect::<Vec<_>>()
                .join(", ");
            let seen = self.visible(cx, &viewer, person).await?;
            if let Some(title) = seen.field("title") {
                detail.push_str(" – ");
                detail.push_str(title);
            }
            out.push(Recipient {
                id: Recipient::user_id(&seen.id),
                kind: RecipientKind::Person,
                email: seen.field("mail").map(str::to_string),
                label: seen.display_name,
                detail,
                source: ID.into(),
            });
        }
        if finds_parents(&viewer) {
            let folded = cartable_socle::fold_name(text);
            let classes: Vec<String> = match addressable_classes(picker) {
                Some(taught) => taught
                    .into_iter()
                    .filter(|c| cartable_socle::fold_name(c).contains(&folded))
                    .collect(),
                // Staff: the class typed, if pupils are in it.
                None if !pupils_of(cx, text).await?.is_empty() => vec![text.to_string()],
                None => Vec::new(),
            };
            for class in classes {
                out.push(Recipient {
                    id: Recipient::parents_id(&class),
                    kind: RecipientKind::ClassParents,
                    label: parents_label(&class),
                    detail: String::new(),
                    email: None,
                    source: ID.into(),
                });
            }
        }
        Ok(out)
    }

    async fn members(
        &self,
        cx: &SearchContext,
        picker: &Person,
        id: &str,
    ) -> Result<Option<Vec<String>>, SearchError> {
        let viewer = Viewer::of(picker, cx.preferences());
        if let Some(uid) = id.strip_prefix("user:") {
            return Ok(cx
                .services()
                .directory
                .person(uid)
                .await?
                .filter(|p| viewer.may_find(p))
                .map(|p| vec![p.id]));
        }
        let Some(class) = id.strip_prefix("parents:") else {
            return Ok(None);
        };
        let allowed = finds_parents(&viewer)
            && addressable_classes(picker).is_none_or(|taught| taught.iter().any(|c| c == class));
        if !allowed {
            return Ok(None);
        }
        let mut parents = BTreeSet::new();
        for pupil in pupils_of(cx, class).await? {
            for uid in pupil
                .attributes
                .get(PARENTS_ATTRIBUTE)
                .into_iter()
                .flatten()
            {
                if let Some(p) = cx.services().directory.person(uid).await?
                    && p.has_profile(&Profile::Parent)
                {
                    parents.insert(p.id);
                }
            }
        }
        Ok(Some(parents.into_iter().collect()))
    }

    async fn person(
        &self,
        cx: &SearchContext,
        viewer: &Person,
        uid: &str,
    ) -> Result<Visibility, SearchError> {
        let rules = Viewer::of(viewer, cx.preferences());
        let Some(person) = cx.services().directory.person(uid).await? else {
            return Ok(Visibility::Hidden);
        };
        if !rules.may_find(&person) {
            return Ok(Visibility::Hidden);
        }
        Ok(Visibility::Visible(self.visible(cx, &rules, person).await?))
    }
}
