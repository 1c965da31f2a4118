//! Which agendas a user reads and writes: hers, the personal agendas others let her
//! write, her groups' (where the group has the tool), the établissement's (by profile).
//! Every door (pages, CalDAV, the subscription URL, "Mes données") asks here.

use cartable_portlet::{Person, PortletError, Profile, Services};
use cartable_socle::{GroupPolicy, GroupRight, Groups};

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

/// Who reads and writes the établissement's agenda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtabRule {
    /// The profiles that read it (empty: everyone).
    pub readers: Vec<Profile>,
    /// The profiles that write it.
    pub writers: Vec<Profile>,
}

impl Default for EtabRule {
    fn default() -> Self {
        EtabRule {
            readers: Vec::new(),
            writers: vec![Profile::Personnel, Profile::Admin],
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

fn group_error(e: cartable_socle::GroupError) -> PortletError {
    match e {
        cartable_socle::GroupError::Socle(s) => PortletError::Socle(s),
        other => PortletError::Internal(format!("groups: {other}")),
    }
}

/// Every agenda `user` reads, hers first.
pub async fn of(
    services: &Services,
    user: &Person,
    rule: &EtabRule,
    labels: &Labels,
) -> Result<Vec<Access>, PortletError> {
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
    for key in store::granted_to(db, &grantees).await? {
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
    let reads = rule.readers.is_empty() || rule.readers.iter().any(|p| user.has_profile(p));
    let writes = rule.writers.iter().any(|p| user.has_profile(p));
    if reads || writes {
        out.push(Access {
            key: "etab".into(),
            id: "etablissement".into(),
            name: labels.etab.clone(),
            write: writes,
            kind: Kind::Etablissement,
        });
    }
    Ok(out)
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
