//! The memory limits a process is started under, checked before anything starts.
//!
//! `ulimit -v` (RLIMIT_AS) caps the process's *address space*: every mapping counts,
//! used or not: each thread's stack (2 MiB reserved for a Tokio worker or a pool thread),
//! the allocator's arenas (jemalloc reserves in large chunks), the embedded mirror's
//! buffers (its answers may hold up to 256 MiB). `ulimit -d` (RLIMIT_DATA) caps the
//! private writable part of it, which on Linux includes the allocator's mappings. Under a
//! cap that is too small an allocation fails somewhere in the middle of a run, and Rust's
//! answer to a failed allocation is to abort: "memory allocation of 15 bytes failed",
//! exit 134, no `error:` line, everything fetched lost.
//!
//! So the limits are read at start. Each is a *soft* limit under a *hard* one, and a
//! process may raise its soft limit up to the hard one without privilege: a soft limit
//! below [`MINIMUM_MIB`] is raised to the hard one when that is enough, and otherwise the
//! run is refused before it starts, with one line naming the limit and what is needed.
//!
//! [`MINIMUM_MIB`] is measured, not derived: `names 500 -c 500` (500 connections to the
//! embedded mirror) aborted under 800 MiB and ran under 1 GiB; `names 2000 -c 1000`, with
//! `--http2` or `--cores 32`, ran under 1.5 GiB. 2 GiB leaves room for a machine with more
//! cores (a worker thread each) than the 2 it was measured on. It is a floor, not a
//! promise: a run far larger than those may still need more.

/// The least address space (and data segment) asyncdex starts with, in MiB (see the
/// module docs for how it was chosen).
pub const MINIMUM_MIB: u64 = 2048;

/// The least main-thread stack asyncdex starts with, in KiB: under 80 KiB a release
/// build overflowed before its first line (hp10 B-F9: "fatal runtime error: stack
/// overflow", exit 134, `--version` included); 256 KiB leaves it room.
pub const MINIMUM_STACK_KIB: u64 = 256;

/// The main-thread stack a soft limit below it is raised to, if the hard limit allows:
/// the usual default.
const USUAL_STACK_KIB: u64 = 8 * 1024;

/// Checks the stack limit (`ulimit -s`) before anything else runs: a soft limit under
/// the usual 8 MiB is raised toward it as far as the hard limit allows (the main
/// thread's stack grows up to the limit in force when it grows); under
/// [`MINIMUM_STACK_KIB`] even then, the one line that refuses the run. Other threads
/// have stacks of their own size, whatever the limit.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // `rlim_t` is `u64` on Linux, not everywhere
pub fn ensure_stack() -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut limit) } != 0 {
        return Ok(());
    }
    let kib = |v: libc::rlim_t| match v {
        libc::RLIM_INFINITY => u64::MAX,
        v => v as u64 / 1024,
    };
    if kib(limit.rlim_cur) < USUAL_STACK_KIB && kib(limit.rlim_max) > kib(limit.rlim_cur) {
        let raised = libc::rlimit {
            rlim_cur: match kib(limit.rlim_max) >= USUAL_STACK_KIB {
                true => (USUAL_STACK_KIB * 1024) as libc::rlim_t,
                false => limit.rlim_max,
            },
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; the soft limit stays within the hard one.
        if unsafe { libc::setrlimit(libc::RLIMIT_STACK, &raised) } == 0 {
            limit = raised;
        }
    }
    match kib(limit.rlim_cur) {
        k if k >= MINIMUM_STACK_KIB => Ok(()),
        k => Err(format!(
            "the stack limit (ulimit -s) is {k} KiB; asyncdex needs at least {MINIMUM_STACK_KIB} KiB"
        )),
    }
}

/// Elsewhere there is no such limit to check.
#[cfg(not(unix))]
pub fn ensure_stack() -> Result<(), String> {
    Ok(())
}

