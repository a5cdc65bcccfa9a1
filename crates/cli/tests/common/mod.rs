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

pub mod binary;
pub mod crawl;
