//! Every file asyncdex writes goes through one writer that refuses what is not a regular
//! file (a FIFO, a device, a symbolic link), keeps a replaced file's mode, and writes
//! atomically. All paths are in temporary folders; `/dev/null` is only looked at.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn asyncdex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// `names 3` drawing its timeline to `path`.
fn timeline_to(path: &Path) -> Output {
    asyncdex(&[
        "names",
        "3",
        "--mode",
        "async",
        "--latency",
        "0",
        "--jitter",
        "0",
        "--timeline",
        path.to_str().unwrap(),
    ])
}

/// Exit 2 (refused when the flag is parsed, before the run), one `error:` line naming
/// `needle`, nothing fetched, and no temporary file left in `dir`.
fn assert_refused(out: &Output, dir: &Path, needle: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "nothing fetched: {}",
        text(&out.stdout)
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(needle), "{stderr}");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_fifo_is_refused_and_stays_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("t.svg");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = timeline_to(&fifo);
    assert_refused(&out, dir.path(), "FIFO");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn a_symlink_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.txt");
    std::fs::write(&target, "precious").unwrap();
    let link = dir.path().join("t.svg");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = timeline_to(&link);
    assert_refused(&out, dir.path(), "symbolic link");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    // A link to a device (here /dev/null, only pointed at) is refused the same way.
    let null_link = dir.path().join("null.svg");
    std::os::unix::fs::symlink("/dev/null", &null_link).unwrap();
    assert_refused(&timeline_to(&null_link), dir.path(), "symbolic link");
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device_like());
}

/// `/dev/null` is a character device: checked by its metadata only.
trait CharDevice {
    fn is_char_device_like(&self) -> bool;
}

impl CharDevice for std::fs::FileType {
    fn is_char_device_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_char_device()
    }
}

#[test]
fn a_replaced_file_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.svg");
    std::fs::write(
        &path,
        format!(
            "{}<svg xmlns=\"http://www.w3.org/2000/svg\">earlier picture</svg>",
            asyncdex::files::mark::SVG
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = timeline_to(&path);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(
        svg.contains("<svg") && !svg.contains("earlier picture"),
        "{svg}"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the mode is kept, not widened");
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("t.svg");
    std::fs::create_dir(&sub).unwrap();
    assert_refused(&timeline_to(&sub), dir.path(), "directory");
}

/// `asyncdex export --from DB --to DIR`.
fn export(db: &Path, to: &Path) -> Output {
    asyncdex(&[
        "export",
        "--from",
        db.to_str().unwrap(),
        "--to",
        to.to_str().unwrap(),
    ])
}

#[test]
fn export_still_writes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dex.db");
    let crawl = asyncdex(&[
        "crawl",
        "--resources",
        "type",
        "--out",
        db.to_str().unwrap(),
        "--latency",
        "0",
        "--jitter",
        "0",
    ]);
    assert_eq!(crawl.status.code(), Some(0), "{}", text(&crawl.stderr));
    let to = dir.path().join("site");
    let out = export(&db, &to);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let index = to.join("data/api/v2/type/index.json");
    let list: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index).unwrap()).unwrap();
    assert!(list["count"].as_u64().unwrap() > 0, "{list}");
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn export_of_a_damaged_store_fails_in_one_line_and_leaves_no_half_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dex.db");
    let store = asyncdex::store::Store::open(&db).unwrap();
    let rows: Vec<_> = (1..=50)
        .map(|id| asyncdex::store::Row::new("type", id, None, format!(r#"{{"id":{id}}}"#)))
        .collect();
    store.put(&rows).unwrap();
    drop(store);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE resources SET body = x'7b2269' WHERE id = 40", [])
        .unwrap();
    // The site's folder apart from the store's (a read-only SQLite reader may leave a
    // `-shm` beside the store: see README, Limits).
    let sites = tempfile::tempdir().unwrap();
    let before = listing(sites.path());
    let to = sites.path().join("site");
    let out = export(&db, &to);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("type/40 is damaged"), "{stderr}");
    assert!(!to.exists(), "a half export was left: {:?}", listing(&to));
    assert_eq!(listing(sites.path()), before, "no temporary folder is left");
}

#[test]
fn cache_stats_leaves_a_good_cache_folder_exactly_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().to_str().unwrap();
    for id in ["pokemon/25", "type/13"] {
        let get = asyncdex(&[
            "get",
            id,
            "--cache",
            cache,
            "--latency",
            "0",
            "--jitter",
            "0",
        ]);
        assert_eq!(get.status.code(), Some(0), "{}", text(&get.stderr));
    }
    let before = listing(dir.path());
    assert!(before.iter().any(|n| n.ends_with(".db")), "{before:?}");
    let bytes = |names: &[String]| -> Vec<Vec<u8>> {
        names
            .iter()
            .map(|n| std::fs::read(dir.path().join(n)).unwrap())
            .collect()
    };
    let contents = bytes(&before);
    for _ in 0..2 {
        let out = asyncdex(&["cache", "stats", "--dir", cache]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            stdout.contains("pokemon") && stdout.contains("type"),
            "{stdout}"
        );
        assert_eq!(listing(dir.path()), before, "cache stats left files behind");
        assert_eq!(bytes(&before), contents, "cache stats changed a file");
    }
}
