//! Bad input, as a table: every case runs, and every failing case is reported at once.
//!
//! A usage error exits 2 with one `error:` line naming the problem and fetches nothing; a
//! run that fails on the way (not found, timed out, refused, not JSON) exits 1 and says
//! why. Neither ever panics.

use crate::common;

use std::time::Duration;

use common::binary::{run_table, Case};

/// Arguments the command line refuses before fetching anything.
#[test]
fn usage_errors_get_one_clear_line_exit_2_and_fetch_nothing() {
    let many_sizes: Vec<String> = (1..=65).map(|n| n.to_string()).collect();
    let many_sizes = many_sizes.join(",");
    let long_name = "a".repeat(100_000);
    let long_move = format!("move/{}", "a".repeat(101));
    let cases = [
        Case::usage("pokemon id 0", &["get", "0"], "id 0"),
        Case::usage("negative pokemon id", &["get", "-1"], "negative"),
        Case::usage("empty pokemon name", &["get", ""], "empty"),
        Case::usage("name with a space", &["get", "mr mime"], "invalid name"),
        Case::usage(
            "a 100 000-letter name",
            &["get", &long_name],
            "an id or name of 100000 bytes is too long: at most 100",
        ),
        Case::usage(
            "a name one past the bound, of any endpoint",
            &["get", &long_move],
            "an id or name of 101 bytes is too long: at most 100",
        ),
        Case::usage("a path too deep", &["get", "a/b/c"], "invalid resource"),
        Case::usage(
            "an endpoint in capitals",
            &["get", "Move/1"],
            "invalid endpoint",
        ),
        Case::usage(
            "encounters of a type",
            &["get", "type/13/encounters"],
            "invalid resource",
        ),
        Case::usage("id over u32", &["get", "4294967296"], "too large"),
        Case::usage("zero names", &["names", "0"], "at least 1"),
        Case::usage(
            "a knee sweep at concurrency 0",
            &["bench", "--concurrencies", "4,0", "--sizes", "10"],
            "'--concurrencies <LIST>'",
        ),
        Case::usage(
            "a knee sweep at a word",
            &["bench", "--concurrencies", "4,lots", "--sizes", "10"],
            "'--concurrencies <LIST>'",
        ),
        Case::usage(
            "a knee sweep over many sizes",
            &["bench", "--concurrencies", "4,auto"],
            "--concurrencies measures one size",
        ),
        Case::usage(
            "a knee sweep measuring one point twice",
            &["bench", "--concurrencies", "4,16,4", "--sizes", "10"],
            "--concurrencies names 4 twice",
        ),
        Case::usage(
            "a knee sweep measuring auto twice",
            &["bench", "--concurrencies", "auto,4,auto", "--sizes", "10"],
            "--concurrencies names auto twice",
        ),
        Case::usage(
            "a knee sweep given modes it would ignore",
            &[
                "bench",
                "--concurrencies",
                "4",
                "--sizes",
                "10",
                "--modes",
                "threads",
            ],
            "the argument '--concurrencies <LIST>' cannot be used with '--modes <MODES>'",
        ),
        Case::usage(
            "a knee sweep given a pool it would not use",
            &["bench", "--concurrencies", "4", "--sizes", "10", "--threads", "3"],
            "the argument '--concurrencies <LIST>' cannot be used with '--threads <N>'",
        ),
        Case::usage(
            "a knee sweep given a hedge",
            &["bench", "--concurrencies", "4", "--sizes", "10", "--hedge", "p95"],
            "the argument '--concurrencies <LIST>' cannot be used with '--hedge <pN>'",
        ),
        Case::usage(
            "a sweep measuring one size twice",
            &["bench", "--sizes", "1,10,1"],
            "--sizes names 1 twice: give each size once",
        ),
        Case::usage(
            "a sweep measuring one mode twice",
            &["bench", "--sizes", "1", "--modes", "async,sequential,async"],
            "--modes names async twice: give each mode once",
        ),
        Case::usage(
            "a sweep measuring a mode twice through all",
            &["bench", "--sizes", "1", "--modes", "all,threads"],
            "--modes names threads twice",
        ),
        Case::usage(
            "a sweep over more sizes than a sweep takes",
            &["bench", "--sizes", &many_sizes],
            "--sizes takes at most 64 values",
        ),
        Case::usage(
            "a knee sweep given a concurrency it would ignore",
            &["bench", "-c", "8", "--concurrencies", "4", "--sizes", "10"],
            "the argument '--concurrency <N>' cannot be used with '--concurrencies <LIST>'",
        ),
        Case::usage(
            "a knee sweep given a time budget it would ignore",
            &[
                "bench",
                "--concurrencies",
                "4",
                "--sizes",
                "10",
                "--budget",
                "5",
            ],
            "the argument '--concurrencies <LIST>' cannot be used with '--budget <SECS>'",
        ),
        Case::usage("negative count", &["names", "-5"], "unexpected argument"),
        Case::usage("count not a number", &["names", "abc"], "invalid value"),
        Case::usage("count too large", &["names", "99999999"], "too large"),
        Case::usage(
            "zero concurrency",
            &["names", "3", "-c", "0"],
            "concurrency",
        ),
        Case::usage(
            "an adaptive limit of at most 0",
            &["names", "3", "-c", "auto", "--max-concurrency", "0"],
            "'--max-concurrency <N>': must be at least 1",
        ),
        Case::usage(
            "an adaptive limit past the bound",
            &["crawl", "-c", "auto", "--max-concurrency", "100001"],
            "'--max-concurrency <N>': 100001 is too large",
        ),
        Case::usage(
            "a concurrency that is neither a number nor auto",
            &["stream", "3", "-c", "lots"],
            "(or auto)",
        ),
        Case::usage(
            "zero cores",
            &["names", "3", "--cores", "0"],
            "'--cores <N>': must be at least 1",
        ),
        Case::usage(
            "zero threads",
            &["names", "3", "--threads", "0"],
            "--threads",
        ),
        Case::usage(
            "api not a url",
            &["names", "3", "--api", "not a url"],
            "--api",
        ),
        Case::usage(
            "api not http",
            &["names", "3", "--api", "ftp://x/api/v2"],
            "--api",
        ),
        Case::usage(
            "api with no host before its path",
            &["get", "pokemon/3", "--api", "http:///ok"],
            "--api: invalid API root \"http:///ok\": it has no host",
        ),
        Case::usage(
            "api with no slashes after its scheme",
            &["names", "3", "--api", "http:ok/api/v2"],
            "it has no host",
        ),
        Case::usage(
            "api with credentials and no host",
            &["stream", "3", "--api", "http://u:p@/ok/api/v2"],
            "--api: invalid API root \"http://u:***@/ok/api/v2\": empty host",
        ),
        Case::usage(
            "api on port 0",
            &["get", "1", "--api", "http://127.0.0.1:0/x"],
            "--api: invalid API root \"http://127.0.0.1:0/x\": port 0 is no server's port",
        ),
        Case::usage(
            "api with an empty port",
            &["get", "1", "--api", "http://127.0.0.1:/x/api/v2"],
            "--api: invalid API root \"http://127.0.0.1:/x/api/v2\": its port is empty: give one, or leave the colon out",
        )
        .in_one_line(),
        Case::usage(
            "blocking's api with an empty port",
            &["names", "1", "--mode", "sequential", "--ids", "1-2", "--api", "http://127.0.0.1:/x/api/v2"],
            "its port is empty",
        ),
        Case::usage(
            "blocking's api on port 0",
            &["blocking", "--api", "http://localhost:0/api/v2"],
            "port 0 is no server's port",
        ),
        Case::usage(
            "api with a malformed %-escape in its password",
            &["get", "1", "--api", "http://u%zz:p@127.0.0.1:9/api/v2"],
            "--api: the user name or password holds \"%zz\"",
        ),
        Case::usage(
            "a slow tail that adds nothing",
            &["names", "3", "--tail-rate", "1", "--tail-ms", "0"],
            "--tail-ms 0 makes a slow request no slower",
        ),
        Case::usage(
            "a hedge in exponent notation",
            &["names", "3", "--mode", "async", "--hedge", "p1e1"],
            "\"p1e1\" is not a percentile",
        ),
        Case::usage(
            "a hedge with a capital P",
            &["names", "3", "--mode", "async", "--hedge", "P95"],
            "\"P95\" is not a percentile",
        ),
        Case::usage(
            "a hedge ending in a point",
            &["names", "3", "--mode", "async", "--hedge", "p95."],
            "\"p95.\" is not a percentile",
        ),
        Case::usage(
            "negative timeout",
            &["names", "3", "--timeout", "-1"],
            "'--timeout <SECS>': must be a positive number of seconds",
        ),
        Case::usage(
            "zero timeout",
            &["names", "3", "--timeout", "0"],
            "'--timeout <SECS>': must be a positive number of seconds",
        ),
        Case::usage(
            "zero rate",
            &["names", "3", "--rate", "0"],
            "'--rate <N[/UNIT]>': must be a positive rate",
        ),
        Case::usage(
            "negative rate",
            &["names", "3", "--rate", "-2"],
            "'--rate <N[/UNIT]>': must be a positive rate",
        ),
        Case::usage(
            "a rate of zero per second",
            &["names", "3", "--rate", "0/s"],
            "'--rate <N[/UNIT]>': must be a positive rate",
        ),
        Case::usage(
            "a rate too fast",
            &["names", "3", "--rate", "1e300/s"],
            "at most 1000000 per second",
        ),
        Case::usage(
            "a burst of zero",
            &["names", "3", "--rate", "20/s", "--burst", "0"],
            "'--burst <N>': must be at least 1",
        ),
        Case::usage(
            "a huge burst",
            &[
                "names",
                "3",
                "--rate",
                "20/s",
                "--burst",
                "99999999999999999999",
            ],
            "'--burst <N>': 99999999999999999999 is too large",
        ),
        Case::usage(
            "a burst of slow calls spanning centuries",
            &["names", "3", "--rate", "1/d", "--burst", "1000000"],
            "--burst 1000000 is too large for this --rate (one call every 86400 s)",
        ),
        Case::usage(
            "a burst just past a century at one a day",
            &["names", "5", "--rate", "1/d", "--burst", "36600"],
            "would take over a hundred years; at most 36501 at this rate",
        ),
        Case::usage(
            "a million calls at one a day (2 740 years)",
            &["names", "1000000", "--rate", "1/d"],
            "--rate is too slow for 1000000 calls (one call every 86400 s): they would take over a hundred years (about 2740)",
        ),
        Case::usage(
            "a stream one call past a century at one a day",
            &["stream", "36502", "--rate", "1/d"],
            "--rate is too slow for 36502 calls",
        ),
        Case::usage(
            "a burst does not stretch a century",
            &["names", "46501", "--rate", "1/d", "--burst", "10000"],
            "at most 46500 calls at this rate",
        ),
        Case::usage(
            "a ceiling for a fixed concurrency",
            &["names", "3", "--max-concurrency", "50"],
            "--max-concurrency 50 is the ceiling of -c auto: give -c auto with it",
        ),
        Case::usage(
            "a ceiling for a crawl's fixed concurrency",
            &["crawl", "-c", "8", "--max-concurrency", "50"],
            "--max-concurrency 50 is the ceiling of -c auto",
        ),
        Case::usage(
            "a slow tail without its delay",
            &["names", "3", "--tail-rate", "0.1"],
            "required arguments were not provided: --tail-ms",
        ),
        Case::usage(
            "a slow tail's delay without its rate",
            &["serve", "--tail-ms", "500"],
            "required arguments were not provided: --tail-rate",
        ),
        Case::usage(
            "an adaptive limit with no async mode",
            &["names", "3", "-c", "auto", "--mode", "sequential"],
            "-c auto is for the async mode, and --mode sequential has none",
        ),
        Case::usage(
            "hedging the threads mode",
            &["names", "3", "--hedge", "p95", "--mode", "threads"],
            "--hedge is for the async mode, and --mode threads has none",
        ),
        Case::usage(
            "hedging a sweep without async",
            &[
                "bench",
                "--hedge",
                "p95",
                "--modes",
                "sequential,threads",
                "--sizes",
                "3",
            ],
            "give async in --modes",
        ),
        Case::usage(
            "an adaptive limit for a sweep's -c",
            &["bench", "-c", "auto", "--sizes", "3"],
            "bench -c takes a number; auto is for --concurrencies",
        ),
        Case::usage(
            "a burst without a rate",
            &["names", "3", "--burst", "5"],
            "--rate",
        ),
        Case::usage(
            "negative retries",
            &["names", "3", "--retries", "-1"],
            "unexpected argument",
        ),
        Case::usage(
            "unknown mode",
            &["names", "3", "--mode", "fast"],
            "invalid value",
        ),
        Case::usage(
            "fail rate over 1",
            &["names", "3", "--fail-rate", "2"],
            "'--fail-rate <P>': must be between 0 and 1",
        ),
        Case::usage(
            "tail rate over 1",
            &["names", "3", "--tail-rate", "1.5", "--tail-ms", "10"],
            "'--tail-rate <P>': must be between 0 and 1",
        ),
        Case::usage(
            "tail of over an hour",
            &["serve", "--tail-rate", "0.1", "--tail-ms", "3600001"],
            "'--tail-ms <MS>'",
        ),
        Case::usage(
            "hedge at p0",
            &["names", "3", "--hedge", "p0"],
            "'--hedge <pN>': the percentile must be above p0 and at most p99.9",
        ),
        Case::usage(
            "hedge at p100",
            &["names", "3", "--hedge", "p100"],
            "'--hedge <pN>': the percentile must be above p0 and at most p99.9",
        ),
        Case::usage(
            "hedge past p99.9",
            &["stream", "3", "--hedge", "p99.95"],
            "at most p99.9",
        ),
        Case::usage(
            "hedge not a percentile",
            &["get", "25", "--hedge", "fast"],
            "'--hedge <pN>': \"fast\" is not a percentile",
        ),
        Case::usage(
            "hedge at a negative percentile",
            &["crawl", "--hedge", "p-5"],
            "at most p99.9",
        ),
        Case::usage(
            "hedge not finite",
            &["names", "3", "--hedge", "pinf"],
            "not a percentile",
        ),
        // Every number a user gives has a bound (bounds.rs), checked before anything starts.
        Case::usage(
            "ten million threads",
            &["names", "50", "--threads", "10000000", "--mode", "threads"],
            "'--threads <N>': 10000000 is too large: at most 1024",
        ),
        Case::usage(
            "a hundred thousand cpu threads",
            &["cpu", "--threads", "100000", "--jobs", "10"],
            "'--threads <N>': 100000 is too large",
        ),
        Case::usage(
            "a hundred thousand blocking calls",
            &["blocking", "--calls", "100000", "--mode", "correct"],
            "'--calls <N>': 100000 is too large",
        ),
        Case::usage(
            "a rate of one per trillion seconds",
            &["names", "1", "--rate", "1e-12"],
            "must be at least 1 per day",
        ),
        Case::usage(
            "a rate of 1e-300",
            &["names", "1", "--rate", "1e-300"],
            "must be at least 1 per day",
        ),
        Case::usage(
            "a rate per fortnight",
            &["names", "1", "--rate", "5/fortnight"],
            "unknown unit \"fortnight\"",
        ),
        Case::usage(
            "a timeout of 1e19 seconds",
            &["names", "3", "--mode", "sequential", "--timeout", "1e19"],
            "'--timeout <SECS>': must be at most",
        ),
        Case::usage(
            "a latency of ten billion ms",
            &["names", "3", "--latency", "10000000000"],
            "'--latency <MS>':",
        ),
        Case::usage(
            "a million in flight",
            &["names", "3", "-c", "1000000"],
            "is too large: at most 100000",
        ),
        Case::usage(
            "a thousand retries",
            &["names", "3", "--retries", "1000"],
            "'--retries <N>': 1000 is too large",
        ),
        Case::usage(
            "a zero body limit",
            &["names", "3", "--max-body", "0"],
            "'--max-body <MIB>': must be at least 1",
        ),
        Case::usage(
            "a body limit past the budget of every body held (hp9 A-F6)",
            &["get", "25", "--max-body", "2048"],
            "'--max-body <MIB>': 2048 is too large: at most 1024: the bodies a process holds at once share one budget of 1024 MiB",
        ),
        Case::usage(
            "a range of four billion ids",
            &["names", "3", "--ids", "1-4294967295"],
            "too large a range of ids",
        ),
        Case::usage(
            "a million cpu jobs",
            &["cpu", "--jobs", "1000000"],
            "'--jobs <N>': 1000000 is too large: at most 10000",
        ),
        Case::usage(
            "a server of no capacity",
            &["serve", "--capacity", "0"],
            "'--capacity <N>': must be at least 1",
        ),
        Case::usage(
            "a queue without a capacity",
            &["names", "3", "--queue", "5"],
            "--capacity",
        ),
        Case::usage(
            "a range of ids backwards",
            &["names", "3", "--ids", "898-1"],
            "not a range of ids",
        ),
        Case::usage(
            "fault rates adding up over 1",
            &["names", "3", "--fail-rate", "0.6", "--stall-rate", "0.6"],
            "add up to",
        ),
    ];
    run_table(&cases, None);
}

