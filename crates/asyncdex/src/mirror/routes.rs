//! The mirror's routes: `fn app(state) -> Router`, testable with `tower::ServiceExt::oneshot`.
//!
//! As PokeAPI: `/api/v2/` (the root index), `/api/v2/{endpoint}/` (a list, paged with
//! `limit` and `offset`, 20 by default, with absolute `next` and `previous`),
//! `/api/v2/{endpoint}/{id or name}/` (a resource; names in any case; with or without the
//! trailing slash), `/api/v2/pokemon/{id}/encounters` and `/api/v2/meta` (the deploy
//! stamp). Every link points at the mirror itself. A request asking for gzip gets it. The
//! mirror's own counters (requests, faults injected) are at `/asyncdex/meta`, outside
//! PokeAPI's paths.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;

use super::data::{Loaded, Stored};
use super::page::{ListQuery, Page};
use super::{gzip, Fault, MirrorState};
use crate::store::{rebase, rebased_len};

const CACHE_CONTROL: &str = "public, max-age=86400, s-maxage=86400";

/// The mirror's router over shared `state`.
pub fn app(state: Arc<MirrorState>) -> Router {
    Router::new()
        .route("/api/v2", get(root))
        .route("/api/v2/", get(root))
        .route("/api/v2/{*path}", get(dispatch))
        .route("/asyncdex/meta", get(stats))
        .fallback(|| async { bad_request() })
        .layer(middleware::from_fn(super::share::gate))
        .layer(middleware::from_fn_with_state(state.clone(), inject_faults))
        .layer(middleware::from_fn_with_state(state.clone(), latency))
        .layer(middleware::from_fn_with_state(state.clone(), capacity))
        .with_state(state)
}

/// Holds a place for the request while it is served (its latency included), when the
/// mirror has a capacity: waits in the queue for one, or is turned away with 503 and
/// `Retry-After: 1` when the queue is full. The mirror's own counters are never held up.
async fn capacity(State(state): State<Arc<MirrorState>>, req: Request, next: Next) -> Response {
    let Some(gate) = &state.gate else {
        return next.run(req).await;
    };
    if !req.uri().path().starts_with("/api/v2") {
        return next.run(req).await;
    }
    match gate.enter().await {
        Some(_place) => next.run(req).await,
        None => unavailable(),
    }
}

/// Answers after the simulated latency (a timer: no thread is blocked). While few requests
/// wait, each answer is made while its timer runs, as a real server works while the
/// network carries the request: a request costs `max(latency, the work)`, not their sum,
/// so twenty large bodies asked at once are all ready when their latency is up. An answer
/// made early is held until it is due, so only [`EARLY`] are made early at once; the rest
/// are made when due, and ten thousand requests in flight hold ten thousand timers, not ten
/// thousand bodies.
async fn latency(State(state): State<Arc<MirrorState>>, req: Request, next: Next) -> Response {
    let n = state.requests.fetch_add(1, Ordering::Relaxed);
    let delay = state.config.delay_for(n);
    if delay.is_zero() {
        return next.run(req).await;
    }
    let due = tokio::time::Instant::now() + delay;
    let waiting = Waiting::enter(&state.early);
    // A mirror that is stopping answers the waiting at once: a latency of an hour must not
    // hold a graceful shutdown for an hour.
    let stopping = state.shutdown.clone();
    let wait = async move {
        if waiting.0 < EARLY {
            let response = next.run(req).await;
            tokio::time::sleep_until(due).await;
            response
        } else {
            tokio::time::sleep_until(due).await;
            next.run(req).await
        }
    };
    tokio::select! {
        response = wait => response,
        _ = stopping.cancelled() => plain(StatusCode::SERVICE_UNAVAILABLE, "the mirror is stopping\n"),
    }
}

