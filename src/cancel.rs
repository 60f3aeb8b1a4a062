//! Cancellation, in one place: a [`Cancel`] token is made once per command
//! (by `app::run`) and passed down to every piece of long-running work
//! (generation, equivalence, the benchmark, a process engine waiting on its
//! child, a launched HTTP server's start, the Locust driver), which asks
//! [`Cancel::is_cancelled`] and stops at the next case, request or row,
//! cleaning up on the way out (temporary directories removed, child
//! processes killed and reaped). The command then exits 3 (an incomplete run)
//! with one line naming the cause.
//!
//! A token made by [`Cancel::on_signals`] is cancelled by SIGINT or SIGTERM:
//! the handlers (installed once, here and nowhere else) only record which
//! signal arrived. A second signal of either kind prints one line saying so
//! and ends the harness at once, by that signal; process engines still die
//! with it, since their processes are started with `PR_SET_PDEATHSIG` (see
//! `process::child`). A token made by [`Cancel::new`] is cancelled only by
//! [`Cancel::cancel`]: tests use it to stop work without sending signals.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Once};

use crate::error::HarnessError;

/// The signal that arrived first, or 0.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
static INSTALL: Once = Once::new();

/// What a second signal prints before it ends the harness at once.
const SECOND: &[u8] = b"audit-harness: a second signal: stopping at once; this run's report directory keeps what was written (run.json says complete: false; a benchmark's finished rounds, which `audit-harness report DIR` analyses), and its engines die with the harness\n";

extern "C" fn on_signal(sig: libc::c_int) {
    if SIGNAL
        .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        return;
    }
    // A second signal: say so, then die of it as without a handler (exit
    // status 128 + signal), so that whoever pressed Ctrl-C twice is obeyed.
    // SAFETY: write(2), signal(2) and raise(3) are async-signal-safe; the
    // buffer is a static byte string.
    unsafe {
        libc::write(2, SECOND.as_ptr().cast(), SECOND.len());
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Installs the SIGINT and SIGTERM handlers; later calls do nothing.
fn install() {
    INSTALL.call_once(|| {
        // SAFETY: the handler only stores to an atomic, or (the second
        // time) writes a static line and re-raises: all async-signal-safe.
        unsafe {
            let h = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::signal(libc::SIGINT, h);
            libc::signal(libc::SIGTERM, h);
        }
    });
}

/// A cancellation token: clones share one state, so cancelling any clone
/// cancels them all.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    /// Set by [`Cancel::cancel`].
    own: Arc<AtomicBool>,
    /// Whether SIGINT and SIGTERM cancel it too.
    signals: bool,
}

impl Cancel {
    /// A token that only [`Cancel::cancel`] cancels: for the commands that
    /// stop at no signal (made by `app.rs`, as every token outside tests),
    /// and for tests.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// A token that SIGINT and SIGTERM cancel, installing their handlers
    /// (once per process).
    pub fn on_signals() -> Cancel {
        install();
        Cancel {
            own: Arc::default(),
            signals: true,
        }
    }

    /// Cancels this token and every clone of it.
    pub fn cancel(&self) {
        self.own.store(true, Ordering::SeqCst);
    }

    /// Whether the work should stop: a signal arrived (for a token made by
    /// [`Cancel::on_signals`]) or [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.signal().is_some() || self.own.load(Ordering::Relaxed)
    }

    /// The signal that arrived first, if it cancels this token.
    fn signal(&self) -> Option<i32> {
        match SIGNAL.load(Ordering::Relaxed) {
            0 => None,
            s => self.signals.then_some(s),
        }
    }

    /// What cancelled the work: `SIGINT`, `SIGTERM`, or "a cancellation".
    pub fn cause(&self) -> &'static str {
        match self.signal() {
            Some(libc::SIGINT) => "SIGINT",
            Some(libc::SIGTERM) => "SIGTERM",
            Some(_) => "a signal",
            None => "a cancellation",
        }
    }

    /// The error a cancelled command exits with (3, an incomplete run):
    /// `interrupted by SIGTERM: {what}`.
    pub fn error(&self, what: &str) -> HarnessError {
        HarnessError::Inconclusive(format!("interrupted by {}: {what}", self.cause()))
    }

    /// `Err(self.error(what))` once cancelled.
    pub fn check(&self, what: &str) -> Result<(), HarnessError> {
        if self.is_cancelled() {
            Err(self.error(what))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_reaches_every_clone_and_names_its_cause() {
        let token = Cancel::new();
        let clone = token.clone();
        assert!(!clone.is_cancelled());
        assert!(token.check("nothing").is_ok());
        token.cancel();
        assert!(clone.is_cancelled());
        let e = clone.check("generation stopped").unwrap_err();
        assert_eq!(e.to_string(), "interrupted by a cancellation: generation stopped");
        assert_eq!(e.exit_code(), 3);
        // Another token is not cancelled with it.
        assert!(!Cancel::new().is_cancelled());
    }
}
