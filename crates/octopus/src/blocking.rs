//! Waits that hold a thread: a worker about to block (a connection being made, a proxied
//! request's name looked up, a read or write that must wait in `poll`, a handler running) says so, so
//! that the engine can start another worker in its place (`run/worker.rs`, `run/plan.rs`).
//! The engine keeps only a few workers running when requests wait on no thread
//! (`run/waiting.rs`); a worker that blocks hands its place over, as Go's runtime does with
//! a thread entering a blocking system call.
//!
//! A leaf module: `http` reports its waits here without knowing the engine. Its one
//! thread-local (the hook) is how: the waits happen deep inside ureq and our sockets, where
//! no engine handle can be passed. It also tells whether this thread is a worker.

use std::cell::RefCell;
use std::sync::Arc;

/// Told of this thread's blocking waits.
pub(crate) trait Blocking: Send + Sync {
    /// The thread is about to block.
    fn enter(&self);
    /// The thread is running again.
    fn leave(&self);
}

thread_local! {
    static HOOK: RefCell<Option<Arc<dyn Blocking>>> = const { RefCell::new(None) };
}

/// Tell `hook` of this thread's blocking waits from now on.
pub(crate) fn tell(hook: Arc<dyn Blocking>) {
    HOOK.with(|h| *h.borrow_mut() = Some(hook));
}

/// Whether this thread is an engine's worker (it told a hook): code run here is a consumer,
/// which must not wait for the engine (it would wait for itself).
pub(crate) fn on_worker() -> bool {
    HOOK.with(|h| h.borrow().is_some())
}

/// Run `wait`, which may block this thread, telling the thread's hook (if any) around it.
pub(crate) fn during<T>(wait: impl FnOnce() -> T) -> T {
    let hook = HOOK.with(|h| h.borrow().clone());
    if let Some(hook) = &hook {
        hook.enter();
    }
    let result = wait();
    if let Some(hook) = &hook {
        hook.leave();
    }
    result
}
