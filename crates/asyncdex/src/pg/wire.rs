//! Every byte from the server passes one guard that bounds a message's length.
//!
//! PostgreSQL's protocol frames every backend message the same way: one type byte, then
//! a 4-byte big-endian length that counts itself and the body (so at least 4). The
//! startup phase uses that framing too, after an optional one-byte answer to an
//! `SSLRequest`, and asyncdex sends none: it connects without TLS (`sslmode=disable`,
//! see [`super::url`]), so from the first byte on the server speaks framed messages.
//!
//! tokio-postgres trusts the length: a server (or anything answering on its port) that
//! claims a 2 GiB message makes it buffer up to 2 GiB before it looks at a byte of it.
//! So connections are made here (`GuardedConnect`): our own socket, wrapped in
//! `Guarded`, handed to `Config::connect_raw`. The wrapper reads the framing as bytes
//! go by (it copies nothing, it only counts) and fails the connection, with an error
//! naming the length, the moment a header claims more than [`MAX_MESSAGE`].
//!
//! The cap: the largest message asyncdex asks for is a row holding one stored body (at
//! most 64 MiB by default, [`crate::http::DEFAULT_MAX_BODY`]) and a few small columns,
//! sent in binary (no hex doubling). 128 MiB is twice that: room for any honest row, and
//! a bound that keeps a hostile server's claim from becoming our memory. A crawl allowed
//! bigger bodies stores none past [`MAX_BODY`], so whatever is stored can be read back.
//!
//! The same wrapper reads the client's side for the messages that ask for an answer, and
//! fails a connection that owes one and stays silent ([`super::silence`]); the socket
//! gets keepalive probes and `TCP_USER_TIMEOUT` (`watch_peer`).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_postgres::config::Host;
use tokio_postgres::NoTls;

use super::silence::{Silence, ANSWER_DEADLINE, KEEPALIVE_IDLE};

/// The longest backend message accepted, header included: 128 MiB (see the module).
pub const MAX_MESSAGE: u32 = 128 << 20;

/// The largest body a PostgreSQL store keeps: a message less a MiB for the row's other
/// columns, so what is stored can always be read back (`--max-body` may allow more; such
/// a resource fails, saying why).
pub const MAX_BODY: usize = (MAX_MESSAGE as usize) - (1 << 20);

/// Where the reading stands in the stream of messages.
#[derive(Debug, Default)]
struct Framing {
    /// The header read so far (type byte and length).
    header: [u8; 5],
    /// How many bytes of `header` are read.
    have: usize,
    /// Bytes of the current message's body still to come.
    left: u64,
}

impl Framing {
    /// The framing of the client's side: its first message (startup) has no type byte,
    /// so it starts as if a type byte 0 had been read.
    fn frontend() -> Framing {
        Framing {
            have: 1,
            ..Framing::default()
        }
    }

    /// True while a message is half through.
    fn within(&self) -> bool {
        self.have > 0 || self.left > 0
    }

    /// Counts backend `bytes` through the framing, checking each header ([`check`]).
    #[cfg(test)]
    fn scan(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.scan_with(bytes, check)
    }

    /// Counts `bytes` through the framing; `header` hears each message's type and length
    /// (its error ends the scan).
    fn scan_with(
        &mut self,
        mut bytes: &[u8],
        mut header: impl FnMut(u8, u32) -> io::Result<()>,
    ) -> io::Result<()> {
        while !bytes.is_empty() {
            if self.left > 0 {
                let skip = bytes
                    .len()
                    .min(usize::try_from(self.left).unwrap_or(usize::MAX));
                self.left -= skip as u64;
                bytes = &bytes[skip..];
                continue;
            }
            let take = (5 - self.have).min(bytes.len());
            self.header[self.have..self.have + take].copy_from_slice(&bytes[..take]);
            self.have += take;
            bytes = &bytes[take..];
            if self.have < 5 {
                break;
            }
            self.have = 0;
            let length = u32::from_be_bytes([
                self.header[1],
                self.header[2],
                self.header[3],
                self.header[4],
            ]);
            header(self.header[0], length)?;
            self.left = u64::from(length.saturating_sub(4));
        }
        Ok(())
    }
}

