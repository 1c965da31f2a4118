//! A user's folders and links as one tree: read from `signets_folder` and `signets_link`
//! in one go (a user keeps a few hundred at most), then walked in memory for the window,
//! the checks of a move and the bookmark file.

use cartable_portlet::sqlx::{self, AnyConnection};
use cartable_socle::SocleError;
use serde::Serialize;

use crate::netscape::{self, Document, Item};

/// The top level: the folder of what is in no folder.
pub const TOP: u64 = 0;

/// A folder (a row of `signets_folder`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Folder {
    /// Its number, from 1 for each owner.
    pub id: u64,
    /// The folder it is in ([`TOP`] at the top level).
    pub parent: u64,
    /// Its name.
    pub name: String,
    /// Its place among its parent's folders and links.
    pub position: i64,
    /// When it was made, seconds since 1970.
    pub created_at: Option<i64>,
    /// When it was last changed.
    pub modified_at: Option<i64>,
}

/// A link (a row of `signets_link`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// Its number, from 1 for each owner.
    pub id: u64,
    /// The folder it is in ([`TOP`] at the top level).
    pub folder: u64,
    /// Its title.
    pub title: String,
    /// Its address.
    pub url: String,
    /// Its place among its folder's folders and links.
    pub position: i64,
    /// When it was added, seconds since 1970.
    pub created_at: Option<i64>,
    /// When it was last changed.
    pub modified_at: Option<i64>,
}

/// One entry of a folder: a folder or a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    /// A folder in it.
    Folder(&'a Folder),
    /// A link in it.
    Link(&'a Link),
}

impl Entry<'_> {
    fn sort_key(&self) -> (i64, u8, u64) {
        match self {
            Entry::Folder(f) => (f.position, 0, f.id),
            Entry::Link(l) => (l.position, 1, l.id),
        }
    }
}

/// A user's folders and links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    /// Every folder, in no particular order.
    pub folders: Vec<Folder>,
    /// Every link, in no particular order.
    pub links: Vec<Link>,
}

type FolderRow = (i64, i64, String, i64, Option<i64>, Option<i64>);
type LinkRow = (i64, i64, String, String, i64, Option<i64>, Option<i64>);

