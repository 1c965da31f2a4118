//! The directory in the ENT-wide search: each person is a document (kind `personne`, id
//! her uid), found by her name, her profiles and the details every profile may see that
//! she did not hide.
//!
//! Who finds her is decided **when the reader searches**, with the établissement's rules
//! of [`visibility`](crate::visibility) as they are then: a person's document is readable
//! by `annuaire:finds:*` and `annuaire:finds:<profile>` for each of her profiles (and by
//! herself); a reader holds `annuaire:finds:*` when she may find everyone, else
//! `annuaire:finds:<profile>` for each profile her `people_*` rules let her find
//! ([`Searchable::reader_principals`]). A rule changed in the configuration takes effect
//! on the next search, without touching the index.

use std::collections::BTreeMap;

use cartable_portlet::search::{
    DocumentSink, Principal, Reader, SearchContext, SearchDocument, SearchError, SearchKind,
    Searchable,
};
use cartable_portlet::{LocalizedText, Person, PortletData, Profile, async_trait};
use cartable_socle::PersonQuery;

use crate::visibility::{Hidden, Viewer, attribute_values, effective_fields, load_hidden, rules};
use crate::{Annuaire, ID, MESSAGES};

/// The type of the people's documents.
pub const KIND: &str = "personne";

/// The profiles whose holders a rebuild lists from the directory.
const LISTED: [Profile; 5] = [
    Profile::Eleve,
    Profile::Enseignant,
    Profile::Parent,
    Profile::Personnel,
    Profile::Admin,
];

/// Whoever may find the holders of `profile` (`None`: everyone).
fn finds(profile: Option<&Profile>) -> Principal {
    Principal::service(
        ID,
        &format!("finds:{}", profile.map_or("*", Profile::as_str)),
    )
}

/// The details searched for a person: those every profile but the administrators' may
/// see, under the établissement's preferences.
fn searched_fields(cx: &SearchContext) -> Vec<String> {
    let mut lists = rules()
        .into_iter()
        .filter(|r| r.profile != Profile::Admin)
        .map(|r| effective_fields(cx.preferences(), &r));
    let first = lists.next().unwrap_or_default();
    lists.fold(first, |common, list| {
        common
            .into_iter()
            .filter(|f| list.iter().any(|l| l.eq_ignore_ascii_case(f)))
            .collect()
    })
}

fn document(
    cx: &SearchContext,
    fields: &[String],
    person: &Person,
    hidden: &Hidden,
) -> SearchDocument {
    let mut text: Vec<String> = vec![person.display_name.clone()];
    for p in &person.profiles {
        text.push(p.label_fr().to_string());
        text.push(p.label_en().to_string());
    }
    for f in fields
        .iter()
        .filter(|f| !hidden.hides(f) && !f.eq_ignore_ascii_case("mail"))
    {
        text.extend(attribute_values(person, f).iter().cloned());
    }
    let mut doc = SearchDocument::new(&person.id, KIND, &person.display_name)
        .text(text.join(" · "))
        .link(cx.window_link(ID, &[("nom", &person.display_name)]))
        .reader(Principal::user(&person.id))
        .reader(finds(None));
    for p in &person.profiles {
        doc = doc.reader(finds(Some(p)));
    }
    doc
}

fn shared(cx: &SearchContext) -> PortletData {
    PortletData::new(cx.services().storage.clone(), ID, "").shared()
}

#[async_trait]
impl Searchable for Annuaire {
    fn service(&self) -> &str {
        ID
    }

    fn kinds(&self) -> Vec<SearchKind> {
        vec![SearchKind::new(
            KIND,
            LocalizedText::from_messages(&MESSAGES, "search-kind-person"),
        )]
    }

    async fn documents(
        &self,
        cx: &SearchContext,
        sink: &mut dyn DocumentSink,
    ) -> Result<(), SearchError> {
        let fields = searched_fields(cx);
        let shared = shared(cx);
        let mut people: BTreeMap<String, Person> = BTreeMap::new();
        for profile in LISTED {
            let query = PersonQuery {
                profile: Some(profile),
                limit: usize::MAX,
                ..PersonQuery::default()
            };
            for person in cx.directory().search(&query).await? {
                people.entry(person.id.to_lowercase()).or_insert(person);
            }
        }
        for person in people.values() {
            let hidden = load_hidden(&shared, &person.id).await?;
            sink.add(document(cx, &fields, person, &hidden)).await?;
        }
        Ok(())
    }

    async fn document(
        &self,
        cx: &SearchContext,
        id: &str,
    ) -> Result<Option<SearchDocument>, SearchError> {
        let Some(person) = cx.directory().person(id).await? else {
            return Ok(None);
        };
        let hidden = load_hidden(&shared(cx), &person.id).await?;
        Ok(Some(document(cx, &searched_fields(cx), &person, &hidden)))
    }

    async fn reader_principals(
        &self,
        cx: &SearchContext,
        reader: &Reader,
    ) -> Result<Vec<Principal>, SearchError> {
        let viewer = Viewer::of(reader.person(), cx.preferences());
        Ok(match viewer.findable() {
            None => vec![finds(None)],
            Some(profiles) => profiles.iter().map(|p| finds(Some(p))).collect(),
        })
    }
}
