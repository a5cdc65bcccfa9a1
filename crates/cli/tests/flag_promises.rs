//! Flags do what their help says: bare `--cache` uses the platform's cache folder,
//! `program -c` bounds its fetches and the closing line counts that bound in the ideal,
//! `program --rate`, `--retries` and `--fail-fast` act on its fetch steps as on every other
//! command's calls, and a `--timeline` stays well-formed XML whatever a label holds.
//!
//! And the audit of the README's promise that a flag that would do nothing is refused: a
//! table of every shared flag (`SourceArgs`, the mirror's faults, the pictures) where it
//! would have nothing to act on, each refused with exit 2 and one line naming it.

use crate::common;

use std::process::Command;

use common::binary::{json_lines, run_table, text, Case, FAST};

#[test]
fn bare_cache_uses_the_platform_cache_folder() {
    let home = tempfile::tempdir().unwrap();
    let xdg = home.path().join("xdg");
    let out = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(["names", "2", "--mode", "async", "--ids", "1-100", "--cache"])
        .args(FAST)
        .env("HOME", home.path())
        .env("XDG_CACHE_HOME", &xdg)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let folder = xdg.join("asyncdex");
    let files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}; {stderr}", folder.display()))
        .collect();
    assert!(!files.is_empty(), "a cache file in {}", folder.display());
    assert!(stderr.contains(&folder.display().to_string()), "{stderr}");
}

/// A program of `n` fetches, all in one parallel block.
fn parallel_fetches(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let steps = vec!["{fetch=\"pokemon/25\"}"; n].join(",");
    let file = dir.join("fetches.toml");
    std::fs::write(&file, format!("[[steps]]\nparallel=[{steps}]\n")).unwrap();
    file
}

#[test]
fn program_fetches_take_turns_through_c_places_and_the_ideal_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = parallel_fetches(dir.path(), 12);
    let program = |c: &str| {
        Command::new(env!("CARGO_BIN_EXE_asyncdex"))
            .arg("program")
            .arg(&file)
            .args(["-c", c, "--latency", "200", "--jitter", "0"])
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    let out = program("4");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // 12 fetches, 4 at a time: three rounds of 200 ms at the least.
    assert!(
        stdout.contains(
            "critical path 0.200 s, but 12 fetches, at most 4 at once (-c), take at least 0.600 s"
        ),
        "{stdout}"
    );
    // With places for all of them, the critical path is the ideal, and the limit is named.
    let out = program("64");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("(fetches: at most 64 at once, -c)") && !stdout.contains("but 12"),
        "{stdout}"
    );
    // A bound like every -c.
    let out = program("0");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn a_timeline_with_control_characters_in_a_label_is_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("svg.toml");
    std::fs::write(
        &file,
        "[[steps]]\nlabel=\"</text><script>alert(2)</script>&amp;\\u0001\\u001b\"\nwait_ms=1\n",
    )
    .unwrap();
    let svg = dir.path().join("p.svg");
    let out = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .arg("program")
        .arg(&file)
        .arg("--timeline")
        .arg(&svg)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let picture = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&picture).unwrap_or_else(|e| panic!("{e}"));
    assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
    assert!(
        !picture.contains(['\u{1}', '\u{1b}']),
        "no raw control characters"
    );
}

/// A program of `steps` (TOML inline tables) in one sequence, written into `dir`.
fn sequence_of(dir: &std::path::Path, name: &str, steps: &[String]) -> std::path::PathBuf {
    let file = dir.join(name);
    std::fs::write(
        &file,
        format!("[[steps]]\nsequence=[{}]\n", steps.join(",")),
    )
    .unwrap();
    file
}

/// A program of `n` fetches (pokemon/1 to pokemon/n) one after another.
fn fetches_in_sequence(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let steps: Vec<String> = (1..=n)
        .map(|i| format!("{{fetch=\"pokemon/{i}\"}}"))
        .collect();
    sequence_of(dir, &format!("p{n}.toml"), &steps)
}

