//! A store this user may read but not write (another user's file, mode 444 in a folder of
//! mode 555): `export --from` and `serve --from` read it without writing anything beside
//! it, and a store that cannot be read is refused for the real reason ("permission
//! denied", a log that cannot be read without making a `-shm`), never as "not an asyncdex
//! store". Run as `nobody` (through `setpriv`) when the tests run as root, whom file
//! modes do not stop; skipped if root has no `setpriv`.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::binary::{asyncdex, text, FAST};

/// The binary, as a user file modes apply to: `nobody` if this is root.
fn as_other_user() -> Option<Command> {
    // SAFETY: reads this process's effective user id.
    if unsafe { libc::geteuid() } != 0 {
        return Some(Command::new(env!("CARGO_BIN_EXE_asyncdex")));
    }
    common::binary::can_change_uid().then(|| common::binary::asyncdex_as(common::binary::NOBODY))
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// What SQLite may leave beside `store` (`-wal`, `-shm`, `-journal`) that is there.
fn beside(store: &Path) -> Vec<String> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| format!("{}{suffix}", store.display()))
        .filter(|p| Path::new(p).exists())
        .collect()
}

/// A temporary tree the other user can enter: `ro/` with the store (444, folder 555)
/// and `out/`, which anyone may write. Modes are given back on drop, so it can be removed.
struct Tree {
    root: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let root = tempfile::tempdir().unwrap();
        chmod(root.path(), 0o755);
        for dir in ["ro", "out"] {
            std::fs::create_dir(root.path().join(dir)).unwrap();
        }
        chmod(&root.path().join("out"), 0o777);
        let store = root.path().join("ro/st.db");
        let mut args = vec!["crawl", "--resources", "type", "--out"];
        args.push(store.to_str().unwrap());
        args.extend(FAST);
        assert_eq!(asyncdex(&args).status.code(), Some(0));
        let tree = Tree { root };
        tree.lock_down();
        tree
    }

    fn ro(&self) -> PathBuf {
        self.root.path().join("ro")
    }

    fn store(&self) -> PathBuf {
        self.ro().join("st.db")
    }

    fn out(&self, name: &str) -> PathBuf {
        self.root.path().join("out").join(name)
    }

    fn lock_down(&self) {
        chmod(&self.store(), 0o444);
        chmod(&self.ro(), 0o555);
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        chmod(&self.ro(), 0o755);
    }
}

fn export(command: &mut Command, from: &Path, to: &Path) -> Output {
    command
        .args(["export", "--from"])
        .arg(from)
        .arg("--to")
        .arg(to)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn a_store_that_cannot_be_written_is_exported_and_served_and_nothing_appears_beside_it() {
    let Some(mut user) = as_other_user() else {
        eprintln!("skipped: root without setpriv");
        return;
    };
    let tree = Tree::new();
    let out = export(&mut user, &tree.store(), &tree.out("site"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(tree.out("site/data/api/v2/type/1/index.json").is_file());
    assert_eq!(
        beside(&tree.store()),
        Vec::<String>::new(),
        "made beside it"
    );

    let mut user = as_other_user().unwrap();
    let mut serve = user
        .args(["serve", "--from"])
        .arg(tree.store())
        .args(["--bind", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = BufReader::new(serve.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    let answer = first
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .and_then(|rest| rest.split('/').next())
        .map(|addr| {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            let ask = format!(
                "GET /api/v2/type/1/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(ask.as_bytes()).unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        });
    // SAFETY: a signal to the child this test started, still unreaped.
    unsafe { libc::kill(serve.id() as libc::pid_t, libc::SIGTERM) };
    let status = serve.wait().unwrap();
    let mut stderr = String::new();
    serve
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let answer = answer.unwrap_or_else(|| panic!("not serving: {first} {stderr}"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"name\":\"normal\""), "{answer}");
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert_eq!(
        beside(&tree.store()),
        Vec::<String>::new(),
        "made beside it"
    );
}

#[test]
fn a_store_that_cannot_be_read_is_refused_for_the_real_reason() {
    let Some(_) = as_other_user() else {
        eprintln!("skipped: root without setpriv");
        return;
    };
    let tree = Tree::new();
    let refused = |to: &str| {
        let out = export(&mut as_other_user().unwrap(), &tree.store(), &tree.out(to));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(!stderr.contains("not an asyncdex store"), "{stderr}");
        assert!(!tree.out(to).exists(), "{stderr}");
        stderr
    };

    // Its log, without the index SQLite reads it through, in a folder where no index
    // can be made.
    chmod(&tree.ro(), 0o755);
    std::fs::write(tree.ro().join("st.db-wal"), b"").unwrap();
    tree.lock_down();
    let stderr = refused("half");
    assert!(
        stderr.contains("no -shm") && stderr.contains("cannot be written (permission denied)"),
        "{stderr}"
    );
    assert_eq!(
        beside(&tree.store()),
        [format!("{}-wal", tree.store().display())]
    );

    // A file this user may not read at all.
    chmod(&tree.ro(), 0o755);
    std::fs::remove_file(tree.ro().join("st.db-wal")).unwrap();
    chmod(&tree.store(), 0o000);
    let stderr = refused("none");
    assert!(
        stderr.ends_with(&format!(
            "cannot read the store {}: permission denied\n",
            tree.store().display()
        )),
        "{stderr}"
    );
}

/// A WAL store is read through the `-shm` index SQLite makes beside it: when the disk
/// will not take that index (full, or `ulimit -f` below its 32 KiB), the error names the
/// index, not the store, as what cannot be written (hp10 B notes: "cannot read the store
/// s.db: disk I/O error").
#[test]
fn an_index_the_disk_will_not_take_is_named_not_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("st.db");
    let mut args = vec!["crawl", "--resources", "type", "--out"];
    args.push(store.to_str().unwrap());
    args.extend(FAST);
    assert_eq!(asyncdex(&args).status.code(), Some(0));
    assert!(beside(&store).is_empty(), "a crawl leaves no index behind");
    // 8 KiB of file (sh counts 512-byte blocks), under the index's 32 KiB.
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 16 || exit 99; exec \"$ASYNCDEX\" export --from \"$1\" --to \"$2\"")
        .arg("sh")
        .arg(&store)
        .arg(dir.path().join("ex"))
        .env("ASYNCDEX", env!("CARGO_BIN_EXE_asyncdex"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    if out.status.code() == Some(99) {
        eprintln!("skipped: ulimit -f cannot be set");
        return;
    }
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("its -shm") && stderr.contains("ulimit -f"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("ex").exists(),
        "nothing exported: {stderr}"
    );
}
