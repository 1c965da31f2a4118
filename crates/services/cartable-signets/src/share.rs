//! Who reads whose folders: a folder shared with a user, or with a group she belongs to,
//! is hers to read (with everything inside it), and to read only. Every door (the page,
//! the resources, the actions) asks [`Readable::may_read`] before it shows anything of
//! another user's.

use cartable_portlet::PortletError;
use cartable_portlet::sqlx::AnyConnection;

use crate::store;
use crate::tree::{TOP, Tree};

/// The folders shared with one reader, as (owner, folder).
#[derive(Debug, Clone, Default)]
pub(crate) struct Readable {
    /// The shared folders themselves (what is inside them is readable too).
    pub roots: Vec<(String, u64)>,
}

impl Readable {
    /// What `reader`, member of `groups`, may read of others'.
    pub async fn of(
        conn: &mut AnyConnection,
        reader: &str,
        groups: &[String],
    ) -> Result<Readable, PortletError> {
        Ok(Readable {
            roots: store::shared_with(conn, reader, groups).await?,
        })
    }

    /// Whether folder `folder` of `owner` (whose tree is `tree`) is shared with her,
    /// itself or a folder around it; and which shared folder gives it.
    pub fn may_read(&self, owner: &str, folder: u64, tree: &Tree) -> Option<u64> {
        if folder == TOP || !tree.has_folder(folder) {
            return None;
        }
        let path = tree.path(folder);
        path.iter()
            .map(|f| f.id)
            .find(|id| self.roots.iter().any(|(o, root)| o == owner && root == id))
    }
}

/// The ids of the groups `user` belongs to.
pub(crate) async fn groups_of(
    groups: &cartable_socle::Groups,
    user: &str,
) -> Result<Vec<String>, PortletError> {
    Ok(groups
        .groups_of(user)
        .await
        .map_err(|e| PortletError::Internal(format!("the groups could not be read: {e}")))?
        .into_iter()
        .map(|g| g.id)
        .collect())
}
