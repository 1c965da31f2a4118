//! The SDET service « pages blanches » (annuaire): find people of the établissement in the
//! directory, see the details one's profile allows, and keep an address book of them.
//!
//! The portlet [`Annuaire`] (id `annuaire`) shows:
//! - a **search form** sent with GET (so it works without JavaScript and a search can be
//!   bookmarked) to the window's render URL, with the fields `p.nom` (substring of the
//!   name, accents and case ignored), `p.classe` (`ENTEleveClasses`, exact), `p.structure`
//!   (`ENTPersonStructRattach`, exact) and `p.profil` (`eleve`, `enseignant`, `parent`,
//!   `personnel` or empty for any). Values are passed to the directory as they are (the
//!   backends match literally; LDAP metacharacters are plain characters). Each is at most
//!   [`MAX_INPUT_LEN`] characters without control characters, else the window says what is
//!   wrong and nothing is searched. No criterion: the form alone;
//! - the **results**: a table (name, profiles, then one column per field the viewer may
//!   see), at most [`MAX_RESULTS`], sorted by name, with a message when more matched;
//! - **« Mon carnet d’adresses »**: the people the user added from the results (POST
//!   `op=carnet&uid=…`, removed with `op=retirer&uid=…`), at most [`MAX_CARNET`], kept in
//!   her own data one record per person under [`CARNET_PREFIX`]`<uid in lower case>`, so
//!   that people added at the same moment from two sessions are all kept (the list of
//!   uids that earlier versions kept under [`CARNET_KEY`] is still read, and shrunk when
//!   someone is removed from it, never grown);
//! - in **edit mode**, « Mes informations visibles »: checkboxes of her own details that
//!   others may see (POST `op=visibilite`, a `show.<attribute>` field per ticked box). What
//!   she hides is kept in the portlet's *shared* data under `hidden/<uid>` (see
//!   [`hidden_key`]) as a JSON list of attribute names, written only by her own action;
//!   then the rules of the établissement, read-only;
//! - a **help** mode.
//!
//! # Who sees what
//!
//! Per viewer profile, two établissement preferences (set them in the portal's TOML under
//! `[portlets.annuaire.preferences]` with `locked = true`):
//!
//! | preference | default |
//! |---|---|
//! | `fields_eleve`, `fields_parent` | `mail,title,ENTEleveClasses,ENTAuxEnsMatiereEnseignEtab,ENTPersonStructRattach` |
//! | `fields_enseignant` | the above, plus `ENTEleveNivFormation,ENTAuxEnsClasses` |
//! | `fields_personnel` | the teachers' list plus `telephoneNumber` |
//! | `fields_admin` | every field of [`KNOWN_FIELDS`] (adds `mobile`) |
//! | `people_eleve`, `people_parent`, `people_enseignant`, `people_personnel`, `people_admin` | `*` (everyone) |
//!
//! `fields_*` are comma-separated attribute names (passwords and `objectClass` are never
//! shown); `people_*` are comma-separated profiles whose holders the viewer may find
//! (SDET: "on peut par exemple interdire aux élèves de consulter l’annuaire des
//! enseignants"). A viewer with several profiles gets the union of hers. A value counts as
//! written only when **locked**: an unlocked value, which the user may change herself in
//! the portal's preference form, can only narrow the default, never widen it.
//!
//! A person's hidden details are never shown to others, and nobody finds her by them
//! (a class search skips a pupil who hid her class, or whose class the viewer may not
//! see). She still sees them herself. **Administrators see every field of `fields_admin`,
//! hidden ones included, and find everyone** (the help says so).
//!
//! # SDET conformance (Tableau, « Pages blanches »)
//! - Indispensable: consultation of the établissement's directory; the administrator sets
//!   who is visible according to the viewer's profile (`people_*`, plus `fields_*`).
//! - Recommandé: users restrict the visibility of some of their details (hidden from
//!   everyone but administrators); addresses go straight to the address book; searches by
//!   category (profile) and organisation (class, structure).

mod carnet;
mod criteria;
mod recipients;
mod search;
mod templates;
mod visibility;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use cartable_portlet::prelude::*;
use cartable_portlet::{LocalizedText, UrlBuilder, markup_value};
use cartable_socle::{PersonQuery, SocleError};
use futures::StreamExt as _;
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