/// Raises each memory limit below [`MINIMUM_MIB`] to its hard limit, or, where that is
/// not enough either, returns the one line that refuses the run.
#[cfg(unix)]
pub fn ensure() -> Result<(), String> {
    for (resource, what) in MEMORY_LIMITS {
        raise_to(resource, MINIMUM_MIB).map_err(|(soft, _)| {
            format!("{what} is {soft} MiB; asyncdex needs at least {MINIMUM_MIB} MiB")
        })?;
    }
    Ok(())
}

/// The limits on memory a process may map, and how an error line names each.
#[cfg(unix)]
const MEMORY_LIMITS: [(Resource, &str); 2] = [
    (libc::RLIMIT_AS, "the address-space limit (ulimit -v)"),
    (libc::RLIMIT_DATA, "the data-segment limit (ulimit -d)"),
];

/// Elsewhere there are no such limits to check.
#[cfg(not(unix))]
pub fn ensure() -> Result<(), String> {
    Ok(())
}

/// How `getrlimit` names a limit: glibc's own enum, a plain `int` elsewhere.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
type Resource = libc::__rlimit_resource_t;
#[cfg(all(unix, not(all(target_os = "linux", target_env = "gnu"))))]
type Resource = libc::c_int;

/// Makes the soft limit `resource` at least `needed` MiB: as it is if it already is (or
/// the system will not tell), raised to the hard limit if that is enough. Otherwise the
/// soft and hard limits, in MiB, for the line that refuses the run.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // `rlim_t` is `u64` on Linux, not everywhere
fn raise_to(resource: Resource, needed: u64) -> Result<(), (u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(resource, &mut limit) } != 0 {
        return Ok(()); // not told: nothing to check
    }
    let enough =
        |v: libc::rlim_t| v == libc::RLIM_INFINITY || v / (1024 * 1024) >= needed as libc::rlim_t;
    if enough(limit.rlim_cur) {
        return Ok(());
    }
    let (soft, hard) = (limit.rlim_cur, limit.rlim_max);
    if enough(hard) {
        limit.rlim_cur = hard;
        // SAFETY: `limit` is a valid rlimit; the soft limit stays within the hard one.
        if unsafe { libc::setrlimit(resource, &limit) } == 0 {
            return Ok(());
        }
    }
    let mib = |v: libc::rlim_t| v as u64 / (1024 * 1024);
    Err((mib(soft), mib(hard)))
}

/// Address space one more thread's stack reserves, in MiB: Rust's default for a spawned
/// thread (the pools of `--threads`, `blocking --calls`, `cpu --threads`) and tokio's for
/// a runtime's worker (`--cores`).
pub const THREAD_STACK_MIB: u64 = 2;

/// Checks that `threads` more threads (set by `flag`) fit the address-space and
/// data-segment limits besides the [`MINIMUM_MIB`] asyncdex starts with: one line naming
/// the flag and the limit, before the run, instead of an allocation that fails midway
/// and aborts it (hp10 B-F10: `--threads 1024` under `ulimit -v 2200000`).
#[cfg(unix)]
pub fn check_threads(flag: &str, threads: usize) -> asyncdex::Result<()> {
    let need = MINIMUM_MIB + (threads as u64).saturating_mul(THREAD_STACK_MIB);
    for (resource, what) in MEMORY_LIMITS {
        raise_to(resource, need).map_err(|(_, hard)| {
            asyncdex::Error::invalid_input(format!(
                "{flag} {threads} needs about {need} MiB of address space ({THREAD_STACK_MIB} MiB of stack a thread, besides the {MINIMUM_MIB} MiB asyncdex starts with), but {what} is {hard} MiB: lower {flag}, or raise the limit"
            ))
        })?;
    }
    Ok(())
}

/// Elsewhere there are no such limits to check.
#[cfg(not(unix))]
pub fn check_threads(_flag: &str, _threads: usize) -> asyncdex::Result<()> {
    Ok(())
}
