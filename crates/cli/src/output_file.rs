//! A file a command writes when it is done (`--plot`, `--timeline`, `--trace`), checked
//! when the flag is parsed, before anything runs; and the other places a command writes
//! to (`crawl --out`, `export --to`), checked as far as can be before anything runs.
//!
//! These files are written at the end of a run that may take minutes: found only then,
//! a missing folder or a FIFO where the file should go would throw the run away. So the
//! flag's parser asks [`asyncdex::files::check_writable`] (the checks the writer itself
//! makes, without creating anything) and a bad path is clap's one line naming the flag,
//! exit 2. The file is not created early: a refused or interrupted run leaves nothing.
//! Two such flags naming one file (`--timeline x --trace x`) are refused too: the second
//! written would silently replace the first.
//!
//! Each flag's file is named for its format ([`timeline_file`]: `FILE.svg`, [`trace_file`]:
//! `FILE.json`), so a typo naming a database (`--timeline pokedex.db`) or the two flags
//! swapped is refused at once. Nor does an output file replace what is not an output of
//! its kind that asyncdex wrote ([`check_replace`], before the run, the same decision as
//! the writer's when it writes: [`asyncdex::files::may_replace`]): an existing file is
//! sniffed, and a timeline replaces only an SVG picture bearing asyncdex's mark, a trace
//! only a marked JSON trace. A database renamed `t.svg`, a hand-drawn SVG, another user's
//! file, the run's own cache file or the running `asyncdex` itself is one line, exit 2,
//! before anything is fetched.

use std::path::{Path, PathBuf};

use asyncdex::files::Kind;

/// A file a command writes when it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `--timeline FILE.svg`
    Timeline,
    /// `--trace FILE.json`
    Trace,
    /// `bench --plot FILE.svg`
    Plot,
}

impl Output {
    /// The flag that names it.
    pub fn flag(self) -> &'static str {
        match self {
            Output::Timeline => "--timeline",
            Output::Trace => "--trace",
            Output::Plot => "--plot",
        }
    }

    /// What it is, in words (`a timeline`).
    fn noun(self) -> &'static str {
        match self {
            Output::Timeline => "a timeline",
            Output::Trace => "a trace",
            Output::Plot => "a chart",
        }
    }

    /// The extension its file name must have.
    fn extension(self) -> &'static str {
        match self {
            Output::Timeline | Output::Plot => "svg",
            Output::Trace => "json",
        }
    }

    /// The kind of file it is, and so the only kind it may replace.
    fn kind(self) -> Kind {
        match self {
            Output::Timeline | Output::Plot => Kind::Svg,
            Output::Trace => Kind::Trace,
        }
    }
}

/// A file the run keeps open or reads, which no output may replace, and what it is in
/// words (`the run's cache file (--cache c)`).
#[derive(Debug, Clone)]
pub struct Kept {
    /// What it is, for the refusal.
    pub what: String,
    /// Where it is.
    pub path: PathBuf,
}

/// The files of the cache `file` (its `-wal`, `-shm` and `-journal` too: replacing one
/// would damage the cache as surely), kept from being replaced; `dir` is `--cache`'s.
pub fn cache_files(file: &Path, dir: &Path) -> Vec<Kept> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut path = file.as_os_str().to_owned();
            path.push(suffix);
            Kept {
                what: format!("a file of the run's cache (--cache {})", dir.display()),
                path: path.into(),
            }
        })
        .collect()
}

/// Refuses `output` at `path` if writing it would replace what is not an output of its
/// kind: the running `asyncdex`, one of `kept`, or an existing non-empty file that its
/// first bytes say is something else (a SQLite database, an executable, text). Bad
/// input, said before the run.
pub fn check_replace(output: Output, path: &Path, kept: &[Kept]) -> asyncdex::Result<()> {
    let refuse = |why: String| {
        Err(asyncdex::Error::invalid_input(format!(
            "{} {}: {why}",
            output.flag(),
            path.display()
        )))
    };
    if is_running_program(path) {
        return refuse("it is the asyncdex program running now; choose another path".into());
    }
    if let Some(kept) = kept.iter().find(|k| same_file(path, &k.path)) {
        return refuse(format!("it is {}; choose another path", kept.what));
    }
    use asyncdex::files::Refusal;
    match asyncdex::files::may_replace(path, output.kind(), true) {
        Ok(()) => Ok(()),
        Err(Refusal::OtherKind { found, .. }) => refuse(format!(
            "it exists and is not {} ({found}); remove it or choose another path",
            output.noun()
        )),
        Err(Refusal::NotMarked(kind)) => refuse(format!(
            "it exists and is {kind} that asyncdex did not write; remove it or choose another path"
        )),
        Err(Refusal::Io(e)) => refuse(format!(
            "it exists and cannot be read to tell what it is ({e}); remove it or choose another path"
        )),
        Err(other) => refuse(other.to_string()),
    }
}

