//! A bookmark file's folders and links written into a user's bookmarks, in one
//! transaction: by the window's import form and by "Mes données".
//!
//! Folders of the file merge with the folders of the same name that were already there
//! (importing a file twice adds nothing); the folders the file itself repeats stay apart,
//! so that an export imported into an empty account gives the same tree. A link already in
//! the same folder before the import is left out, and so is what is not a web link
//! (`javascript:`, Firefox's `place:` queries) and what would pass the limits.

use cartable_portlet::sqlx::AnyConnection;
use cartable_socle::SocleError;

use crate::netscape::{Document, Item};
use crate::store;
use crate::tree::Tree;
use crate::{MAX_FOLDER_NAME_LEN, MAX_FOLDERS, MAX_LINK_TITLE_LEN, MAX_URL_LEN, MAX_USER_LINKS};

/// Why an item of the file was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A bookmark without an address.
    NoUrl,
    /// An address that is not an http(s) web address.
    NotWeb,
    /// The same address was already in that folder.
    Duplicate,
    /// She would keep more links than [`MAX_USER_LINKS`].
    TooManyLinks,
    /// She would keep more folders than [`MAX_FOLDERS`] (the folder and what it holds).
    TooManyFolders,
    /// A folder of that name was already there: what the file's holds goes into it.
    Merged,
}

/// One item of the file and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Its rank among the file's items (folders and bookmarks), from 1.
    pub at: usize,
    /// Its folders' names and its own, joined by " › ".
    pub label: String,
    /// Whether it is a folder.
    pub folder: bool,
    /// `None`: imported; else why not.
    pub refused: Option<Refusal>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Links added.
    pub links: usize,
    /// Folders made (not those merged with one already there).
    pub folders: usize,
    /// The numbers of the links added.
    pub link_ids: Vec<u64>,
    /// Every item of the file, in order.
    pub lines: Vec<Line>,
    /// For each folder of the file in the order of its `<H3>`, the folder it went to
    /// (made or merged); `None` when refused.
    pub folder_ids: Vec<Option<u64>>,
}

impl Outcome {
    /// How many items were left out.
    pub fn refused(&self) -> usize {
        self.lines.iter().filter(|l| l.refused.is_some()).count()
    }

    /// Whether a limit was reached.
    pub fn over_limit(&self) -> bool {
        self.lines.iter().any(|l| {
            matches!(
                l.refused,
                Some(Refusal::TooManyLinks | Refusal::TooManyFolders)
            )
        })
    }
}

/// Import `doc` into folder `into` of `owner` (who has `tree`), through `conn` (the
/// caller's transaction). `untitled` names a folder without a name.
pub async fn apply(
    conn: &mut AnyConnection,
    owner: &str,
    tree: &Tree,
    into: u64,
    doc: &Document,
    untitled: &str,
) -> Result<Outcome, SocleError> {
    let mut run = Run {
        owner,
        tree,
        untitled,
        links_kept: tree.links.len(),
        folders_kept: tree.folders.len(),
        at: 0,
        out: Outcome::default(),
    };
    run.items(conn, &doc.items, into, true, &mut Vec::new())
        .await?;
    Ok(run.out)
}

/// The future of a folder's import (boxed: folders nest).
type Boxed<'b> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), SocleError>> + Send + 'b>>;

struct Run<'a> {
    owner: &'a str,
    tree: &'a Tree,
    untitled: &'a str,
    links_kept: usize,
    folders_kept: usize,
    at: usize,
    out: Outcome,
}

