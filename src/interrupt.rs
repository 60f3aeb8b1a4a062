//! SIGINT and SIGTERM, in one place: [`install`] sets (once) handlers that
//! only record which signal arrived; long-running work (generation,
//! equivalence, the benchmark, process engines waiting on a child) polls
//! [`interrupted`] and stops at the next case, request or row, cleaning up on
//! the way out (temporary directories removed, child processes killed and
//! reaped). The command then exits 3 (an incomplete run) with one line naming
//! the signal. A second signal of either kind prints one line saying so and
//! ends the harness at once, by that signal; process engines still die with
//! it, since their processes are started with `PR_SET_PDEATHSIG` (see
//! `process::worker`).

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

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
pub fn install() {
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
