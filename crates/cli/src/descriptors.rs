//! How many descriptors a run needs, decided before it starts: a run that cannot open its
//! connections fails in one line naming the limit and a flag that would lower the need,
//! instead of its calls failing one by one with "Too many open files".
//!
//! Over HTTP/1.1 every request in flight holds a socket, and the embedded mirror, in the
//! same process, holds the other end: `-c 1000` needs two thousand descriptors and some to
//! spare. What a run opens depends on what it runs: [`Connections::of`] counts its largest
//! mode's connections (a run of several modes runs them one after another), never more
//! than its calls; [`check_descriptors`] raises the soft limit as far as the system
//! allows, then compares.

/// Descriptors a run needs besides its connections (standard streams, the runtimes, a
/// store, the cache, the listener): measured, a run with its cache open holds about 25
/// besides its sockets, so `get pikachu` fits the smallest limits in use (`ulimit -n 64`).
pub const SPARE_FDS: u64 = 32;

/// One part of a run, as it holds connections: a run of several modes (`names --mode
/// all`, `bench --modes`) runs them one after another, so it needs its largest part's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// One blocking call after another: one connection.
    Sequential,
    /// A pool of this many threads (`--threads`), a connection each.
    Threads(usize),
    /// Async requests, at most this many in flight, set by this flag (`-c`,
    /// `--max-concurrency`, `--concurrencies`); over HTTP/2 (`http2`) one connection
    /// carries them all.
    Async(&'static str, usize, bool),
}

/// What a run holds open at once, decided in one place ([`Connections::of`]) from what it
/// really runs: the connections, and the flags the user can lower to need fewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connections {
    /// Most connections open at once.
    pub count: usize,
    /// The flags that set `count` (empty where none can lower it: one connection, or none).
    pub flags: Vec<&'static str>,
    /// Whether `--http2` would carry them on one connection (every part that needs
    /// `count` is async over HTTP/1.1).
    pub http2_helps: bool,
}

impl Connections {
    /// The most connections any of `parts` holds at once, none more than `calls` (a run of
    /// 3 calls opens 3, whatever -c or --threads allow; a program with no fetch steps, 0).
    pub fn of(parts: &[Part], calls: usize) -> Connections {
        let sized = parts.iter().map(|part| match *part {
            Part::Sequential => (None, 1, false),
            Part::Threads(n) => (Some("--threads"), n, false),
            Part::Async(_, _, true) => (None, 1, false),
            Part::Async(flag, n, false) => (Some(flag), n, true),
        });
        let sized: Vec<_> = sized.map(|(f, n, a)| (f, n.min(calls), a)).collect();
        let count = sized.iter().map(|s| s.1).max().unwrap_or(0);
        let top: Vec<_> = sized.iter().filter(|s| s.1 == count).collect();
        let mut flags: Vec<&'static str> = Vec::new();
        for flag in top.iter().filter_map(|s| s.0) {
            if count > 1 && !flags.contains(&flag) {
                flags.push(flag);
            }
        }
        Connections {
            count,
            http2_helps: count > 1 && top.iter().all(|s| s.2),
            flags,
        }
    }
}

/// Checks that the `connections` a run opens (twice as many when the embedded mirror in
/// this process holds the other ends), with [`SPARE_FDS`] besides, fit the descriptor
/// limit, raised first as far as the system allows: one line naming the limit and a flag
/// the user can lower (only one that would lower the need) instead of calls failing one
/// by one.
pub fn check_descriptors(connections: &Connections, embedded: bool) -> asyncdex::Result<()> {
    let limit = match asyncdex::mirror::raise_fd_limit() {
        Ok(Some(asyncdex::mirror::FdLimit {
            soft: Some(soft), ..
        })) => soft,
        _ => return Ok(()), // no limit, or none it will tell: nothing to check against
    };
    let n = connections.count;
    let ends = if embedded { 2 } else { 1 };
    let need = (n as u64).saturating_mul(ends) + SPARE_FDS;
    if need <= limit {
        return Ok(());
    }
    let asked = match &connections.flags[..] {
        [] => "this run needs".to_owned(),
        [flag] => format!("{flag} {n} needs"),
        flags => format!(
            "{} need",
            flags
                .iter()
                .map(|f| format!("{f} {n}"))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    };
    let plural = if n == 1 { "connection" } else { "connections" };
    let why = match (n, embedded) {
        (0, _) => "no connection: its standard streams, runtimes and files".to_owned(),
        (_, true) => {
            format!("{n} {plural} at both ends: the client and the embedded mirror")
        }
        (_, false) => format!("{n} {plural}"),
    };
    // A flag or --http2 is advised only if it can make the run fit: even one connection
    // needs more than a limit under the floor (hp10 B-F4).
    let one_fits = ends + SPARE_FDS <= limit;
    let mut fixes: Vec<String> = match one_fits {
        true => (connections.flags.iter())
            .map(|f| format!("lower {f}"))
            .collect(),
        false => Vec::new(),
    };
    if connections.http2_helps && one_fits {
        fixes.push("use --http2".into());
    }
    fixes.push("raise the limit (ulimit -n)".into());
    let fix = match fixes.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{}, or {last}", rest.join(", ")),
        None => unreachable!("the limit is always a fix"),
    };
    Err(asyncdex::Error::invalid_input(format!(
        "{asked} about {need} open files ({why}), but this process may open {limit}: {fix}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run needs its largest part's connections, at most one a call, and names only the
    /// flags that set that largest part.
    #[test]
    fn connections_are_the_largest_part_and_name_its_flags() {
        use Part::*;
        let all = [Sequential, Threads(20), Async("-c", 64, false)];
        let c = Connections::of(&all, 1000);
        assert_eq!(
            (c.count, c.flags.clone(), c.http2_helps),
            (64, vec!["-c"], true)
        );
        let c = Connections::of(&all, 10);
        assert_eq!(c.count, 10);
        assert_eq!(c.flags, vec!["--threads", "-c"], "both set the 10");
        assert!(!c.http2_helps, "--http2 does not shrink the threads' pool");
        let c = Connections::of(&[Sequential, Async("-c", 64, true)], 1000);
        assert_eq!((c.count, c.flags.is_empty()), (1, true));
        assert_eq!(Connections::of(&[Async("-c", 8, false)], 0).count, 0);
    }
}
