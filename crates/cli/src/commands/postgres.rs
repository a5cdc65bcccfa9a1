//! What `crawl`, `serve` and `export` do differently when the store is a `postgres://`
//! URL: which flags apply, `crawl --status`, and the queue's closing line.

use super::{io_error, Io, Summary};
use asyncdex::pg::queue::{counts, Counts};
use asyncdex::pg::{self, PgStore};
use asyncdex::{Error, ErrorKind, Result};

/// The URL `location` holds, if it is a `postgres://` one (a file path otherwise).
pub fn url_of(location: &std::path::Path) -> Option<&str> {
    location.to_str().filter(|s| pg::is_url(s))
}

/// Refuses the shared-crawl flags without a `postgres://` store.
pub fn check_flags(url: Option<&str>, status: bool, lease: bool) -> Result<()> {
    if url.is_none() && (status || lease) {
        let flag = if status { "--status" } else { "--lease" };
        return Err(Error::invalid_input(format!(
            "{flag} is for a crawl shared through PostgreSQL: give --out postgres://user:password@host:port/database"
        )));
    }
    Ok(())
}

/// `crawl --status`: a line per endpoint and the totals (or one JSON object), fetching
/// nothing.
pub async fn status(url: &str, json: bool, io: Io<'_>) -> Result<Summary> {
    let store = PgStore::open_existing(url).await?;
    let all = counts(&store, None).await?;
    let total = totals(&all);
    if json {
        let line = serde_json::json!({
            "store": store.describe(),
            "complete": total.left + total.leased + total.failed == 0,
            "totals": total,
            "resources": all,
        });
        crate::json::write_line(io.out, &line).map_err(io_error)?;
    } else {
        writeln!(
            io.out,
            "{:<20}{:>9}{:>9}{:>9}{:>9}{:>9}{:>12}",
            "resource", "listed", "done", "leased", "failed", "left", "taken over"
        )
        .map_err(io_error)?;
        for c in all.iter().chain(std::iter::once(&total)) {
            writeln!(
                io.out,
                "{:<20}{:>9}{:>9}{:>9}{:>9}{:>9}{:>12}",
                c.endpoint, c.queued, c.done, c.leased, c.failed, c.left, c.taken_over
            )
            .map_err(io_error)?;
        }
    }
    let shown = super::report::escape_display(store.describe());
    writeln!(io.err, "{}", line(&shown, &total)).map_err(io_error)?;
    Ok(Summary {
        ok: total.done as usize,
        ..Summary::default()
    })
}

/// The sums over every endpoint, named `total`.
fn totals(all: &[Counts]) -> Counts {
    all.iter().fold(
        Counts {
            endpoint: "total".into(),
            ..Counts::default()
        },
        |mut t, c| {
            t.listed += c.listed;
            t.queued += c.queued;
            t.done += c.done;
            t.leased += c.leased;
            t.failed += c.failed;
            t.left += c.left;
            t.taken_over += c.taken_over;
            t
        },
    )
}

fn line(shown: &str, t: &Counts) -> String {
    format!(
        "queue {shown}: {} done, {} leased, {} failed, {} left of {} ({} leases taken over after their worker stopped renewing them)",
        t.done, t.leased, t.failed, t.left, t.queued, t.taken_over
    )
}

/// The queue's line at the end of a worker's crawl: the whole crawl's counts. A worker
/// that stopped because the server stayed away (its manifest printed, as the queue was
/// last seen) gets the one line saying so instead, as its error: exit 1. One that a
/// signal stopped while the server was away gets that line as a note: the crawl was
/// interrupted (130/143), and counting the queue would wait for the server again.
pub async fn queue_line(store: &PgStore, endpoints: &[String]) -> Result<String> {
    if let (Some(why), true) = (store.gave_up(), store.interrupted()) {
        return Ok(format!("queue not counted: {why}"));
    }
    if let Some(why) = store.gave_up() {
        return Err(Error::new(
            ErrorKind::Network,
            format!("{why}; stopped: run the crawl again to fetch what is missing"),
        ));
    }
    let all = counts(store, Some(endpoints)).await?;
    Ok(line(store.describe(), &totals(&all)))
}
