//! A file a command writes when it is done (`--plot`, `--timeline`, `--trace`), checked
//! when the flag is parsed, before anything runs.
//!
//! These files are written at the end of a run that may take minutes: found only then,
//! a missing folder or a FIFO where the file should go would throw the run away. So the
//! flag's parser asks [`asyncdex::files::check_writable`] (the checks the writer itself
//! makes, without creating anything) and a bad path is clap's one line naming the flag,
//! exit 2. The file is not created early: a refused or interrupted run leaves nothing.

use std::path::PathBuf;

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