/// Runs that start but fail: each says what failed and exits 1.
#[test]
fn failed_runs_say_what_failed_and_exit_1() {
    let refused = common::refused_url();
    let html = common::fixed_server(common::HTML, Duration::ZERO, 64);
    let cases = [
        Case::fails(
            "id over i32 is looked up, and not found",
            &["get", "2147483648", "--latency", "0"],
            "not found: pokemon/2147483648",
        ),
        Case::fails(
            "every call stalls past the timeout",
            &[
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
            "1 timed out",
        ),
        Case::fails(
            "every call throttled",
            &[
                "get",
                "25",
                "--latency",
                "0",
                "--throttle-rate",
                "1",
                "--retry-after",
                "0",
            ],
            "HTTP 429",
        ),
        Case::fails(
            "every body truncated",
            &[
                "get",
                "25",
                "--latency",
                "0",
                "--truncate-rate",
                "1",
                "--retries",
                "0",
            ],
            "failed: pokemon/25",
        ),
        Case::fails(
            "every connection reset while streaming",
            &[
                "stream",
                "3",
                "--ids",
                "1-1025",
                "--latency",
                "0",
                "--reset-rate",
                "1",
                "--retries",
                "1",
            ],
            "3 failed",
        ),
        Case::fails(
            "get from an api nobody listens on",
            &["get", "25", "--api", &refused],
            "could not connect",
        ),
        Case::fails(
            "async names from an api nobody listens on",
            &["names", "3", "--mode", "async", "--api", &refused],
            "could not connect",
        ),
        Case::fails(
            "get from an api answering HTML",
            &["get", "25", "--api", &html],
            "non-JSON",
        ),
        Case::fails(
            "stream from an api answering HTML",
            &["stream", "2", "--ids", "1-9", "--api", &html],
            "non-JSON",
        ),
        Case::fails(
            "names from an api whose list is HTML",
            &["names", "2", "--api", &html],
            "is not a PokeAPI list",
        ),
    ];
    run_table(&cases, None);
}

/// Crawl, export and serve: one line each, and nothing created on the way.
#[test]
fn crawl_and_export_report_bad_input_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asyncdex.db");
    std::fs::write(dir.path().join("afile"), "").unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("fifo"))
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::create_dir(dir.path().join("realdir")).unwrap();
    std::os::unix::fs::symlink("realdir", dir.path().join("linkdir")).unwrap();
    let cases = [
        Case::usage(
            "resource name with a non-ASCII letter",
            &["crawl", "--resources", "Pokémon", "--latency", "0"],
            "invalid resource",
        ),
        Case::usage(
            "empty resource name",
            &["crawl", "--resources", "", "--latency", "0"],
            r#"invalid resource """#,
        ),
        Case::usage(
            "a crawl into stdout",
            &["crawl", "--out", "/dev/stdout", "--resources", "type"],
            "cannot keep the store in /dev/stdout: it is a symbolic link, not a regular file",
        )
        .in_one_line(),
        Case::usage(
            "a crawl into a folder",
            &["crawl", "--out", "/tmp", "--resources", "type"],
            "cannot keep the store in /tmp: it is a directory",
        ),
        Case::usage(
            "a crawl into a device",
            &["crawl", "--out", "/dev/null", "--resources", "type"],
            "it is a device, not a regular file",
        ),
        Case::usage(
            "a crawl into a folder that does not exist",
            &[
                "crawl",
                "--out",
                "/nonexistent-dir/x.db",
                "--resources",
                "type",
            ],
            "the folder /nonexistent-dir does not exist",
        ),
        Case::usage(
            "a crawl into a mysql URL",
            &["crawl", "--out", "mysql://a@b/c", "--resources", "type"],
            "mysql://a@b/c is a mysql:// URL: a store is a file or a postgres:// URL",
        ),
        Case::usage(
            "a crawl into an sqlite URL",
            &["crawl", "--out", "sqlite:///x.db", "--resources", "type"],
            "is a sqlite:// URL",
        ),
        Case::usage(
            "an export into a file",
            &["export", "--from", "x.db", "--to", "afile"],
            "afile is a file, not a folder",
        ),
        Case::usage(
            "an export through a symbolic link to a folder",
            &["export", "--from", "x.db", "--to", "linkdir"],
            "linkdir is a symbolic link: export never writes through one",
        )
        .in_one_line(),
        Case::usage(
            "an export through a symbolic link, written with a trailing slash",
            &["export", "--from", "x.db", "--to", "linkdir/"],
            "linkdir/ is a symbolic link",
        ),
        Case::usage(
            "an export from a folder",
            &["export", "--from", ".", "--to", "out"],
            "cannot export .: it is a directory, not a store file",
        ),
        Case::usage(
            "an export from a FIFO",
            &["export", "--from", "fifo", "--to", "out"],
            "cannot export fifo: it is a FIFO (named pipe), not a store file",
        ),
        Case::usage(
            "export from a store that does not exist",
            &[
                "export",
                "--from",
                "/nonexistent/x.db",
                "--to",
                "/tmp/never",
            ],
            "no store at",
        ),
        Case::fails(
            "serve from a folder that does not exist",
            &["serve", "--from", "/nonexistent/dir"],
            "cannot serve",
        )
        .in_one_line(),
    ];
    run_table(&cases, Some(dir.path()));
    assert!(!db.exists(), "a refused crawl created {}", db.display());
    let through = std::fs::read_dir(dir.path().join("realdir"))
        .unwrap()
        .count();
    assert_eq!(through, 0, "a refused export wrote through the link");
}