use crate::criteria::{Criteria, PROFILE_CHOICES};
pub use crate::recipients::{PARENTS_ATTRIBUTE, TAUGHT_ATTRIBUTE};
use crate::visibility::{
    CLASS_ATTRIBUTE, Hidden, STRUCTURE_ATTRIBUTE, Viewer, attribute_values, contains,
    effective_fields, findable_profiles, hideable_fields, label_or_name, load_hidden,
};
pub use crate::visibility::{
    EVERYONE, KNOWN_FIELDS, VisibilityRule, field_label, hidden_key, parse_fields, rules,
};

/// The portlet's id.
pub const ID: &str = "annuaire";
/// The portlet's messages, `locales/fr.ftl` and `locales/en.ftl` (domain
/// `cartable-annuaire`: another language is a file `<lang>/cartable-annuaire.ftl` in the
/// ENT's locale directory).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());
/// The most people listed for one search.
pub const MAX_RESULTS: usize = 50;
/// The longest accepted search value, in characters.
pub const MAX_INPUT_LEN: usize = 100;
/// The most people in a user's address book.
pub const MAX_CARNET: usize = 500;
/// The user-data key where earlier versions kept the whole address book, a JSON list of
/// uids, oldest first: still read, as the oldest entries; never grown.
pub const CARNET_KEY: &str = "carnet";
/// The prefix of the user-data keys of the address book, one per person:
/// `carnet/<uid in lower case>`, holding `{"uid": …, "added": <µs since the epoch>}`.
pub const CARNET_PREFIX: &str = "carnet/";
/// The prefix of the shared-data keys holding what each user hid (see [`hidden_key`]).
pub const HIDDEN_PREFIX: &str = "hidden/";
/// People of the address book listed in a window that is not maximized.
const CARNET_SHOWN: usize = 20;
/// People fetched from the directory when results are filtered afterwards (the LDIF
/// directory's cap).
const FETCH_LIMIT: usize = 500;
/// The longest uid accepted in an action.
const MAX_UID_LEN: usize = 256;
/// The most attribute names kept in a hidden list.
const MAX_HIDDEN: usize = 64;

/// The « pages blanches » portlet. See the [crate documentation](crate).
#[derive(Debug)]
pub struct Annuaire {
    descriptor: Descriptor,
    templates: Templates,
}

impl Annuaire {
    /// The portlet with its descriptor and compiled templates.
    ///
    /// # Panics
    /// Never: its templates are constants checked by the tests.
    pub fn new() -> Self {
        let mut descriptor = Descriptor::new(ID, LocalizedText::from_messages(&MESSAGES, "title"))
            .description(LocalizedText::from_messages(&MESSAGES, "description"))
            .category("communication")
            .mode(Mode::Help)
            .profiles([
                Profile::Eleve,
                Profile::Enseignant,
                Profile::Parent,
                Profile::Personnel,
                Profile::Admin,
            ]);
        for spec in visibility::preference_specs() {
            descriptor = descriptor.preference(spec);
        }
        let templates = Templates::new([
            ("view", templates::VIEW),
            ("edit", templates::EDIT),
            ("help", templates::HELP),
        ])
        .expect("the annuaire templates compile")
        .with_messages(&MESSAGES);
        Annuaire {
            descriptor,
            templates,
        }
    }
}

impl Default for Annuaire {
    fn default() -> Self {
        Self::new()
    }
}

/// A hidden form field carrying a search criterion through an action.
#[derive(Serialize)]
struct Keep<'a> {
    name: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct ProfileOption {
    value: &'static str,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct Row {
    uid: String,
    name: String,
    profiles: String,
    cells: Vec<Cell>,
    is_self: bool,
    in_carnet: bool,
}

#[derive(Serialize, Default)]
struct Cell {
    values: Vec<CellValue>,
    /// The viewer's own detail, hidden from others.
    hidden: bool,
}

#[derive(Serialize)]
struct CellValue {
    text: String,
    href: Option<String>,
}

#[derive(Serialize)]
struct CarnetEntry {
    uid: String,
    name: String,
    missing: bool,
}

#[derive(Serialize)]
struct OwnField {
    name: String,
    label: String,
    value: String,
    shown: bool,
}

#[derive(Serialize)]
struct RuleSummary {
    profile: String,
    fields: String,
}

/// The people matching a search, each with what she hid.
struct Found {
    people: Vec<(Person, Hidden)>,
    /// How many matched (before the cut at [`MAX_RESULTS`]).
    total: usize,
    /// More people may match than listed.
    truncated: bool,
}

