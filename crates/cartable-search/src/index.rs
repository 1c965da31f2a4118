//! The établissement's full-text index on tantivy: its schema, its French analyzer, the
//! writes (one writer at a time, across the nodes sharing the folder) and the query
//! restricted to what a reader's principals may read.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use cartable_portlet::search::{Principal, SearchDocument, SearchHit};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, OwnedValue, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term,
};

/// The name of the French analyzer in the index's tokenizer manager.
pub const ANALYZER: &str = "cartable_fr";
/// The longest search accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The writer's memory budget (tantivy's least for one thread is 15 MB).
const WRITER_BUDGET: usize = 20_000_000;
/// How long a node serves searches from the index as it last read it before looking for
/// another node's commits.
const RELOAD_EVERY: Duration = Duration::from_secs(1);
/// The longest excerpt shown under a hit, in characters.
const EXCERPT_CHARS: usize = 200;

/// What went wrong with the index or a search.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// Nothing to search for.
    #[error("the search is empty: type one or more words")]
    EmptyQuery,
    /// The search is longer than [`MAX_QUERY_CHARS`].
    #[error("the search is too long ({chars} characters): use at most {max}")]
    QueryTooLong {
        /// Its length.
        chars: usize,
        /// The most accepted.
        max: usize,
    },
    /// A quote is not closed.
    #[error("the search has a quote that is not closed: close it, or remove it")]
    UnclosedQuote,
    /// The search has no word to look for (only punctuation, or only `-word`s).
    #[error(
        "the search has no word to look for: type at least one word, not only words to leave out"
    )]
    NothingWanted,
    /// Another process (another node) is writing the index: the job is tried again later.
    #[error("the search index in {0} is being written by another process; try again later")]
    Busy(PathBuf),
    /// The index's folder cannot be opened or written.
    #[error("search index in {dir}: {source}")]
    Tantivy {
        /// Its folder (`memory` for an index in memory).
        dir: PathBuf,
        /// Why.
        #[source]
        source: TantivyError,
    },
    /// A blocking task of the index stopped.
    #[error("a task of the search index stopped: {0}")]
    Task(String),
}

/// The French analyzer: words split on what is not a letter or digit, words over 40 bytes
/// dropped, lower-cased, accents folded ("Élèves" → "eleves"), then stemmed by Snowball's
/// French stemmer ("réunions" → "reunion"). Folding comes before stemming so that a word
/// typed with or without its accents gives the same term.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::French))
        .build()
}

/// The terms the analyzer makes of a text (tests, the documentation).
pub fn terms(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// A part of a search: a word, or a quoted phrase, maybe excluded, as the analyzer's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    terms: Vec<String>,
    phrase: bool,
    exclude: bool,
}

/// Cut a search into words and `"phrases"`, each maybe after a `-`.
fn parse(text: &str) -> Result<Vec<Part>, IndexError> {
    let mut parts = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let exclude = rest.starts_with('-');
        if exclude {
            rest = &rest[1..];
        }
        let (chunk, phrase, next) = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').ok_or(IndexError::UnclosedQuote)?;
            (&quoted[..end], true, &quoted[end + 1..])
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            (&rest[..end], false, &rest[end..])
        };
        let terms = terms(chunk);
        if !terms.is_empty() {
            parts.push(Part {
                terms,
                phrase,
                exclude,
            });
        }
        rest = next.trim_start();
    }
    Ok(parts)
}

/// The index's fields.
#[derive(Debug, Clone, Copy)]
struct Fields {
    /// `<service>/<id>`, the key an update replaces.
    key: Field,
    service: Field,
    id: Field,
    kind: Field,
    title: Field,
    text: Field,
    link: Field,
    /// Milliseconds since 1970.
    date: Field,
    /// The principals who may read it, one value each.
    readers: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let analyzed = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        key: b.add_text_field("key", STRING),
        service: b.add_text_field("service", STRING | STORED),
        id: b.add_text_field("id", STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        title: b.add_text_field("title", analyzed.clone()),
        text: b.add_text_field("text", analyzed),
        link: b.add_text_field("link", STORED),
        date: b.add_i64_field("date", STORED),
        readers: b.add_text_field("readers", STRING | STORED),
    };
    (b.build(), fields)
}

