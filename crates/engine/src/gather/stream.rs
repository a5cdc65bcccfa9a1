//! Results as they arrive: Rust's `asyncio.as_completed`, bounded.
//!
//! [`stream()`] runs the same calls as [`gather()`](super::gather()) under the same
//! [`Policy`], but hands each [`Outcome`] over as soon as it can: in completion order
//! ([`Order::Completed`]: the fastest first, so a consumer can print, store or follow up
//! on each while the rest still wait), or in input order ([`Order::Input`]: each waits
//! for those before it, as `buffered` does). A consumer that falls behind holds back new
//! calls, never those in flight; dropping the stream stops every call.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> asyncdex_engine::Result<()> {
//! use std::time::Duration;
//! use futures::StreamExt;
//! use asyncdex_engine::gather::{stream, Order, Policy};
//!
//! let naps = vec![30u64, 10, 20];
//! let outcomes = stream(naps, &Policy::new(3), Order::Completed, |ms| async move {
//!     tokio::time::sleep(Duration::from_millis(ms)).await;
//!     Ok::<_, std::io::Error>(ms)
//! })?;
//! let arrived: Vec<u64> = outcomes.map(|o| o.result.unwrap()).collect().await;
//! assert_eq!(arrived, vec![10, 20, 30]); // the fastest first
//! # Ok(()) }
//! ```

use futures::stream::{BoxStream, StreamExt};

use super::{cores, Batch, CallFn, Classify, Input, Outcome, Output, Policy};
use crate::error::Result;

/// The order in which [`stream()`] yields outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// As calls complete: the fastest first.
    Completed,
    /// In input order (a finished call waits for the ones before it to be yielded).
    Input,
}

/// Runs `call` on every input under `policy`, yielding outcomes in `order`.
///
/// Nothing starts until the stream is first polled. The calls are driven by tasks of
/// their own ([`Policy::cores`] of them), so calls in flight keep going while the
/// consumer is slow; a consumer that falls behind (by four times `concurrency` in
/// completion order, `concurrency` places in input order) holds back new calls only.
/// Dropping the stream aborts the calls in flight; calls not yet started never start.
pub fn stream<I, T, E, F>(
    inputs: Vec<I>,
    policy: &Policy,
    order: Order,
    call: F,
) -> Result<BoxStream<'static, Outcome<T, E>>>
where
    I: Input,
    T: Output,
    E: Classify + Output,
    F: CallFn<I, T, E>,
{
    let batch = Batch::new(call, policy, inputs.len())?;
    Ok(cores::spread(batch, inputs, order).boxed())
}
