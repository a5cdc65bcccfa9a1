//! A lean plain-HTTP client on hyper's HTTP/1.1 connections and the h2 crate: what
//! [`super::Native`] uses for `http://` URLs (the embedded mirror, local servers).
//!
//! Why it exists: it holds 10 000 requests in flight in 52 MiB where reqwest needs far
//! more (128 MiB over HTTP/2, 263 MiB over HTTP/1.1; BENCHMARKS.md). A general-purpose
//! client pays per request for what a loopback call does not need: reqwest parses every
//! URL again into its own type (with IDNA), and hyper-util's pool boxes a ~3 KB future
//! per request and looks connections up by a cloned key. What it is not: a second policy.
//! Everything a user could tell apart is shared with the other backends, so it does not
//! matter which one ran:
//!
//! - headers are read by [`super::headers::Head`] (`Retry-After`, `Cache-Control`,
//!   `Location`, `Content-Length`), errors worded by [`super::failure`];
//! - bodies are read under the one size limit ([`super::body::Collect`]);
//! - redirects are followed by the caller's [`Hops`] (up to 10, 301/302/303/307/308,
//!   same rules as the blocking backend); this module makes one hop at a time and hands
//!   back the answer with its `Location`. A hop to `https://` is made by reqwest;
//! - credentials never reach it: it gets the URL without userinfo and the
//!   `Authorization` header to send; the deadline is the caller's, around the whole call.
//!
//! How it holds connections:
//!
//! - HTTP/1.1: a stack of idle connections per host; a call takes one (or dials), sends,
//!   reads the whole body, and puts it back if the server kept it alive. A connection the
//!   server closed while idle is noticed before use, and a request it refused unsent is
//!   sent again once on a fresh connection. Each thread keeps its connections apart
//!   (see `SHARDS`): on several runtimes (see [`asyncdex_engine::gather`]'s cores) a connection is
//!   driven by the runtime that dialled it, and no lock is shared by every request;
//! - HTTP/2 (`http2`): one connection per host (and thread), dialled once however many
//!   calls arrive together, every call a stream on it, straight on the h2 crate (hyper's HTTP/2
//!   client spawns a task per request: 1.7 KB more for each call in flight). A call that
//!   does not end well on it (failed, cut short, timed out, cancelled) leaves it to the
//!   streams still open there: the next call dials anew (`Suspect`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper::header::{HeaderValue, AUTHORIZATION, HOST, USER_AGENT as UA};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;

use super::body::{Collect, CLIENT_BODIES};
use super::headers::Head;
use super::redirect::Hops;
use super::{failure, HttpOptions, Response, MAX_RESPONSE_HEADERS, USER_AGENT};
use crate::error::{Error, ErrorKind, Result};

/// One hop's answer, and where it redirects to (if it does).
type Answer = (Response, Option<HeaderValue>);

type Body = Empty<Bytes>;

/// One host's connections.
struct Host {
    authority: String,
    idle: Vec<http1::SendRequest<Body>>,
    /// The `Host` header of its HTTP/1.1 requests, made once.
    host_header: HeaderValue,
    /// The HTTP/2 connection, dialled by the first call that needs it.
    h2: Arc<tokio::sync::Mutex<Option<h2::client::SendRequest<Bytes>>>>,
}

/// The entry for `authority` in `hosts`, added on first use.
fn host<'a>(hosts: &'a mut Vec<Host>, authority: &str) -> Result<&'a mut Host> {
    if let Some(i) = hosts.iter().position(|h| h.authority == authority) {
        return Ok(&mut hosts[i]);
    }
    let host_header = HeaderValue::from_str(authority)
        .map_err(|e| Error::invalid_input(format!("bad host {authority}: {e}")))?;
    hosts.push(Host {
        authority: authority.to_owned(),
        idle: Vec::new(),
        host_header,
        h2: Arc::default(),
    });
    Ok(hosts.last_mut().expect("just pushed"))
}

/// The newest idle connection still open; those the server closed meanwhile are dropped.
fn newest_open(idle: &mut Vec<http1::SendRequest<Body>>) -> Option<http1::SendRequest<Body>> {
    while let Some(sender) = idle.pop() {
        if sender.is_ready() {
            return Some(sender);
        }
    }
    None
}