/// One établissement's index, opened by every node that serves it.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    dir: PathBuf,
    /// One writer at a time on this node (tantivy's lock file keeps other nodes out).
    writing: Arc<tokio::sync::Mutex<()>>,
    /// When the reader last looked for new commits.
    reloaded: Mutex<Instant>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.dir)
            .finish()
    }
}

impl SearchIndex {
    /// Open the index in `dir`, creating the folder and an empty index the first time.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        let err = |source| IndexError::Tantivy {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(TantivyError::from(e)))?;
        let directory = MmapDirectory::open(dir).map_err(|e| err(e.into()))?;
        let (schema, fields) = schema();
        let index = Index::open_or_create(directory, schema).map_err(err)?;
        Self::with_index(index, fields, dir.to_path_buf())
    }

    /// An index in memory (tests; a portal without a data directory).
    pub fn in_memory() -> Result<Self, IndexError> {
        let (schema, fields) = schema();
        Self::with_index(
            Index::create_in_ram(schema),
            fields,
            PathBuf::from("memory"),
        )
    }

    fn with_index(index: Index, fields: Fields, dir: PathBuf) -> Result<Self, IndexError> {
        index.tokenizers().register(ANALYZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|source| IndexError::Tantivy {
                dir: dir.clone(),
                source,
            })?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            dir,
            writing: Arc::new(tokio::sync::Mutex::new(())),
            reloaded: Mutex::new(Instant::now()),
        })
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn tantivy(&self, source: TantivyError) -> IndexError {
        match source {
            TantivyError::LockFailure(..) => IndexError::Busy(self.dir.clone()),
            source => IndexError::Tantivy {
                dir: self.dir.clone(),
                source,
            },
        }
    }

    /// Take the writer: this node's turn first, then tantivy's lock on the folder (another
    /// node holding it gives [`IndexError::Busy`]). Changes made through the batch are
    /// seen by searches once it is [committed](IndexBatch::commit); dropped, it writes
    /// nothing.
    pub async fn begin(self: &Arc<Self>) -> Result<IndexBatch, IndexError> {
        let turn = self.writing.clone().lock_owned().await;
        let index = self.index.clone();
        let writer = tokio::task::spawn_blocking(move || {
            index.writer_with_num_threads::<TantivyDocument>(1, WRITER_BUDGET)
        })
        .await
        .map_err(|e| IndexError::Task(e.to_string()))?
        .map_err(|e| self.tantivy(e))?;
        Ok(IndexBatch {
            index: self.clone(),
            writer,
            _turn: turn,
        })
    }

    /// Look for commits made since the last look (by another node) at most every second.
    fn refresh(&self) -> Result<(), IndexError> {
        let due = {
            let mut last = self.reloaded.lock().unwrap_or_else(|e| e.into_inner());
            let due = last.elapsed() >= RELOAD_EVERY;
            if due {
                *last = Instant::now();
            }
            due
        };
        if due {
            self.reload()?;
        }
        Ok(())
    }

    fn reload(&self) -> Result<(), IndexError> {
        self.reader.reload().map_err(|e| self.tantivy(e))
    }

    /// Check a search's text: not empty, not too long.
    pub fn check_query(text: &str) -> Result<&str, IndexError> {
        let text = text.trim();
        let chars = text.chars().count();
        if chars == 0 {
            return Err(IndexError::EmptyQuery);
        }
        if chars > MAX_QUERY_CHARS {
            return Err(IndexError::QueryTooLong {
                chars,
                max: MAX_QUERY_CHARS,
            });
        }
        Ok(text)
    }

    /// The documents matching `text` that one of `principals` may read, best first, at
    /// most `limit`. The text is plain words (every one must be in the title or the
    /// text); `"…"` asks for a phrase and `-word` leaves out what has the word. Nothing
    /// else is syntax: `l'élève`, `C++` or `a:b` are words.
    pub fn search(
        &self,
        text: &str,
        principals: &[Principal],
        limit: usize,
    ) -> Result<Vec<SearchHit>, IndexError> {
        let parts = parse(Self::check_query(text)?)?;
        self.refresh()?;
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut wanted: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for part in &parts {
            let matches = self.matches(part);
            if part.exclude {
                clauses.extend(matches.into_iter().map(|q| (Occur::MustNot, q)));
            } else {
                for q in matches {
                    wanted.push((Occur::Must, q.box_clone()));
                    clauses.push((Occur::Must, q));
                }
            }
        }
        if wanted.is_empty() {
            return Err(IndexError::NothingWanted);
        }
        let readers = BooleanQuery::new(
            principals
                .iter()
                .map(|p| {
                    let term = Term::from_field_text(f.readers, p.as_str());
                    let q: Box<dyn Query> =
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic));
                    (Occur::Should, q)
                })
                .collect(),
        );
        clauses.push((Occur::Must, Box::new(readers)));
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher
            .search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())
            .map_err(|e| self.tantivy(e))?;
        let wanted = BooleanQuery::new(wanted);
        let mut excerpts =
            SnippetGenerator::create(&searcher, &wanted, f.text).map_err(|e| self.tantivy(e))?;
        excerpts.set_max_num_chars(EXCERPT_CHARS);
        top.into_iter()
            .map(|(_, address): (f32, DocAddress)| {
                let doc: TantivyDocument = searcher.doc(address).map_err(|e| self.tantivy(e))?;
                Ok(self.hit(&doc, &excerpts))
            })
            .collect()
    }

    /// The queries a part of the search asks for, all of which a document must match:
    /// one per word (in the title, worth twice, or the text), or one for a phrase.
    fn matches(&self, part: &Part) -> Vec<Box<dyn Query>> {
        let f = self.fields;
        let either = |title: Box<dyn Query>, text: Box<dyn Query>| -> Box<dyn Query> {
            Box::new(BooleanQuery::new(vec![
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(title, 2.0)) as Box<dyn Query>,
                ),
                (Occur::Should, text),
            ]))
        };
        let term = |field, t: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, t),
                IndexRecordOption::WithFreqs,
            ))
        };
        if part.phrase && part.terms.len() > 1 {
            let phrase = |field| -> Box<dyn Query> {
                Box::new(PhraseQuery::new(
                    part.terms
                        .iter()
                        .map(|t| Term::from_field_text(field, t))
                        .collect(),
                ))
            };
            vec![either(phrase(f.title), phrase(f.text))]
        } else {
            part.terms
                .iter()
                .map(|t| either(term(f.title, t), term(f.text, t)))
                .collect()
        }
    }

    fn hit(&self, doc: &TantivyDocument, excerpts: &SnippetGenerator) -> SearchHit {
        let f = self.fields;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let body = text(f.text);
        let mut excerpt = excerpts.snippet(&body).fragment().to_string();
        if excerpt.is_empty() {
            excerpt = body.chars().take(EXCERPT_CHARS).collect();
        }
        SearchHit {
            service: text(f.service),
            id: text(f.id),
            kind: text(f.kind),
            title: text(f.title),
            link: text(f.link),
            date: doc
                .get_first(f.date)
                .and_then(|v| v.as_i64())
                .and_then(|ms| u64::try_from(ms).ok())
                .map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
            excerpt,
            readers: doc
                .get_all(f.readers)
                .filter_map(|v| v.as_str())
                .map(principal_from_index)
                .collect(),
        }
    }

    /// How many documents the index holds (as this node last read it).
    pub fn count(&self) -> Result<u64, IndexError> {
        self.reload()?;
        Ok(self.reader.searcher().num_docs())
    }
}

