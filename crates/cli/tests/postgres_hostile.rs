//! PostgreSQL URLs and servers as an attacker writes them: a fake server on 127.0.0.1 that
//! answers the startup with a 2 GiB message, URLs with bad percent-encoding or several
//! hosts, and the password given the libpq way (`PGPASSWORD`), never in `ps`. Each
//! refusal is one line, exit 1 (or 2 for a bad URL), and never shows the password.
//!
//! The fake-server and URL tests need no PostgreSQL; the `PGPASSWORD` one makes a
//! database of its own on `ASYNCDEX_POSTGRES_URL`'s server, and skips without one.

use crate::common;
use crate::pg;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::pg::Scratch;
use common::binary::{asyncdex, problems, text, Case};

/// What the fake server tries to send after its lying header, at most.
const JUNK: u64 = 256 << 20;

/// A server on 127.0.0.1 that answers with a message claiming 2 GiB, then sends junk as
/// fast as the client reads it (up to [`JUNK`]): at once (an authentication message), or,
/// when it lets the client log in, in answer to its first query (a row description).
struct Liar {
    port: u16,
    /// The most bytes one connection took before the client hung up.
    most_sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Liar {
    fn start(login: bool) -> Liar {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let most_sent = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (sent, stopping) = (most_sent.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut handlers = Vec::new();
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((socket, _)) => {
                        let sent = sent.clone();
                        handlers.push(std::thread::spawn(move || lie(socket, login, &sent)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            for h in handlers {
                let _ = h.join();
            }
        });
        Liar {
            port,
            most_sent,
            stop,
            thread: Some(thread),
        }
    }
}

fn lie(mut socket: TcpStream, login: bool, most_sent: &AtomicU64) {
    socket.set_nonblocking(false).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut startup = [0u8; 1024];
    let _ = socket.read(&mut startup);
    let mut kind = b'R'; // authentication
    if login {
        // AuthenticationOk, ReadyForQuery (idle); then the first query.
        let ok = [b'R', 0, 0, 0, 8, 0, 0, 0, 0, b'Z', 0, 0, 0, 5, b'I'];
        if socket.write_all(&ok).is_err() || socket.read(&mut startup).is_err() {
            return;
        }
        kind = b'T'; // a row description
    }
    // Length 0x7fff_fff0: "2 GiB follow".
    let mut sent = 0u64;
    if socket.write_all(&[kind, 0x7f, 0xff, 0xff, 0xf0]).is_ok() {
        let chunk = vec![b'x'; 1 << 20];
        while sent < JUNK && socket.write_all(&chunk).is_ok() {
            sent += chunk.len() as u64;
        }
    }
    most_sent.fetch_max(sent, Ordering::Relaxed);
}

impl Drop for Liar {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Every command that reads PostgreSQL, against a [`Liar`]: one line naming the lie, exit
/// 1, and a client that hung up at the header.
fn refused_at_the_header(login: bool, kind: char) {
    let liar = Liar::start(login);
    let url = format!("postgres://u:hunter2@127.0.0.1:{}/crawl", liar.port);
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("export");
    let to = to.to_str().unwrap();
    let needle = format!("is not speaking PostgreSQL's protocol: the server sent a message (type {kind:?}) of 2147483632 bytes, more than the 128 MiB a message may have");
    let needle = needle.as_str();
    let cases = [
        Case::fails(
            "crawl --out",
            &["crawl", "--out", &url, "--resources", "type"],
            needle,
        ),
        Case::fails(
            "crawl --status",
            &["crawl", "--status", "--out", &url],
            needle,
        ),
        Case::fails(
            "serve --from",
            &["serve", "--from", &url, "--bind", "127.0.0.1:0"],
            needle,
        ),
        Case::fails(
            "export --from",
            &["export", "--from", &url, "--to", to],
            needle,
        ),
    ];
    let mut found = Vec::new();
    for case in cases {
        let case = case.in_one_line();
        let started = Instant::now();
        let out = asyncdex(&case.args);
        found.extend(problems(&case, &out));
        let stderr = text(&out.stderr);
        if stderr.contains("hunter2") {
            found.push(format!("{}: the password is shown: {stderr}", case.what));
        }
        if started.elapsed() > Duration::from_secs(30) {
            found.push(format!("{}: took {:?}", case.what, started.elapsed()));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
    // The client hung up at the header: it took what the sockets buffer, never the
    // 256 MiB the server had for it (a client that trusted the length reads all of it).
    let most = liar.most_sent.load(Ordering::Relaxed);
    assert!(most < 32 << 20, "a client read {most} bytes of the lie");
    assert!(!std::path::Path::new(to).exists(), "export wrote nothing");
}

#[test]
fn a_server_claiming_a_2_gib_message_is_refused_at_its_header_in_one_line() {
    refused_at_the_header(false, 'R');
}

#[test]
fn a_server_answering_a_query_with_a_2_gib_message_is_refused_at_its_header() {
    refused_at_the_header(true, 'T');
}

#[test]
fn urls_with_bad_percent_encoding_several_hosts_or_a_bad_connect_timeout_are_refused_in_one_line() {
    let cases = [
        Case::usage(
            "a bad escape in the password",
            &["crawl", "--out", "postgres://u:hunter2%zz@127.0.0.1:1/db"],
            "its password holds a % not followed by two hex digits (a literal % is written %25)",
        ),
        Case::usage(
            "a % at the end",
            &["serve", "--from", "postgres://u:hunter2@127.0.0.1:1/db%"],
            "its database name ends with a lone %",
        ),
        Case::usage(
            "a bad escape in the user",
            &[
                "crawl",
                "--status",
                "--out",
                "postgres://u%2:hunter2@127.0.0.1:1/db",
            ],
            "its user name holds a %",
        ),
        Case::usage(
            "two hosts",
            &[
                "crawl",
                "--out",
                "postgres://u:hunter2@10.0.0.1,10.0.0.2/db",
            ],
            "it names 2 hosts (10.0.0.1, 10.0.0.2); asyncdex works against one server",
        ),
        Case::usage(
            "hosts in the query",
            &[
                "export",
                "--from",
                "postgres://u:hunter2@127.0.0.1:1/db?host=a,b",
                "--to",
                "x",
            ],
            "asyncdex works against one server",
        ),
        Case::usage(
            "a password parameter with a TLS demand",
            &[
                "crawl",
                "--out",
                "postgres://u@127.0.0.1:1/db?password=hunter2&sslmode=require",
            ],
            "it requires TLS",
        ),
        Case::usage(
            "connect_timeout 0 (libpq's wait forever)",
            &[
                "crawl",
                "--out",
                "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=0",
            ],
            "its connect_timeout is \"0\": give whole seconds from 1 to 300 (libpq reads 0 or less as wait forever",
        ),
        Case::usage(
            "connect_timeout past its bound",
            &[
                "serve",
                "--from",
                "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=99999999999",
            ],
            "its connect_timeout is \"99999999999\": give whole seconds from 1 to 300",
        ),
        Case::usage(
            "connect_timeout not a number",
            &[
                "crawl",
                "--status",
                "--out",
                "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=-1x",
            ],
            "its connect_timeout is \"-1x\"",
        ),
        // Port 1 of the IPv6 loopback: nothing listens; the host keeps its brackets.
        Case::fails(
            "an IPv6 host",
            &["crawl", "--out", "postgres://u:hunter2@[::1]:1/db"],
            "error: cannot connect to postgres://u@[::1]:1/db: ",
        )
        .in_one_line(),
    ];
    let found = pg::refusals(&cases, "hunter2");
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn postgres_a_url_without_a_password_takes_pgpassword() {
    let test = "postgres_a_url_without_a_password_takes_pgpassword";
    let Some(db) = Scratch::for_test(test) else {
        return;
    };
    let (head, tail) = db.url().split_once('@').unwrap();
    let (user, password) = head.rsplit_once(':').unwrap();
    let bare = format!("{user}@{tail}");
    let rt = pg::rt();
    let mirror = rt.block_on(Mirror::start(MirrorConfig::default())).unwrap();
    let crawl = |password: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_asyncdex"));
        command
            .args(["crawl", "--out", &bare, "--api", mirror.base_url()])
            .args(["--resources", "type", "--json"])
            .env_remove("RUST_LOG")
            .env_remove("PGPASSWORD");
        if let Some(p) = password {
            command.env("PGPASSWORD", p);
        }
        command.output().unwrap()
    };
    let out = crawl(Some(password));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["complete"], true, "{manifest}");
    assert!(!stderr.contains(password) && !text(&out.stdout).contains(password));

    let out = crawl(Some("not-the-password"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-password"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let out = crawl(None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: cannot connect to "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    rt.block_on(mirror.stop());
}