/// A file written at the end of a run (`--plot`, `--timeline`, `--trace`) is checked when
/// the flag is parsed: a run that could not write it never starts, and nothing is created.
#[test]
fn output_files_are_checked_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("fifo.svg"))
        .status()
        .unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/null", dir.path().join("null.json")).unwrap();
    let slow = ["--latency", "5000", "--jitter", "0"];
    let with = |args: &[&'static str]| -> Vec<&'static str> { [args, &slow[..]].concat() };
    let cases = [
        Case::usage(
            "a chart into a FIFO",
            &with(&["bench", "--sizes", "5", "--plot", "fifo.svg"]),
            "'--plot <FILE.svg>': cannot write fifo.svg: it is a FIFO (named pipe), not a regular file",
        ),
        Case::usage(
            "a knee chart into a folder that does not exist",
            &with(&["bench", "--concurrencies", "1,4", "--sizes", "5", "--plot", "no/k.svg"]),
            "the folder no does not exist",
        ),
        Case::usage(
            "a timeline into a folder that does not exist",
            &with(&["names", "5", "--timeline", "/nonexistent/x.svg"]),
            "'--timeline <FILE.svg>': cannot write /nonexistent/x.svg: the folder /nonexistent does not exist",
        ),
        Case::usage(
            "a timeline onto a folder",
            &with(&["stream", "5", "--timeline", "/tmp"]),
            "it is a directory, not a regular file",
        ),
        Case::usage(
            "a trace into a device",
            &with(&["get", "1", "--trace", "/dev/null"]),
            "'--trace <FILE.json>': cannot write /dev/null: it is a device",
        ),
        Case::usage(
            "a trace through a symbolic link",
            &with(&["names", "5", "--trace", "null.json"]),
            "it is a symbolic link",
        ),
        Case::usage(
            "a trace named as a folder",
            &with(&["names", "5", "--trace", "t.json/"]),
            "t.json/ names a folder, not a file",
        ),
        Case::usage(
            "a timeline named as another kind of file",
            &with(&["names", "5", "--timeline", "one.x", "--trace", "./one.x"]),
            "one.x: a timeline is an SVG picture; give a file name ending in .svg",
        ),
        Case::usage(
            "a trace under a file",
            &with(&["program", "--example", "smart-home", "--trace", "fifo.svg/t.json"]),
            "fifo.svg is a FIFO (named pipe), not a folder",
        ),
    ];
    run_table(&cases, Some(dir.path()));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 2, "nothing created: {left:?}");
}

