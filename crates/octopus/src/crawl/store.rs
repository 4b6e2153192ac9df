//! The crawl's state on disk: every URL the crawl admitted (the exact seen-set) and, in
//! the order admitted, those still to fetch (the frontier), in one SQLite file. Only the
//! window of URLs handed to the engine is in memory; SQLite's page cache is bounded
//! (`CACHE_KIB`), so memory does not grow with the site.
//!
//! A row's state: `QUEUED` (admitted, not yet handled: the frontier), `TAKEN` (handed to
//! the engines this run; `QUEUED` again when a stopped crawl's file is opened), `DONE` (its
//! handler returned and its links were admitted, in the same transaction), `REACHED` (the
//! final URL of another page's redirects, handled with it), `DISALLOWED` (by robots.txt),
//! `BLOCKED` (its host's robots.txt could not be fetched: its error kept, for the report),
//! `OVER` (past the page limit), `DEEP` (found only past the depth), `OUT` (out of the
//! scope, not checked), `SITEMAP` (a sitemap, the parent of the pages it lists), `AGAIN`
//! (done, then found closer to a seed: fetched again for its links only, `TAKEN_AGAIN`
//! while in flight). Rows are taken in id order, so the crawl is breadth-first. `external`
//! marks a link out of the scope, to be checked, never followed.
//!
//! Depth is the shortest distance known: a URL found again closer to a seed moves closer
//! (its depth and parent are the closer ones); if it was only too deep it is queued; if
//! it was fetched already and the depth leaves room below it, it is fetched again, quietly,
//! for its links (`Entry::again`); if it is in flight, its links are taken at the closer
//! depth (`Store::closer`). Every state change is a row's, so a count of distinct URLs is
//! a count of rows.
//!
//! Writes are grouped in transactions committed every `BATCH` pages and at the end. The
//! journal is SQLite's write-ahead log without `fsync`: a killed process loses nothing
//! committed (the operating system has it); a crash of the machine may lose the last
//! transactions, never the file's consistency. A page whose transaction was lost is still
//! `QUEUED`, so a continued crawl fetches it again: pages may be fetched twice after a
//! kill, never skipped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use rusqlite::{Connection, params};

use super::recent::Recent;
use crate::builder::Error;

/// SQLite's page cache, in KiB.
const CACHE_KIB: i64 = 16 * 1024;
/// Pages handled per transaction.
const BATCH: u32 = 256;

const QUEUED: i64 = 0;
const DONE: i64 = 1;
const DISALLOWED: i64 = 2;
const OVER: i64 = 3;
const REACHED: i64 = 4;
const TAKEN: i64 = 5;
const DEEP: i64 = 6;
const OUT: i64 = 7;
const BLOCKED: i64 = 8;
const AGAIN: i64 = 9;
const TAKEN_AGAIN: i64 = 10;
const SITEMAP: i64 = 11;

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS page (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        depth INTEGER NOT NULL,
        parent INTEGER,
        state INTEGER NOT NULL,
        external INTEGER NOT NULL,
        status INTEGER,
        error TEXT
    );
    CREATE TABLE IF NOT EXISTS link (page INTEGER NOT NULL, target INTEGER NOT NULL);";

// Statements that name states, written once. A partial index serves a query only when the
// query's condition is the index's, written the same way: both come from here.

/// The frontier, and the rows over the page limit (in id order), each its partial index.
static INDEXES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "CREATE INDEX IF NOT EXISTS frontier ON page (id) WHERE state IN ({QUEUED}, {AGAIN}); \
         CREATE INDEX IF NOT EXISTS over ON page (id) WHERE state = {OVER};"
    )
});

/// A link admitted: a new row, or a row moved closer when the link is (see `Store::admit`).
static MOVE_CLOSER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO page (url, depth, parent, state, external) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (url) DO UPDATE SET depth = excluded.depth, parent = excluded.parent \
         WHERE page.depth > excluded.depth AND excluded.state != {DEEP} \
         AND page.external = excluded.external \
         AND page.state IN ({QUEUED}, {TAKEN}, {DONE}, {DEEP}, {AGAIN}, {TAKEN_AGAIN}, {OVER})"
    )
});