/// A principal read back from the index.
fn principal_from_index(s: &str) -> Principal {
    match s.split_once(':') {
        Some((service, value)) => Principal::service(service, value),
        None => Principal::everyone(),
    }
}

/// Changes to the index, written at once by [`commit`](IndexBatch::commit).
pub struct IndexBatch {
    index: Arc<SearchIndex>,
    writer: IndexWriter<TantivyDocument>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl std::fmt::Debug for IndexBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexBatch")
            .field("dir", &self.index.dir)
            .finish()
    }
}

impl IndexBatch {
    fn key(service: &str, id: &str) -> String {
        format!("{service}/{id}")
    }

    /// Put a document of `service` in the index, in place of the one with its id.
    pub fn put(&mut self, service: &str, doc: &SearchDocument) -> Result<(), IndexError> {
        let f = self.index.fields;
        let key = Self::key(service, &doc.id);
        self.writer.delete_term(Term::from_field_text(f.key, &key));
        let mut d = TantivyDocument::default();
        d.add_text(f.key, &key);
        d.add_text(f.service, service);
        d.add_text(f.id, &doc.id);
        d.add_text(f.kind, &doc.kind);
        d.add_text(f.title, &doc.title);
        d.add_text(f.text, &doc.text);
        d.add_text(f.link, &doc.link);
        if let Some(ms) = doc
            .date
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_millis()).ok())
        {
            d.add_field_value(f.date, &OwnedValue::I64(ms));
        }
        for r in &doc.readers {
            d.add_text(f.readers, r.as_str());
        }
        self.writer
            .add_document(d)
            .map_err(|e| self.index.tantivy(e))?;
        Ok(())
    }

    /// Take a document of `service` out of the index.
    pub fn delete(&mut self, service: &str, id: &str) {
        let f = self.index.fields;
        self.writer
            .delete_term(Term::from_field_text(f.key, &Self::key(service, id)));
    }

    /// Take every document of `service` out of the index (before a rebuild puts them back).
    pub fn clear(&mut self, service: &str) {
        let f = self.index.fields;
        self.writer
            .delete_term(Term::from_field_text(f.service, service));
    }

    /// Write the changes: searches see all of them, or none if this fails.
    pub async fn commit(self) -> Result<(), IndexError> {
        let IndexBatch {
            index,
            mut writer,
            _turn,
        } = self;
        let result = tokio::task::spawn_blocking(move || {
            writer.commit()?;
            writer.wait_merging_threads()
        })
        .await
        .map_err(|e| IndexError::Task(e.to_string()))?;
        result.map_err(|e| index.tantivy(e))?;
        index.reload()?;
        drop(_turn);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, title: &str, text: &str, readers: &[Principal]) -> SearchDocument {
        let mut d = SearchDocument::new(id, "note", title).text(text);
        d.readers = readers.to_vec();
        d
    }

    async fn index_with(docs: &[SearchDocument]) -> Arc<SearchIndex> {
        let index = Arc::new(SearchIndex::in_memory().unwrap());
        let mut batch = index.begin().await.unwrap();
        for d in docs {
            batch.put("notes", d).unwrap();
        }
        batch.commit().await.unwrap();
        index
    }

    fn ids(hits: &[SearchHit]) -> Vec<&str> {
        let mut v: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        v.sort();
        v
    }

    #[test]
    fn accents_and_plurals_give_the_same_terms() {
        assert_eq!(terms("Élèves"), terms("eleves"));
        assert_eq!(terms("élève"), terms("eleves"));
        assert_eq!(terms("réunions"), terms("réunion"));
        assert_eq!(terms("Réunion"), terms("reunions"));
        assert_eq!(terms("L'ÉCOLE"), ["l", "ecol"]);
    }

    #[tokio::test]
    async fn stemming_and_folding_in_a_search() {
        let everyone = [Principal::everyone()];
        let index = index_with(&[
            doc("1", "Liste des Élèves", "Classe de seconde", &everyone),
            doc("2", "Compte rendu", "La réunion du conseil", &everyone),
            doc("3", "Menu", "Frites", &everyone),
        ])
        .await;
        assert_eq!(ids(&index.search("eleves", &everyone, 10).unwrap()), ["1"]);
        assert_eq!(ids(&index.search("élève", &everyone, 10).unwrap()), ["1"]);
        assert_eq!(
            ids(&index.search("réunions", &everyone, 10).unwrap()),
            ["2"]
        );
        assert_eq!(
            ids(&index.search("REUNION conseils", &everyone, 10).unwrap()),
            ["2"]
        );
        // Every word must be found.
        assert!(
            index
                .search("réunion frites", &everyone, 10)
                .unwrap()
                .is_empty()
        );
        // A phrase, an exclusion, an apostrophe.
        assert_eq!(
            ids(&index
                .search("\"réunion du conseil\"", &everyone, 10)
                .unwrap()),
            ["2"]
        );
        assert!(
            index
                .search("\"conseil réunion\"", &everyone, 10)
                .unwrap()
                .is_empty()
        );
        assert!(
            index
                .search("réunion -conseil", &everyone, 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ids(&index.search("la réunion", &everyone, 10).unwrap()),
            ["2"]
        );
        assert_eq!(
            ids(&index.search("l'élève", &everyone, 10).unwrap()),
            Vec::<&str>::new()
        );
        let hit = &index.search("reunion", &everyone, 10).unwrap()[0];
        assert!(hit.excerpt.contains("réunion"), "{hit:?}");
    }

    #[tokio::test]
    async fn only_the_readers_principals_find_a_document() {
        let lea = Principal::user("lea");
        let class = Principal::class("1S1");
        let index = index_with(&[
            doc("lea", "Devoir de Léa", "devoir", std::slice::from_ref(&lea)),
            doc(
                "1s1",
                "Devoir de la 1S1",
                "devoir",
                std::slice::from_ref(&class),
            ),
            doc(
                "all",
                "Devoir pour tous",
                "devoir",
                &[Principal::everyone()],
            ),
            doc("none", "Devoir de personne", "devoir", &[]),
        ])
        .await;
        let q = |p: &[Principal]| ids(&index.search("devoir", p, 10).unwrap()).join(",");
        assert_eq!(q(&[Principal::everyone(), lea.clone()]), "all,lea");
        assert_eq!(q(&[Principal::everyone(), class.clone()]), "1s1,all");
        assert_eq!(q(&[Principal::everyone(), Principal::user("tom")]), "all");
        assert_eq!(q(&[]), "");
        // Naming the readers field in the query cannot widen what she finds.
        assert_eq!(
            ids(&index
                .search("devoir readers:user\\:lea", &[Principal::user("tom")], 10)
                .unwrap()),
            Vec::<&str>::new()
        );
    }

    #[tokio::test]
    async fn updates_replace_and_delete() {
        let everyone = [Principal::everyone()];
        let index = index_with(&[doc("1", "Ancien titre", "", &everyone)]).await;
        let mut batch = index.begin().await.unwrap();
        batch
            .put("notes", &doc("1", "Nouveau titre", "", &everyone))
            .unwrap();
        batch.commit().await.unwrap();
        assert!(index.search("ancien", &everyone, 10).unwrap().is_empty());
        assert_eq!(index.search("nouveau", &everyone, 10).unwrap().len(), 1);
        assert_eq!(index.count().unwrap(), 1);
        let mut batch = index.begin().await.unwrap();
        batch.delete("notes", "1");
        batch.commit().await.unwrap();
        assert_eq!(index.count().unwrap(), 0);
        // A batch dropped without commit writes nothing.
        let mut batch = index.begin().await.unwrap();
        batch
            .put("notes", &doc("2", "Perdu", "", &everyone))
            .unwrap();
        drop(batch);
        assert_eq!(index.count().unwrap(), 0);
    }

    #[tokio::test]
    async fn bad_searches_are_refused_clearly() {
        let everyone = [Principal::everyone()];
        let index = index_with(&[]).await;
        assert!(matches!(
            index.search("  ", &everyone, 10),
            Err(IndexError::EmptyQuery)
        ));
        assert!(matches!(
            index.search(&"a".repeat(10_000), &everyone, 10),
            Err(IndexError::QueryTooLong { chars: 10_000, .. })
        ));
        assert!(matches!(
            index.search("\"réunion parents", &everyone, 10),
            Err(IndexError::UnclosedQuote)
        ));
        for nothing in ["!!!", "*", "-devoir", "- -"] {
            assert!(
                matches!(
                    index.search(nothing, &everyone, 10),
                    Err(IndexError::NothingWanted)
                ),
                "{nothing:?}"
            );
        }
        // What would be syntax elsewhere is words here.
        for fine in ["l'élève", "title:", "(a OR", "a AND", "a^2", "[a TO", "C++"] {
            index.search(fine, &everyone, 10).unwrap();
        }
    }

    #[tokio::test]
    async fn a_folder_index_keeps_its_documents_and_has_one_writer() {
        let dir = tempfile::tempdir().unwrap();
        let everyone = [Principal::everyone()];
        {
            let index = Arc::new(SearchIndex::open(dir.path()).unwrap());
            let mut batch = index.begin().await.unwrap();
            batch
                .put("notes", &doc("1", "Réunion", "", &everyone))
                .unwrap();
            batch.commit().await.unwrap();
        }
        let a = Arc::new(SearchIndex::open(dir.path()).unwrap());
        let b = Arc::new(SearchIndex::open(dir.path()).unwrap());
        assert_eq!(a.search("reunion", &everyone, 10).unwrap().len(), 1);
        let held = a.begin().await.unwrap();
        assert!(matches!(b.begin().await, Err(IndexError::Busy(_))));
        drop(held);
        b.begin().await.unwrap();
    }
}
