//! File descriptors: the one budget a client and an embedded server in one process share.
//!
//! Every socket is a descriptor, and a process may hold only `RLIMIT_NOFILE` of them. Most
//! systems start programs with a low *soft* limit (1 024) under a much higher *hard* one: a
//! process may raise its own soft limit up to the hard limit, no privilege needed. A client
//! with a thousand connections to a mirror in the same process needs two thousand
//! descriptors (one each end), so asyncdex raises the limit at start, and the embedded
//! mirror takes at most a share of what there is ([`super::ServeLimits::sharing_process`]).

/// The process's descriptor limits: what it may open now (`soft`) and how far it may
/// raise that (`hard`). `None` for a limit that is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    /// The limit in force.
    pub soft: Option<u64>,
    /// The ceiling the soft limit may be raised to without privilege.
    pub hard: Option<u64>,
}

/// The process's descriptor limits now, or `None` where the system has no such limit
/// (or does not say).
pub fn fd_limit() -> Option<FdLimit> {
    imp::get()
}

/// Raises the process's soft descriptor limit to its hard limit, and returns the limits
/// in force afterwards (`None` where the system has no such limit: not Unix).
///
/// Call it once at start, before opening connections: a client and the embedded mirror
/// in one process share the limit, and the usual soft limit (1 024) is less than a
/// thousand concurrent connections need at both ends. Raising is harmless and idempotent:
/// calling it again changes nothing. It never lowers a limit, and needs no privilege (the
/// hard limit is the ceiling). On macOS the kernel caps the soft limit at `OPEN_MAX`; the
/// raise stops there. A refusal from the system is returned as the error.
pub fn raise_fd_limit() -> std::io::Result<Option<FdLimit>> {
    imp::raise()
}

/// How many connections a server may keep open given the limit: the soft limit less
/// `reserve` descriptors for everything else (files, the listener, logs), times `share`
/// (1.0: the whole process is the server; 0.5: it shares the process with a client).
/// At least 16. `fallback` when the limit is unknown or unlimited.
pub(crate) fn connection_budget(share: f64, reserve: u64, fallback: usize) -> usize {
    match fd_limit().and_then(|l| l.soft) {
        Some(soft) => ((soft.saturating_sub(reserve) as f64 * share) as usize).max(16),
        None => fallback.max(16),
    }
}

#[cfg(unix)]
mod imp {
    use super::FdLimit;

    // `rlim_t` is `u64` on Linux, not on every Unix.
    #[allow(clippy::unnecessary_cast)]
    fn finite(v: libc::rlim_t) -> Option<u64> {
        (v != libc::RLIM_INFINITY).then_some(v as u64)
    }

    fn read() -> std::io::Result<libc::rlimit> {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `lim` is a valid, writable rlimit for the duration of the call.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(lim)
    }

    fn limits(lim: &libc::rlimit) -> FdLimit {
        FdLimit {
            soft: finite(lim.rlim_cur),
            hard: finite(lim.rlim_max),
        }
    }

    pub(super) fn get() -> Option<FdLimit> {
        read().ok().map(|l| limits(&l))
    }

    pub(super) fn raise() -> std::io::Result<Option<FdLimit>> {
        let mut lim = read()?;
        if lim.rlim_cur == lim.rlim_max {
            return Ok(Some(limits(&lim)));
        }
        #[allow(unused_mut)]
        let mut target = lim.rlim_max;
        #[cfg(target_os = "macos")]
        {
            // macOS refuses a soft limit above OPEN_MAX even when the hard one allows it.
            target = target.min(libc::OPEN_MAX as libc::rlim_t);
        }
        if target > lim.rlim_cur {
            lim.rlim_cur = target;
            // SAFETY: `lim` is a valid rlimit; the soft limit stays within the hard one.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(get())
    }
}

#[cfg(not(unix))]
mod imp {
    use super::FdLimit;

    pub(super) fn get() -> Option<FdLimit> {
        None
    }

    pub(super) fn raise() -> std::io::Result<Option<FdLimit>> {
        Ok(None)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn raising_lifts_soft_to_hard_and_is_idempotent() {
        let before = fd_limit().expect("unix has a descriptor limit");
        let after = raise_fd_limit().unwrap().unwrap();
        assert_eq!(after.hard, before.hard, "the hard limit never changes");
        #[cfg(not(target_os = "macos"))]
        assert_eq!(after.soft, after.hard, "soft raised to hard");
        assert!(after.soft.unwrap_or(u64::MAX) >= before.soft.unwrap_or(u64::MAX));
        assert_eq!(raise_fd_limit().unwrap().unwrap(), after, "idempotent");
        assert_eq!(fd_limit(), Some(after));
    }

    #[test]
    fn a_budget_is_a_share_of_the_limit_less_a_reserve() {
        // Raised first, so the other test raising it cannot change it under this one.
        raise_fd_limit().unwrap();
        let soft = fd_limit().and_then(|l| l.soft);
        let whole = connection_budget(1.0, 64, 7);
        let half = connection_budget(0.5, 64, 7);
        match soft {
            Some(soft) => {
                assert_eq!(whole, (soft.saturating_sub(64) as usize).max(16));
                assert!(half <= whole / 2 + 1 && half >= 16);
            }
            None => assert_eq!((whole, half), (16, 16)),
        }
    }
}
