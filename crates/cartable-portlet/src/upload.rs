//! Files sent with a form: the file parts of a `multipart/form-data` action or resource,
//! streamed to the portlet, which hands them to the socle's file store.
//!
//! A form that sends files posts `enctype="multipart/form-data"`. The portal reads its
//! text fields into [`ActionRequest::form`](crate::ActionRequest::form) (or
//! [`ResourceRequest::params`](crate::ResourceRequest::params)) up to the first file,
//! checks `_csrf` among them, then calls the portlet, which takes the files one by one
//! from [`Uploads::next`]. Each [`FilePart`]'s bytes arrive as they are received, never
//! held whole in memory: [`FilePart::store`] streams them to
//! [`FileStore::upload`](cartable_socle::FileStore::upload), which counts them against a
//! quota. So put `ctx.csrf_field()` and the text fields **before** the file inputs in the
//! form (browsers send fields in document order); a text field after a file is given by
//! [`Uploads::late_fields`] once the files before it were read.
//!
//! The whole body may not exceed the portlet's [`Descriptor::upload_limit`]
//! (20 MiB by default, [`DEFAULT_UPLOAD_LIMIT`]): a longer one is refused with `413`, and
//! a file whose upload was cut there is not kept.
//!
//! ```
//! use cartable_portlet::prelude::*;
//! use cartable_portlet::upload::FilePart;
//! use cartable_socle::files::Space;
//!
//! async fn attach(ctx: &PortletContext, mut request: ActionRequest) -> Result<ActionResponse, PortletError> {
//!     let title = request.required("title")?.to_string();
//!     while let Some(file) = request.files.next().await? {
//!         let space = Space::User(ctx.user().id.clone());
//!         let stored = file.store(ctx.files()?, "cahier-de-textes", space, 500 << 20).await?;
//!         // keep stored.id with `title` in the service's own table…
//!         let _ = (&title, stored.id);
//!     }
//!     Ok(ActionResponse::default())
//! }
//! ```
//!
//! [`Descriptor::upload_limit`]: crate::Descriptor::upload_limit

use std::fmt;
use std::pin::Pin;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use cartable_socle::files::{FileError, FileStore, NewFile, Space, StoredFile};
use futures::stream::{BoxStream, Stream, StreamExt};

use crate::{Params, PortletError};

/// The largest `multipart/form-data` body a portlet accepts unless its descriptor says
/// otherwise ([`Descriptor::upload_limit`](crate::Descriptor::upload_limit)): 20 MiB.
pub const DEFAULT_UPLOAD_LIMIT: u64 = 20 << 20;

/// The longest file name kept, in bytes (as the file store keeps them).
const MAX_NAME_LEN: usize = 255;

/// Where a host's file parts come from: the portal's multipart reader, the test kit's
/// list. A portlet never implements it; it reads [`Uploads`].
#[async_trait]
pub trait UploadSource: Send {
    /// The next file part, `None` after the last one. Text fields met on the way are
    /// added to `late_fields`.
    async fn next_file(
        &mut self,
        late_fields: &mut Params,
    ) -> Result<Option<FilePart>, PortletError>;
}

/// The files of a `multipart/form-data` request, taken one at a time with
/// [`Uploads::next`]. Empty for any other request.
///
/// `Sync` (so that a portlet may hold `&ActionRequest` across an `.await`): the source
/// sits behind a mutex that `&mut self` reaches without locking.
#[derive(Default)]
pub struct Uploads {
    source: Option<Mutex<Box<dyn UploadSource>>>,
    late: Params,
}

impl Uploads {
    /// No files (a request that is not `multipart/form-data`).
    pub fn none() -> Self {
        Uploads::default()
    }

    /// The files of `source` (the portal and the test kit build this).
    pub fn new(source: impl UploadSource + 'static) -> Self {
        Uploads {
            source: Some(Mutex::new(Box::new(source))),
            late: Params::new(),
        }
    }

    /// These file parts, in this order (for hosts that already have them).
    pub fn from_parts(parts: Vec<FilePart>) -> Self {
        Uploads::new(Listed(parts.into_iter()))
    }

    /// Whether the request was `multipart/form-data` (it may still hold no file).
    pub fn is_multipart(&self) -> bool {
        self.source.is_some()
    }

    /// The next file, `None` when there are no more. Read each file's bytes (or drop the
    /// part) before asking for the next one. A field whose file input was left empty is
    /// skipped. An error means the body could not be read (the client went away, or it
    /// is larger than the portlet accepts); the portal answers it.
    pub async fn next(&mut self) -> Result<Option<FilePart>, PortletError> {
        let Some(source) = self.source.as_mut() else {
            return Ok(None);
        };
        let source = source.get_mut().unwrap_or_else(|e| e.into_inner());
        loop {
            match source.next_file(&mut self.late).await? {
                Some(part) if part.file_name.is_empty() => continue,
                other => return Ok(other),
            }
        }
    }

    /// Text fields that came after a file part, once read past them (put text fields
    /// before the files in the form to have them in the request's form instead).
    pub fn late_fields(&self) -> &Params {
        &self.late
    }
}

impl fmt::Debug for Uploads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uploads")
            .field("multipart", &self.is_multipart())
            .field("late_fields", &self.late)
            .finish()
    }
}

/// Parts given as a list.
struct Listed(std::vec::IntoIter<FilePart>);

#[async_trait]
impl UploadSource for Listed {
    async fn next_file(&mut self, _: &mut Params) -> Result<Option<FilePart>, PortletError> {
        Ok(self.0.next())
    }
}