/// `asyncdex program FILE ARGS... --latency 0 --jitter 0`.
fn run_program(file: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .arg("program")
        .arg(file)
        .args(args)
        .args(FAST)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// Hostile pass 7, N1: `program --rate 1/m` ran three fetches in 22 ms. Each fetch now
/// waits for its turn at the rate, all of them sharing one budget.
#[test]
fn program_fetches_wait_for_their_turn_at_the_rate() {
    let dir = tempfile::tempdir().unwrap();
    let file = fetches_in_sequence(dir.path(), 3);
    let t0 = std::time::Instant::now();
    let out = run_program(&file, &["--rate", "2/s", "--json"]);
    let wall = t0.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Starts at 0, 0.5 and 1 s: never sooner (a lower bound only).
    assert!(wall >= std::time::Duration::from_secs(1), "{wall:?}");
    let report = &json_lines(&out)[0];
    let measured = report["measured_ms"].as_f64().unwrap();
    assert!(measured >= 990.0, "{measured}");
    // The ideal counts the rate: two turns of 0.5 s after the first.
    assert_eq!(report["ideal_ms"], 1000.0, "{report}");
    let out = run_program(&file, &["--rate", "2/s", "--burst", "3"]);
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains("(--rate)"),
        "a burst of 3 starts all three at once: {stdout}"
    );
    let out = run_program(&file, &["--rate", "2/s"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "but 3 fetches, at most 2/s (--rate), 1 at once (--burst), take at least 1.000 s"
        ),
        "{stdout}"
    );
}

#[test]
fn program_fetches_are_retried_and_fail_fast_stops_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let file = fetches_in_sequence(dir.path(), 20);
    let summary = |args: &[&str]| {
        let out = run_program(&file, &[&["--fail-rate", "0.5"][..], args].concat());
        text(&out.stderr)
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned()
    };
    // Half of all attempts fail: one attempt each loses some, eleven each lose none
    // (a fetch fails eleven times in a row once in 2048).
    let once = summary(&["--retries", "0"]);
    assert!(!once.contains(" 0 failed"), "{once}");
    let retried = summary(&["--retries", "10"]);
    assert!(retried.contains("20 ok, 0 failed"), "{retried}");

    let file = sequence_of(
        dir.path(),
        "ff.toml",
        &["{fetch=\"pokemon/1\"}".into(), "{wait_ms=10}".into()],
    );
    let run = |fail_fast: &[&str]| {
        let args = [&["--fail-rate", "1", "--retries", "0"][..], fail_fast].concat();
        text(&run_program(&file, &args).stderr)
    };
    let collect_all = run(&[]);
    assert!(
        collect_all.contains("1 ok, 1 failed, 0 cancelled"),
        "{collect_all}"
    );
    let fail_fast = run(&["--fail-fast"]);
    assert!(
        fail_fast.contains("0 ok, 1 failed, 1 cancelled"),
        "{fail_fast}"
    );
}