/// Whether `path` is the program running now (its device and inode: whatever name it
/// was started by, and even if it was renamed since).
fn is_running_program(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // `/proc/self/exe` is the running file itself on Linux; elsewhere, its path.
        let exe = std::fs::metadata("/proc/self/exe")
            .or_else(|_| std::env::current_exe().and_then(std::fs::metadata));
        if let (Ok(exe), Ok(meta)) = (exe, std::fs::metadata(path)) {
            return (exe.dev(), exe.ino()) == (meta.dev(), meta.ino());
        }
        false
    }
    #[cfg(not(unix))]
    {
        std::env::current_exe().is_ok_and(|exe| same_file(&exe, path))
    }
}

/// Checks `--cache DIR` (or `cache --dir DIR`, named by `flag`) before the run: `dir` must
/// be a folder, or a name for one under a folder (made when the cache opens). A file or a
/// device there is bad input; a folder the run cannot write is not (the cache never fails
/// a run: it is said why in the run's closing `cache:` line).
pub fn check_cache_folder(flag: &str, dir: &Path) -> asyncdex::Result<()> {
    use std::io::ErrorKind::{NotADirectory, NotFound};
    let mut at = dir;
    loop {
        let found = std::fs::metadata(at).or_else(|e| match std::fs::symlink_metadata(at) {
            Ok(link) => Ok(link), // a symbolic link to nothing
            Err(_) => Err(e),
        });
        let meta = match found {
            Ok(meta) if meta.is_dir() => return Ok(()),
            Ok(meta) => meta,
            Err(e) if matches!(e.kind(), NotFound | NotADirectory) => match at.parent() {
                Some(up) if !up.as_os_str().is_empty() => {
                    at = up;
                    continue;
                }
                _ => return Ok(()),
            },
            Err(_) => return Ok(()), // unreadable: the cache says why when it opens
        };
        let what = match meta.is_file() {
            true => "a file",
            false if meta.file_type().is_symlink() => "a symbolic link to nothing",
            false => asyncdex::files::describe(&meta),
        };
        let not = match at == dir {
            true => "not a folder".to_owned(),
            false => format!("{} is not a folder", at.display()),
        };
        return Err(asyncdex::Error::invalid_input(format!(
            "{flag} {}: {not} ({what})",
            dir.display()
        )));
    }
}

/// Parses `--timeline`: an [`output_file`] named `*.svg`.
pub fn timeline_file(s: &str) -> Result<PathBuf, String> {
    named(Output::Timeline, s)
}

/// Parses `--trace`: an [`output_file`] named `*.json`.
pub fn trace_file(s: &str) -> Result<PathBuf, String> {
    named(Output::Trace, s)
}

/// Parses `--plot`: an [`output_file`] named `*.svg`.
pub fn plot_file(s: &str) -> Result<PathBuf, String> {
    named(Output::Plot, s)
}

/// An [`output_file`] for `output`, named with its format's extension (any case): the
/// name is what the user meant, and a name of the other format (`--timeline t.json
/// --trace t.svg`, the two swapped) would give each file the other's contents.
fn named(output: Output, s: &str) -> Result<PathBuf, String> {
    let path = output_file(s)?;
    let wanted = output.extension();
    let has = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(wanted));
    if !has {
        return Err(format!(
            "{s}: {} is {}; give a file name ending in .{wanted}",
            output.noun(),
            output.kind()
        ));
    }
    Ok(path)
}

/// Parses a path to write a file to: not empty, naming a file (not ending in `/`), in a
/// folder that exists and this user may write, with nothing but a regular file of this
/// user's there already.
pub fn output_file(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() {
        return Err("give a file name".into());
    }
    let path = PathBuf::from(s);
    if s.ends_with('/') || path.file_name().is_none() {
        return Err(format!("{s} names a folder, not a file"));
    }
    asyncdex::files::check_writable(&path).map_err(|e| e.to_string())?;
    Ok(path)
}

/// Parses `crawl --out`: a `postgres://` URL, or a store file in a folder that exists.
/// Any other URL (`mysql://`, `sqlite:///x.db`) is refused rather than taken as a file
/// name, and a missing folder is bad input found now, not an SQLite error at the end of
/// the checks. (What is already at the path is the store's to judge when it opens it.)
pub fn store_path(s: &str) -> Result<PathBuf, String> {
    if asyncdex::pg::is_url(s) {
        return Ok(PathBuf::from(s));
    }
    if let Some((scheme, _)) = s.split_once("://") {
        let is_scheme = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if is_scheme {
            return Err(format!(
                "{s} is a {scheme}:// URL: a store is a file or a postgres:// URL"
            ));
        }
    }
    if s.is_empty() {
        return Err("give a file name".into());
    }
    let path = PathBuf::from(s);
    if s.ends_with('/') || path.file_name().is_none() {
        return Err(format!("{s} names a folder, not a file"));
    }
    check_folder(&path)?;
    Ok(path)
}

