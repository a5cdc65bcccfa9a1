//! The list read a drawing command makes first (`pokemon/?limit=100000`) is retried as
//! any other call: a server's `Retry-After` is waited, capped at `--max-retry-after` (and
//! the cap said), and the error line says the attempts.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::binary::{asyncdex, text, THROTTLED_FOR_AGES};

/// A 429 asking for a wait of one second.
const THROTTLED_FOR_A_SECOND: &str = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";

/// A server answering every request `answer`, at most 16 of them; its address and when
/// each request came.
fn throttling(answer: &'static str) -> (String, Arc<Mutex<Vec<Instant>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = format!("http://{}/api/v2", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().take(16).flatten() {
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut line).is_err() || !line.contains("/pokemon/?limit=") {
                continue;
            }
            log.lock().unwrap().push(Instant::now());
            while line != "\r\n" && !line.is_empty() {
                line.clear();
                if reader.read_line(&mut line).is_err() {
                    break;
                }
            }
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (api, seen)
}

/// Each drawing command, its list read made against `api` with one retry.
fn commands(api: &str) -> Vec<Vec<String>> {
    [
        "names 5 --mode async",
        "names 5 --mode sequential",
        "stream 5",
        "bench --sizes 5 --modes async",
        "bench --concurrencies 1,2 --sizes 5",
    ]
    .iter()
    .map(|c| {
        let mut args: Vec<String> = c.split(' ').map(String::from).collect();
        args.extend(["--retries", "1", "--api", api].map(String::from));
        args
    })
    .collect()
}

#[test]
fn the_list_read_waits_the_retry_after_and_says_its_attempts() {
    let mut problems = Vec::new();
    for args in commands("API") {
        let (api, seen) = throttling(THROTTLED_FOR_A_SECOND);
        let args: Vec<&str> = args
            .iter()
            .map(|a| if a == "API" { api.as_str() } else { a })
            .collect();
        let out = asyncdex(&args);
        let err = text(&out.stderr);
        let seen = seen.lock().unwrap().clone();
        let what = args[..3].join(" ");
        if out.status.code() != Some(1) {
            problems.push(format!("{what}: exit {:?}: {err}", out.status.code()));
        }
        if seen.len() != 2 {
            problems.push(format!("{what}: {} list requests, not 2", seen.len()));
        } else if seen[1] - seen[0] < Duration::from_millis(900) {
            problems.push(format!(
                "{what}: retried after {:?}, not the 1 s asked for",
                seen[1] - seen[0]
            ));
        }
        if !err.contains("cannot list the Pokémon to draw from (2 attempts)") {
            problems.push(format!(
                "{what}: the error does not say its attempts: {err}"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_list_reads_wait_for_ages_is_capped_and_the_cap_said() {
    let mut problems = Vec::new();
    for args in commands("API") {
        let (api, seen) = throttling(THROTTLED_FOR_AGES);
        let mut args: Vec<&str> = args
            .iter()
            .map(|a| if a == "API" { api.as_str() } else { a })
            .collect();
        args.extend(["--max-retry-after", "1"]);
        let started = Instant::now();
        let out = asyncdex(&args);
        let took = started.elapsed();
        let err = text(&out.stderr);
        let what = args[..3].join(" ");
        let seen = seen.lock().unwrap().len();
        if seen != 2 || took < Duration::from_millis(900) || took > Duration::from_secs(20) {
            problems.push(format!("{what}: {seen} list requests in {took:?}"));
        }
        if !err.contains(
            "a server asked to wait 99999999999 s before a retry; waited 1 s instead (at most --max-retry-after)",
        ) {
            problems.push(format!("{what}: the cap is not said: {err}"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
