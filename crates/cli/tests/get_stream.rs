//! `asyncdex get` and `asyncdex stream`: a table or JSON per Pokémon, what arrived kept
//! when some are missing, and every streamed name with its arrival time.

use crate::common;

use common::binary::{asyncdex, json_lines, text, FAST};

#[test]
fn get_shows_a_table_or_json() {
    let out = asyncdex(&[&["get", "25", "Bulbasaur"][..], &FAST].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let pikachu = stdout
        .lines()
        .find(|l| l.contains("pikachu"))
        .expect(&stdout);
    for cell in ["electric", "0.4 m", "6.0 kg", "35", "90"] {
        assert!(pikachu.contains(cell), "{cell} missing in {pikachu}");
    }
    assert!(stdout.contains("grass/poison"), "{stdout}");

    let out = asyncdex(&[&["get", "25", "133", "--json"][..], &FAST].concat());
    let ids: Vec<u64> = json_lines(&out)
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [25, 133]);
}

#[test]
fn get_keeps_what_arrived_when_some_are_not_found() {
    let out = asyncdex(&[&["get", "25", "99999", "missingno"][..], &FAST].concat());
    assert_eq!(
        out.status.code(),
        Some(3),
        "partial success has its own code"
    );
    assert!(text(&out.stdout).contains("pikachu"));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("not found: pokemon/99999"), "{stderr}");
    assert!(stderr.contains("not found: pokemon/missingno"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn stream_prints_every_name_with_its_arrival_time() {
    let out = asyncdex(&[&["stream", "6", "--seed", "4", "--json"][..], &FAST].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 6);
    let mut indexes: Vec<u64> = lines.iter().map(|l| l["index"].as_u64().unwrap()).collect();
    indexes.sort();
    assert_eq!(indexes, [0, 1, 2, 3, 4, 5]);
    let times: Vec<f64> = lines.iter().map(|l| l["at_ms"].as_f64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "arrival times grow: {times:?}"
    );

    let ordered = asyncdex(
        &[
            &["stream", "6", "--seed", "4", "--json", "--ordered"][..],
            &FAST,
        ]
        .concat(),
    );
    let indexes: Vec<u64> = json_lines(&ordered)
        .iter()
        .map(|l| l["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4, 5], "--ordered keeps draw order");
}

#[test]
fn get_takes_any_resource_of_any_endpoint() {
    let args = [
        "get",
        "move/pound",
        "evolution-chain/10",
        "pokemon/25/encounters",
        "ability/65",
    ];
    let out = asyncdex(&[&args[..], &FAST].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for line in [
        "normal physical, power 40, accuracy 100, pp 35",
        "pichu → pikachu → raichu",
        "found in",
        "overgrow",
    ] {
        assert!(table.contains(line), "{line:?} in:\n{table}");
    }
    // --json: every body whole, links pointing at the server asked.
    let out = asyncdex(
        &[
            &["get", "move/pound", "item/master-ball", "--json"][..],
            &FAST,
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["name"], "pound");
    assert!(lines[0]["learned_by_pokemon"].as_array().unwrap().len() > 50);
    assert_eq!(lines[1]["id"], 1);
    let url = lines[1]["category"]["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
}

#[test]
fn a_password_in_the_api_url_is_never_printed() {
    let refused = common::refused_url().replace("http://", "http://ash:pikachu-secret@");
    for args in [
        vec!["get", "25", "--api", refused.as_str(), "--retries", "0"],
        vec![
            "names",
            "2",
            "--api",
            refused.as_str(),
            "--retries",
            "0",
            "--json",
        ],
    ] {
        let out = asyncdex(&args);
        assert_ne!(out.status.code(), Some(0));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains("pikachu-secret"), "{args:?}: {all}");
        assert!(
            all.contains("ash:***@") || all.contains("127.0.0.1"),
            "{all}"
        );
    }
}

#[test]
fn a_wait_a_server_asks_for_is_capped_and_the_cap_is_said() {
    let api = common::fixed_server(
        common::binary::THROTTLED_FOR_AGES,
        std::time::Duration::ZERO,
        8,
    );
    let started = std::time::Instant::now();
    let out = asyncdex(&[
        "get",
        "25",
        "--api",
        &api,
        "--retries",
        "1",
        "--max-retry-after",
        "0",
    ]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the cap held"
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("a server asked to wait 99999999999 s before a retry; waited 0 s instead"),
        "{stderr}"
    );
}

#[test]
fn what_a_server_says_is_printed_escaped_and_a_loose_body_is_still_printed() {
    // A Pokémon whose name carries terminal escapes and whose height is below zero (so it
    // does not fit the model): printed, escaped, not swallowed.
    const BODY: &str = "{\"id\":1,\"name\":\"bulba\\u001b[2Jsaur\",\"height\":-5}";
    let response: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
            BODY.len()
        )
        .into_boxed_str(),
    );
    let api = common::fixed_server(response, std::time::Duration::ZERO, 4);
    let out = asyncdex(&["get", "1", "--api", &api]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("pokemon/1"), "printed: {stdout}");
    assert!(!stdout.contains('\u{1b}'), "no raw escape: {stdout:?}");
    assert!(stdout.contains("bulba\\u{1b}[2Jsaur"), "{stdout:?}");
}