/// Shards of a client's connections. A thread keeps its connections in a shard of its
/// own (threads beyond this many share one): it takes and returns them under its own
/// lock, so two cores never pass one lock back and forth for every request, and each
/// connection stays with the runtime that dialled it and drives it (a connection of
/// another thread would make every request a wake-up across cores).
const SHARDS: usize = 8;

/// One shard, alone on its cache line.
#[derive(Default)]
#[repr(align(128))]
struct Shard(Mutex<Vec<Host>>);

impl Shard {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Host>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// This thread's shard.
fn my_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    MINE.with(|mine| *mine)
}

struct Inner {
    http2: bool,
    max_idle: usize,
    max_body: u64,
    /// Each shard: a few hosts at most, so a list beats a map.
    shards: Box<[Shard]>,
}

/// A plain-HTTP client. Cheap to clone: clones share the connections.
#[derive(Clone)]
pub(super) struct Direct {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct")
            .field("http2", &self.inner.http2)
            .finish_non_exhaustive()
    }
}

fn connect_error(url: &str, e: impl std::fmt::Display) -> Error {
    failure::failed(ErrorKind::Connect, url, e)
}

fn request_error(url: &str, e: &hyper::Error) -> Error {
    failure::refused_head(url, e)
        .unwrap_or_else(|| failure::failed(ErrorKind::Network, url, failure::chain(e)))
}

impl Direct {
    pub(super) fn new(options: &HttpOptions) -> Direct {
        Direct {
            inner: Arc::new(Inner {
                http2: options.http2,
                max_idle: options.max_idle_per_host,
                max_body: options.max_body,
                shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            }),
        }
    }

    /// One hop of a call: `hops`'s URL (without credentials), with its `Authorization`;
    /// errors name [`Hops::shown`].
    pub(super) async fn get(&self, hops: &Hops<'_>) -> Result<Answer> {
        let url = hops.shown();
        let bad = |e: &dyn std::fmt::Display| failure::failed(ErrorKind::InvalidInput, url, e);
        let uri: Uri = hops.url().parse().map_err(|e| bad(&e))?;
        let mut req = Request::new(Empty::new());
        req.headers_mut()
            .insert(UA, HeaderValue::from_static(USER_AGENT));
        if let Some(auth) = hops.auth() {
            req.headers_mut().insert(AUTHORIZATION, auth.clone());
        }
        if self.inner.http2 {
            let authority = uri.authority().ok_or_else(|| bad(&"no host"))?.clone();
            *req.uri_mut() = uri;
            // Each protocol's state in a box of its own: a call in flight holds only the
            // one it uses (HTTP/2: 0.9 KB; HTTP/1.1: 1.6 KB), not the larger of the two.
            return Box::pin(self.send_h2(authority.as_str(), req, hops)).await;
        }
        // HTTP/1.1 sends the path alone, and the host in its header. Parts of a parsed URI
        // share its bytes: no copy here.
        let mut parts = uri.into_parts();
        let authority = parts.authority.take().ok_or_else(|| bad(&"no host"))?;
        let mut path = hyper::http::uri::Parts::default();
        path.path_and_query = parts.path_and_query.take();
        *req.uri_mut() = Uri::from_parts(path).map_err(|e| bad(&e))?;
        Box::pin(self.send_h1(authority.as_str(), req, hops)).await
    }

    /// An idle HTTP/1.1 connection to `authority` if one is still open, and the `Host`
    /// header for it (made once per host).
    fn take_idle(
        &self,
        authority: &str,
    ) -> Result<(Option<http1::SendRequest<Body>>, HeaderValue)> {
        let mine = my_shard();
        let header = {
            let mut hosts = self.inner.shards[mine].lock();
            let host = host(&mut hosts, authority)?;
            if let Some(sender) = newest_open(&mut host.idle) {
                return Ok((Some(sender), host.host_header.clone()));
            }
            host.host_header.clone()
        };
        // None of this thread's: one another thread left idle, rather than a new dial.
        for (i, shard) in self.inner.shards.iter().enumerate() {
            if i == mine {
                continue;
            }
            let mut hosts = shard.lock();
            if let Some(host) = hosts.iter_mut().find(|h| h.authority == authority) {
                if let Some(sender) = newest_open(&mut host.idle) {
                    return Ok((Some(sender), header));
                }
            }
        }
        Ok((None, header))
    }