impl Run<'_> {
    /// Import `items` into `folder`; `existing`: whether that folder was there before the
    /// import (only then are its folders merged and its links compared). `refused`: the
    /// refusal of an enclosing folder, which its items share.
    fn items<'b>(
        &'b mut self,
        conn: &'b mut AnyConnection,
        items: &'b [Item],
        folder: u64,
        existing: bool,
        path: &'b mut Vec<String>,
    ) -> Boxed<'b> {
        Box::pin(async move {
            for item in items {
                self.at += 1;
                match item {
                    Item::Bookmark(b) => {
                        let label = label(path, &b.title);
                        let refused = self.bookmark(conn, folder, existing, b).await?;
                        self.out.lines.push(Line {
                            at: self.at,
                            label,
                            folder: false,
                            refused,
                        });
                    }
                    Item::Folder(f) => {
                        let name = clean(&f.title, MAX_FOLDER_NAME_LEN)
                            .unwrap_or_else(|| self.untitled.to_string());
                        let merged = existing
                            .then(|| {
                                self.tree
                                    .children(folder)
                                    .into_iter()
                                    .find_map(|e| match e {
                                        crate::tree::Entry::Folder(g) if g.name == name => {
                                            Some(g.id)
                                        }
                                        _ => None,
                                    })
                            })
                            .flatten();
                        let label = label(path, &name);
                        let target = match merged {
                            Some(id) => Some((id, true)),
                            None if self.folders_kept >= MAX_FOLDERS => None,
                            None => {
                                let made = store::add_folder(
                                    conn,
                                    self.owner,
                                    folder,
                                    &name,
                                    f.add_date,
                                    f.last_modified,
                                    usize::MAX,
                                )
                                .await?;
                                self.folders_kept += 1;
                                self.out.folders += 1;
                                made.map(|id| (id, false))
                            }
                        };
                        self.out.folder_ids.push(target.map(|(id, _)| id));
                        self.out.lines.push(Line {
                            at: self.at,
                            label,
                            folder: true,
                            refused: match target {
                                None => Some(Refusal::TooManyFolders),
                                Some((_, true)) => Some(Refusal::Merged),
                                Some((_, false)) => None,
                            },
                        });
                        path.push(name);
                        match target {
                            Some((id, was_there)) => {
                                self.items(conn, &f.items, id, was_there, path).await?;
                            }
                            None => self.refuse_all(&f.items, path),
                        }
                        path.pop();
                    }
                }
            }
            Ok(())
        })
    }

    /// Every item inside a refused folder is refused with it.
    fn refuse_all(&mut self, items: &[Item], path: &mut Vec<String>) {
        for item in items {
            self.at += 1;
            match item {
                Item::Bookmark(b) => self.out.lines.push(Line {
                    at: self.at,
                    label: label(path, &b.title),
                    folder: false,
                    refused: Some(Refusal::TooManyFolders),
                }),
                Item::Folder(f) => {
                    self.out.folder_ids.push(None);
                    self.out.lines.push(Line {
                        at: self.at,
                        label: label(path, &f.title),
                        folder: true,
                        refused: Some(Refusal::TooManyFolders),
                    });
                    path.push(f.title.clone());
                    self.refuse_all(&f.items, path);
                    path.pop();
                }
            }
        }
    }

    async fn bookmark(
        &mut self,
        conn: &mut AnyConnection,
        folder: u64,
        existing: bool,
        b: &crate::netscape::Bookmark,
    ) -> Result<Option<Refusal>, SocleError> {
        if b.url.is_empty() {
            return Ok(Some(Refusal::NoUrl));
        }
        let Some(url) = crate::web_url(&b.url).filter(|u| u.chars().count() <= MAX_URL_LEN) else {
            return Ok(Some(Refusal::NotWeb));
        };
        if existing
            && self
                .tree
                .links
                .iter()
                .any(|l| l.folder == folder && l.url == url)
        {
            return Ok(Some(Refusal::Duplicate));
        }
        if self.links_kept >= MAX_USER_LINKS {
            return Ok(Some(Refusal::TooManyLinks));
        }
        // A title too long is cut (browsers' titles are page titles); an empty one
        // becomes the host name, as for the établissement's links.
        let title = clean(&b.title, MAX_LINK_TITLE_LEN).unwrap_or_else(|| {
            url::Url::parse(&url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| url.clone())
        });
        let id = store::insert_link(
            conn,
            self.owner,
            folder,
            &title,
            &url,
            b.add_date,
            b.last_modified,
        )
        .await?;
        self.links_kept += 1;
        self.out.links += 1;
        self.out.link_ids.push(id);
        Ok(None)
    }
}

fn label(path: &[String], name: &str) -> String {
    let mut label = path.join(" › ");
    if !label.is_empty() {
        label.push_str(" › ");
    }
    label.push_str(name);
    label
}

/// A title without control characters, trimmed, cut to `max` characters (the last one
/// an ellipsis); `None` when nothing is left.
pub(crate) fn clean(text: &str, max: usize) -> Option<String> {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.chars().count() > max {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        return Some(cut);
    }
    Some(text.to_string())
}
