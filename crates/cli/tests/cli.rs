//! The `asyncdex` binary, run as a user runs it: offline, against the embedded mirror.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// Runs asyncdex with `args` (the embedded mirror made fast unless the args say otherwise).
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("asyncdex runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

const FAST: [&str; 4] = ["--latency", "0", "--jitter", "0"];

#[test]
fn names_json_follows_the_contract_and_all_modes_agree() {
    let out = run(&[&["names", "7", "--seed", "3", "--json"][..], &FAST].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    let modes: Vec<&str> = lines.iter().map(|l| l["mode"].as_str().unwrap()).collect();
    assert_eq!(modes, ["sequential", "threads", "async"]);
    let dex = asyncdex::pokedex::Pokedex::get();
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
            .map(|id| {
                dex.pokemon_by_id(id.as_u64().unwrap() as u32)
                    .unwrap()
                    .name
                    .as_str()
            })
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
    let again = json_lines(&run(&[
        &["names", "7", "--seed", "3", "--json", "--mode", "async"][..],
        &FAST,
    ]
    .concat()));
    assert_eq!(again[0]["names"], lines[0]["names"]);
}

#[test]
fn names_prints_the_names_and_the_three_mode_table() {
    let out = run(&[
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
fn get_shows_a_table_or_json() {
    let out = run(&[&["get", "25", "Bulbasaur"][..], &FAST].concat());
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

    let out = run(&[&["get", "25", "133", "--json"][..], &FAST].concat());
    let ids: Vec<u64> = json_lines(&out)
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [25, 133]);
}

#[test]
fn get_keeps_what_arrived_when_some_are_not_found() {
    let out = run(&[&["get", "25", "99999", "missingno"][..], &FAST].concat());
    assert_eq!(
        out.status.code(),
        Some(3),
        "partial success has its own code"
    );
    assert!(text(&out.stdout).contains("pikachu"));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("not found: pokemon 99999"), "{stderr}");
    assert!(stderr.contains("not found: pokemon missingno"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn stream_prints_every_name_with_its_arrival_time() {
    let out = run(&[&["stream", "6", "--seed", "4", "--json"][..], &FAST].concat());
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

    let ordered = run(&[
        &["stream", "6", "--seed", "4", "--json", "--ordered"][..],
        &FAST,
    ]
    .concat());
    let indexes: Vec<u64> = json_lines(&ordered)
        .iter()
        .map(|l| l["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4, 5], "--ordered keeps draw order");
}

/// Each bad input: a one-line error naming the problem, the documented exit code, no panic.
#[test]
fn bad_input_gets_one_clear_line_and_the_right_exit_code() {
    let refused = common::refused_url();
    let html = common::fixed_server(common::HTML, Duration::ZERO, 64);
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["get", "0"], 2, "id 0"),
        (vec!["get", "-1"], 2, "negative"),
        (vec!["get", ""], 2, "empty"),
        (vec!["get", "mr mime"], 2, "invalid name"),
        (vec!["get", "a/b"], 2, "invalid name"),
        (vec!["get", "4294967296"], 2, "too large"),
        (vec!["names", "0"], 2, "at least 1"),
        (vec!["names", "-5"], 2, "unexpected argument"),
        (vec!["names", "abc"], 2, "invalid value"),
        (vec!["names", "99999999"], 2, "too large"),
        (vec!["names", "3", "-c", "0"], 2, "concurrency"),
        (
            vec!["names", "3", "--cores", "0"],
            2,
            "cores must be at least 1",
        ),
        (vec!["names", "3", "--threads", "0"], 2, "--threads"),
        (vec!["names", "3", "--api", "not a url"], 2, "--api"),
        (vec!["names", "3", "--api", "ftp://x/api/v2"], 2, "--api"),
        (
            vec!["names", "3", "--timeout", "-1"],
            2,
            "timeout must be positive",
        ),
        (vec!["names", "3", "--rate", "0"], 2, "rate must be"),
        (vec!["names", "3", "--rate", "-2"], 2, "rate must be"),
        (
            vec!["names", "3", "--retries", "-1"],
            2,
            "unexpected argument",
        ),
        (
            vec!["names", "3", "--timeout", "0"],
            2,
            "timeout must be positive",
        ),
        (vec!["names", "3", "--mode", "fast"], 2, "invalid value"),
        (
            vec!["names", "3", "--fail-rate", "2"],
            2,
            "--fail-rate must be between 0 and 1",
        ),
        (
            vec!["names", "3", "--fail-rate", "0.6", "--stall-rate", "0.6"],
            2,
            "add up to",
        ),
        (
            vec!["get", "2147483648", "--latency", "0"],
            1,
            "not found: pokemon 2147483648",
        ),
        (
            vec![
                "get",
                "25",
                "--latency",
                "0",
                "--stall-rate",
                "1",
                "--timeout",
                "0.3",
                "--retries",
                "0",
            ],
            1,
            "1 timed out",
        ),
        (
            vec![
                "get",
                "25",
                "--latency",
                "0",
                "--throttle-rate",
                "1",
                "--retry-after",
                "0",
            ],
            1,
            "HTTP 429",
        ),
        (
            vec![
                "get",
                "25",
                "--latency",
                "0",
                "--truncate-rate",
                "1",
                "--retries",
                "0",
            ],
            1,
            "failed: pokemon 25",
        ),
        (
            vec![
                "stream",
                "3",
                "--latency",
                "0",
                "--reset-rate",
                "1",
                "--retries",
                "1",
            ],
            1,
            "3 failed",
        ),
        (vec!["get", "25", "--api", &refused], 1, "could not connect"),
        (
            vec!["names", "3", "--mode", "async", "--api", &refused],
            1,
            "could not connect",
        ),
        (vec!["get", "25", "--api", &html], 1, "non-JSON"),
        (vec!["stream", "2", "--api", &html], 1, "non-JSON"),
    ];
    for (args, code, needle) in cases {
        let out = run(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?}: expected {needle:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        if code == 2 {
            let first = stderr.lines().next().unwrap_or_default();
            assert!(first.starts_with("error: "), "{args:?}: {stderr}");
            assert_eq!(
                stderr.lines().count(),
                1,
                "{args:?}: one line, got {stderr}"
            );
            assert!(out.stdout.is_empty(), "{args:?}: nothing fetched");
        }
    }
}

#[test]
fn serve_answers_http_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    stdout.read_line(&mut banner).unwrap();
    let base = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {banner:?}"))
        .to_owned();

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
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
    assert!(status.success(), "graceful stop exits 0, got {status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.contains("stopped"), "{rest}");
}

#[test]
fn serve_refuses_a_taken_port_with_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(&["serve", "--bind", &addr]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: cannot listen on"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1);
}

#[test]
fn blocking_shows_the_stall_in_wrong_and_not_in_correct() {
    let out = run(&["blocking", "--latency", "150", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    let modes: Vec<&str> = lines.iter().map(|l| l["mode"].as_str().unwrap()).collect();
    assert_eq!(modes, ["before", "wrong", "correct"]);
    let lag = |i: usize, key: &str| lines[i][key].as_f64().unwrap();
    assert!(lag(1, "max_lag_ms") >= 140.0, "wrong stalls: {}", lines[1]);
    assert!(
        lag(2, "p99_lag_ms") < 40.0,
        "correct keeps time: {}",
        lines[2]
    );
}

#[test]
fn cpu_gives_the_same_answer_three_ways() {
    let out = run(&["cpu", "--jobs", "12", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    let ways: Vec<&str> = lines.iter().map(|l| l["way"].as_str().unwrap()).collect();
    assert_eq!(ways, ["inline", "offload", "rayon"]);
    assert!(lines
        .iter()
        .all(|l| l["checksum"] == lines[0]["checksum"] && l["jobs"] == 12));
    assert_eq!(
        lines[1]["stalls"], 0,
        "offloaded work never stalls the runtime"
    );
}

#[test]
fn ctrl_c_keeps_what_finished_and_exits_130() {
    let child = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args([
            "names",
            "40",
            "--mode",
            "async",
            "-c",
            "5",
            "--latency",
            "1000",
            "--jitter",
            "0",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1600)); // the first five have arrived
    let signalled = std::time::Instant::now();
    common::signal(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    let took = signalled.elapsed();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        took < Duration::from_millis(1500),
        "stopped {took:?} after Ctrl-C"
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "the async mode is reported");
    let ok = lines[0]["ok"].as_u64().unwrap();
    let cancelled = lines[0]["cancelled"].as_u64().unwrap();
    assert!((5..40).contains(&ok), "what finished is kept: {}", lines[0]);
    assert_eq!(
        ok + cancelled,
        40,
        "every call is accounted for: {}",
        lines[0]
    );
    assert_eq!(lines[0]["names"].as_array().unwrap().len() as u64, ok);
}

#[test]
fn program_example_runs_the_smart_home_near_its_critical_path() {
    let out = run(&["program", "--example", "smart-home", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = &json_lines(&out)[0];
    assert_eq!(report["program"], "smart-home");
    assert_eq!(report["critical_path_ms"], 3000.0);
    let measured = report["measured_ms"].as_f64().unwrap();
    assert!((3000.0..4500.0).contains(&measured), "{measured}");
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 15);
    // The three registrations start together; flush and clean follow one another.
    let step = |label: &str| steps.iter().find(|s| s["label"] == label).unwrap();
    let start = |label: &str| step(label)["start_ms"].as_f64().unwrap();
    assert!((start("light: connect") - start("toilet: connect")).abs() < 50.0);
    assert!(step("toilet: clean")["start_ms"].as_f64() >= step("toilet: flush")["end_ms"].as_f64());
}

#[test]
fn program_files_fetch_wait_and_report_bad_input_by_line() {
    let dir = std::env::temp_dir().join(format!("asyncdex-program-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "name = \"pokedex-tour\"\n[[steps]]\nparallel = [{ fetch = \"pokemon/25\" }, { fetch = \"type/electric\" }, { wait_ms = 50 }]\n",
    )
    .unwrap();
    let out = run(&[&["program", good.to_str().unwrap(), "--json"][..], &FAST].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = &json_lines(&out)[0];
    let results: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["result"].as_str().unwrap())
        .collect();
    assert!(
        results.contains(&"pikachu") && results.contains(&"electric"),
        "{results:?}"
    );

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[devices]\nlight = \"hue-light\"\n\n[[steps]]\ndevice = \"light\"\nsend = \"explode\"\n",
    )
    .unwrap();
    for (args, needle) in [
        (
            vec!["program", bad.to_str().unwrap()],
            "bad.toml:6: `send`: unknown message type `explode`",
        ),
        (
            vec!["program", "/nonexistent/p.toml"],
            "cannot read program /nonexistent/p.toml",
        ),
        (vec!["program"], "required"),
    ] {
        let out = run(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn names_draws_a_timeline_and_a_trace_with_one_bar_per_call() {
    let dir = std::env::temp_dir().join(format!("asyncdex-pictures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (svg, trace) = (dir.join("t.svg"), dir.join("t.json"));
    let out = run(&[
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
    .concat());
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
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bench_sweeps_skips_over_budget_and_plots_three_curves() {
    let dir = std::env::temp_dir().join(format!("asyncdex-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plot = dir.join("bench.svg");
    let out = run(&[
        "bench",
        "--sizes",
        "1,8,200",
        "--latency",
        "20",
        "--jitter",
        "0",
        "--budget",
        "1",
        "--threads",
        "4",
        "-c",
        "8",
        "--json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let cells = json_lines(&out);
    assert_eq!(cells.len(), 9, "three sizes, three modes");
    let cell = |mode: &str, n: u64| {
        cells
            .iter()
            .find(|c| c["mode"] == mode && c["n"] == n)
            .unwrap()
    };
    // Sequential 200 × 20 ms = 4 s is over the 1 s budget: skipped, not guessed.
    assert_eq!(cell("sequential", 200)["skipped"], true);
    assert!(cell("sequential", 200).get("wall_ms").is_none());
    // Ideals follow each mode's width: 8 calls = 8 waits, 2 waves of 4, 1 wave of 8.
    assert_eq!(cell("sequential", 8)["ideal_ms"], 160.0);
    assert_eq!(cell("threads", 8)["ideal_ms"], 40.0);
    assert_eq!(cell("async", 8)["ideal_ms"], 20.0);
    for c in cells.iter().filter(|c| c["skipped"] == false) {
        assert_eq!(c["ok"], c["n"], "{c}");
        assert!(
            c["ratio"].as_f64().unwrap() >= 0.9,
            "never faster than physics: {c}"
        );
    }
    let svg = std::fs::read_to_string(&plot).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let series: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("series"))
        .filter_map(|n| n.attribute("data-mode"))
        .collect();
    assert_eq!(series, ["sequential", "threads", "async"]);
    std::fs::remove_dir_all(dir).unwrap();
}
