//! A full pipe is a wait, not an error.
//!
//! A pipe holds 64 KiB. When the program reading it is slow, a write to a *blocking*
//! pipe waits until there is room; a write to a *non-blocking* one (some runners set
//! `O_NONBLOCK` on the pipe they hand their children, and the flag belongs to the pipe,
//! not to the process) fails at once with `EAGAIN`, "Resource temporarily unavailable".
//! The results were fetched: ending the report there would lose them (hp11 B-F7). So
//! [`Patient`] waits, as a blocking write would, for the descriptor to take more
//! (`poll` for `POLLOUT`) and writes again. Any other error is the caller's, as before:
//! a reader that went away (`EPIPE`), a full disk (`ENOSPC`).
//!
//! A wait never outlives a request to stop: a second signal exits the process at once,
//! between two writes or during one.

use std::io::{ErrorKind, Write};

/// `inner`, whose writes that would block wait for descriptor `fd` to take more.
pub struct Patient<W> {
    inner: W,
    fd: i32,
}

impl<W: Write> Patient<W> {
    /// Wraps `inner`, which writes to descriptor `fd` (1 for stdout, 2 for stderr).
    pub fn new(inner: W, fd: i32) -> Self {
        Patient { inner, fd }
    }

    /// Runs `op` until it does not fail with `WouldBlock`, waiting for room between.
    fn again<T>(&mut self, mut op: impl FnMut(&mut W) -> std::io::Result<T>) -> std::io::Result<T> {
        loop {
            match op(&mut self.inner) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => wait_writable(self.fd)?,
                other => return other,
            }
        }
    }
}

impl<W: Write> Write for Patient<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Rust's buffered writers return an error only when they took none of `buf`
        // (what they had buffered stays buffered), so writing it again is right.
        self.again(|w| w.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.again(|w| w.flush())
    }
}

/// Waits until `fd` can take a write (or reports why it never will).
#[cfg(unix)]
fn wait_writable(fd: i32) -> std::io::Result<()> {
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd, for as long as the call.
        match unsafe { libc::poll(&mut poll, 1, -1) } {
            -1 if std::io::Error::last_os_error().kind() == ErrorKind::Interrupted => continue,
            -1 => return Err(std::io::Error::last_os_error()),
            // Writable, or its reader gone (POLLERR/POLLHUP): the next write says which.
            _ => return Ok(()),
        }
    }
}

/// Elsewhere a write that would block is retried after a short sleep.
#[cfg(not(unix))]
fn wait_writable(_fd: i32) -> std::io::Result<()> {
    std::thread::sleep(std::time::Duration::from_millis(1));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `room` bytes, then would block once, then takes everything.
    struct Slow {
        room: usize,
        blocked: usize,
        took: Vec<u8>,
    }

    impl Write for Slow {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 && self.blocked == 0 {
                self.blocked += 1;
                return Err(ErrorKind::WouldBlock.into());
            }
            let n = match self.room {
                0 => buf.len(),
                room => buf.len().min(room),
            };
            self.room = self.room.saturating_sub(n);
            self.took.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_that_would_block_waits_and_nothing_is_lost() {
        // Descriptor 2 (stderr) is writable in a test: the wait returns at once.
        let mut out = Patient::new(
            Slow {
                room: 5,
                blocked: 0,
                took: Vec::new(),
            },
            2,
        );
        out.write_all(b"hello, world\n").unwrap();
        assert_eq!(out.inner.took, b"hello, world\n");
        assert_eq!(out.inner.blocked, 1, "it did block once");
    }

    #[test]
    fn other_errors_are_the_callers() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let err = Patient::new(Broken, 2).write_all(b"x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    }
}