/// More connections than the process may open: refused before anything starts, naming -c
/// and the limit, instead of calls failing one by one with "Too many open files".
#[test]
fn more_connections_than_descriptors_is_refused_up_front() {
    let bin = env!("CARGO_BIN_EXE_asyncdex");
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -n 256 && exec {bin} names 300 --mode async -c 200 --latency 0"),
        ])
        .output()
        .unwrap();
    let stderr = common::binary::text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: -c 200 needs about 432 open files"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // The adaptive limit is sized for its ceiling: that flag is the one named.
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -n 256 && exec {bin} names 300 --mode async -c auto --max-concurrency 200 --latency 0"),
        ])
        .output()
        .unwrap();
    let stderr = common::binary::text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: --max-concurrency 200 needs about 432 open files")
            && stderr.contains("lower --max-concurrency,"),
        "{stderr}"
    );
    // One call needs one connection, whatever -c says: it fits a small limit.
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -n 64 && exec {bin} get pikachu -c 64 --latency 0 --json"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        common::binary::text(&out.stderr)
    );
    // Over HTTP/2 a handful of connections carry them all: it runs.
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -n 256 && exec {bin} names 300 --mode async -c 200 --latency 0 --http2 --json"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        common::binary::text(&out.stderr)
    );
}

/// A program file that is a FIFO would block its open forever: refused as not a file.
#[test]
fn a_program_that_is_not_a_regular_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("program.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = common::binary::asyncdex(&["program", fifo.to_str().unwrap()]);
    let stderr = common::binary::text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("it is not a regular file"), "{stderr}");
}

/// More resources than `get` keeps at once: refused before fetching.
#[test]
fn get_takes_at_most_a_hundred_resources() {
    let many: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
    let mut args = vec!["get"];
    args.extend(many.iter().map(String::as_str));
    let out = common::binary::asyncdex(&args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        common::binary::text(&out.stderr)
    );
}
