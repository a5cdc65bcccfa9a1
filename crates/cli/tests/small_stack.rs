//! On a small main-thread stack (`ulimit -s`), deep input is refused with one `error:`
//! line, never a stack-overflow abort (exit 134): a program file nested as deep as TOML
//! lets through, and a JSON body nested deeper than a resource ever is.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::binary::text;

/// Runs the binary with `args` under `ulimit -s <kib>`.
fn under(kib: u32, args: &str) -> Output {
    Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -s {kib} || exit 99; exec \"$ASYNCDEX\" {args}"
        ))
        .env("ASYNCDEX", env!("CARGO_BIN_EXE_asyncdex"))
        .env_remove("RUST_LOG")
        .output()
        .expect("bash runs")
}

/// The smallest stack, from 128 KiB up, on which a flat program runs (a debug build's own
/// frames need more than a release build's, and the tests are about what deep input
/// adds), and the folder it wrote the program in; `None` if there is none, or `ulimit -s`
/// cannot be set.
fn smallest_stack() -> Option<(tempfile::TempDir, u32)> {
    let dir = tempfile::tempdir().unwrap();
    let flat = dir.path().join("flat.toml");
    std::fs::write(&flat, "[[steps]]\nwait_ms = 1\n").unwrap();
    let args = format!("program {}", flat.display());
    let kib = [128, 256, 512, 1024, 2048]
        .into_iter()
        .find(|&kib| under(kib, &args).status.code() == Some(0));
    if kib.is_none() {
        eprintln!("skipped: ulimit -s cannot be set, or no small stack runs a flat program");
    }
    kib.map(|kib| (dir, kib))
}

/// About the deepest nesting `toml` lets through: `headers` levels of
/// `[[steps.sequence…]]` tables, then `inline` levels of `{ sequence = [ … ] }`.
fn nested(headers: usize, inline: usize) -> String {
    let mut text = String::from("name = \"deep\"\n");
    for level in 0..headers {
        text += &format!("[[steps{}]]\n", ".sequence".repeat(level));
    }
    text += &format!(
        "sequence = [ {}{{ wait_ms = 1 }}{} ]\n",
        "{ sequence = [ ".repeat(inline),
        " ] }".repeat(inline)
    );
    text
}

fn one_error_line(out: &Output, what: &str) -> String {
    let stderr = text(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{what}: one error line, got {stderr}");
    assert!(!stderr.contains("overflow"), "{what}: {stderr}");
    errors[0].to_owned()
}

#[test]
fn a_deeply_nested_program_is_refused_on_a_small_stack() {
    let Some((dir, kib)) = smallest_stack() else {
        return;
    };
    for (name, body) in [
        ("nest21", nested(1, 20)),
        ("inline", nested(1, 38)),
        ("headers", nested(79, 0)),
        ("both", nested(78, 38)),
    ] {
        let file = dir.path().join(format!("{name}.toml"));
        std::fs::write(&file, body).unwrap();
        let out = under(kib, &format!("program {}", file.display()));
        let what = format!("{name} under ulimit -s {kib}");
        assert_eq!(out.status.code(), Some(2), "{what}: {}", text(&out.stderr));
        let error = one_error_line(&out, &what);
        assert!(
            error.contains("deep") || error.contains("recurs"),
            "{what}: refused for its depth: {error}"
        );
    }
}

/// Answers every request with a 200 whose JSON nests `depth` arrays, until `stop`.
fn deep_json_server(depth: usize) -> (String, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let body = format!(
        r#"{{"id":1,"name":"x","deep":{}{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let server = std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            if stopped.load(Ordering::SeqCst) {
                return;
            }
            let Ok(mut stream) = stream else { continue };
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (format!("http://{addr}/api/v2"), stop, server)
}

#[test]
fn a_deeply_nested_json_body_is_an_error_on_a_small_stack() {
    let Some((_dir, kib)) = smallest_stack() else {
        return;
    };
    let (api, stop, server) = deep_json_server(120);
    let out = under(kib, &format!("get pokemon/1 --api {api}"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "ulimit -s {kib}: {stderr}");
    assert!(stderr.contains("nested deeper than"), "{stderr}");
    assert!(!stderr.contains("overflow"), "{stderr}");
    stop.store(true, Ordering::SeqCst);
    let _ = std::net::TcpStream::connect(
        api.trim_start_matches("http://")
            .trim_end_matches("/api/v2"),
    );
    server.join().unwrap();
}

/// Under too small a stack limit the run is refused in one line before anything starts,
/// not aborted by a stack overflow (hp10 B-F9); a soft limit under a high enough hard
/// one is raised instead, so the run goes through.
#[test]
fn too_small_a_stack_limit_is_refused_in_one_line_or_raised() {
    let out = under(128, "--version");
    if out.status.code() == Some(99) {
        eprintln!("skipped: ulimit -s cannot be set");
        return;
    }
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: the stack limit (ulimit -s) is 128 KiB; asyncdex needs at least 256 KiB"
    );
    assert!(out.stdout.is_empty());
    // Soft 128 KiB under an unlimited hard limit: raised, and a run that needs far more
    // than 128 KiB (a debug build's frames) goes through.
    let dir = tempfile::tempdir().unwrap();
    let flat = dir.path().join("flat.toml");
    std::fs::write(&flat, "[[steps]]\nwait_ms = 1\n").unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -S -s 128 || exit 99; exec \"$ASYNCDEX\" program {}",
            flat.display()
        ))
        .env("ASYNCDEX", env!("CARGO_BIN_EXE_asyncdex"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
