//! `serve --from DIR` within the server's memory bounds: a file a request would read is
//! charged to the answer budget before it is read (past the budget: 503, the file
//! unread), a list past its cap refuses the folder when it is opened, and list pages other
//! than the default one are not kept compressed.

use crate::common;
use crate::h2_client;

use std::path::Path;
use std::time::Duration;

use asyncdex::mirror::{Data, Mirror, MirrorConfig, ServeLimits, MAX_LIST_ENTRIES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

/// Generous for a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// Size of the big files: small for a test, large against the budget below.
const BIG: usize = 1 << 20;

/// A folder with a two-entry berry list: berry 1 a valid JSON body of [`BIG`] bytes,
/// berry 2 as many bytes that are not JSON.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let api = dir.path().join("data/api/v2/berry");
    for id in ["1", "2"] {
        std::fs::create_dir_all(api.join(id)).unwrap();
    }
    std::fs::write(
        api.join("index.json"),
        r#"{"count":2,"results":[{"name":"cheri","url":"/api/v2/berry/1/"},{"name":"chesto","url":"/api/v2/berry/2/"}]}"#,
    )
    .unwrap();
    let pad = "a".repeat(BIG);
    std::fs::write(
        api.join("1/index.json"),
        format!(r#"{{"id":1,"pad":"{pad}"}}"#),
    )
    .unwrap();
    std::fs::write(api.join("2/index.json"), "x".repeat(BIG)).unwrap();
    dir
}

/// The status line and headers of one HTTP/1.1 `GET` (`gzip` asked if `gzip`), and the
/// length of its body.
async fn get(addr: std::net::SocketAddr, path: &str, gzip: bool) -> (String, usize) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let accept = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n{accept}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .unwrap();
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    (head, answer.len() - end - 4)
}

/// The mirror's own counters.
async fn meta(addr: std::net::SocketAddr) -> serde_json::Value {
    let text = common::http1_get(addr, "/asyncdex/meta", PATIENCE).await;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).expect("meta is JSON")
}

/// A server of `data` with room for one big answer in flight, not two: its address, and
/// what stops it.
fn serve(
    data: Data,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<asyncdex::mirror::MirrorStats>>,
) {
    let limits = ServeLimits {
        answer_budget: BIG * 3 / 2,
        ..ServeLimits::default()
    };
    let listener = asyncdex::mirror::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(asyncdex::mirror::serve_limited(
        listener,
        MirrorConfig::default(),
        data,
        limits,
        async move {
            let _ = stopped.await;
        },
    ));
    (addr, stop, server)
}

/// Statuses of four requests for berry 1 from a client that asks and never reads (its
/// answers stay charged), and the answers held, to drop with the driver.
async fn held(
    addr: std::net::SocketAddr,
) -> (
    Vec<u16>,
    Vec<hyper::Response<h2::RecvStream>>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
) {
    let (send, driver) = h2_client::h2_that_reads_nothing(addr).await;
    let mut statuses = Vec::new();
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut send = send.clone().ready().await.unwrap();
        let req = hyper::Request::get("http://test/api/v2/berry/1/")
            .body(())
            .unwrap();
        let (answer, _) = send.send_request(req, true).unwrap();
        let answer = timeout(PATIENCE, answer).await.expect("headers").unwrap();
        statuses.push(answer.status().as_u16());
        held.push(answer);
    }
    (statuses, held, driver)
}

