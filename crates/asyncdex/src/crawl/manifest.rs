//! What a crawl reports: per resource, what the list promised and what the store holds.

use serde::Serialize;

/// How one resource's crawl ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResourceReport {
    /// The endpoint.
    pub endpoint: String,
    /// How many entries its list named (plus any found by following links).
    pub expected: u64,
    /// The list's own `count`, when it differs from the entries it named: a server's
    /// claim (10^12 over three entries) is shown as a claim, never taken as `expected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed: Option<u64>,
    /// How many the store now holds intact.
    pub stored: u64,
    /// Already stored intact before this run: skipped.
    pub skipped: u64,
    /// Fetched and stored by this run.
    pub fetched: u64,
    /// Not stored: their fetch failed for good this run.
    pub failed: u64,
    /// Not stored: the run stopped (Ctrl-C, SIGTERM, fail-fast) before they were fetched.
    /// A rerun fetches them.
    pub cancelled: u64,
    /// Retries this run made.
    pub retried: u64,
    /// Why the list itself could not be read, if it could not.
    pub list_error: Option<String>,
    /// The first few failures (`id: reason`), and why anything else was left out.
    pub failures: Vec<String>,
}

impl ResourceReport {
    /// Everything the list promised is stored, and nothing was left out for a reason
    /// named in `failures` (entries with no usable id, links past the crawl's cap).
    pub fn complete(&self) -> bool {
        self.list_error.is_none()
            && self.failures.is_empty()
            && self.stored >= self.expected
            && self.failed == 0
            && self.cancelled == 0
    }
}

/// The end of a crawl: a report per resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// One report per endpoint, in the order crawled.
    pub resources: Vec<ResourceReport>,
}

impl Manifest {
    /// Every resource of every list is stored.
    pub fn complete(&self) -> bool {
        self.resources.iter().all(ResourceReport::complete)
    }

    /// Sums over every resource: (expected, stored).
    pub fn totals(&self) -> (u64, u64) {
        self.resources
            .iter()
            .fold((0, 0), |(e, s), r| (e + r.expected, s + r.stored))
    }
}

/// Where a crawl stands, after each batch written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Calls finished so far this run.
    pub done: usize,
    /// Calls this run will make (grows when links are followed).
    pub total: usize,
    /// Calls that failed so far.
    pub failed: usize,
}
