//! The ENT-wide search (SDET "moteur de recherche"): one full-text index per
//! établissement, fed by the services that implement
//! [`Searchable`], filtered by what the reader may
//! read when she searches.
//!
//! - [`SearchIndex`]: the tantivy index in a folder (`<data_dir>/search/<établissement>`),
//!   its French analyzer ([`index::analyzer`]: lower case, accents folded, Snowball French
//!   stemmer) and its queries restricted to a reader's principals.
//! - [`Search`]: the services' sources and the index; [`Search::update`] and
//!   [`Search::rebuild`] are what the jobs [`UPDATE_JOB`] and [`REBUILD_JOB`] run;
//!   [`Search::query`] is what the results page calls.
//! - [`JobFeed`]: the [`SearchFeed`] a service's `ctx.search_changed(…)` reaches: it
//!   enqueues an [`UPDATE_JOB`], nothing more, so an action never waits for the index.
//!
//! Several nodes share the index folder (on the storage they already share for the data
//! directory): tantivy's lock file lets one writer at a time, the job that finds it taken
//! is tried again later, and each node reads the others' commits within a second. See
//! docs/search.md.

pub mod index;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use cartable_portlet::search::{
    DocumentSink, Reader, SearchContext, SearchDocument, SearchError, SearchFeed, SearchHit,
    SearchKind, Searchable,
};
use cartable_portlet::{LocalizedText, Person, Portlet};
use cartable_socle::SocleError;
use cartable_socle::jobs::{JobError, Jobs, JobsBuilder, handler_fn};
use serde::{Deserialize, Serialize};

pub use index::{IndexBatch, IndexError, MAX_QUERY_CHARS, SearchIndex};

/// The job that updates documents of a service: payload [`UpdatePayload`].
pub const UPDATE_JOB: &str = "search.update";
/// The job that rebuilds the index from every service's documents: payload
/// [`RebuildPayload`].
pub const REBUILD_JOB: &str = "search.rebuild";
/// The most hits a search reads from the index before the services' last checks.
pub const MAX_HITS: usize = 200;

/// What an [`UPDATE_JOB`] updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatePayload {
    /// The service.
    pub service: String,
    /// Its documents that changed.
    pub ids: Vec<String>,
}

/// What a [`REBUILD_JOB`] rebuilds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebuildPayload {
    /// One service, or every one (`None`).
    #[serde(default)]
    pub service: Option<String>,
}

/// A searchable service: its portlet (whose [`Portlet::searchable`] is `Some`) and the
/// context it is asked in.
struct Source {
    portlet: Arc<dyn Portlet>,
    cx: SearchContext,
}

impl Source {
    fn searchable(&self) -> &dyn Searchable {
        // Sources are only made of portlets that have one (`Search::new`).
        self.portlet
            .searchable()
            .expect("a search source is a searchable portlet")
    }
}

/// A service's group of results.
#[derive(Debug, Clone)]
pub struct ServiceResults {
    /// The service's name in the index.
    pub service: String,
    /// Its portlet's title.
    pub title: LocalizedText,
    /// Its hits, best first.
    pub hits: Vec<SearchHit>,
}

/// A search's results, grouped by service.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// The services with hits, in the order of the portal's services.
    pub groups: Vec<ServiceResults>,
    /// Hits per `(service, kind)` before the type filter, for the filter's counts.
    pub counts: BTreeMap<(String, String), usize>,
    /// Whether more than [`MAX_HITS`] documents matched (only the best are shown).
    pub truncated: bool,
}