#[tokio::test]
async fn a_store_is_held_to_the_same_budget_as_a_folder() {
    let store = asyncdex::store::Store::open_in_memory().unwrap();
    let body = format!(r#"{{"id":1,"name":"cheri","pad":"{}"}}"#, "a".repeat(BIG));
    store
        .put(&[asyncdex::store::Row::new(
            "berry",
            1,
            Some("cheri".into()),
            body,
        )])
        .unwrap();
    let (addr, stop, server) = serve(Data::store(store).unwrap());
    let (statuses, answers, driver) = held(addr).await;
    assert_eq!(statuses, [200, 503, 503, 503], "one big answer fits");
    driver.abort();
    drop(answers);
    stop.send(()).unwrap();
    let stats = timeout(PATIENCE, server).await.unwrap().unwrap().unwrap();
    assert!(stats.over_budget >= 3, "{stats:?}");
}

#[tokio::test]
async fn past_the_budget_folder_files_are_refused_unread() {
    let dir = folder();
    let (addr, stop, server) = serve(Data::open(dir.path()).unwrap());
    let (statuses, held, driver) = held(addr).await;
    assert_eq!(statuses, [200, 503, 503, 503], "one big answer fits");
    let charged = meta(addr).await["answers_in_flight_bytes"]
        .as_u64()
        .unwrap();
    assert!(
        charged as usize >= BIG,
        "the unread answer is charged: {charged}"
    );
    // Sixteen at once for the file that is not JSON: had any been read and checked, it
    // would be a 500; refused before reading, each is a 503.
    let asked: Vec<_> = (0..16)
        .map(|_| tokio::spawn(get(addr, "/api/v2/berry/2/", false)))
        .collect();
    for answer in asked {
        let (head, _) = answer.await.unwrap();
        assert!(head.starts_with("http/1.1 503"), "{head}");
        assert!(head.contains("retry-after: 1"), "{head}");
    }
    // Once the reader goes, the budget is given back and both are served as they are.
    driver.abort();
    drop(held);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while meta(addr).await["answers_in_flight_bytes"].as_u64() != Some(0) {
        assert!(tokio::time::Instant::now() < deadline, "never given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (head, len) = get(addr, "/api/v2/berry/1/", false).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(len > BIG, "the whole body: {len}");
    let (head, _) = get(addr, "/api/v2/berry/2/", false).await;
    assert!(
        head.starts_with("http/1.1 500"),
        "damaged, once read: {head}"
    );
    stop.send(()).unwrap();
    let stats = timeout(PATIENCE, server).await.unwrap().unwrap().unwrap();
    assert!(stats.over_budget >= 19, "every refusal counted: {stats:?}");
}

/// Writes a berry list of `n` entries under `root`.
fn berry_list(root: &Path, n: usize) -> std::path::PathBuf {
    let api = root.join("data/api/v2/berry");
    std::fs::create_dir_all(&api).unwrap();
    let results: Vec<String> = (1..=n)
        .map(|id| format!(r#"{{"name":"b{id}","url":"/api/v2/berry/{id}/"}}"#))
        .collect();
    let index = api.join("index.json");
    std::fs::write(
        &index,
        format!(r#"{{"count":{n},"results":[{}]}}"#, results.join(",")),
    )
    .unwrap();
    index
}

#[test]
fn a_list_past_its_cap_refuses_the_folder_in_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let index = berry_list(dir.path(), MAX_LIST_ENTRIES + 1);
    let e = Data::dir(dir.path()).unwrap_err().to_string();
    assert!(!e.contains('\n'), "one line: {e}");
    let name = index.canonicalize().unwrap();
    assert!(
        e.contains(&name.display().to_string()),
        "names the file: {e}"
    );
    assert!(
        e.contains(&format!("more than {MAX_LIST_ENTRIES} entries")),
        "{e}"
    );
    // At the cap, it is served.
    berry_list(dir.path(), MAX_LIST_ENTRIES);
    let data = Data::dir(dir.path()).unwrap();
    assert!(
        data.describe().contains("100000 resources"),
        "{}",
        data.describe()
    );
}

/// A store is held to a folder's bounds too (hp9 B-F2): one endpoint past
/// [`MAX_LIST_ENTRIES`] refuses it in one line naming it, having read one entry too many
/// at most.
#[test]
fn a_store_past_a_lists_cap_is_refused_as_a_folder_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.db");
    let store = asyncdex::store::Store::open(&path).unwrap();
    let rows: Vec<_> = (1..=MAX_LIST_ENTRIES as i32)
        .map(|id| asyncdex::store::Row::new("berry", id, None, format!(r#"{{"id":{id}}}"#)))
        .collect();
    store.put(&rows).unwrap();
    let data = Data::store(store.clone()).unwrap();
    assert!(
        data.describe().contains("100000 resources"),
        "{}",
        data.describe()
    );
    let past = MAX_LIST_ENTRIES as i32 + 1;
    store
        .put(&[asyncdex::store::Row::new(
            "berry",
            past,
            None,
            format!(r#"{{"id":{past}}}"#),
        )])
        .unwrap();
    // Nor is it exported as a folder `serve --from` would refuse (hp10 B-F8).
    let site = dir.path().join("site");
    let e = asyncdex::export::export(&store, &site)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("more than {MAX_LIST_ENTRIES} resources of berry")),
        "{e}"
    );
    assert!(!site.exists(), "a half export was left");
    let e = Data::store(store).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "cannot serve store {}: it holds more than {MAX_LIST_ENTRIES} resources of berry (the most a list may have)",
            path.display()
        )
    );
}

#[tokio::test]
async fn list_pages_cycling_limit_do_not_grow_the_gzip_cache() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let kept = |m: serde_json::Value| m["gzip_kept_bytes"].as_u64().unwrap();
    let (head, _) = get(mirror.addr(), "/api/v2/berry/", true).await;
    assert!(head.contains("content-encoding: gzip"), "{head}");
    let first = kept(meta(mirror.addr()).await);
    assert!(first > 0, "the default page is kept");
    for limit in 21..61 {
        let path = format!("/api/v2/berry/?limit={limit}&offset={}", limit % 7);
        let (head, len) = get(mirror.addr(), &path, true).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("content-encoding: gzip") && len > 0, "{head}");
    }
    assert_eq!(kept(meta(mirror.addr()).await), first, "no page kept");
    get(mirror.addr(), "/api/v2/berry/1/", true).await;
    assert!(
        kept(meta(mirror.addr()).await) > first,
        "resources are kept"
    );
    mirror.stop().await;
}
