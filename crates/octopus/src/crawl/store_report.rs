//! What the store says at the end of a crawl: each page that links to URLs that failed,
//! with those (`Crawl::broken_links`), from the links kept (`Store::link`) and each URL's
//! status or failure.

use rusqlite::params;

use super::super::BrokenLink;
use super::{BLOCKED, DONE, OUT, Store, state_error};
use crate::builder::Error;

/// What a failed page ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::crawl) struct Failed {
    pub status: Option<u16>,
    /// The failure's kind, when there was no status.
    pub error: Option<&'static str>,
}

impl Store {
    /// Each page that links to pages that failed, with those (in the order pages were
    /// admitted); `each` is called once per page.
    pub(in crate::crawl) fn broken(
        &mut self,
        each: &mut dyn FnMut(&str, Vec<BrokenLink>),
    ) -> Result<(), Error> {
        self.commit()?;
        let failed = |e| state_error(&self.path, e);
        self.conn
            .execute_batch("CREATE INDEX IF NOT EXISTS link_target ON link (target);")
            .map_err(failed)?;
        let mut query = self
            .conn
            .prepare(
                "SELECT p.url, t.url, t.status, t.error FROM page AS t \
                 JOIN link AS l ON l.target = t.id JOIN page AS p ON p.id = l.page \
                 WHERE t.state IN (?1, ?2) AND (t.status IS NOT NULL OR t.error IS NOT NULL) \
                 ORDER BY p.id, t.id",
            )
            .map_err(failed)?;
        let mut rows = query.query(params![DONE, BLOCKED]).map_err(failed)?;
        let mut page: Option<(String, Vec<BrokenLink>)> = None;
        while let Some(row) = rows.next().map_err(failed)? {
            let at: String = row.get(0).map_err(failed)?;
            let link = BrokenLink {
                url: row.get(1).map_err(failed)?,
                status: row.get(2).map_err(failed)?,
                error: row.get(3).map_err(failed)?,
            };
            match &mut page {
                Some((url, links)) if *url == at => links.push(link),
                _ => {
                    if let Some((url, links)) = page.replace((at, vec![link])) {
                        each(&url, links);
                    }
                }
            }
        }
        if let Some((url, links)) = page {
            each(&url, links);
        }
        Ok(())
    }

    /// A shared crawl's page handled here, and its links (for the report at the end: the
    /// rest of the crawl's state is in Redis).
    pub(in crate::crawl) fn page_links(&mut self, page: &str, links: &[&str]) -> Result<(), Error> {
        let id = self.row(page, DONE)?;
        for link in links {
            self.conn
                .prepare_cached(
                    "INSERT INTO page (url, depth, state, external) VALUES (?1, 0, ?2, 0) \
                     ON CONFLICT (url) DO NOTHING",
                )
                .and_then(|mut insert| insert.execute(params![link, OUT]))
                .map_err(|e| self.failed(e))?;
            self.link(id, link)?;
        }
        self.uncommitted += 1;
        if self.uncommitted >= super::BATCH {
            self.commit()?;
        }
        Ok(())
    }

    /// URL `url` of a shared crawl failed (wherever it was fetched): `status`, or the kind
    /// of its failure.
    pub(in crate::crawl) fn failed_elsewhere(
        &mut self,
        url: &str,
        status: Option<u16>,
        error: Option<&str>,
    ) -> Result<(), Error> {
        self.conn
            .prepare_cached("UPDATE page SET state = ?2, status = ?3, error = ?4 WHERE url = ?1")
            .and_then(|mut update| update.execute(params![url, DONE, status, error]))
            .map(drop)
            .map_err(|e| self.failed(e))
    }
}
