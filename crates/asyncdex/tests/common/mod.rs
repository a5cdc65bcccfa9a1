//! Helpers shared by the integration tests: tiny misbehaving servers on 127.0.0.1.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

/// A server on 127.0.0.1 that answers every request with `response` (raw HTTP), after
/// `delay`. Runs on a background thread for at most `max` connections.
pub fn fixed_server(response: &'static str, delay: Duration, max: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                std::thread::sleep(delay);
                let _ = stream.write_all(response.as_bytes());
            });
        }
    });
    format!("http://{addr}/api/v2")
}

/// An HTML page where JSON was expected.
pub const HTML: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 22\r\nConnection: close\r\n\r\n<html>not json</html>\n";

/// A URL on which nothing listens (the port was bound, then released).
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/api/v2")
}

/// Sends `signal` (`"INT"`, `"TERM"`) to process `pid`, as a user's Ctrl-C or `kill` would.
pub fn signal(pid: u32, signal: &str) {
    let sent = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal} {pid} failed");
}

/// The head of a request as a server read it: request line and headers.
pub struct Request {
    /// Everything up to the blank line.
    pub head: String,
}

impl Request {
    /// The request target of the request line (`/api/v2/pokemon/1/`).
    pub fn path(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or("")
    }

    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A server on 127.0.0.1 that reads each request's head and lets `answer` write to the
/// connection (then closes it). At most `max` connections, each on a thread of its own;
/// returns `http://addr`.
pub fn serve(
    max: usize,
    answer: impl Fn(&Request, &mut std::net::TcpStream) + Send + Sync + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let request = Request {
                    head: String::from_utf8_lossy(&head).into_owned(),
                };
                answer(&request, &mut stream);
            });
        }
    });
    format!("http://{addr}")
}

/// A whole answer with `status`, extra header lines and `body`, closing the connection.
pub fn respond(stream: &mut std::net::TcpStream, status: &str, headers: &str, body: &str) {
    let text = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(text.as_bytes());
}

/// Every backend, as the tests drive them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    /// ureq, called on a blocking thread.
    Blocking,
    /// `Native` on a plain-http URL: the direct hyper/h2 path.
    Direct,
    /// `Native` with every URL through reqwest (the path `https://` takes).
    Reqwest,
    /// ureq on an offload pool.
    Offloaded,
}

/// All four.
pub const BACKENDS: [Backend; 4] = [
    Backend::Blocking,
    Backend::Direct,
    Backend::Reqwest,
    Backend::Offloaded,
];

/// An async transport for any backend (the blocking one through an offload pool).
#[derive(Clone)]
pub enum AnyTransport {
    /// Direct or reqwest.
    Native(asyncdex::http::Native),
    /// Blocking, offloaded.
    Offloaded(asyncdex::http::Offloaded<asyncdex::http::Blocking>),
}

impl AnyTransport {
    /// `backend` with `options` (`Blocking` is offloaded, as async code would use it).
    pub fn new(backend: Backend, options: &asyncdex::http::HttpOptions) -> AnyTransport {
        use asyncdex::http::{Blocking, Native, Offloaded};
        match backend {
            Backend::Direct => AnyTransport::Native(Native::new(options).unwrap()),
            Backend::Reqwest => AnyTransport::Native(Native::through_reqwest(options).unwrap()),
            Backend::Blocking | Backend::Offloaded => AnyTransport::Offloaded(Offloaded::new(
                Blocking::new(options),
                asyncdex_engine::offload::Pool::new("hostile", 2),
            )),
        }
    }
}

impl asyncdex::http::Transport for AnyTransport {
    async fn get(&self, url: &str) -> asyncdex::Result<asyncdex::http::Response> {
        match self {
            AnyTransport::Native(t) => t.get(url).await,
            AnyTransport::Offloaded(t) => t.get(url).await,
        }
    }
}

/// One GET of `url` on `backend` with `options` (`Blocking` on a blocking thread).
pub async fn fetch(
    backend: Backend,
    options: &asyncdex::http::HttpOptions,
    url: &str,
) -> asyncdex::Result<asyncdex::http::Response> {
    use asyncdex::http::{BlockingTransport, Transport};
    if backend == Backend::Blocking {
        let (client, url) = (asyncdex::http::Blocking::new(options), url.to_owned());
        return tokio::task::spawn_blocking(move || client.get(&url))
            .await
            .unwrap();
    }
    AnyTransport::new(backend, options).get(url).await
}

/// One `GET path` on a fresh HTTP/1.1 connection to `addr` (`Connection: close`), read
/// to the end within `patience`: the whole answer, status line, headers and body.
pub async fn http1_get(addr: std::net::SocketAddr, path: &str, patience: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(patience, stream.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Every entry under `dir`, sorted, relative to it: a folder as `name/` (no bytes), a
/// symbolic link as its target, a file as its bytes. Two calls compare equal when the
/// tree is as it was.
pub fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(folder) = todo.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                found.push((format!("{name}/"), Vec::new()));
                todo.push(path);
            } else if meta.is_symlink() {
                let to = std::fs::read_link(&path).unwrap();
                found.push((name, to.display().to_string().into_bytes()));
            } else {
                found.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}