/// An error when a backend message of type `kind` claims too much (or less than the
/// length field itself).
fn check(kind: u8, length: u32) -> io::Result<()> {
    if length < 4 {
        return Err(violation(format!(
            "the server sent a message (type {:?}) whose length field says {length} bytes, less than the field itself",
            kind as char
        )));
    }
    if length > MAX_MESSAGE {
        return Err(violation(format!(
            "the server sent a message (type {:?}) of {length} bytes, more than the {} MiB a message may have",
            kind as char,
            MAX_MESSAGE >> 20
        )));
    }
    Ok(())
}

fn violation(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// The socket under a connection: TCP, a unix socket, or the reason there is none (so a
/// failed connect reaches tokio-postgres as an I/O error of its own kind).
enum Socket {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
    Failed(Option<io::Error>),
}

impl Socket {
    /// The write side, or the reason there is none (told once, then "not connected").
    fn writer(&mut self) -> io::Result<Pin<&mut (dyn AsyncWrite + Unpin)>> {
        match self {
            Socket::Tcp(s) => Ok(Pin::new(s)),
            #[cfg(unix)]
            Socket::Unix(s) => Ok(Pin::new(s)),
            Socket::Failed(e) => Err(gone(e)),
        }
    }
}

fn gone(e: &mut Option<io::Error>) -> io::Error {
    e.take()
        .unwrap_or_else(|| io::ErrorKind::NotConnected.into())
}

/// A socket whose read side is checked against [`MAX_MESSAGE`]; a violation is also
/// written to `seen`, so the store can say why its connection closed. Both sides are
/// watched for a server that stops answering ([`Silence`]).
pub(super) struct Guarded {
    socket: Socket,
    framing: Framing,
    /// The client's side, read for the messages that ask for an answer.
    sent: Framing,
    silence: Silence,
    seen: Violations,
}

/// The last framing violation a store's connections met (the error tokio-postgres
/// reports for a query is "connection closed"; this is why).
pub(super) type Violations = Arc<Mutex<Option<String>>>;

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = match &mut this.socket {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Failed(e) => return Poll::Ready(Err(gone(e))),
        };
        if read.is_pending() {
            return this.silence.poll_expired(cx).map(Err);
        }
        ready!(read)?;
        let silence = &mut this.silence;
        let scanned = this
            .framing
            .scan_with(&buf.filled()[before..], |kind, length| {
                silence.received(kind);
                check(kind, length)
            });
        this.silence.moved(cx);
        if let Err(e) = scanned {
            buf.set_filled(before);
            if let Ok(mut seen) = this.seen.lock() {
                *seen = Some(e.to_string());
            }
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = match this.socket.writer()?.poll_write(cx, buf) {
            Poll::Pending => return this.silence.poll_expired(cx).map(Err),
            Poll::Ready(n) => n?,
        };
        let silence = &mut this.silence;
        let _ = this.sent.scan_with(&buf[..n], |kind, _| {
            silence.sent(kind);
            Ok(())
        });
        this.silence.writing(this.sent.within());
        this.silence.moved(cx);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.socket.writer()?.poll_flush(cx) {
            Poll::Pending => this.silence.poll_expired(cx).map(Err),
            done => done,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().socket.writer() {
            Ok(w) => w.poll_shutdown(cx),
            Err(_) => Poll::Ready(Ok(())),
        }
    }
}

/// Opens the socket `config` names (its one host: [`super::url`] refuses several). The
/// whole connection, this included, is bounded by the pool's create timeout (the URL's
/// `connect_timeout`).
async fn open(config: &tokio_postgres::Config) -> Socket {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let connect = async {
        if let Some(addr) = config.get_hostaddrs().first() {
            return TcpStream::connect((*addr, port)).await.map(Socket::Tcp);
        }
        match config.get_hosts().first() {
            Some(Host::Tcp(host)) => TcpStream::connect((host.as_str(), port))
                .await
                .map(Socket::Tcp),
            #[cfg(unix)]
            Some(Host::Unix(dir)) => {
                tokio::net::UnixStream::connect(dir.join(format!(".s.PGSQL.{port}")))
                    .await
                    .map(Socket::Unix)
            }
            None => Err(io::Error::new(io::ErrorKind::InvalidInput, "no host")),
        }
    };
    let socket = connect.await.unwrap_or_else(|e| Socket::Failed(Some(e)));
    if let Socket::Tcp(s) = &socket {
        let _ = s.set_nodelay(true);
        watch_peer(s, config);
    }
    socket
}

/// Asks the kernel to notice a dead peer ([`super::silence`]): keepalive probes (unless
/// the URL says `keepalives=0`) and, on Linux, `TCP_USER_TIMEOUT`. Best effort: a
/// system that refuses an option still has the silence deadline.
fn watch_peer(s: &TcpStream, config: &tokio_postgres::Config) {
    let socket = socket2::SockRef::from(s);
    if config.get_keepalives() {
        let probes = socket2::TcpKeepalive::new()
            .with_time(KEEPALIVE_IDLE)
            .with_interval(std::time::Duration::from_secs(5))
            .with_retries(3);
        let _ = socket.set_tcp_keepalive(&probes);
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = socket.set_tcp_user_timeout(Some(answer_deadline(config)));
}

/// The silence allowed while an answer is owed: the URL's `tcp_user_timeout`, or
/// [`ANSWER_DEADLINE`].
pub(super) fn answer_deadline(config: &tokio_postgres::Config) -> std::time::Duration {
    config
        .get_tcp_user_timeout()
        .copied()
        .unwrap_or(ANSWER_DEADLINE)
}

/// How the pool makes connections: [`open`], [`Guarded`], `connect_raw`.
pub(super) struct GuardedConnect {
    /// Where violations are written (the store reads them).
    pub(super) seen: Violations,
    /// Where a silence past the deadline is written (the store reads it).
    pub(super) silent: Violations,
}

impl deadpool_postgres::Connect for GuardedConnect {
    fn connect(
        &self,
        config: &tokio_postgres::Config,
    ) -> futures::future::BoxFuture<
        '_,
        Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), tokio_postgres::Error>,
    > {
        let config = config.clone();
        let (seen, silent) = (self.seen.clone(), self.silent.clone());
        Box::pin(async move {
            let guarded = Guarded {
                socket: open(&config).await,
                framing: Framing::default(),
                sent: Framing::frontend(),
                silence: Silence::new(answer_deadline(&config), silent),
                seen,
            };
            let (client, connection) = config.connect_raw(guarded, NoTls).await?;
            // The connection's end is seen by its client (every later query fails).
            let task = tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok((client, task))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, length: u32) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&length.to_be_bytes());
        m.resize(1 + length.min(64) as usize, b'x');
        m
    }

    #[test]
    fn honest_messages_pass_however_they_are_split() {
        let mut stream = Vec::new();
        for length in [4, 5, 8, 60] {
            stream.extend(message(b'D', length));
        }
        for cut in 1..stream.len() {
            let mut framing = Framing::default();
            for piece in stream.chunks(cut) {
                framing.scan(piece).unwrap();
            }
            assert_eq!((framing.have, framing.left), (0, 0), "cut {cut}");
        }
    }

    #[test]
    fn a_length_past_the_cap_or_under_four_fails_at_its_header() {
        let mut framing = Framing::default();
        framing.scan(&message(b'R', 8)[..9]).unwrap();
        let huge = [b'E', 0x80, 0, 0, 0];
        let e = framing
            .scan(&huge[..3])
            .and_then(|()| framing.scan(&huge[3..]));
        let e = e.unwrap_err().to_string();
        assert!(e.contains("2147483648 bytes, more than the 128 MiB"), "{e}");
        let e = Framing::default().scan(&[b'Z', 0, 0, 0, 3]).unwrap_err();
        assert!(e.to_string().contains("less than the field itself"), "{e}");
        assert!(Framing::default()
            .scan(&message(b'D', MAX_MESSAGE)[..5])
            .is_ok());
    }
}