/// The next URLs of the frontier, with their parents.
static FRONTIER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT page.id, page.url, page.depth, parent.url, page.parent, \
         page.external, page.state FROM page \
         LEFT JOIN page AS parent ON parent.id = page.parent \
         WHERE page.state IN ({QUEUED}, {AGAIN}) ORDER BY page.id LIMIT ?1"
    )
});

/// How many URLs wait in the frontier.
static FRONTIER_SIZE: LazyLock<String> =
    LazyLock::new(|| format!("SELECT COUNT(*) FROM page WHERE state IN ({QUEUED}, {AGAIN})"));

/// The first URL over the page limit, queued.
static FIRST_OVER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE page SET state = {QUEUED} WHERE id = \
         (SELECT id FROM page WHERE state = {OVER} ORDER BY id LIMIT 1)"
    )
});

/// A URL of the frontier, taken to be fetched.
pub(super) struct Entry {
    pub id: i64,
    pub url: String,
    pub depth: u32,
    pub parent: Option<String>,
    pub parent_id: Option<i64>,
    pub external: bool,
    /// Fetched before, and again for its links only (found closer to a seed since).
    pub again: bool,
    /// Its partition, in a crawl shared through Redis.
    pub partition: Option<u16>,
}

/// What became of a URL offered to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Admitted {
    /// New: queued.
    Queued,
    /// Already seen (and moved closer if it could be).
    Seen,
    /// New, but the page limit was reached: counted, not queued.
    OverLimit,
    /// New, and deeper than the depth: counted, not queued.
    TooDeep,
    /// Only too deep before, now within the depth: queued, or `over` the page limit.
    NoLongerTooDeep { over: bool },
}

/// The crawl's state, open.
pub(super) struct Store {
    conn: Connection,
    path: PathBuf,
    /// Rows queued or handled (the page limit counts these).
    admitted: u64,
    /// The largest id of a row (a new row's id is larger: rows are never removed).
    last_id: i64,
    /// The most pages, and the greatest depth.
    max_pages: Option<u64>,
    max_depth: u32,
    /// Pages in flight found closer to a seed since they were taken: their closer depth.
    closer: HashMap<i64, u32>,
    /// URLs met lately (most links are repeats, answered without SQLite).
    recent: Recent,
    /// The greatest depth of a page taken so far (this run, or handled before it).
    deepest_taken: u32,
    /// Pages in flight taken in breadth-first order (none deeper taken before them), with
    /// the last row id when they were taken: a row made before has a depth no greater than
    /// theirs plus one, so no link of theirs can move it.
    floors: HashMap<i64, i64>,
    /// Pages handled since the last commit.
    uncommitted: u32,
    /// Removes the file of a crawl that keeps no state, when dropped.
    _temporary: Option<tempfile::TempDir>,
}

impl Store {
    /// A state for this run only, in a temporary directory removed at the end.
    pub fn temporary() -> Result<Store, Error> {
        let dir = tempfile::Builder::new()
            .prefix("octopus-crawl")
            .tempdir()
            .map_err(|e| state_error(Path::new("a temporary directory"), e))?;
        let mut store = Store::open(&dir.path().join("crawl.sqlite"))?;
        store._temporary = Some(dir);
        Ok(store)
    }

