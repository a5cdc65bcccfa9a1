//! Throwaway databases for tests and benchmarks: each test gets a database of its own on
//! the one server (`CREATE DATABASE`), dropped when it is done, so tests run in parallel
//! without seeing each other's queues.

use std::str::FromStr;

use crate::error::{Error, ErrorKind, Result};

/// The variable that names the server tests use (`source .ci/postgres` sets it).
pub const URL_VAR: &str = "ASYNCDEX_POSTGRES_URL";

/// A fresh database on the server at `admin` (a URL whose user may create databases),
/// dropped (connections and all) when this is dropped.
#[derive(Debug)]
pub struct Scratch {
    admin: String,
    name: String,
    url: String,
}

/// Runs `sql` on `url` from a thread of its own (so it can be called from async code and
/// from plain tests alike).
fn run(url: &str, sql: String) -> Result<()> {
    let config = tokio_postgres::Config::from_str(url)
        .map_err(|e| Error::invalid_input(format!("invalid PostgreSQL URL: {e}")))?;
    std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let (client, connection) =
                    config.connect(tokio_postgres::NoTls).await.map_err(|e| {
                        let url = super::url::shown(url);
                        Error::new(ErrorKind::Connect, format!("{url}: {e}"))
                    })?;
                let driver = tokio::spawn(connection);
                let done = client
                    .batch_execute(&sql)
                    .await
                    .map_err(|e| Error::new(ErrorKind::Database, format!("{sql}: {e}")));
                drop(client);
                let _ = driver.await;
                done
            })
        })
        .join()
        .unwrap_or_else(|_| Err(Error::new(ErrorKind::Panicked, "scratch database")))
    })
}

impl Scratch {
    /// Creates a database named `{prefix}_{pid}_{random}` on the server at `admin`.
    pub fn create(admin: &str, prefix: &str) -> Result<Scratch> {
        let name = format!("{prefix}_{}_{:08x}", std::process::id(), super::unique());
        run(admin, format!("CREATE DATABASE {name}"))?;
        Ok(Scratch {
            admin: admin.to_owned(),
            url: with_database(admin, &name),
            name,
        })
    }

    /// For the test named `test`: a fresh database on the server `ASYNCDEX_POSTGRES_URL`
    /// names, or `None` (saying so, and how to start one) when it is not set, so the
    /// test can skip.
    pub fn for_test(test: &str) -> Option<Scratch> {
        match std::env::var(URL_VAR) {
            Ok(url) if !url.is_empty() => Some(
                Scratch::create(&url, "asyncdex_test")
                    .unwrap_or_else(|e| panic!("{test}: {URL_VAR} is set, but: {e}")),
            ),
            _ => {
                eprintln!(
                    "skipping {test}: no PostgreSQL server; `source .ci/postgres` starts one and sets {URL_VAR}"
                );
                None
            }
        }
    }

    /// The database's URL (the admin URL's user, password and host).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `sql` in the database (setting up a case: someone else's tables).
    pub fn execute(&self, sql: &str) -> Result<()> {
        run(&self.url, sql.to_owned())
    }

    /// Runs `sql` in a transaction left open until the answer is dropped (setting up a
    /// case: another session holding rows locked). Returns once `sql` has run.
    pub fn hold(&self, sql: &str) -> Result<Held> {
        let config = tokio_postgres::Config::from_str(&self.url)
            .map_err(|e| Error::invalid_input(format!("invalid PostgreSQL URL: {e}")))?;
        let sql = format!("BEGIN; {sql}");
        let (ready, started) = std::sync::mpsc::channel();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let held = async {
                    let (client, connection) = config
                        .connect(tokio_postgres::NoTls)
                        .await
                        .map_err(|e| Error::new(ErrorKind::Connect, e.to_string()))?;
                    let driver = tokio::spawn(connection);
                    client
                        .batch_execute(&sql)
                        .await
                        .map_err(|e| Error::new(ErrorKind::Database, format!("{sql}: {e}")))?;
                    Ok((client, driver))
                };
                let (client, driver) = match held.await {
                    Ok(held) => {
                        let _ = ready.send(Ok(()));
                        held
                    }
                    Err(e) => return drop(ready.send(Err(e))),
                };
                let _ = released.await;
                let _ = client.batch_execute("COMMIT").await;
                drop(client);
                let _ = driver.await;
            })
        });
        started
            .recv()
            .unwrap_or_else(|_| Err(Error::new(ErrorKind::Panicked, "holding session")))?;
        Ok(Held {
            release: Some(release),
            thread: Some(thread),
        })
    }
}

/// A session of [`Scratch::hold`]: its transaction commits when this is dropped.
#[derive(Debug)]
pub struct Held {
    release: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = run(
            &self.admin,
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (head, query) = match url.find('?') {
        Some(q) => url.split_at(q),
        None => (url, ""),
    };
    let after_scheme = head.find("://").map_or(0, |i| i + 3);
    let host_end = head[after_scheme..]
        .find('/')
        .map_or(head.len(), |i| after_scheme + i);
    format!("{}/{name}{query}", &head[..host_end])
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_of_a_url_is_replaced_and_nothing_else() {
        use super::with_database;
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:5/postgres", "x"),
            "postgres://u:p@127.0.0.1:5/x"
        );
        assert_eq!(
            with_database("postgres://u@h:5?host=/tmp", "x"),
            "postgres://u@h:5/x?host=/tmp"
        );
    }
}