fn number(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Tree {
    /// The tree of `owner`.
    pub async fn load(conn: &mut AnyConnection, owner: &str) -> Result<Tree, SocleError> {
        let folders: Vec<FolderRow> = sqlx::query_as(
            "SELECT id, parent, name, position, created_at, modified_at \
             FROM signets_folder WHERE owner = $1",
        )
        .bind(owner)
        .fetch_all(&mut *conn)
        .await?;
        let links: Vec<LinkRow> = sqlx::query_as(
            "SELECT id, folder, title, url, position, created_at, modified_at \
             FROM signets_link WHERE owner = $1",
        )
        .bind(owner)
        .fetch_all(&mut *conn)
        .await?;
        Ok(Tree {
            folders: folders
                .into_iter()
                .map(
                    |(id, parent, name, position, created_at, modified_at)| Folder {
                        id: number(id),
                        parent: number(parent),
                        name,
                        position,
                        created_at,
                        modified_at,
                    },
                )
                .collect(),
            links: links
                .into_iter()
                .map(
                    |(id, folder, title, url, position, created_at, modified_at)| Link {
                        id: number(id),
                        folder: number(folder),
                        title,
                        url,
                        position,
                        created_at,
                        modified_at,
                    },
                )
                .collect(),
        })
    }

    /// Folder `id`, if she has it.
    pub fn folder(&self, id: u64) -> Option<&Folder> {
        self.folders.iter().find(|f| f.id == id)
    }

    /// Link `id`, if she has it.
    pub fn link(&self, id: u64) -> Option<&Link> {
        self.links.iter().find(|l| l.id == id)
    }

    /// Whether `id` is the top level or one of her folders.
    pub fn has_folder(&self, id: u64) -> bool {
        id == TOP || self.folder(id).is_some()
    }

    /// The folder a folder or link is in, as shown: one that no longer exists (a folder
    /// removed while a link was added to it from another tab) counts as the top level.
    fn shown_parent(&self, parent: u64) -> u64 {
        if self.has_folder(parent) { parent } else { TOP }
    }

    /// What folder `parent` holds, in order.
    pub fn children(&self, parent: u64) -> Vec<Entry<'_>> {
        let mut out: Vec<Entry<'_>> = self
            .folders
            .iter()
            .filter(|f| f.id != TOP && self.shown_parent(f.parent) == parent && f.id != parent)
            .map(Entry::Folder)
            .chain(
                self.links
                    .iter()
                    .filter(|l| self.shown_parent(l.folder) == parent)
                    .map(Entry::Link),
            )
            .collect();
        out.sort_by_key(Entry::sort_key);
        out
    }

    /// The folders from the top level down to `id` (itself last; empty for the top).
    pub fn path(&self, id: u64) -> Vec<&Folder> {
        let mut path = Vec::new();
        let mut at = id;
        // Bounded: a cycle (which no action makes) cannot loop.
        for _ in 0..=self.folders.len() {
            let Some(f) = self.folder(at) else { break };
            if path.iter().any(|p: &&Folder| p.id == f.id) {
                break;
            }
            path.push(f);
            at = f.parent;
        }
        path.reverse();
        path
    }

    /// Whether folder `id` is `ancestor` or inside it.
    pub fn is_within(&self, id: u64, ancestor: u64) -> bool {
        ancestor == TOP || self.path(id).iter().any(|f| f.id == ancestor)
    }

    /// Folder `id` and every folder inside it.
    pub fn subtree(&self, id: u64) -> Vec<u64> {
        self.folders
            .iter()
            .filter(|f| self.is_within(f.id, id))
            .map(|f| f.id)
            .collect()
    }

    /// How many links and folders are inside folder `id`, at any depth.
    pub fn content_count(&self, id: u64) -> (usize, usize) {
        let inside = self.subtree(id);
        let links = self
            .links
            .iter()
            .filter(|l| inside.contains(&self.shown_parent(l.folder)))
            .count();
        (links, inside.len().saturating_sub(1))
    }

    /// Every folder with its path as text ("Cours › Maths"), in the tree's order, for a
    /// choice of folder.
    pub fn folder_choices(&self, sep: &str) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        self.walk(TOP, &mut |f, _| {
            let names: Vec<&str> = self.path(f.id).iter().map(|f| f.name.as_str()).collect();
            out.push((f.id, names.join(sep)));
        });
        out
    }

    fn walk<'a>(&'a self, parent: u64, visit: &mut dyn FnMut(&'a Folder, usize)) {
        fn go<'a>(
            tree: &'a Tree,
            parent: u64,
            depth: usize,
            visit: &mut dyn FnMut(&'a Folder, usize),
        ) {
            if depth > tree.folders.len() {
                return;
            }
            for e in tree.children(parent) {
                if let Entry::Folder(f) = e {
                    visit(f, depth);
                    go(tree, f.id, depth + 1, visit);
                }
            }
        }
        go(self, parent, 0, visit);
    }

    /// Folder `root` and what it holds as a bookmark file's list.
    pub fn items(&self, root: u64) -> Vec<Item> {
        fn go(tree: &Tree, parent: u64, depth: usize) -> Vec<Item> {
            if depth > tree.folders.len() {
                return Vec::new();
            }
            tree.children(parent)
                .into_iter()
                .map(|e| match e {
                    Entry::Link(l) => Item::Bookmark(netscape::Bookmark {
                        title: l.title.clone(),
                        url: l.url.clone(),
                        add_date: l.created_at,
                        last_modified: l.modified_at,
                    }),
                    Entry::Folder(f) => Item::Folder(netscape::Folder {
                        title: f.name.clone(),
                        add_date: f.created_at,
                        last_modified: f.modified_at,
                        items: go(tree, f.id, depth + 1),
                    }),
                })
                .collect()
        }
        go(self, root, 0)
    }

    /// The bookmark file of everything (`root` = [`TOP`]) or of one folder, with the
    /// folder itself as the file's only top-level folder.
    pub fn document(&self, root: u64, title: &str) -> Document {
        let items = match self.folder(root) {
            Some(f) => vec![Item::Folder(netscape::Folder {
                title: f.name.clone(),
                add_date: f.created_at,
                last_modified: f.modified_at,
                items: self.items(root),
            })],
            None => self.items(TOP),
        };
        Document {
            title: title.to_string(),
            items,
        }
    }

    /// The folders in the order of [`Tree::document`] (the order of their `<H3>` in the
    /// file), to name a folder by its rank in the file.
    pub fn folders_in_file_order(&self) -> Vec<u64> {
        let mut out = Vec::new();
        self.walk(TOP, &mut |f, _| out.push(f.id));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(id: u64, parent: u64, name: &str, position: i64) -> Folder {
        Folder {
            id,
            parent,
            name: name.into(),
            position,
            created_at: None,
            modified_at: None,
        }
    }

    fn link(id: u64, folder: u64, title: &str, position: i64) -> Link {
        Link {
            id,
            folder,
            title: title.into(),
            url: format!("https://{title}.example.org/"),
            position,
            created_at: None,
            modified_at: None,
        }
    }

    #[test]
    fn children_paths_and_subtrees() {
        let tree = Tree {
            folders: vec![
                folder(1, TOP, "Cours", 2),
                folder(2, 1, "Maths", 1),
                folder(3, 2, "Géométrie", 1),
                folder(4, TOP, "Loisirs", 4),
                // A cycle no action makes: walks still end.
                folder(5, 6, "A", 1),
                folder(6, 5, "B", 1),
            ],
            links: vec![
                link(1, TOP, "un", 1),
                link(2, 1, "deux", 2),
                link(3, 3, "trois", 1),
                link(4, 99, "orphelin", 3),
            ],
        };
        let top: Vec<String> = tree
            .children(TOP)
            .iter()
            .map(|e| match e {
                Entry::Folder(f) => f.name.clone(),
                Entry::Link(l) => l.title.clone(),
            })
            .collect();
        assert_eq!(top, ["un", "Cours", "orphelin", "Loisirs"]);
        let names: Vec<&str> = tree.path(3).iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Cours", "Maths", "Géométrie"]);
        assert!(tree.is_within(3, 1) && !tree.is_within(1, 3) && tree.is_within(1, TOP));
        assert_eq!(tree.subtree(1), [1, 2, 3]);
        assert_eq!(tree.content_count(1), (2, 2));
        assert_eq!(
            tree.folder_choices(" › "),
            [
                (1, "Cours".to_string()),
                (2, "Cours › Maths".into()),
                (3, "Cours › Maths › Géométrie".into()),
                (4, "Loisirs".into()),
            ]
        );
        assert!(tree.path(5).len() <= 2);
        let doc = tree.document(2, "t");
        assert_eq!(
            doc.folder_paths(),
            [vec!["Maths"], vec!["Maths", "Géométrie"]]
        );
    }
}
