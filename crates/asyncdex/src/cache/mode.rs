//! [`CacheMode`]: whether and where to cache, as the user asked, and the cache it opens.

use std::path::PathBuf;

#[cfg(feature = "mirror")]
use super::Cache;
#[cfg(feature = "mirror")]
use crate::error::Result;

/// Whether and where to cache, as the user asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CacheMode {
    /// Neither flag: on for an API across the network, in [`Cache::default_dir`]; off for
    /// the embedded mirror and other loopback servers, where the disk buys nothing and
    /// the simulated latency is the lesson.
    #[default]
    Auto,
    /// `--no-cache`.
    Off,
    /// `--cache [DIR]`: on, for any API, in this folder.
    In(PathBuf),
}

impl CacheMode {
    /// The folder and the file a run on `target` would cache in (see
    /// [`CacheMode::open_for`]), found before the run: so that nothing else the run
    /// writes replaces it. `None` when caching is off; by default, the platform's file
    /// for an API across the network (a loopback server's too: it is not used then, and
    /// is still a cache file).
    #[cfg(feature = "mirror")]
    pub fn file_for(&self, target: &crate::source::Target) -> Option<(PathBuf, PathBuf)> {
        use crate::source::Target;
        // As `Source::cache_name` names them: credentials aside, which the file name
        // never holds (`name::identity`).
        let name = match target {
            Target::Embedded(_) => "embedded",
            Target::Remote(remote) => remote.root(),
        };
        let dir = match (self, target) {
            (CacheMode::Off, _) | (CacheMode::Auto, Target::Embedded(_)) => return None,
            (CacheMode::In(dir), _) => dir.clone(),
            (CacheMode::Auto, Target::Remote(_)) => Cache::default_dir().ok()?,
        };
        let file = Cache::file_for(&dir, name);
        Some((dir, file))
    }

    /// The cache for `source`, or `None` when caching is off.
    #[cfg(feature = "mirror")]
    pub fn open_for(&self, source: &crate::source::Source) -> Result<Option<Cache>> {
        let dir = match self {
            CacheMode::Off => return Ok(None),
            CacheMode::In(dir) => dir.clone(),
            CacheMode::Auto if source.is_loopback() => return Ok(None),
            CacheMode::Auto => match Cache::default_dir() {
                Ok(dir) => dir,
                Err(e) => {
                    tracing::warn!("not caching: {e}");
                    return Ok(None);
                }
            },
        };
        match Cache::open_named(&dir, &source.cache_name(), source.base_url()) {
            Ok(cache) => Ok(Some(cache)),
            // Asked for: say why it cannot be. By default: go on without it.
            Err(e) if matches!(self, CacheMode::In(_)) => Err(e),
            Err(e) => {
                tracing::warn!("not caching: {e}");
                Ok(None)
            }
        }
    }
}

#[cfg(all(test, feature = "mirror"))]
mod tests {
    use super::*;
    use crate::mirror::MirrorConfig;
    use crate::source::{Source, Target};

    #[tokio::test]
    async fn the_file_found_before_the_run_is_the_one_the_run_opens() {
        let dir = tempfile::tempdir().unwrap();
        let mode = CacheMode::In(dir.path().to_owned());
        let root = Some("http://ash:secret@127.0.0.1:8/x/api/v2/");
        let target = Target::parse(root, MirrorConfig::default()).unwrap();
        let (folder, file) = mode.file_for(&target).unwrap();
        assert_eq!(folder, dir.path());
        let source = Source::open(target).await.unwrap();
        let cache = mode.open_for(&source).unwrap().unwrap();
        assert_eq!(cache.path(), Some(file.as_path()));
        let embedded = Target::parse(None, MirrorConfig::default()).unwrap();
        assert_eq!(
            mode.file_for(&embedded).unwrap().1,
            Cache::file_for(dir.path(), "embedded")
        );
        assert_eq!(CacheMode::Off.file_for(&embedded), None);
        assert_eq!(CacheMode::Auto.file_for(&embedded), None);
    }
}