/// Parses `export --to`: a folder, or a name for one in a folder that exists; a path
/// that is already something else (a file, a FIFO) is refused, naming what it is. A
/// symbolic link is refused even to a folder, as export never writes through one (and
/// `link/` is the link too: a trailing `/` would otherwise have the system follow it).
pub fn export_dir(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() {
        return Err("give a folder".into());
    }
    let path = PathBuf::from(s);
    let named = Path::new(match s.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    });
    if std::fs::symlink_metadata(named).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(format!(
            "{s} is a symbolic link: export never writes through one (give the folder itself)"
        ));
    }
    match std::fs::metadata(&path) {
        // An export into a folder is made inside it, so that folder takes the new files.
        Ok(meta) if meta.is_dir() => {
            return asyncdex::files::check_folder_writable(&path).map(|()| path)
        }
        Ok(meta) if meta.is_file() => return Err(format!("{s} is a file, not a folder")),
        Ok(meta) => {
            let what = asyncdex::files::describe(&meta);
            return Err(format!("{s} is {what}, not a folder"));
        }
        Err(_) => {}
    }
    check_folder(&path)?;
    Ok(path)
}

/// The folder `path` would be made in must exist (and be a folder), and take new files:
/// a store writes its `-wal` and `-shm` beside it, a new export is made beside its
/// target, and on a read-only file system either would fail only once the run is under
/// way ([`asyncdex::files::check_folder_writable`], the check `--timeline`'s folder gets).
fn check_folder(path: &Path) -> Result<(), String> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."), // the working directory
    };
    match std::fs::metadata(parent) {
        Ok(meta) if meta.is_dir() => asyncdex::files::check_folder_writable(parent),
        Ok(_) => Err(format!("{} is not a folder", parent.display())),
        Err(_) => Err(format!("the folder {} does not exist", parent.display())),
    }
}

/// Whether `a` and `b` name one file: the same file where it exists (hard links and
/// symbolic links included), the same name in the same folder where it does not yet
/// (`x.svg`, `./x.svg`, `dir/../x.svg`).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return (ma.dev(), ma.ino()) == (mb.dev(), mb.ino());
        }
    }
    let place = |p: &Path| {
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        Some((parent.canonicalize().ok()?, p.file_name()?.to_owned()))
    };
    match (place(a), place(b)) {
        (Some(pa), Some(pb)) => pa == pb,
        _ => a == b,
    }
}

/// Refuses two output flags naming one file, each given as (flag, path).
pub fn check_distinct(outputs: &[(&str, Option<&Path>)]) -> asyncdex::Result<()> {
    let given: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|(flag, path)| path.map(|p| (*flag, p)))
        .collect();
    for (i, (flag, path)) in given.iter().enumerate() {
        if let Some((other, _)) = given[..i].iter().find(|(_, p)| same_file(p, path)) {
            return Err(asyncdex::Error::invalid_input(format!(
                "{other} and {flag} name one file ({}): the second would replace the first; give each its own",
                path.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_is_recognised_however_it_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("x.svg"), dir.path().join("y.svg"));
        let dotted = dir.path().join(".").join("x.svg");
        assert!(
            same_file(&a, &dotted),
            "not yet there: same folder, same name"
        );
        assert!(!same_file(&a, &b));
        std::fs::write(&a, "").unwrap();
        std::fs::hard_link(&a, &b).unwrap();
        assert!(same_file(&a, &b), "a hard link is the same file");
        let err = check_distinct(&[("--timeline", Some(&a)), ("--trace", Some(&dotted))]);
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("--timeline and --trace name one file"));
        assert!(check_distinct(&[("--timeline", Some(&a)), ("--trace", None)]).is_ok());
    }

    #[test]
    fn a_store_is_a_file_in_a_folder_that_exists_or_a_postgres_url() {
        assert!(store_path("postgres://u:p@h/db").is_ok());
        assert!(store_path("x.db").is_ok());
        for (bad, why) in [
            ("mysql://a@b/c", "is a mysql:// URL"),
            ("sqlite:///x.db", "is a sqlite:// URL"),
            (
                "/nonexistent-dir/x.db",
                "the folder /nonexistent-dir does not exist",
            ),
            ("", "give a file name"),
        ] {
            let err = store_path(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