/// One file of a form, its bytes streamed as they arrive.
pub struct FilePart {
    /// The form field's name (`<input type="file" name=…>`).
    pub field: String,
    /// The file's name as the user's browser sent it, cleaned: its last path segment,
    /// without control characters, at most 255 bytes; empty when the input was left empty.
    pub file_name: String,
    /// The media type the browser declared (`application/octet-stream` when none): what
    /// the user says, not a fact; the portal serves files by an allow-list of types.
    pub content_type: String,
    /// The most bytes this file may have: the portlet's upload limit, or the body's
    /// length when the request declared a shorter one.
    pub max_size: u64,
    /// Behind a mutex only to make the part `Sync`; taken whole by value.
    body: Mutex<BoxStream<'static, Result<Bytes, std::io::Error>>>,
}

impl FilePart {
    /// A part whose bytes `body` streams; the name and type are cleaned as the portal
    /// cleans them.
    pub fn new<S>(field: &str, file_name: &str, content_type: &str, max_size: u64, body: S) -> Self
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        FilePart {
            field: field.to_string(),
            file_name: clean_file_name(file_name),
            content_type: clean_content_type(content_type),
            max_size,
            body: Mutex::new(body.boxed()),
        }
    }

    /// A part holding these bytes (tests, small generated files).
    pub fn from_bytes(
        field: &str,
        file_name: &str,
        content_type: &str,
        max_size: u64,
        bytes: impl Into<Bytes>,
    ) -> Self {
        let bytes = bytes.into();
        FilePart::new(
            field,
            file_name,
            content_type,
            max_size,
            futures::stream::iter([Ok(bytes)]),
        )
    }

    /// What to tell [`FileStore::upload`] about this file: its name, type and
    /// [`max_size`](Self::max_size), kept by `service` against the quota of `space`.
    pub fn new_file(&self, service: &str, space: Space) -> NewFile {
        NewFile {
            service: service.to_string(),
            space,
            name: if self.file_name.is_empty() {
                "fichier".to_string()
            } else {
                self.file_name.clone()
            },
            content_type: self.content_type.clone(),
            max_size: self.max_size,
        }
    }

    /// Stream the file into `files`, kept by `service` and counted against `space`,
    /// whose quota is `quota` bytes ([`FileStore::upload`]). Whatever fails, nothing is
    /// kept.
    pub async fn store(
        self,
        files: &FileStore,
        service: &str,
        space: Space,
        quota: u64,
    ) -> Result<StoredFile, FileError> {
        let new = self.new_file(service, space);
        files.upload(new, quota, self.into_body()).await
    }

    /// The bytes as they arrive, to stream them elsewhere (a parser of an imported file).
    pub fn into_body(self) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
        self.body.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    /// Read the whole file into memory, for small files a portlet parses at once (an
    /// import); more than `max` bytes is refused with a message for the user.
    pub async fn bytes(self, max: usize) -> Result<Bytes, PortletError> {
        let mut body: Pin<Box<_>> = Box::pin(self.into_body());
        let mut out = BytesMut::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                PortletError::BadRequest(format!("the file could not be read ({e}); send it again"))
            })?;
            if out.len() + chunk.len() > max {
                return Err(PortletError::File(FileError::TooLarge { max: max as u64 }));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }
}

impl fmt::Debug for FilePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilePart")
            .field("field", &self.field)
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("max_size", &self.max_size)
            .finish_non_exhaustive()
    }
}

/// A browser's file name made safe to keep: the last segment of a path (old browsers
/// send `C:\Users\…\devoir.pdf`), without control characters, trimmed, at most 255 bytes.
pub fn clean_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let mut out = String::new();
    for c in last.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > MAX_NAME_LEN {
            break;
        }
        out.push(c);
    }
    out.trim().to_string()
}

/// A declared media type, or `application/octet-stream` when it is missing or cannot be
/// one (the file store keeps printable ASCII only).
fn clean_content_type(raw: &str) -> String {
    let t = raw.trim();
    let ok = !t.is_empty()
        && t.len() <= 255
        && t.contains('/')
        && t.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if ok {
        t.to_string()
    } else {
        "application/octet-stream".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_their_last_segment_only() {
        assert_eq!(clean_file_name("C:\\Users\\léa\\devoir.pdf"), "devoir.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name(" a\r\nb.txt "), "ab.txt");
        assert_eq!(clean_file_name(&"é".repeat(300)).len(), 254);
        assert_eq!(clean_content_type(""), "application/octet-stream");
        assert_eq!(
            clean_content_type("text/plain\r\nX: y"),
            "application/octet-stream"
        );
        assert_eq!(clean_content_type("image/png"), "image/png");
    }

    #[tokio::test]
    async fn parts_come_in_order_and_empty_inputs_are_skipped() {
        let mut uploads = Uploads::from_parts(vec![
            FilePart::from_bytes("a", "", "application/octet-stream", 10, ""),
            FilePart::from_bytes("b", "b.txt", "text/plain", 10, "bonjour"),
        ]);
        assert!(uploads.is_multipart());
        let part = uploads.next().await.unwrap().unwrap();
        assert_eq!(part.field, "b");
        assert_eq!(part.bytes(100).await.unwrap(), "bonjour");
        assert!(uploads.next().await.unwrap().is_none());
        assert!(!Uploads::none().is_multipart());
        let big = FilePart::from_bytes("c", "c", "text/plain", 10, "0123456789");
        assert_eq!(
            big.bytes(4).await.unwrap_err().status(),
            http::StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
