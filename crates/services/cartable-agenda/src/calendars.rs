//! Which agendas a user reads and writes: hers, the personal agendas others let her
//! write, her groups' (where the group has the tool), the établissement's (by profile).
//! Every door (pages, CalDAV, the subscription URL, "Mes données") asks here.

use cartable_portlet::{Person, PortletError, Profile, ProfileList, Services};
use cartable_socle::{Audience, GroupPolicy, GroupRight, Groups};

use crate::{ID, store};

/// One agenda as a user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Its key in the tables (`u:<uid>`, `g:<group>`, `etab`).
    pub key: String,
    /// Its id in CalDAV URLs and forms (`personnel`, `personnel.<uid>`,
    /// `groupe.<group>`, `etablissement`).
    pub id: String,
    /// Its name ("Mon agenda", the group's name).
    pub name: String,
    /// Whether she may add, change and delete its events.
    pub write: bool,
    /// What it is.
    pub kind: Kind,
}

/// What an agenda is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Her own.
    Own,
    /// Another's personal agenda she may write (its owner's uid).
    Granted(String),
    /// A group's (its id).
    Group(String),
    /// The établissement's.
    Etablissement,
}

/// Who reads and writes the établissement's agenda, by profile.
///
/// The rule in force is the établissement's ([`EtabRule::in_force`]): its settings
/// `etab_readers` and `etab_writers` in `[portlets.agenda.preferences]` of
/// `cartable.toml`, over the rule the portlet was built with ([`Agenda::etablissement`],
/// everyone reads, staff and administrators write, by default). Every door asks here: the
/// page, CalDAV, the subscription URL, "Mes données" and the reminders.
///
/// [`Agenda::etablissement`]: crate::Agenda::etablissement
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtabRule {
    /// The profiles that read it.
    pub readers: ProfileList,
    /// The profiles that write it (they read it too).
    pub writers: ProfileList,
}

impl Default for EtabRule {
    fn default() -> Self {
        EtabRule {
            readers: ProfileList::Everyone,
            writers: ProfileList::Profiles(vec![Profile::Personnel, Profile::Admin]),
        }
    }
}

impl EtabRule {
    /// The setting of who reads it: profile names, or `*` for everyone.
    pub const READERS: &'static str = "etab_readers";
    /// The setting of who writes it: profile names.
    pub const WRITERS: &'static str = "etab_writers";

    /// Whether `user` reads it (a writer does).
    pub fn reads(&self, user: &Person) -> bool {
        self.readers.includes(&user.profiles) || self.writes(user)
    }

    /// Whether `user` adds, changes and deletes its events.
    pub fn writes(&self, user: &Person) -> bool {
        self.writers.includes(&user.profiles)
    }

    /// Everyone who reads it, as a notification's audience.
    pub fn audience(&self) -> Audience {
        match (&self.readers, &self.writers) {
            (ProfileList::Everyone, _) | (_, ProfileList::Everyone) => Audience::Everyone,
            (ProfileList::Profiles(r), ProfileList::Profiles(w)) => {
                let mut all = r.clone();
                all.extend(w.iter().filter(|p| !r.contains(p)).cloned());
                Audience::Profiles(all)
            }
        }
    }

    /// The rule in force: the établissement's settings ([`Services::etablissement_preferences`]
    /// of the agenda) over this one. A value that does not read as profiles (a
    /// configuration the portal did not check) gives that list to nobody, and is logged:
    /// a mistake never opens the agenda wider.
    pub fn in_force(&self, services: &Services) -> EtabRule {
        let settings = services.etablissement_preferences(ID);
        let list = |name: &str, current: &ProfileList| match settings.get(name) {
            None => current.clone(),
            Some(value) => ProfileList::parse(value).unwrap_or_else(|why| {
                tracing::warn!(
                    "portlets.{ID}.preferences.{name} = {value:?} is refused ({why}): \
                     nobody gets that right until it is fixed"
                );
                ProfileList::Profiles(Vec::new())
            }),
        };
        EtabRule {
            readers: list(Self::READERS, &self.readers),
            writers: list(Self::WRITERS, &self.writers),
        }
    }