/// The audit. Every subcommand's shared flags, where each would have nothing to act on:
///
/// | where | flags | why nothing |
/// |---|---|---|
/// | `program` with no fetch steps | every fetching flag (`--api`, `--rate`, `--retries`, `--fail-fast`, `--http2`, the faults…) | no request is made |
/// | `program` | `--hedge`, `--cores`, `--retry-budget`, `--histogram` | each fetch is a batch of one; no latency line |
/// | `names --mode sequential\|threads`, `bench --modes` without async | `--hedge`, `--http2`, `--cores` | blocking calls: not cancellable, HTTP/1.1, on the pool's threads |
/// | `--api` (names, get, stream, program, bench, crawl) | `--fail-rate` … `--reset-rate`, `--capacity`, `--tail-rate` | the faults are the embedded mirror's |
/// | `names --mode sequential\|threads`, `bench --modes` without async | `-c N` typed | the async mode's limit |
/// | `names --mode sequential\|async`, `bench --modes` without threads | `--threads` typed | the threads mode's pool |
/// | `--api` (all but a bench sweep, whose ideal uses `--latency`; `blocking` too) | `--latency`, `--jitter`, `--retry-after` typed | the embedded mirror's |
/// | every command with the mirror's faults (`serve` too) | `--retry-after` without `--throttle-rate` | nothing is throttled |
///
/// A typed flag is told from its default by clap's value source (the CLI's `given`
/// module): `--threads 10` is refused where the default 10 is not.
///
/// Elsewhere each flag acts (names, get, stream, crawl and bench make their calls through
/// the policy the flags build; program's fetch steps too, see the tests above).
#[test]
fn every_shared_flag_that_would_do_nothing_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fetches = parallel_fetches(dir.path(), 2);
    let fetches = fetches.to_str().unwrap();
    let store = dir.path().join("c.db");
    let store = store.to_str().unwrap();
    let mut rows: Vec<(String, Vec<&str>, &str)> = Vec::new();
    let fetching: [&[&str]; 11] = [
        &["--api", "http://127.0.0.1:9/api/v2"],
        &["--rate", "1"],
        &["--retries", "1"],
        &["--retry-budget", "1"],
        &["--fail-fast"],
        &["--http2"],
        &["--cores", "1"],
        &["--hedge", "p90"],
        &["--fail-rate", "0.1"],
        &["--capacity", "2"],
        &["--tail-rate", "0.1", "--tail-ms", "5"],
    ];
    for flag in fetching {
        let args = [&["program", "--example", "smart-home"][..], flag].concat();
        rows.push(("a program with no fetch steps".into(), args, flag[0]));
    }
    for flag in [
        &["--hedge", "p90"][..],
        &["--cores", "1"],
        &["--retry-budget", "1"],
        &["--histogram"],
    ] {
        rows.push((
            "a program's fetches".into(),
            [&["program", fetches][..], flag].concat(),
            flag[0],
        ));
    }
    let blocking: [&[&str]; 3] = [
        &["names", "2", "--mode", "sequential"],
        &["names", "2", "--mode", "threads"],
        &["bench", "--sizes", "1", "--modes", "sequential,threads"],
    ];
    for command in blocking {
        for flag in [&["--hedge", "p90"][..], &["--http2"], &["--cores", "2"]] {
            rows.push(("no async mode".into(), [command, flag].concat(), flag[0]));
        }
    }
    // The blocking demo's runtimes are its own: the watchdog would watch nothing (hp10
    // B-F11).
    rows.push((
        "blocking's own runtimes".into(),
        vec!["blocking", "--calls", "2", "--watchdog"],
        "--watchdog",
    ));
    let fetchers: [&[&str]; 6] = [
        &["names", "2"],
        &["get", "1"],
        &["stream", "2"],
        &["program", fetches],
        &["bench", "--sizes", "1"],
        &["crawl", "--out", store],
    ];
    let faults: [&[&str]; 7] = [
        &["--fail-rate", "0.1"],
        &["--throttle-rate", "0.1"],
        &["--stall-rate", "0.1"],
        &["--truncate-rate", "0.1"],
        &["--reset-rate", "0.1"],
        &["--capacity", "2"],
        &["--tail-rate", "0.1", "--tail-ms", "5"],
    ];
    for command in fetchers {
        for flag in faults {
            let args = [command, &["--api", "http://127.0.0.1:9/api/v2"], flag].concat();
            rows.push((
                "the embedded mirror's faults with --api".into(),
                args,
                flag[0],
            ));
        }
    }
    typed_flags_without_a_use(&mut rows, fetches, store);
    let cases: Vec<Case> = rows
        .iter()
        .map(|(what, args, flag)| Case::usage(what, args, flag))
        .collect();
    run_table(&cases, Some(dir.path()));
    assert!(!std::path::Path::new(store).exists(), "nothing started");
}