/// Lower case without French accents, to sort names.
fn sort_key(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            c => c,
        })
        .collect()
}

/// A plausible e-mail address, to link with `mailto:`.
fn is_mail_address(v: &str) -> bool {
    let mut parts = v.split('@');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(local), Some(domain), None) if !local.is_empty() && domain.contains('.')
    ) && v
        .chars()
        .all(|c| !c.is_whitespace() && !c.is_control() && !"<>\"'()[]\\,;:".contains(c))
}

fn profile_labels(ctx: &PortletContext, person: &Person) -> String {
    person
        .profiles
        .iter()
        .map(|p| ctx.profile_label(p))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The user's address book (uids, oldest first).
async fn load_carnet(ctx: &PortletContext) -> Result<Vec<String>, PortletError> {
    Ok(carnet::load(&ctx.data()).await?)
}

/// Add the search criteria to a render URL.
fn with_criteria(mut url: UrlBuilder, criteria: &Criteria) -> UrlBuilder {
    for (name, value) in criteria.pairs() {
        if !value.is_empty() {
            url = url.param(name, value);
        }
    }
    url
}

impl Annuaire {
    /// The people matching the criteria among those the directory returned.
    async fn matching(
        ctx: &PortletContext,
        viewer: &Viewer,
        criteria: &Criteria,
        found: Vec<Person>,
        limit: usize,
    ) -> Result<Found, PortletError> {
        let fetched = found.len();
        let shared = ctx.data().shared();
        // Who hid something: one query instead of one per person.
        let with_hidden: BTreeSet<String> = if viewer.admin {
            BTreeSet::new()
        } else {
            shared.keys(HIDDEN_PREFIX).await?.into_iter().collect()
        };
        let profile = criteria.profile();
        let mut people = Vec::new();
        for person in found {
            if !viewer.may_find(&person) || profile.as_ref().is_some_and(|p| !person.has_profile(p))
            {
                continue;
            }
            let hidden = if viewer.admin
                || viewer.is_self(&person)
                || !with_hidden.contains(&hidden_key(&person.id))
            {
                Hidden::Nothing
            } else {
                load_hidden(&shared, &person.id).await?
            };
            // An attribute criterion matches only values the viewer may see: nobody finds
            // a pupil by a class she hid.
            let matches = |attribute: &str, wanted: &str| {
                wanted.is_empty()
                    || viewer
                        .values(&person, &hidden, attribute)
                        .iter()
                        .any(|v| v.trim().to_lowercase() == wanted.to_lowercase())
            };
            if matches(CLASS_ATTRIBUTE, &criteria.classe)
                && matches(STRUCTURE_ATTRIBUTE, &criteria.structure)
            {
                people.push((person, hidden));
            }
        }
        people.sort_by_cached_key(|(p, _)| (sort_key(&p.display_name), p.id.clone()));
        let total = people.len();
        people.truncate(MAX_RESULTS);
        Ok(Found {
            people,
            total,
            truncated: total > MAX_RESULTS || fetched >= limit,
        })
    }

    async fn render_view(&self, ctx: &PortletContext) -> Result<Markup, PortletError> {
        let viewer = Viewer::new(ctx);
        let criteria = Criteria::read(|name| ctx.param(name));
        let problems = criteria.problems(ctx);
        let carnet = load_carnet(ctx).await?;

        let mut unavailable = false;
        let mut found = None;
        if problems.is_empty() && !criteria.is_empty() {
            let filtered_after = !criteria.classe.is_empty()
                || !criteria.structure.is_empty()
                || viewer.restricted();
            let limit = if filtered_after {
                FETCH_LIMIT
            } else {
                MAX_RESULTS + 1
            };
            let attribute = if !criteria.classe.is_empty() {
                Some((CLASS_ATTRIBUTE.to_string(), criteria.classe.clone()))
            } else if !criteria.structure.is_empty() {
                Some((STRUCTURE_ATTRIBUTE.to_string(), criteria.structure.clone()))
            } else {
                None
            };
            let query = PersonQuery {
                name: (!criteria.nom.is_empty()).then(|| criteria.nom.clone()),
                profile: criteria.profile(),
                attribute,
                limit,
            };
            match ctx.directory().search(&query).await {
                Ok(people) => {
                    found = Some(Self::matching(ctx, &viewer, &criteria, people, limit).await?);
                }
                Err(_) => unavailable = true,
            }
        }

        // The viewer's own hidden details, to mark them in her own row.
        let own_hidden = match &found {
            Some(f) if f.people.iter().any(|(p, _)| viewer.is_self(p)) => {
                load_hidden(&ctx.data().shared(), &viewer.id).await?
            }
            _ => Hidden::Nothing,
        };
        let (rows, columns) = match &found {
            Some(f) => self.rows(ctx, &viewer, f, &carnet, &own_hidden),
            None => (Vec::new(), Vec::new()),
        };

        let (count_text, refine_text) = match &found {
            None => (String::new(), String::new()),
            Some(f) => {
                let count = if f.total == 0 {
                    ctx.t(&MESSAGES, "found-none")
                } else if f.total > MAX_RESULTS {
                    ctx.t_args(&MESSAGES, "found-too-many", &args! { "max" => MAX_RESULTS })
                } else if f.truncated {
                    ctx.t_args(&MESSAGES, "found-maybe-more", &args! { "count" => f.total })
                } else {
                    ctx.t_args(&MESSAGES, "found", &args! { "count" => f.total })
                };
                (count, ctx.t(&MESSAGES, "refine"))
            }
        };

        // The address book: the most recent first; all of it when maximized.
        let maximized = ctx.window().state == WindowState::Maximized;
        let shown = if maximized {
            carnet.len()
        } else {
            carnet.len().min(CARNET_SHOWN)
        };
        let directory = ctx.directory().clone();
        let carnet_entries: Vec<CarnetEntry> =
            futures::stream::iter(carnet.iter().rev().take(shown).cloned())
                .map(|uid| {
                    let directory = directory.clone();
                    async move {
                        match directory.person(&uid).await {
                            Ok(Some(p)) => CarnetEntry {
                                uid,
                                name: p.display_name,
                                missing: false,
                            },
                            _ => CarnetEntry {
                                name: uid.clone(),
                                uid,
                                missing: true,
                            },
                        }
                    }
                })
                .buffered(8)
                .collect()
                .await;
        let urls = ctx.urls();
        let keep_criteria = criteria.valid_only();
        let (more_url, more_text) = if shown < carnet.len() {
            (
                with_criteria(urls.render().state(WindowState::Maximized), &keep_criteria)
                    .to_string(),
                ctx.t_args(
                    &MESSAGES,
                    "carnet-see-all",
                    &args! { "count" => carnet.len() },
                ),
            )
        } else {
            (String::new(), String::new())
        };

        let keep: Vec<Keep<'_>> = keep_criteria
            .pairs()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(name, value)| Keep { name, value })
            .collect();
        let profiles: Vec<ProfileOption> = PROFILE_CHOICES
            .iter()
            .map(|(value, profile)| ProfileOption {
                value,
                label: match profile {
                    None => ctx.t(&MESSAGES, "profile-any"),
                    Some(p) => ctx.profile_label(p),
                },
                selected: *value == criteria.profil,
            })
            .collect();
        let markup = self.templates.render_for(
            ctx,
            "view",
            context! {
                ns => ctx.window().namespace(),
                search_url => urls.render().to_string(),
                reset_url => if maximized { urls.render().state(WindowState::Maximized).to_string() } else { urls.render().to_string() },
                action => urls.action().to_string(),
                edit_url => urls.render().mode(Mode::Edit).to_string(),
                csrf => markup_value(&ctx.csrf_field()),
                maximized,
                max_len => MAX_INPUT_LEN,
                c => Serde(criteria.for_display()),
                profiles => Serde(&profiles),
                problems,
                unavailable,
                searched => found.is_some(),
                truncated => found.as_ref().is_some_and(|f| f.truncated),
                count_text,
                refine_text,
                columns,
                rows => Serde(&rows),
                keep => Serde(&keep),
                carnet => Serde(&carnet_entries),
                more_url,
                more_text,
            },
        )?;
        Ok(markup)
    }

    /// The table rows and the headers of the field columns that have a value.
    fn rows(
        &self,
        ctx: &PortletContext,
        viewer: &Viewer,
        found: &Found,
        carnet: &[String],
        own_hidden: &Hidden,
    ) -> (Vec<Row>, Vec<String>) {
        let columns: Vec<&String> = viewer
            .fields
            .iter()
            .filter(|f| {
                found
                    .people
                    .iter()
                    .any(|(p, h)| !viewer.values(p, h, f).is_empty())
            })
            .collect();
        let rows = found
            .people
            .iter()
            .map(|(person, hidden)| {
                let is_self = viewer.is_self(person);
                let cells = columns
                    .iter()
                    .map(|field| {
                        let values = viewer.values(person, hidden, field);
                        Cell {
                            values: values
                                .iter()
                                .map(|v| CellValue {
                                    href: (field.eq_ignore_ascii_case("mail")
                                        && is_mail_address(v))
                                    .then(|| format!("mailto:{v}")),
                                    text: v.clone(),
                                })
                                .collect(),
                            hidden: is_self && !values.is_empty() && own_hidden.hides(field),
                        }
                    })
                    .collect();
                Row {
                    uid: person.id.clone(),
                    name: person.display_name.clone(),
                    profiles: profile_labels(ctx, person),
                    cells,
                    is_self,
                    in_carnet: carnet.iter().any(|u| carnet::same_uid(u, &person.id)),
                }
            })
            .collect();
        let headers = columns
            .into_iter()
            .map(|f| label_or_name(f, ctx.locale()))
            .collect();
        (rows, headers)
    }

    async fn render_edit(&self, ctx: &PortletContext) -> Result<Markup, PortletError> {
        let me = ctx.user();
        let hidden = load_hidden(&ctx.data().shared(), &me.id).await?;
        let fields: Vec<OwnField> = hideable_fields(&ctx.preferences, me)
            .into_iter()
            .map(|f| OwnField {
                label: label_or_name(&f, ctx.locale()),
                value: attribute_values(me, &f).join(", "),
                shown: !hidden.hides(&f),
                name: f,
            })
            .collect();
        let rules: Vec<RuleSummary> = rules()
            .iter()
            .map(|rule| {
                let labels: Vec<String> = effective_fields(&ctx.preferences, rule)
                    .iter()
                    .map(|f| label_or_name(f, ctx.locale()))
                    .collect();
                let fields = if labels.is_empty() {
                    ctx.t(&MESSAGES, "rule-name-only")
                } else {
                    labels.join(", ")
                };
                let text = if rule.profile == Profile::Admin {
                    ctx.t_args(&MESSAGES, "rule-admin", &args! { "fields" => fields })
                } else if let Some(findable) = findable_profiles(&ctx.preferences, rule) {
                    let names: Vec<String> =
                        findable.iter().map(|p| ctx.profile_label(p)).collect();
                    let people = if names.is_empty() {
                        ctx.t(&MESSAGES, "rule-nobody")
                    } else {
                        names.join(", ")
                    };
                    ctx.t_args(
                        &MESSAGES,
                        "rule-finds-only",
                        &args! { "fields" => fields, "people" => people },
                    )
                } else {
                    fields
                };
                RuleSummary {
                    profile: ctx.profile_label(&rule.profile),
                    fields: text,
                }
            })
            .collect();
        let urls = ctx.urls();
        self.templates.render_for(
            ctx,
            "edit",
            context! {
                ns => ctx.window().namespace(),
                action => urls.action().to_string(),
                view_url => urls.render().mode(Mode::View).to_string(),
                csrf => markup_value(&ctx.csrf_field()),
                saved => ctx.param("enregistre") == Some("1"),
                fields => Serde(&fields),
                rules => Serde(&rules),
            },
        )
    }

    /// A uid posted by a form: trimmed, not empty, short, without control characters.
    fn checked_uid<'r>(ctx: &PortletContext, uid: &'r str) -> Result<&'r str, PortletError> {
        let uid = uid.trim();
        if uid.is_empty() || uid.chars().count() > MAX_UID_LEN || uid.chars().any(char::is_control)
        {
            return Err(PortletError::BadRequest(ctx.t(&MESSAGES, "error-bad-uid")));
        }
        Ok(uid)
    }

    async fn add_to_carnet(ctx: &PortletContext, uid: &str) -> Result<(), PortletError> {
        let uid = Self::checked_uid(ctx, uid)?;
        let not_found = || PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found"));
        let person = ctx.directory().person(uid).await?.ok_or_else(not_found)?;
        if !Viewer::new(ctx).may_find(&person) {
            return Err(not_found());
        }
        let data = ctx.data();
        let stored = carnet::Stored::read(&data).await?;
        if stored.contains(&person.id) {
            return Ok(());
        }
        // Parallel additions may each pass this check: the limit may be overrun by as many
        // people as were being added at that very moment.
        if stored.len() >= MAX_CARNET {
            return Err(PortletError::BadRequest(ctx.t_args(
                &MESSAGES,
                "carnet-full",
                &args! { "max" => MAX_CARNET },
            )));
        }
        carnet::add(&data, &stored, &person.id).await?;
        Ok(())
    }

    async fn remove_from_carnet(ctx: &PortletContext, uid: &str) -> Result<(), PortletError> {
        let uid = Self::checked_uid(ctx, uid)?;
        carnet::remove(&ctx.data(), uid).await?;
        Ok(())
    }

    /// Store which of her own details the current user hides (never anybody else's).
    ///
    /// The earlier choices the form does not offer are kept; the list is read and written
    /// back with its version, retried if another of her sessions saved meanwhile. Hiding
    /// nothing stores an empty list (a delete could not be conditional).
    async fn save_visibility(
        ctx: &PortletContext,
        request: &ActionRequest,
    ) -> Result<(), PortletError> {
        let me = ctx.user();
        let offered = hideable_fields(&ctx.preferences, me);
        let shared = ctx.data().shared();
        let key = hidden_key(&me.id);
        let mut tries = 0;
        loop {
            let current = shared.get_versioned(&key).await?;
            // An unreadable list hid everything; the form's choices replace it.
            let previous: Vec<String> = current
                .value
                .as_deref()
                .and_then(|bytes| serde_json::from_slice(bytes).ok())
                .unwrap_or_default();
            let mut hidden: Vec<String> = offered
                .iter()
                .filter(|f| request.field(&format!("show.{f}")).is_none())
                .cloned()
                .collect();
            // Keep earlier choices about details the form does not offer now (the rules
            // may offer them again later).
            for f in &previous {
                if !contains(&offered, f) && !contains(&hidden, f) {
                    hidden.push(f.clone());
                }
            }
            hidden.truncate(MAX_HIDDEN);
            if hidden.is_empty() && current.value.is_none() {
                return Ok(());
            }
            let bytes =
                serde_json::to_vec(&hidden).map_err(|e| PortletError::Internal(e.to_string()))?;
            match shared.set_if(&key, &bytes, current.version).await {
                Ok(_) => return Ok(()),
                Err(SocleError::Conflict { .. }) if tries < 4 => tries += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[async_trait]
impl Portlet for Annuaire {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    fn searchable(&self) -> Option<&dyn cartable_portlet::search::Searchable> {
        Some(self)
    }

    fn recipients(&self) -> Option<&dyn cartable_portlet::recipients::RecipientSource> {
        Some(self)
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let markup = match ctx.mode() {
            Mode::View => self.render_view(ctx).await?,
            Mode::Edit => self.render_edit(ctx).await?,
            Mode::Help => self.templates.render_for(
                ctx,
                "help",
                context! {
                    max_results => MAX_RESULTS,
                    max_length => MAX_INPUT_LEN,
                    max_carnet => MAX_CARNET,
                },
            )?,
        };
        let mut response = RenderResponse::from(markup);
        if ctx.mode() == Mode::View && ctx.params().values().any(|v| !v.is_empty()) {
            // A search gets a page title of its own.
            response = response.title(ctx.t(&MESSAGES, "search-page-title"));
        }
        Ok(response)
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        // Back to the same search after adding or removing someone.
        let keep = Criteria::read(|name| request.field(name)).valid_only();
        let mut back = ActionResponse::default();
        for (name, value) in keep.pairs() {
            if !value.is_empty() {
                back = back.param(name, value);
            }
        }
        match request.required("op")? {
            "carnet" => {
                Self::add_to_carnet(ctx, request.required("uid")?).await?;
                Ok(back)
            }
            "retirer" => {
                Self::remove_from_carnet(ctx, request.required("uid")?).await?;
                Ok(back)
            }
            "visibilite" => {
                Self::save_visibility(ctx, &request).await?;
                // What others find her by changed: her document in the search index.
                ctx.search_changed(ID, std::slice::from_ref(&ctx.user().id))
                    .await;
                Ok(ActionResponse::default()
                    .mode(Mode::Edit)
                    .param("enregistre", "1"))
            }
            other => Err(PortletError::BadRequest(format!("unknown op {other:?}"))),
        }
    }
}
