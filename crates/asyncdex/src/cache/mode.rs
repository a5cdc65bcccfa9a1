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