    fn put_idle(&self, authority: &str, sender: http1::SendRequest<Body>) {
        let mut hosts = self.inner.shards[my_shard()].lock();
        // The host was added to this shard when a call of this thread took or dialled.
        if let Some(host) = hosts.iter_mut().find(|h| h.authority == authority) {
            if host.idle.len() < self.inner.max_idle {
                host.idle.push(sender);
            }
        }
    }

    async fn dial(authority: &str, url: &str) -> Result<TokioIo<tokio::net::TcpStream>> {
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| connect_error(url, e))?;
        let _ = stream.set_nodelay(true);
        Ok(TokioIo::new(stream))
    }

    async fn send_h1(
        &self,
        authority: &str,
        mut req: Request<Body>,
        hops: &Hops<'_>,
    ) -> Result<Answer> {
        let url = hops.shown();
        let (idle, host) = self.take_idle(authority)?;
        req.headers_mut().insert(HOST, host);
        let (mut sender, reused) = match idle {
            Some(sender) => (sender, true),
            None => (Box::pin(self.dial_h1(authority, url)).await?, false),
        };
        let resp = match sender.try_send_request(req).await {
            Ok(resp) => resp,
            // An idle connection the server had just closed: the request never left, so
            // it is sent once more on a fresh connection.
            Err(mut e) if reused && e.message().is_some() => {
                let req = e.take_message().expect("checked");
                sender = Box::pin(self.dial_h1(authority, url)).await?;
                sender
                    .send_request(req)
                    .await
                    .map_err(|e| request_error(url, &e))?
            }
            Err(e) => return Err(request_error(url, e.error())),
        };
        let resp = read(resp, hops, self.inner.max_body).await?;
        if sender.is_ready() {
            self.put_idle(authority, sender);
        }
        Ok(resp)
    }

    async fn dial_h1(&self, authority: &str, url: &str) -> Result<http1::SendRequest<Body>> {
        let io = Direct::dial(authority, url).await?;
        // The read buffer's bound is also the head's: a head past it fails the call. The
        // line count is hyper's default, 100, the same as every backend's
        // (`MAX_RESPONSE_HEADER_LINES`): setting it would move hyper's parse onto the heap.
        let (sender, conn) = http1::Builder::new()
            .max_buf_size(MAX_RESPONSE_HEADERS)
            .handshake(io)
            .await
            .map_err(|e| connect_error(url, e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    async fn dial_h2(authority: &str, url: &str) -> Result<h2::client::SendRequest<Bytes>> {
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| connect_error(url, e))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = h2::client::Builder::new()
            .max_concurrent_reset_streams(usize::MAX)
            // hyper's windows: h2's own (64 KB for the whole connection) would make ten
            // thousand small answers queue behind each other, and the small-frame budget
            // that guards against floods is half the connection window.
            .initial_connection_window_size(5 * 1024 * 1024)
            .initial_window_size(2 * 1024 * 1024)
            // h2's own bound is 16 MiB of headers per answer.
            .max_header_list_size(MAX_RESPONSE_HEADERS as u32)
            .handshake(stream)
            .await
            .map_err(|e| connect_error(url, e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    async fn send_h2(
        &self,
        authority: &str,
        req: Request<Body>,
        hops: &Hops<'_>,
    ) -> Result<Answer> {
        let url = hops.shown();
        let slot = {
            let mut hosts = self.inner.shards[my_shard()].lock();
            host(&mut hosts, authority)?.h2.clone()
        };
        let fail = |e: h2::Error| {
            failure::not_http2(url, &e)
                .or_else(|| failure::broke_http2(url, &e))
                .unwrap_or_else(|| failure::failed(ErrorKind::Network, url, e))
        };
        // A connection found open is used; one found gone (the server closed it, or the
        // runtime that drove it has ended) is dialled again, once.
        let mut sender = None;
        for _ in 0..2 {
            let (found, dialled) = {
                // One dial however many calls arrive together: the others wait here.
                let mut conn = slot.lock().await;
                match conn.as_ref() {
                    Some(s) => (s.clone(), false),
                    None => {
                        // Boxed, as every dial: a cold path, kept out of each call's state.
                        let s = Box::pin(Direct::dial_h2(authority, url)).await?;
                        *conn = Some(s.clone());
                        (s, true)
                    }
                }
            };
            match found.ready().await {
                Ok(ready) => {
                    sender = Some(ready);
                    break;
                }
                Err(e) => {
                    *slot.lock().await = None;
                    if dialled {
                        return Err(fail(e));
                    }
                }
            }
        }
        let Some(mut sender) = sender else {
            return Err(failure::failed(
                ErrorKind::Network,
                url,
                "the connection closed",
            ));
        };
        // Until this call ends well, its connection is suspect (see `Suspect`).
        let mut suspect = Suspect {
            slot: &slot,
            cleared: false,
        };
        let (parts, _) = req.into_parts();
        let (response, _) = sender
            .send_request(Request::from_parts(parts, ()), true)
            .map_err(fail)?;
        let resp = response
            .await
            .map_err(|e| failure::refused_head(url, &e).unwrap_or_else(|| fail(e)))?;
        failure::check_head(url, resp.headers())?;
        let head = Head::new(resp.status().as_u16(), resp.headers());
        let mut body = Collect::of_status(
            &CLIENT_BODIES,
            self.inner.max_body,
            url,
            head.status,
            head.content_length,
        )?
        .watched(hops.progress());
        let mut stream = resp.into_body();
        while let Some(chunk) = body.within(stream.data()).await {
            let chunk = chunk.map_err(|e| {
                failure::broke_http2(url, &e).unwrap_or_else(|| failure::body_broke_off(url, e))
            })?;
            // Flow control: tell the server it may send as much again.
            let _ = stream.flow_control().release_capacity(chunk.len());
            body.push(chunk)?;
            if body.full() {
                // The rest of it still comes, on a stream now reset: the connection stays
                // suspect, and the next call dials a fresh one.
                return Ok((head.with_body(body.finish()), head.location));
            }
        }
        if body.full() {
            // An excerpt read for as long as one is: the stream is still open.
            return Ok((head.with_body(body.finish()), head.location));
        }
        suspect.cleared = true;
        Ok((head.with_body(body.finish()), head.location))
    }
}

/// A call's HTTP/2 connection, forgotten when the call does not end well on it: it failed,
/// its answer was cut short, or its future was dropped (its deadline passed, it was
/// cancelled). Such a connection may be stuck: a server flooding it with a stream's data,
/// or no longer reading it, would hold every later stream too, and a retry sent there
/// would time out having asked the server nothing (hp11 A-F7). Forgotten, it is not given
/// to new calls: the next one dials anew, while the streams still open on it finish.
struct Suspect<'a> {
    slot: &'a tokio::sync::Mutex<Option<h2::client::SendRequest<Bytes>>>,
    cleared: bool,
}

impl Drop for Suspect<'_> {
    fn drop(&mut self) {
        if !self.cleared {
            // Held only to dial or to copy the handle: if busy, a dial is under way.
            if let Ok(mut conn) = self.slot.try_lock() {
                *conn = None;
            }
        }
    }
}

/// The status, the headers the library uses, and the whole body (under `max_body`).
async fn read(
    resp: hyper::Response<hyper::body::Incoming>,
    hops: &Hops<'_>,
    max_body: u64,
) -> Result<Answer> {
    let url = hops.shown();
    failure::check_head(url, resp.headers())?;
    let head = Head::new(resp.status().as_u16(), resp.headers());
    let mut body = Collect::of_status(
        &CLIENT_BODIES,
        max_body,
        url,
        head.status,
        head.content_length,
    )?
    .watched(hops.progress());
    let mut incoming = resp.into_body();
    while let Some(frame) = body.within(incoming.frame()).await {
        let frame = frame.map_err(|e| {
            failure::refused_framing(url, &e).unwrap_or_else(|| failure::body_broke_off(url, e))
        })?;
        if let Ok(data) = frame.into_data() {
            body.push(data)?;
            if body.full() {
                break;
            }
        }
    }
    Ok((head.with_body(body.finish()), head.location))
}