/// Counts a request among those waiting, until it is answered or dropped (a client that
/// hangs up mid-wait is counted out too).
struct Waiting<'a>(usize, &'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(count: &'a std::sync::atomic::AtomicUsize) -> Waiting<'a> {
        Waiting(count.fetch_add(1, Ordering::Relaxed), count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.1.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Most answers made ahead of their latency at once (each holds its body until due: 64
/// of PokeAPI's largest, ~500 KB, are 32 MB).
pub const EARLY: usize = 64;

/// Misbehaves as configured (the answer, good or bad, still comes after the latency).
async fn inject_faults(
    State(state): State<Arc<MirrorState>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if !path.starts_with("/api/v2") {
        return next.run(req).await;
    }
    let Some(fault) = state.faults.next(&state.config.faults, path) else {
        return next.run(req).await;
    };
    match fault {
        Fault::Fail(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            plain(status, status.canonical_reason().unwrap_or("Server Error"))
        }
        Fault::Throttle => {
            let secs = state.config.faults.retry_after_secs;
            let body = serde_json::json!({
                "detail": format!("Request was throttled. Expected available in {secs} seconds.")
            });
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (header::CONTENT_TYPE, "application/json".to_owned()),
                    (header::RETRY_AFTER, secs.to_string()),
                ],
                body.to_string(),
            )
                .into_response()
        }
        Fault::Stall => {
            state.shutdown.cancelled().await;
            plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
        Fault::Truncate => {
            let (mut parts, body) = next.run(req).await.into_parts();
            let full = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let half = full.slice(..full.len() / 2);
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
            let cut = futures::stream::iter([Ok::<_, std::io::Error>(half)]);
            Response::from_parts(parts, Body::from_stream(cut))
        }
        Fault::Reset => {
            let broken = futures::stream::iter([Err::<Bytes, _>(std::io::Error::other("reset"))]);
            Response::new(Body::from_stream(broken))
        }
    }
}

async fn root(State(state): State<Arc<MirrorState>>, req: Request) -> Response {
    let body = match state.data.root() {
        Some(stored) => Bytes::from_static(stored),
        None => {
            // A store or a folder: the index made from its lists, links relative.
            let map: serde_json::Map<String, serde_json::Value> = state
                .data
                .endpoints()
                .iter()
                .map(|r| (r.clone(), format!("{API}/{r}/").into()))
                .collect();
            serde_json::to_vec(&map).expect("map serializes").into()
        }
    };
    let Some(charge) = state.budget.reserve(body.len()) else {
        return unavailable();
    };
    state.answer(req.headers(), ".", Loaded { body, charge }, true)
}

/// The root of every relative link in stored bodies.
const API: &str = "/api/v2";

async fn dispatch(
    State(state): State<Arc<MirrorState>>,
    Query(query): Query<ListQuery>,
    req: Request,
) -> Response {
    // Use the raw path: percent-encoded slashes or dots never become path structure.
    let path = req.uri().path().trim_start_matches("/api/v2/");
    let path = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let headers = req.headers();
    let lists = state.data.lists();
    match segments[..] {
        ["meta"] => {
            let found = state.data.meta(&state.budget).await;
            stored(&state, headers, "meta", found)
        }
        [resource] => match lists.get(resource) {
            Some(listing) => {
                let page = Page::asked(&query);
                // Charged before it is rendered, as a body is before it is loaded.
                let Some(charge) = state.budget.reserve(page.estimate(resource, listing)) else {
                    return unavailable();
                };
                let estimate = page.estimate(resource, listing);
                let body = heavy(estimate, || page.render(resource, listing)).into();
                let loaded = Loaded { body, charge };
                state.answer(headers, &page.key(resource), loaded, page.is_default())
            }
            None => bad_request(),
        },
        [resource, key] if !key.is_empty() => match lists.get(resource) {
            Some(listing) => match listing.resolve(key) {
                Some(id) => {
                    let found = state.data.read(resource, id, &state.budget).await;
                    stored(&state, headers, &format!("{resource}/{id}"), found)
                }
                None => not_found(),
            },
            None => bad_request(),
        },
        ["pokemon", key, "encounters"] => match lists.get("pokemon").and_then(|l| l.resolve(key)) {
            Some(id) => {
                let found = state.data.encounters(id, &state.budget).await;
                stored(&state, headers, &format!("pokemon/{id}/encounters"), found)
            }
            None => not_found(),
        },
        _ => bad_request(),
    }
}

/// A stored body's answer: 200 with it, 404 if it is not there, 500 naming the damage if
/// it cannot be served as it should be (never a 200 of garbage), 503 if loading it would
/// go over the server's answer budget.
fn stored(state: &MirrorState, headers: &HeaderMap, key: &str, found: Stored) -> Response {
    match found {
        Stored::Missing => not_found(),
        Stored::Found(body) => state.answer(headers, key, body, true),
        Stored::OverBudget => unavailable(),
        Stored::Failed(e) => {
            tracing::error!("mirror: cannot serve {key}: {e}");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

impl MirrorState {
    /// A JSON answer: `loaded`'s relative links made absolute to this mirror, compressed
    /// if the client asks for gzip (once per `key` and body, then kept, if `keep`: list
    /// pages other than the default one are not, or a client cycling `limit` would fill
    /// the cache with pages no one asks twice; a body changed in the source is compressed
    /// again, see `gzip`). The answer's bytes are charged to the budget before they
    /// are made, on top of the body they are made from: `503` if they do not fit.
    fn answer(&self, headers: &HeaderMap, key: &str, loaded: Loaded, keep: bool) -> Response {
        let Loaded { body, mut charge } = loaded;
        if !charge.grow(rebased_len(&body, &self.base)) {
            return unavailable();
        }
        let gzip = gzip::accepts_gzip(headers);
        let packed = heavy(body.len(), || {
            let body = {
                let loaded = body;
                rebase(&loaded, &self.base)
            }; // the body it was made from is given back here: the charge covers the answer
            match (gzip, keep) {
                (false, _) => charge.hold(Vec::from(body)),
                (true, false) => charge.hold(gzip::compress(&body)),
                (true, true) => match self.gzip.get(key, &body) {
                    // Kept: the cache's budget holds it, not this answer's.
                    (kept, gzip::Kept::Yes) => kept,
                    (own, gzip::Kept::No) => charge.hold(Vec::from(own)),
                },
            }
        });
        // Charged to the server's budget (or kept) until the last of it is written or
        // dropped.
        let mut response = json(packed);
        let h = response.headers_mut();
        if gzip {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        response
    }
}

/// Bodies from this size on are made (rendered, rebased, compressed: tens of
/// milliseconds and more) with the runtime told, so that the worker's other requests move
/// to another thread meanwhile: eight 100 000-entry pages made at once held up a
/// one-entry page behind them for over a second on two cores. PokeAPI's own bodies are all
/// smaller, and made in place.
const HEAVY: usize = 1 << 20;

/// `make()`, for a body of about `len` bytes: through [`tokio::task::block_in_place`] when
/// it is [`HEAVY`] and the runtime has other workers to hand this one's tasks to.
fn heavy<T>(len: usize, make: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let many =
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if len >= HEAVY && many {
        tokio::task::block_in_place(make)
    } else {
        make()
    }
}

/// The mirror's own counters: what it serves, its latency, requests, faults injected.
async fn stats(State(state): State<Arc<MirrorState>>) -> Response {
    let c = &state.config;
    let body = serde_json::json!({
        "server": "asyncdex mirror",
        "version": env!("CARGO_PKG_VERSION"),
        "served": state.data.describe(),
        "counts": state.data.lists().iter()
            .map(|(r, l)| (r.as_str(), l.entries.len()))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "latency_ms": millis(c.latency),
        "jitter_ms": millis(c.jitter),
        "tail": { "rate": c.tail.rate, "ms": millis(c.tail.extra) },
        "seed": c.seed,
        "requests": state.requests.load(Ordering::Relaxed),
        "gzip_kept_bytes": state.gzip.used(),
        "answers_in_flight_bytes": state.budget.charged(),
        "over_budget": state.budget.refused(),
        "stalled_connections_dropped": state.stalled.load(Ordering::Relaxed),
        "connections_crowded_out": state.crowded_out.load(Ordering::Relaxed),
        "capacity": state.config.capacity.map(|c| serde_json::json!({
            "servers": c.servers,
            "queue": c.queue,
            "stats": state.gate.as_ref().map(|g| g.stats()),
        })),
        "faults": Fault::NAMES.iter().zip(state.faults.counts().0)
            .map(|(name, n)| (*name, n))
            .collect::<std::collections::BTreeMap<_, _>>(),
    });
    json(body.to_string())
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn json(body: impl Into<Body>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            ),
        ],
        body.into(),
    )
        .into_response()
}

/// `503` with `Retry-After: 1`: the answer of a server that is full (its queue, or the
/// bytes of answers in flight), asking to come back in a second.
pub(super) fn unavailable() -> Response {
    let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "Not Found")
}

fn bad_request() -> Response {
    plain(StatusCode::BAD_REQUEST, "Bad Request")
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}
