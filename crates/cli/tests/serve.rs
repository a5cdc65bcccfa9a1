//! `asyncdex serve`: the embedded mirror answers HTTP like PokeAPI, stops cleanly on
//! SIGTERM, and refuses a taken port in one line.

use crate::common;

use common::binary::{asyncdex, text};
use serde_json::Value;

#[test]
fn serve_answers_http_and_stops_on_sigterm() {
    let (mut child, mut stdout, base, agent) =
        common::binary::serve(&["--bind".as_ref(), "127.0.0.1:0".as_ref()]);
    let mut resp = agent
        .get(format!("{base}/pokemon/pikachu/"))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["cache-control"],
        "public, max-age=86400, s-maxage=86400"
    );
    let body: Value = serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap();
    assert_eq!(body["id"], 25);
    assert_eq!(
        body["species"]["url"],
        format!("{base}/pokemon-species/25/")
    );
    let mut missing = agent.get(format!("{base}/pokemon/99999")).call().unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.body_mut().read_to_string().unwrap(), "Not Found");
    assert_eq!(
        agent
            .get(format!("{base}/nothing/"))
            .call()
            .unwrap()
            .status(),
        400
    );

    common::signal(child.id(), "TERM");
    let status = child.wait().unwrap();
    // A graceful stop, by a signal: its code, as every command (README, exit codes).
    assert_eq!(status.code(), Some(143), "SIGTERM exits 143, got {status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.contains("stopped"), "{rest}");
}

#[test]
fn serve_refuses_a_taken_port_with_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = asyncdex(&["serve", "--bind", &addr]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: cannot listen on"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1);
}
