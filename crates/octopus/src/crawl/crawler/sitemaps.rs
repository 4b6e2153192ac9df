//! A crawl's sitemaps: asked for (each once), read, their pages admitted as seeds or as
//! links of their site's root (in a shared crawl, by each process given or finding them:
//! their pages are seen once whoever reads them).

use url::Url;

use super::{Crawler, MAX_SITEMAPS};
use crate::capture::normalise;
use crate::crawl::engines::SitemapRead;

impl Crawler {
    /// Read the sitemap at `url` (named by a robots.txt: `from_robots`), unless it was
    /// asked for (or too many were).
    pub(super) fn ask_sitemap(&mut self, url: &str, from_robots: bool) {
        let Ok(mut url) = Url::parse(url) else { return };
        normalise(&mut url);
        if self.sitemaps.len() >= MAX_SITEMAPS || !self.sitemaps.insert(url.to_string()) {
            return;
        }
        let Some(files) = &self.shared.files else {
            return;
        };
        self.sitemaps_in_flight += 1;
        self.summary.sitemaps += 1;
        self.shared.ask_sitemap(files, url, from_robots);
    }

    /// A sitemap was read: its pages admitted (those in scope; found on the sitemap, for
    /// the report), its sitemaps asked for. A sitemap asked for ([`super::Crawl::sitemap`])
    /// lists seeds (depth 0); one a robots.txt named lists links of its site's root (depth
    /// 1), so that `--depth` and the seeds' scope hold for them.
    pub(super) fn read(&mut self, read: SitemapRead) {
        self.sitemaps_in_flight -= 1;
        let SitemapRead {
            url,
            from_robots,
            sitemap,
        } = read;
        for nested in &sitemap.sitemaps {
            self.ask_sitemap(nested, from_robots);
        }
        let depth = u32::from(from_robots);
        let pages: Vec<Url> = sitemap
            .pages
            .iter()
            .filter_map(|page| {
                let mut url = Url::parse(page).ok()?;
                normalise(&mut url);
                Some(url)
            })
            .collect();
        let parent = match self.frontier.local().map(|store| store.sitemap(&url)) {
            Some(Ok(parent)) => parent,
            Some(Err(e)) => return self.fail(e),
            None => return self.listed_shared(&url, depth, &pages),
        };
        for page in &pages {
            if let Err(e) = self.admit_link(page, depth, parent) {
                return self.fail(e);
            }
        }
    }
}