/// The audit's rows for flags with a default, refused only when typed (hostile pass 7,
/// P16): `-c` and `--threads` in a mode without them, the embedded mirror's `--latency`,
/// `--jitter` and `--retry-after` with `--api`, `--retry-after` with nothing throttled.
fn typed_flags_without_a_use<'a>(
    rows: &mut Vec<(String, Vec<&'a str>, &'a str)>,
    fetches: &'a str,
    store: &'a str,
) {
    let modes: [(&[&str], &[&str], &str); 8] = [
        (&["names", "2", "--mode", "sequential"], &["-c", "5"], "-c is for the async mode, and --mode sequential has none: drop it or give --mode async"),
        (&["names", "2", "--mode", "threads"], &["-c", "64"], "-c is for the async mode, and --mode threads has none"),
        (&["names", "2", "--mode", "async"], &["--threads", "8"], "--threads sizes the threads mode's pool, and --mode async has none: drop it or give --mode threads"),
        (&["names", "2", "--mode", "sequential"], &["--threads", "10"], "--threads sizes the threads mode's pool, and --mode sequential has none"),
        (&["bench", "--sizes", "1", "--modes", "sequential,threads"], &["-c", "5"], "-c is for the async mode, and --modes without async has none: drop it or add async to --modes"),
        (&["bench", "--sizes", "1", "--modes", "async"], &["--threads", "4"], "--threads sizes the threads mode's pool, and --modes without threads has none"),
        (&["bench", "--sizes", "1", "--modes", "sequential"], &["--threads", "4"], "--threads sizes"),
        (&["bench", "--sizes", "1", "--modes", "sequential"], &["-c", "4"], "-c is for the async mode"),
    ];
    for (command, flag, says) in modes {
        rows.push(("a mode without it".into(), [command, flag].concat(), says));
    }
    let api = "http://127.0.0.1:9/api/v2";
    let remote: [&[&str]; 8] = [
        &["names", "2", "--api", api],
        &["get", "1", "--api", api],
        &["stream", "2", "--api", api],
        &["program", fetches, "--api", api],
        &["crawl", "--out", store, "--api", api],
        &["bench", "--sizes", "1", "--api", api],
        &[
            "bench",
            "--concurrencies",
            "1",
            "--sizes",
            "1",
            "--api",
            api,
        ],
        &["blocking", "--mode", "correct", "--api", api],
    ];
    for command in remote {
        let flags: &[&[&str]] = match command[0] {
            // The sweep's ideal is N calls of --latency, whatever the server.
            "bench" if command[1] == "--sizes" => &[&["--jitter", "5"], &["--retry-after", "2"]],
            "blocking" => &[&["--latency", "5"]],
            _ => &[
                &["--latency", "5"],
                &["--jitter", "5"],
                &["--retry-after", "2"],
            ],
        };
        for flag in flags {
            rows.push((
                "the embedded mirror's flags with --api".into(),
                [command, flag].concat(),
                "shapes the embedded mirror, and --api names another server",
            ));
        }
    }
    let unthrottled: [&[&str]; 8] = [
        &["names", "2"],
        &["get", "1"],
        &["stream", "2"],
        &["program", fetches],
        &["crawl", "--out", store],
        &["bench", "--sizes", "1"],
        &["names", "2", "--throttle-rate", "0"],
        &["serve", "--bind", "127.0.0.1:0"],
    ];
    for command in unthrottled {
        rows.push((
            "--retry-after with nothing throttled".into(),
            [command, &["--retry-after", "3"]].concat(),
            "--retry-after is the wait a throttled answer (429) asks for, and nothing is throttled",
        ));
    }
}

/// Where the flags of the table above are used, typed, they run: `--mode all` (the
/// default) has every mode, so both `-c` and `--threads` act; `--retry-after` with
/// `--throttle-rate`; `-c` in the async mode and `--threads` in the threads mode.
#[test]
fn typed_flags_with_a_use_run() {
    for args in [
        &["names", "2", "-c", "5", "--threads", "3"][..],
        &["names", "2", "--mode", "async", "-c", "5"],
        &["names", "2", "--mode", "threads", "--threads", "3"],
        &[
            "names",
            "1",
            "--mode",
            "async",
            "--throttle-rate",
            "0.01",
            "--retry-after",
            "0",
            "--retries",
            "10",
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
            .args(args)
            .args(["--ids", "1-100", "--json"])
            .args(FAST)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!json_lines(&out).is_empty(), "{args:?}");
    }
}