impl Results {
    /// How many hits are shown.
    pub fn len(&self) -> usize {
        self.groups.iter().map(|g| g.hits.len()).sum()
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A search failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The search's text, or the index.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// A service could not say what the reader may read.
    #[error("{service}: {source}")]
    Service {
        /// The service.
        service: String,
        /// Why.
        #[source]
        source: SearchError,
    },
}

/// The établissement's search: its index and the services that feed it.
pub struct Search {
    index: Arc<SearchIndex>,
    sources: Vec<Source>,
}

impl std::fmt::Debug for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Search")
            .field("index", &self.index)
            .field(
                "services",
                &self
                    .sources
                    .iter()
                    .map(|s| s.searchable().service())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Search {
    /// The search over `index` of the searchable portlets among `portlets`, each with its
    /// context; a service with several portlets is kept once (its first).
    pub fn new(
        index: Arc<SearchIndex>,
        portlets: impl IntoIterator<Item = (Arc<dyn Portlet>, SearchContext)>,
    ) -> Self {
        let mut sources: Vec<Source> = Vec::new();
        for (portlet, cx) in portlets {
            let Some(s) = portlet.searchable() else {
                continue;
            };
            if sources
                .iter()
                .any(|o| o.searchable().service() == s.service())
            {
                continue;
            }
            sources.push(Source { portlet, cx });
        }
        Search { index, sources }
    }

    /// The index.
    pub fn index(&self) -> &Arc<SearchIndex> {
        &self.index
    }

    /// The services searched, in order.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.sources.iter().map(|s| s.searchable().service())
    }

    /// Every `(service, its portlet's title, kind)`, for the type filter.
    pub fn kinds(&self) -> Vec<(String, LocalizedText, SearchKind)> {
        self.sources
            .iter()
            .flat_map(|s| {
                let service = s.searchable().service().to_string();
                let title = s.portlet.descriptor().title.clone();
                s.searchable()
                    .kinds()
                    .into_iter()
                    .map(move |k| (service.clone(), title.clone(), k))
            })
            .collect()
    }

    fn source(&self, service: &str) -> Option<&Source> {
        self.sources
            .iter()
            .find(|s| s.searchable().service() == service)
    }

    /// Put the current state of documents `ids` of `service` in the index (the
    /// [`UPDATE_JOB`]): each one the service still has is replaced, the others removed. A
    /// service this portal does not have is skipped.
    pub async fn update(&self, service: &str, ids: &[String]) -> Result<(), JobError> {
        let Some(source) = self.source(service) else {
            tracing::warn!(
                service,
                "search update for a service this portal does not have"
            );
            return Ok(());
        };
        // The writer first, so that no rebuild or other update interleaves between the
        // reading of the documents and their writing.
        let mut batch = self.index.begin().await.map_err(job_error)?;
        for id in ids {
            match source
                .searchable()
                .document(&source.cx, id)
                .await
                .map_err(job_error)?
            {
                Some(doc) => batch.put(service, &doc).map_err(job_error)?,
                None => batch.delete(service, id),
            }
        }
        batch.commit().await.map_err(job_error)
    }

    /// Rebuild the index from the services' documents (the [`REBUILD_JOB`]): one service
    /// or all; searches see the old documents until the new ones are all written. Returns
    /// how many documents were written.
    pub async fn rebuild(&self, service: Option<&str>) -> Result<usize, JobError> {
        let mut batch = self.index.begin().await.map_err(job_error)?;
        let mut written = 0;
        for source in &self.sources {
            let name = source.searchable().service().to_string();
            if service.is_some_and(|s| s != name) {
                continue;
            }
            batch.clear(&name);
            let mut sink = BatchSink {
                batch: &mut batch,
                service: &name,
                written: 0,
            };
            source
                .searchable()
                .documents(&source.cx, &mut sink)
                .await
                .map_err(job_error)?;
            written += sink.written;
        }
        batch.commit().await.map_err(job_error)?;
        tracing::info!(documents = written, "search index rebuilt");
        Ok(written)
    }

    /// Search `text` for `person`, who belongs to `groups` now: the hits whose readers
    /// she is one of, then each service's last word; grouped by service, the type filter
    /// `kind` (`<service>/<kind>`) applied after counting.
    pub async fn query(
        &self,
        person: Arc<Person>,
        groups: Vec<String>,
        text: &str,
        kind: Option<&str>,
    ) -> Result<Results, QueryError> {
        SearchIndex::check_query(text)?;
        let mut reader = Reader::new(person, groups);
        for s in &self.sources {
            let more = s
                .searchable()
                .reader_principals(&s.cx, &reader)
                .await
                .map_err(|source| QueryError::Service {
                    service: s.searchable().service().to_string(),
                    source,
                })?;
            reader.extend(more);
        }
        let principals: Vec<_> = reader.principals().iter().cloned().collect();
        let index = self.index.clone();
        let text_owned = text.to_string();
        let hits = tokio::task::spawn_blocking(move || {
            index.search(&text_owned, &principals, MAX_HITS + 1)
        })
        .await
        .map_err(|e| IndexError::Task(e.to_string()))??;
        let mut results = Results {
            truncated: hits.len() > MAX_HITS,
            ..Results::default()
        };
        let mut by_service: BTreeMap<String, Vec<SearchHit>> = BTreeMap::new();
        for hit in hits.into_iter().take(MAX_HITS) {
            // A service no longer installed: its documents wait for the next rebuild.
            let Some(source) = self.source(&hit.service) else {
                continue;
            };
            let may = source
                .searchable()
                .may_read(&source.cx, &reader, &hit)
                .await
                .map_err(|source| QueryError::Service {
                    service: hit.service.clone(),
                    source,
                })?;
            if !may {
                continue;
            }
            *results
                .counts
                .entry((hit.service.clone(), hit.kind.clone()))
                .or_default() += 1;
            if kind.is_none_or(|k| k == format!("{}/{}", hit.service, hit.kind)) {
                by_service.entry(hit.service.clone()).or_default().push(hit);
            }
        }
        for s in &self.sources {
            let service = s.searchable().service();
            if let Some(hits) = by_service.remove(service) {
                results.groups.push(ServiceResults {
                    service: service.to_string(),
                    title: s.portlet.descriptor().title.clone(),
                    hits,
                });
            }
        }
        Ok(results)
    }

    /// Register the jobs [`UPDATE_JOB`] and [`REBUILD_JOB`] on the portal's queue.
    pub fn jobs(self: &Arc<Self>, jobs: JobsBuilder) -> JobsBuilder {
        let (update, rebuild) = (self.clone(), self.clone());
        jobs.handler(
            UPDATE_JOB,
            handler_fn(move |job| {
                let search = update.clone();
                async move {
                    let p: UpdatePayload = job.payload_json()?;
                    search.update(&p.service, &p.ids).await
                }
            }),
        )
        .handler(
            REBUILD_JOB,
            handler_fn(move |job| {
                let search = rebuild.clone();
                async move {
                    let p: RebuildPayload = job.payload_json()?;
                    search.rebuild(p.service.as_deref()).await.map(drop)
                }
            }),
        )
    }
}

/// A rebuild's sink: each document straight into the batch.
struct BatchSink<'a> {
    batch: &'a mut IndexBatch,
    service: &'a str,
    written: usize,
}

