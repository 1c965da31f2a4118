//! Who reads and writes which book, and entries as a reader sees them.

use cartable_portlet::recipients::Recipients;
use cartable_portlet::sqlx::AnyConnection;
use cartable_portlet::{PortletContext, PortletError};
use cartable_socle::{GroupRight, Groups, Person};

use crate::SERVICE;
use crate::model::{Book, Entry, Fields};
use crate::store;

/// What one user may do with the books.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    /// Her uid.
    pub me: String,
    /// Her active groups that have the carnet's tool: (id, name, her right).
    pub tool_groups: Vec<(String, String, GroupRight)>,
    /// Every active group of hers: (id, name), for the shares.
    pub groups: Vec<(String, String)>,
}

fn groups_error(e: cartable_socle::GroupError) -> PortletError {
    match e {
        cartable_socle::GroupError::Socle(s) => PortletError::Socle(s),
        other => PortletError::Internal(format!("the groups could not be read: {other}")),
    }
}

impl Access {
    /// The current user's.
    pub async fn of(ctx: &PortletContext) -> Result<Access, PortletError> {
        Access::for_user(&ctx.groups(), &ctx.user().id).await
    }

    /// `uid`'s, from the groups service.
    pub async fn for_user(groups: &Groups, uid: &str) -> Result<Access, PortletError> {
        let all = groups.groups_of(uid).await.map_err(groups_error)?;
        let mut tool_groups = Vec::new();
        let mut names = Vec::new();
        for g in all {
            if let Some(right) = g.right_of(uid)
                && g.tools.contains_key(SERVICE)
            {
                tool_groups.push((g.id.clone(), g.name.clone(), right));
            }
            names.push((g.id, g.name));
        }
        Ok(Access {
            me: uid.to_string(),
            tool_groups,
            groups: names,
        })
    }

    /// Her own book.
    pub fn own(&self) -> Book {
        Book::User(self.me.clone())
    }

    /// Whether she reads `book`: hers, or the book of a group of hers that has the tool.
    pub fn may_read(&self, book: &Book) -> bool {
        match book {
            Book::User(u) => *u == self.me,
            Book::Group(g) => self.tool_groups.iter().any(|(id, _, _)| id == g),
        }
    }

    /// Whether she writes `book`: hers, or a group's where she contributes.
    pub fn may_write(&self, book: &Book) -> bool {
        match book {
            Book::User(u) => *u == self.me,
            Book::Group(g) => self
                .tool_groups
                .iter()
                .any(|(id, _, r)| id == g && r.can_contribute()),
        }
    }

    /// The ids of all her groups.
    pub fn group_ids(&self) -> Vec<String> {
        self.groups.iter().map(|(id, _)| id.clone()).collect()
    }

    /// The name of a group's book she reads.
    pub fn group_name(&self, id: &str) -> Option<&str> {
        self.tool_groups
            .iter()
            .find(|(g, _, _)| g == id)
            .map(|(_, n, _)| n.as_str())
    }

    /// Whether entry `id` of `book` is hers to read: in a book she reads, or shared with
    /// her (or with a group of hers).
    pub async fn may_read_entry(
        &self,
        conn: &mut AnyConnection,
        book: &Book,
        id: u64,
    ) -> Result<bool, PortletError> {
        if self.may_read(book) {
            return Ok(true);
        }
        let shared = store::shared_with(conn, &self.me, &self.group_ids()).await?;
        Ok(shared.iter().any(|(b, e)| b == book && *e == id))
    }
}

/// An entry as one reader sees it.
#[derive(Debug, Clone)]
pub(crate) struct Shown {
    /// The entry as stored.
    pub entry: Entry,
    /// Its fields as shown: its own, or for a person of the directory what the reader
    /// may see of her now.
    pub fields: Fields,
    /// A person of the directory the reader may no longer find (or who left it).
    pub gone: bool,
}

/// An entry as `viewer` sees it.
pub(crate) async fn resolve(
    recipients: &Recipients,
    viewer: &Person,
    entry: Entry,
) -> Result<Shown, PortletError> {
    let Some(person) = entry.person.clone() else {
        let fields = entry.fields.clone();
        return Ok(Shown {
            entry,
            fields,
            gone: false,
        });
    };
    let visible = recipients
        .person(viewer, &person)
        .await
        .map_err(|e| PortletError::Internal(format!("the directory could not be read: {e}")))?;
    Ok(match visible {
        Some(p) => {
            let mut fields = crate::name_fields(&p.display_name);
            let field = |names: &[&str]| -> String {
                names
                    .iter()
                    .find_map(|n| p.field(n))
                    .unwrap_or_default()
                    .to_string()
            };
            fields.fonction = field(&["title"]);
            fields.institution = field(&["o", "ENTPersonStructRattach"]);
            fields.adresse = field(&["postalAddress", "street"]).replace('$', "\n");
            fields.telephone = field(&["telephoneNumber"]);
            fields.courriel = field(&["mail"]);
            Shown {
                entry,
                fields,
                gone: false,
            }
        }
        None => {
            // Her name as it was when she was added; nothing else.
            let fields = Fields {
                nom: entry.fields.nom.clone(),
                prenom: entry.fields.prenom.clone(),
                ..Fields::default()
            };
            Shown {
                entry,
                fields,
                gone: true,
            }
        }
    })
}

/// Entries as `viewer` sees them, in their order.
pub(crate) async fn resolve_all(
    recipients: &Recipients,
    viewer: &Person,
    entries: Vec<Entry>,
) -> Result<Vec<Shown>, PortletError> {
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        out.push(resolve(recipients, viewer, e).await?);
    }
    Ok(out)
}