    /// The state at `path`: created, or continued as a stopped crawl left it.
    pub fn open(path: &Path) -> Result<Store, Error> {
        let failed = |e: rusqlite::Error| state_error(path, e);
        let conn = Connection::open(path).map_err(failed)?;
        conn.execute_batch(&format!(
            "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; \
             PRAGMA cache_size = -{CACHE_KIB}; {SCHEMA} {indexes} BEGIN; \
             UPDATE page SET state = {QUEUED} WHERE state = {TAKEN}; \
             UPDATE page SET state = {AGAIN} WHERE state = {TAKEN_AGAIN};",
            indexes = *INDEXES
        ))
        .map_err(failed)?;
        let (admitted, last_id, deepest): (i64, Option<i64>, Option<u32>) = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM page WHERE state IN (?1, ?2, ?3)), \
                 (SELECT MAX(id) FROM page), \
                 (SELECT MAX(depth) FROM page WHERE state IN (?2, ?3, ?4))",
                params![QUEUED, DONE, AGAIN, REACHED],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .map_err(failed)?;
        let last_id = last_id.unwrap_or(0);
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            admitted: admitted.max(0) as u64,
            last_id,
            max_pages: None,
            max_depth: u32::MAX,
            closer: HashMap::new(),
            recent: Recent::new(last_id),
            deepest_taken: deepest.unwrap_or(0),
            floors: HashMap::new(),
            uncommitted: 0,
            _temporary: None,
        })
    }

    fn failed(&self, e: rusqlite::Error) -> Error {
        state_error(&self.path, e)
    }

    /// Pages handled before whose `recorded(url)` is false go back to the frontier (their
    /// handler's work was lost with the run that stopped); returns how many.
    pub fn requeue_unrecorded(&mut self, recorded: &dyn Fn(&str) -> bool) -> Result<u64, Error> {
        let mut lost = Vec::new();
        {
            let mut rows = self
                .conn
                .prepare("SELECT id, url FROM page WHERE state = ?1")
                .map_err(|e| self.failed(e))?;
            let mut rows = rows.query(params![DONE]).map_err(|e| self.failed(e))?;
            while let Some(row) = rows.next().map_err(|e| self.failed(e))? {
                let url: String = row.get(1).map_err(|e| self.failed(e))?;
                if !recorded(&url) {
                    lost.push(row.get::<_, i64>(0).map_err(|e| self.failed(e))?);
                }
            }
        }
        for id in &lost {
            self.set(*id, QUEUED)?;
        }
        Ok(lost.len() as u64)
    }

    /// The page limit and the depth the crawl keeps to.
    pub fn limits(&mut self, max_pages: Option<u64>, max_depth: u32) {
        self.max_pages = max_pages;
        self.max_depth = max_depth;
    }

    fn over_limit(&self) -> bool {
        self.max_pages.is_some_and(|most| self.admitted >= most)
    }

    /// Offer `url`, found at `depth` on page `parent` (an id), to the crawl. A URL seen
    /// before moves closer if `depth` is shorter than its own (see the module's header).
    pub fn admit(
        &mut self,
        url: &str,
        depth: u32,
        parent: Option<i64>,
        external: bool,
    ) -> Result<Admitted, Error> {
        let key = self.recent.key(url);
        let known = self.recent.depth(key);
        if known.is_some_and(|known| known <= depth) {
            return Ok(Admitted::Seen);
        }
        self.recent.put(key, depth, self.last_id);
        // Not met lately, on a page taken in breadth-first order since the cache began: its
        // row, if any, is older than the page, so no closer than this link.
        let older = known.is_none()
            && parent
                .and_then(|page| self.floors.get(&page))
                .is_some_and(|&floor| floor >= self.recent.covers_after());
        let deep = depth > self.max_depth;
        let over = !deep && self.over_limit();
        let state = match (deep, over) {
            (true, _) => DEEP,
            (_, true) => OVER,
            _ => QUEUED,
        };
        // One statement whatever happens: a new row, a row moved closer, or nothing (no
        // change). Not `RETURNING`: SQLite makes a table for its rows at every execution,
        // which made W18 half as slow again; whether a row was made is in
        // `last_insert_rowid`, and a row moved closer (rare) is read back.
        let made_before = self.conn.last_insert_rowid();
        let insert = "INSERT INTO page (url, depth, parent, state, external) \
                      VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (url) DO NOTHING";
        let changed = self
            .conn
            .prepare_cached(if older { insert } else { &MOVE_CLOSER })
            .and_then(|mut upsert| upsert.execute(params![url, depth, parent, state, external]))
            .map_err(|e| self.failed(e))?;
        if changed == 0 {
            return Ok(Admitted::Seen);
        }
        let made = self.conn.last_insert_rowid();
        if made != made_before && made > self.last_id {
            self.last_id = made;
            return Ok(match state {
                DEEP => Admitted::TooDeep,
                OVER => Admitted::OverLimit,
                _ => {
                    self.admitted += 1;
                    Admitted::Queued
                }
            });
        }
        let (id, state, external): (i64, i64, bool) = self
            .conn
            .prepare_cached("SELECT id, state, external FROM page WHERE url = ?1")
            .and_then(|mut row| {
                row.query_row(params![url], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            })
            .map_err(|e| self.failed(e))?;
        match state {
            TAKEN | TAKEN_AGAIN => {
                self.closer.insert(id, depth);
            }
            // An external link's links are not followed: nothing to fetch it again for.
            DONE if depth < self.max_depth && !external => self.set(id, AGAIN)?,
            DEEP => {
                let over = self.over_limit();
                self.set(id, if over { OVER } else { QUEUED })?;
                self.admitted += u64::from(!over);
                return Ok(Admitted::NoLongerTooDeep { over });
            }
            _ => {}
        }
        Ok(Admitted::Seen)
    }

    /// A link out of the scope, not to be checked: whether it is new (one row per URL, so
    /// that it is counted once).
    pub fn out_of_scope(&mut self, url: &str) -> Result<bool, Error> {
        let key = self.recent.key(url);
        if self.recent.depth(key).is_some() {
            return Ok(false);
        }
        self.recent.put(key, 0, self.last_id);
        self.conn
            .prepare_cached(
                "INSERT INTO page (url, depth, state, external) VALUES (?1, 0, ?2, 1) \
                 ON CONFLICT (url) DO NOTHING",
            )
            .and_then(|mut insert| insert.execute(params![url, OUT]))
            .map(|added| {
                if added > 0 {
                    self.last_id = self.conn.last_insert_rowid().max(self.last_id);
                }
                added > 0
            })
            .map_err(|e| self.failed(e))
    }

    /// The row of the sitemap at `url` (a parent for the pages it lists).
    pub fn sitemap(&mut self, url: &str) -> Result<i64, Error> {
        self.row(url, SITEMAP)
    }

    /// The row of `url`, made in `state` if there is none.
    fn row(&mut self, url: &str, state: i64) -> Result<i64, Error> {
        let id = self
            .conn
            .prepare_cached(
                "INSERT INTO page (url, depth, state, external) VALUES (?1, 0, ?2, 0) \
                 ON CONFLICT (url) DO UPDATE SET url = url RETURNING id",
            )
            .and_then(|mut upsert| upsert.query_row(params![url, state], |row| row.get(0)))
            .map_err(|e| self.failed(e))?;
        self.last_id = self.last_id.max(id);
        Ok(id)
    }

    /// URLs waiting in the frontier (not yet handed to the engines).
    pub fn frontier(&self) -> Result<u64, Error> {
        self.conn
            .prepare_cached(&FRONTIER_SIZE)
            .and_then(|mut count| count.query_row([], |row| row.get::<_, i64>(0)))
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.failed(e))
    }

    /// The closer depth page `id` was found at while in flight, if it was (its links are
    /// then admitted at that depth, no longer in breadth-first order).
    pub fn closer(&mut self, id: i64) -> Option<u32> {
        let closer = self.closer.remove(&id);
        if closer.is_some() {
            self.floors.remove(&id);
        }
        closer
    }

    /// The next `n` URLs of the frontier (at most), in the order admitted, taken.
    pub fn take(&mut self, n: usize) -> Result<Vec<Entry>, Error> {
        let mut entries = Vec::new();
        {
            let mut query = self
                .conn
                .prepare_cached(&FRONTIER)
                .map_err(|e| self.failed(e))?;
            let rows = query
                .query_map(params![n as i64], |row| {
                    Ok(Entry {
                        id: row.get(0)?,
                        url: row.get(1)?,
                        depth: row.get(2)?,
                        parent: row.get(3)?,
                        parent_id: row.get(4)?,
                        external: row.get(5)?,
                        again: row.get::<_, i64>(6)? == AGAIN,
                        partition: None,
                    })
                })
                .map_err(|e| self.failed(e))?;
            for entry in rows {
                entries.push(entry.map_err(|e| self.failed(e))?);
            }
        }
        for entry in &entries {
            self.set(entry.id, if entry.again { TAKEN_AGAIN } else { TAKEN })?;
            if !entry.again && entry.depth >= self.deepest_taken {
                self.floors.insert(entry.id, self.last_id);
            }
            self.deepest_taken = self.deepest_taken.max(entry.depth);
        }
        Ok(entries)
    }

    /// A page's redirects ended at `url`, which is thereby handled: seen if it was not,
    /// and not fetched if it was still waiting in the frontier.
    pub fn reached(&mut self, url: &str, depth: u32, parent: Option<i64>) -> Result<(), Error> {
        self.conn
            .prepare_cached(
                "INSERT INTO page (url, depth, parent, state, external) \
                 VALUES (?1, ?2, ?3, ?4, 0) ON CONFLICT (url) DO UPDATE SET state = ?4 \
                 WHERE state IN (?5, ?6)",
            )
            .and_then(|mut upsert| {
                upsert.execute(params![url, depth, parent, REACHED, QUEUED, DEEP])
            })
            .map(|_| self.last_id = self.last_id.max(self.conn.last_insert_rowid()))
            .map_err(|e| self.failed(e))
    }

    /// Page `id` links to `url` (admitted before): kept for the broken-link report.
    pub fn link(&mut self, page: i64, url: &str) -> Result<(), Error> {
        self.conn
            .prepare_cached(
                "INSERT INTO link (page, target) SELECT ?1, id FROM page WHERE url = ?2",
            )
            .and_then(|mut insert| insert.execute(params![page, url]))
            .map(drop)
            .map_err(|e| self.failed(e))
    }

    /// Page `id` was handled (`failed`: its status, or the kind of its failure, when it
    /// was not a success) and its links admitted; committed with the rest of its batch.
    pub fn done(&mut self, id: i64, failed: Option<Failed>) -> Result<(), Error> {
        if let Some(failed) = failed {
            self.conn
                .prepare_cached("UPDATE page SET status = ?2, error = ?3 WHERE id = ?1")
                .and_then(|mut update| update.execute(params![id, failed.status, failed.error]))
                .map_err(|e| self.failed(e))?;
        }
        self.set(id, DONE)?;
        self.floors.remove(&id);
        self.uncommitted += 1;
        if self.uncommitted >= BATCH {
            self.commit()?;
        }
        Ok(())
    }

    /// robots.txt disallows page `id` (`unreachable`: its robots.txt could not be fetched,
    /// with the kind of that failure). It no longer counts against the page limit: the first
    /// URL left over the limit is queued in its place, if there is one (then `true`).
    pub fn disallowed(&mut self, id: i64, unreachable: Option<&str>) -> Result<bool, Error> {
        // Taken, never to be handled: what was kept for its links goes.
        self.floors.remove(&id);
        self.closer.remove(&id);
        match unreachable {
            Some(kind) => {
                self.conn
                    .prepare_cached("UPDATE page SET state = ?2, error = ?3 WHERE id = ?1")
                    .and_then(|mut update| update.execute(params![id, BLOCKED, kind]))
                    .map_err(|e| self.failed(e))?;
            }
            None => self.set(id, DISALLOWED)?,
        }
        self.admitted = self.admitted.saturating_sub(1);
        if self.max_pages.is_none() || self.over_limit() {
            return Ok(false);
        }
        let promoted = self
            .conn
            .prepare_cached(&FIRST_OVER)
            .and_then(|mut update| update.execute([]))
            .map_err(|e| self.failed(e))?;
        self.admitted += promoted as u64;
        Ok(promoted > 0)
    }

    fn set(&mut self, id: i64, state: i64) -> Result<(), Error> {
        self.conn
            .prepare_cached("UPDATE page SET state = ?2 WHERE id = ?1")
            .and_then(|mut update| update.execute(params![id, state]))
            .map(drop)
            .map_err(|e| self.failed(e))
    }

    /// Make what was written durable (against a kill) and start the next transaction.
    pub fn commit(&mut self) -> Result<(), Error> {
        self.uncommitted = 0;
        self.conn
            .execute_batch("COMMIT; BEGIN;")
            .map_err(|e| self.failed(e))
    }
}

pub(super) use report::Failed;

fn state_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::CrawlState {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;

#[path = "store_report.rs"]
mod report;
