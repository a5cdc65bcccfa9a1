//! [`Cached`]: a [`Cache`] in front of any transport, async or blocking, so that the
//! client above never knows whether an answer came from the disk.

use super::entries::Lookup;
use super::Cache;
use crate::error::Result;
use crate::http::{BlockingTransport, Response, Transport};

/// A transport with a [`Cache`] in front (or none: then it is the transport itself).
#[derive(Debug, Clone)]
pub struct Cached<T> {
    inner: T,
    cache: Option<Cache>,
}

impl<T> Cached<T> {
    /// `inner` behind `cache`.
    pub fn new(inner: T, cache: Option<Cache>) -> Cached<T> {
        Cached { inner, cache }
    }
}

impl<T: Transport> Transport for Cached<T> {
    async fn get(&self, url: &str) -> Result<Response> {
        let Some(cache) = &self.cache else {
            return self.inner.get(url).await;
        };
        let Some(store) = cache.inner.store() else {
            cache.count_set_aside(url);
            return self.inner.get(url).await;
        };
        // The store blocks: its calls run on the store's offload pool.
        let (c, u) = (cache.clone(), url.to_owned());
        let lookup = store
            .run(move |store| Ok(c.lookup(store, &u)))
            .await
            .unwrap_or(Lookup::Bypass);
        match lookup {
            Lookup::Hit(resp) => Ok(resp),
            Lookup::Bypass => self.inner.get(url).await,
            Lookup::Miss { endpoint, key } => {
                let resp = self.inner.get(url).await?;
                let (c, kept) = (cache.clone(), resp.clone());
                let _ = store
                    .run(move |store| {
                        c.remember(store, &endpoint, &key, &kept);
                        Ok(())
                    })
                    .await;
                Ok(resp)
            }
        }
    }
}

impl<B: BlockingTransport> BlockingTransport for Cached<B> {
    fn get(&self, url: &str) -> Result<Response> {
        let Some(cache) = &self.cache else {
            return self.inner.get(url);
        };
        let Some(store) = cache.inner.store() else {
            cache.count_set_aside(url);
            return self.inner.get(url);
        };
        let store = store.blocking();
        match cache.lookup(store, url) {
            Lookup::Hit(resp) => Ok(resp),
            Lookup::Bypass => self.inner.get(url),
            Lookup::Miss { endpoint, key } => {
                let resp = self.inner.get(url)?;
                cache.remember(store, &endpoint, &key, &resp);
                Ok(resp)
            }
        }
    }
}
