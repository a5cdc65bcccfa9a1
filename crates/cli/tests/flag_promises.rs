//! Flags do what their help says: bare `--cache` uses the platform's cache folder,
//! `program -c` bounds its fetches and the closing line counts that bound in the ideal,
//! and a `--timeline` stays well-formed XML whatever a label holds.

mod common;

use std::process::Command;

use common::binary::{text, FAST};

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
