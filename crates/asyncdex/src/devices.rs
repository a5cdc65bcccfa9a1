//! Devices for composed programs: the lesson's smart home.
//!
//! A [`Device`] connects, disconnects and receives messages, each an async operation.
//! [`Simulated`] devices (a hue light, a smart speaker, a smart toilet) take 0.5 s per
//! operation, as in the lesson, so a program's timing shows its structure.
//!
//! **Plugging in a real device**: implement [`Device`] for your type (connect to it in
//! `connect`, translate [`Device::send`] messages into its API) and add it to a
//! [`Devices`] registry under an id; programs then address it by that id like any other.
//! Blocking SDKs fit too: call them through [`offload`](asyncdex_engine::offload).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> asyncdex::Result<()> {
//! use asyncdex::devices::{Device, DeviceKind, Simulated};
//!
//! let light = Simulated::new("light", DeviceKind::HueLight);
//! light.connect().await?;
//! assert_eq!(light.send("change-color", Some("blue")).await?, "hue light light: change-color blue");
//! assert!(light.send("flush", None).await.is_err()); // a light cannot flush
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::error::{Error, Result};
use crate::named::named_enum;

/// How long a simulated device takes per operation (the lesson's 0.5 s).
pub const SIMULATED_DELAY: Duration = Duration::from_millis(500);

/// Something a program can connect to and send messages to.
pub trait Device: Send + Sync {
    /// Its id in the program.
    fn id(&self) -> &str;
    /// The messages it understands (`"switch-on"`...).
    fn messages(&self) -> &'static [&'static str];
    /// How long one operation is expected to take, if known (for the critical path).
    fn expected(&self) -> Option<Duration>;
    /// Opens the connection.
    fn connect(&self) -> BoxFuture<'_, Result<String>>;
    /// Closes it.
    fn disconnect(&self) -> BoxFuture<'_, Result<String>>;
    /// Sends `message` (one of [`Device::messages`]) with an optional `body`.
    fn send<'a>(&'a self, message: &'a str, body: Option<&'a str>)
        -> BoxFuture<'a, Result<String>>;
}

named_enum! {
    /// The simulated kinds.
    pub enum DeviceKind ("device kind") {
        /// A light that switches and changes colour.
        HueLight = "hue-light",
        /// A speaker that switches and plays songs.
        SmartSpeaker = "smart-speaker",
        /// A toilet that flushes and cleans.
        SmartToilet = "smart-toilet",
    }
}

impl DeviceKind {
    /// The messages this kind understands.
    pub fn messages(self) -> &'static [&'static str] {
        match self {
            DeviceKind::HueLight => &["switch-on", "switch-off", "change-color"],
            DeviceKind::SmartSpeaker => &["switch-on", "switch-off", "play-song"],
            DeviceKind::SmartToilet => &["flush", "clean"],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            DeviceKind::HueLight => "hue light",
            DeviceKind::SmartSpeaker => "smart speaker",
            DeviceKind::SmartToilet => "smart toilet",
        }
    }
}

/// A simulated device: every operation waits [`SIMULATED_DELAY`] (a timer, not a thread).
#[derive(Debug, Clone)]
pub struct Simulated {
    id: String,
    kind: DeviceKind,
}

impl Simulated {
    /// A simulated device of `kind` called `id`.
    pub fn new(id: impl Into<String>, kind: DeviceKind) -> Simulated {
        Simulated {
            id: id.into(),
            kind,
        }
    }

    async fn operate(&self, what: String) -> Result<String> {
        tokio::time::sleep(SIMULATED_DELAY).await;
        Ok(format!("{} {}: {what}", self.kind.describe(), self.id))
    }
}

impl Device for Simulated {
    fn id(&self) -> &str {
        &self.id
    }

    fn messages(&self) -> &'static [&'static str] {
        self.kind.messages()
    }

    fn expected(&self) -> Option<Duration> {
        Some(SIMULATED_DELAY)
    }

    fn connect(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(self.operate("connected".into()))
    }

    fn disconnect(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(self.operate("disconnected".into()))
    }

    fn send<'a>(
        &'a self,
        message: &'a str,
        body: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            if !self.kind.messages().contains(&message) {
                return Err(Error::invalid_input(format!(
                    "{} {} does not understand {message:?} (it knows {})",
                    self.kind.describe(),
                    self.id,
                    self.kind.messages().join(", ")
                )));
            }
            let what = match body {
                Some(b) => format!("{message} {b}"),
                None => message.to_owned(),
            };
            self.operate(what).await
        })
    }
}

/// Devices by id, shared by the steps of a program.
#[derive(Clone, Default)]
pub struct Devices {
    by_id: BTreeMap<String, Arc<dyn Device>>,
}

impl Devices {
    /// Adds `device` under its id.
    pub fn add(&mut self, device: Arc<dyn Device>) {
        self.by_id.insert(device.id().to_owned(), device);
    }

    /// The device called `id`.
    pub fn get(&self, id: &str) -> Option<Arc<dyn Device>> {
        self.by_id.get(id).cloned()
    }

    /// Every id, sorted.
    pub fn ids(&self) -> Vec<&str> {
        self.by_id.keys().map(String::as_str).collect()
    }
}
