//! Cancelling a long wait (a device sign-in waiting for its user) from another thread or
//! task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a cancellable wait looks at its [`Cancel`].
pub(crate) const CANCEL_CHECK: Duration = Duration::from_millis(100);

/// A flag that stops a cancellable wait: clones share it, so one clone waits and another
/// (a Ctrl-C handler, a UI button, a timeout task) cancels.
///
/// ```
/// let cancel = logto_driver::Cancel::new();
/// let handle = cancel.clone();
/// handle.cancel();
/// assert!(cancel.is_cancelled());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag not yet cancelled.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Cancels: the wait stops at its next look (within about 100 ms).
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`cancel`](Self::cancel) was called on this flag or a clone.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