#[async_trait]
impl DocumentSink for BatchSink<'_> {
    async fn add(&mut self, document: SearchDocument) -> Result<(), SearchError> {
        self.batch
            .put(self.service, &document)
            .map_err(|e| SearchError::Index(e.to_string()))?;
        self.written += 1;
        Ok(())
    }
}

fn job_error(e: impl std::error::Error + Send + Sync + 'static) -> JobError {
    Box::new(e)
}

/// Enqueue a rebuild of the index (the admin's button, `cartable reindex`).
pub async fn enqueue_rebuild(jobs: &Jobs, service: Option<&str>) -> Result<(), SocleError> {
    let payload = RebuildPayload {
        service: service.map(str::to_string),
    };
    let payload = serde_json::to_string(&payload)
        .map_err(|e| SocleError::Invalid(format!("search rebuild payload: {e}")))?;
    jobs.enqueue(REBUILD_JOB, &payload).await.map(drop)
}

/// The [`SearchFeed`] of a portal: a change becomes an [`UPDATE_JOB`] on its queue. Made
/// before the queue (the services it goes into are), given the queue once built.
#[derive(Debug, Default)]
pub struct JobFeed {
    jobs: OnceLock<Jobs>,
}

impl JobFeed {
    /// A feed waiting for its queue.
    pub fn new() -> Self {
        JobFeed::default()
    }

    /// Give it the portal's queue (once; later calls are ignored).
    pub fn set_jobs(&self, jobs: Jobs) {
        let _ = self.jobs.set(jobs);
    }
}

#[async_trait]
impl SearchFeed for JobFeed {
    async fn changed(&self, service: &str, ids: &[String]) -> Result<(), SocleError> {
        if ids.is_empty() {
            return Ok(());
        }
        let Some(jobs) = self.jobs.get() else {
            return Err(SocleError::Unavailable {
                backend: "job queue",
                detail: "the portal's job queue is not started yet".into(),
            });
        };
        let payload = serde_json::to_string(&UpdatePayload {
            service: service.to_string(),
            ids: ids.to_vec(),
        })
        .map_err(|e| SocleError::Invalid(format!("search update payload: {e}")))?;
        jobs.enqueue(UPDATE_JOB, &payload).await.map(drop)
    }

    async fn service_changed(&self, service: &str) -> Result<(), SocleError> {
        let Some(jobs) = self.jobs.get() else {
            return Err(SocleError::Unavailable {
                backend: "job queue",
                detail: "the portal's job queue is not started yet".into(),
            });
        };
        enqueue_rebuild(jobs, Some(service)).await
    }
}
