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

use std::path::{Path, PathBuf};

/// Parses a path to write a file to: not empty, naming a file (not ending in `/`), in a
/// folder that exists, with nothing but a regular file there already.
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
/// that is already something else (a file, a FIFO) is refused, naming what it is.
pub fn export_dir(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() {
        return Err("give a folder".into());
    }
    let path = PathBuf::from(s);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => return Ok(path),
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

/// The folder `path` would be made in must exist (and be a folder).
fn check_folder(path: &Path) -> Result<(), String> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => return Ok(()), // the working directory
    };
    match std::fs::metadata(parent) {
        Ok(meta) if meta.is_dir() => Ok(()),
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
