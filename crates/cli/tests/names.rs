//! `asyncdex names`: the three modes fetch the same names in draw order, print a table,
//! emit JSON that follows the contract, and draw a timeline and a trace of every call.

use crate::common;

use common::binary::{asyncdex, json_lines, text, FAST};
use serde_json::Value;

#[test]
fn names_json_follows_the_contract_and_all_modes_agree() {
    let out = asyncdex(&[&["names", "7", "--seed", "3", "--json"][..], &FAST].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    let modes: Vec<&str> = lines.iter().map(|l| l["mode"].as_str().unwrap()).collect();
    assert_eq!(modes, ["sequential", "threads", "async"]);
    for line in &lines {
        assert_eq!(
            (
                line["n"].as_u64(),
                line["ok"].as_u64(),
                line["failed"].as_u64()
            ),
            (Some(7), Some(7), Some(0))
        );
        assert!(line["wall_ms"].as_f64().unwrap() > 0.0);
        // The names are those of the drawn ids, in draw order.
        let expected: Vec<&str> = line["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| asyncdex::draw::embedded_name(id.as_u64().unwrap() as u32).unwrap())
            .collect();
        let names: Vec<&str> = line["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert_eq!(names, expected);
        assert_eq!(
            line["names"], lines[0]["names"],
            "every mode fetches the same names"
        );
    }
    // The same seed draws the same Pokémon.
    let again = json_lines(&asyncdex(
        &[
            &["names", "7", "--seed", "3", "--json", "--mode", "async"][..],
            &FAST,
        ]
        .concat(),
    ));
    assert_eq!(again[0]["names"], lines[0]["names"]);
}

#[test]
fn names_prints_the_names_and_the_three_mode_table() {
    let out = asyncdex(&[
        "names",
        "4",
        "--seed",
        "9",
        "--latency",
        "20",
        "--jitter",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("embedded mirror (latency 20 ms ± 0 ms)"),
        "{stdout}"
    );
    for row in ["sequential", "threads", "async", "speedup", "requests/s"] {
        assert!(stdout.contains(row), "missing {row}: {stdout}");
    }
    let name_lines = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("1."))
        .count();
    assert_eq!(name_lines, 1, "{stdout}");
}

#[test]
fn the_sizing_line_names_only_the_modes_that_ran() {
    let sizing = |mode: &str| {
        let mut args = vec!["names", "3", "--seed", "9", "--mode", mode];
        args.extend(FAST);
        let out = asyncdex(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let all = sizing("all");
    assert!(
        all.contains("threads: a pool of ") && all.contains("; async: at most "),
        "{all}"
    );
    let one = sizing("async");
    assert!(
        one.contains("async: at most ") && !one.contains("a pool of"),
        "{one}"
    );
    let one = sizing("threads");
    assert!(
        one.contains("threads: a pool of ") && !one.contains("in flight"),
        "{one}"
    );
    let one = sizing("sequential");
    assert!(
        !one.contains("a pool of") && !one.contains("in flight"),
        "{one}"
    );
}

#[test]
fn names_draws_a_timeline_and_a_trace_with_one_bar_per_call() {
    let dir = tempfile::tempdir().unwrap(); // removed on drop, even when an assertion fails
    let (svg, trace) = (dir.path().join("t.svg"), dir.path().join("t.json"));
    let out = asyncdex(
        &[
            &[
                "names",
                "6",
                "--seed",
                "2",
                "--timeline",
                svg.to_str().unwrap(),
                "--trace",
                trace.to_str().unwrap(),
            ][..],
            &FAST,
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let svg = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the timeline is well-formed XML");
    let bars: Vec<_> = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("rect") && n.attribute("class").is_some_and(|c| c.starts_with("bar"))
        })
        .collect();
    assert_eq!(bars.len(), 3 * 6, "one bar per call and mode");
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    for mode in ["sequential", "threads", "async"] {
        assert!(
            texts.iter().any(|t| t.starts_with(mode)),
            "{mode} group is labelled"
        );
    }
    assert!(texts.contains(&"time (ms)"));

    let trace: Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let complete: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(complete.len(), 18);
    assert!(complete
        .iter()
        .all(|e| e["ts"].is_u64() && e["dur"].is_u64() && e["name"].is_string()));
}

/// A PokeAPI-compatible server that knows three Pokémon: a folder in PokeAPI's layout.
fn three_pokemon(root: &std::path::Path) {
    let pack = asyncdex_pack::Pack::embedded();
    let api = root.join("data/api/v2/pokemon");
    let mut results = Vec::new();
    for (id, name) in [(25, "pikachu"), (133, "eevee"), (150, "mewtwo")] {
        std::fs::create_dir_all(api.join(id.to_string())).unwrap();
        let body = pack.get("pokemon", id).unwrap().unwrap();
        std::fs::write(api.join(format!("{id}/index.json")), body).unwrap();
        results.push(serde_json::json!({"name": name, "url": format!("/api/v2/pokemon/{id}/")}));
    }
    let list = serde_json::json!({"count": 3, "next": null, "previous": null, "results": results});
    std::fs::write(api.join("index.json"), list.to_string()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_drawn_from_the_pokemon_the_api_lists() {
    use asyncdex::mirror::{Data, Mirror, MirrorConfig};
    let dir = tempfile::tempdir().unwrap();
    three_pokemon(dir.path());
    let data = Data::dir(dir.path()).unwrap();
    let mirror = Mirror::start_from(data, MirrorConfig::default())
        .await
        .unwrap();
    let api = mirror.base_url().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        asyncdex(&[
            "names", "30", "--mode", "async", "--json", "--api", &api, "--seed", "5",
        ])
    })
    .await
    .unwrap();
    mirror.stop().await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line = &json_lines(&out)[0];
    assert_eq!(
        (line["ok"].as_u64(), line["failed"].as_u64()),
        (Some(30), Some(0))
    );
    let names: std::collections::BTreeSet<&str> = line["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["eevee", "mewtwo", "pikachu"].into(),
        "only what it lists"
    );
}

#[test]
fn ids_from_a_range_draw_as_the_lesson_did() {
    let out = asyncdex(
        &[
            &[
                "names", "40", "--mode", "async", "--json", "--ids", "1-3", "--seed", "2",
            ][..],
            &FAST,
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ids = json_lines(&out)[0]["ids"].as_array().unwrap().clone();
    assert!(
        ids.iter().all(|id| (1..=3).contains(&id.as_u64().unwrap())),
        "{ids:?}"
    );
}
