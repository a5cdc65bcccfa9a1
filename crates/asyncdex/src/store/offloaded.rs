//! The blocking store, unchanged, made safe for async code: the lesson's `to_thread`
//! applied to a database.

use std::sync::{Arc, Mutex};

use super::{Row, Store, Stored};
use crate::error::{Error, Result};
use asyncdex_engine::offload::Pool;

/// A [`Store`] for async code: every call runs on an offload pool and is awaited, so the
/// runtime never waits for the disk. The blocking store is not changed at all.
#[derive(Clone, Debug)]
pub struct AsyncStore {
    store: Store,
    pool: Pool,
    /// Why a crawl into this store stopped writing, if it did ([`AsyncStore::gave_up`]).
    gave_up: Arc<Mutex<Option<Error>>>,
}

impl AsyncStore {
    /// Wraps `store`; its calls run on a pool of two threads (one connection serialises
    /// them anyway: the second thread lets the next call be ready when one finishes).
    pub fn new(store: Store) -> AsyncStore {
        AsyncStore {
            store,
            pool: Pool::new("store", 2),
            gave_up: Arc::default(),
        }
    }

    /// Why a crawl into this store stopped before it was done, if it did: another process
    /// held the store locked for longer than a write waits ([`super::is_locked`]). The
    /// crawl then ends as an interrupted one does (its manifest counts what is not
    /// stored as cancelled); this is the error to report with it.
    pub fn gave_up(&self) -> Option<Error> {
        self.gave_up.lock().ok().and_then(|g| g.clone())
    }

    /// Records why a crawl stopped writing (the first reason is kept).
    pub(crate) fn give_up(&self, why: Error) {
        if let Ok(mut gave_up) = self.gave_up.lock() {
            gave_up.get_or_insert(why);
        }
    }

    /// The blocking store underneath.
    pub fn blocking(&self) -> &Store {
        &self.store
    }

    /// Runs `f` with the blocking store on the pool.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        self.pool.run(move || f(&store)).await?
    }

    /// [`Store::put`], awaited.
    pub async fn put(&self, rows: Vec<Row>) -> Result<()> {
        self.run(move |s| s.put(&rows)).await
    }

    /// [`Store::get`], awaited.
    pub async fn get(&self, endpoint: &str, key: &str) -> Result<Option<Stored>> {
        let (endpoint, key) = (endpoint.to_owned(), key.to_owned());
        self.run(move |s| s.get(&endpoint, &key)).await
    }
}