    /// A list written as a setting's value (`*`, `personnel, admin`).
    pub fn setting_value(list: &ProfileList) -> String {
        match list {
            ProfileList::Everyone => "*".into(),
            ProfileList::Profiles(p) => {
                p.iter().map(Profile::as_str).collect::<Vec<_>>().join(", ")
            }
        }
    }
}

/// The groups service over the portal's storage.
pub fn groups(services: &Services) -> Groups {
    Groups::new(
        services.storage.clone(),
        services.clock.clone(),
        GroupPolicy::default(),
    )
}

pub(crate) fn group_error(e: cartable_socle::GroupError) -> PortletError {
    match e {
        cartable_socle::GroupError::Socle(s) => PortletError::Socle(s),
        other => PortletError::Internal(format!("groups: {other}")),
    }
}

/// Every agenda `user` reads, hers first. `rule` is the portlet's own rule for the
/// établissement's agenda; the établissement's settings apply over it
/// ([`EtabRule::in_force`]).
pub async fn of(
    services: &Services,
    user: &Person,
    rule: &EtabRule,
    labels: &Labels,
) -> Result<Vec<Access>, PortletError> {
    Ok(listed(services, user, rule, labels).await?.0)
}

/// [`of`], with the revisions read in the same statement (a revision of each agenda
/// she may read, and the database's number: [`store::Listing`]).
pub async fn listed(
    services: &Services,
    user: &Person,
    rule: &EtabRule,
    labels: &Labels,
) -> Result<(Vec<Access>, store::Listing), PortletError> {
    let rule = rule.in_force(services);
    let db = services
        .db
        .as_ref()
        .ok_or_else(|| PortletError::Internal("the agenda needs a database".into()))?;
    let mut out = vec![Access {
        key: format!("u:{}", user.id),
        id: "personnel".into(),
        name: labels.own.clone(),
        write: true,
        kind: Kind::Own,
    }];
    let my_groups = groups(services)
        .groups_of(&user.id)
        .await
        .map_err(group_error)?;
    let mut grantees = vec![format!("u:{}", user.id)];
    grantees.extend(my_groups.iter().map(|g| format!("g:{}", g.id)));
    // Her agenda, her groups' and the établissement's are asked for their revisions
    // whether or not she reads them (a revision is no secret; it is only a number).
    let mut own = grantees.clone();
    own.push("etab".into());
    let listing = store::listing(db, &grantees, &own).await?;
    for key in &listing.granted {
        let Some(owner) = key.strip_prefix("u:") else {
            continue;
        };
        if owner == user.id {
            continue;
        }
        let who = match services.directory.person(owner).await? {
            Some(p) => p.display_name,
            None => owner.to_string(),
        };
        let name = format!("{} {who}", labels.of_person);
        out.push(Access {
            key: key.clone(),
            id: format!("personnel.{owner}"),
            name,
            write: true,
            kind: Kind::Granted(owner.to_string()),
        });
    }
    for g in &my_groups {
        if g.tool(ID).is_none() {
            continue;
        }
        let Some(right) = g.right_of(&user.id) else {
            continue;
        };
        out.push(Access {
            key: format!("g:{}", g.id),
            id: format!("groupe.{}", g.id),
            name: g.name.clone(),
            write: right != GroupRight::Reader,
            kind: Kind::Group(g.id.clone()),
        });
    }
    let writes = rule.writes(user);
    if rule.reads(user) {
        out.push(Access {
            key: "etab".into(),
            id: "etablissement".into(),
            name: labels.etab.clone(),
            write: writes,
            kind: Kind::Etablissement,
        });
    }
    Ok((out, listing))
}

/// The names of agendas that are not a group's, in the user's language.
#[derive(Debug, Clone)]
pub struct Labels {
    /// "Mon agenda".
    pub own: String,
    /// "Agenda de" (followed by a name).
    pub of_person: String,
    /// "Agenda de l'établissement".
    pub etab: String,
}

/// The agenda of `access` with this id, if she reads it.
pub fn find<'a>(all: &'a [Access], id: &str) -> Option<&'a Access> {
    all.iter().find(|a| a.id == id)
}

#[cfg(test)]
mod tests;
