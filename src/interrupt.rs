//! SIGINT and SIGTERM, in one place: [`install`] sets (once) handlers that
//! only record which signal arrived; long-running work (generation,
//! equivalence, the benchmark, process engines waiting on a child) polls
//! [`interrupted`] and stops at the next case, request or row, cleaning up on
//! the way out (temporary directories removed, child processes killed and
//! reaped). The command then exits 3 (an incomplete run) with one line naming
//! the signal. A second signal of either kind gets the default disposition
//! and ends the harness at once; process engines still die with it, since
//! their processes are started with `PR_SET_PDEATHSIG` (see `process::worker`).

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

use crate::error::HarnessError;

/// The signal that arrived first, or 0.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
static INSTALL: Once = Once::new();

extern "C" fn on_signal(sig: libc::c_int) {
    let _ = SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    // SAFETY: signal(2) is async-signal-safe; restoring the default
    // dispositions makes a second Ctrl-C (or SIGTERM) end the harness as usual.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
    }
}

/// Installs the SIGINT and SIGTERM handlers; later calls do nothing.
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: the handler only stores to an atomic and resets dispositions,
        // both async-signal-safe.
        unsafe {
            let h = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::signal(libc::SIGINT, h);
            libc::signal(libc::SIGTERM, h);
        }
    });
}

/// Whether SIGINT or SIGTERM has arrived since [`install`].
pub fn interrupted() -> bool {
    SIGNAL.load(Ordering::Relaxed) != 0
}

/// The signal that arrived first, if any.
pub fn signal() -> Option<i32> {
    match SIGNAL.load(Ordering::Relaxed) {
        0 => None,
        s => Some(s),
    }
}

/// The name of the signal that arrived (`SIGINT`, `SIGTERM`), or "a signal".
pub fn signal_name() -> &'static str {
    match signal() {
        Some(libc::SIGINT) => "SIGINT",
        Some(libc::SIGTERM) => "SIGTERM",
        _ => "a signal",
    }
}

/// The error an interrupted command exits with (3, an incomplete run):
/// `interrupted by SIGTERM: {what}`.
pub fn error(what: &str) -> HarnessError {
    HarnessError::Inconclusive(format!("interrupted by {}: {what}", signal_name()))
}

/// `Err(error(what))` once a signal has arrived.
pub fn check(what: &str) -> Result<(), HarnessError> {
    if interrupted() {
        Err(error(what))
    } else {
        Ok(())
    }
}

/// For tests: pretend a signal arrived (`Some`) or forget it (`None`).
#[doc(hidden)]
pub fn simulate(sig: Option<i32>) {
    SIGNAL.store(sig.unwrap_or(0), Ordering::SeqCst);
}
