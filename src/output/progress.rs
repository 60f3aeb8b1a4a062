//! The progress line of a long stage: a bar (or a spinner when the length is
//! unknown) with the elapsed time, drawn on standard error only when it is a
//! terminal and `--quiet` is off. Lines printed while it runs go through
//! [`suspend`], which lifts the bar, prints on standard output and draws the
//! bar again below, so a log redirected to a file keeps every line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// The bar on screen, if any, with its task's number: one at a time (stages
/// run one after another).
static CURRENT: Mutex<Option<(u64, ProgressBar)>> = Mutex::new(None);

/// Numbers the tasks, so a task clears only its own bar.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A running stage's progress; clears itself from the screen when dropped.
pub struct Task {
    id: u64,
    bar: ProgressBar,
}

/// Starts the progress of a stage: `len` steps of `unit` (a bar), or a spinner
/// when `len` is `None`; `message` says what runs.
pub fn start(message: &str, len: Option<u64>, unit: &str) -> Task {
    let bar = if super::verbosity() == super::Verbosity::Quiet {
        ProgressBar::hidden()
    } else {
        match len {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        }
    };
    let template = match len {
        Some(_) => format!("{{spinner}} {{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit}  {{elapsed}}"),
        None if unit.is_empty() => "{spinner} {msg}  {elapsed}".to_string(),
        None => format!("{{spinner}} {{msg}}  {{pos}} {unit}  {{elapsed}}"),
    };
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_string());
    if !bar.is_hidden() {
        bar.enable_steady_tick(Duration::from_millis(200));
    }
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut current) = CURRENT.lock() {
        if let Some((_, old)) = current.replace((id, bar.clone())) {
            old.finish_and_clear();
        }
    }
    Task { id, bar }
}

impl Task {
    /// One more step done.
    pub fn inc(&self) {
        self.bar.inc(1);
    }

    /// A new phase of the same stage: its message, and the count starts over.
    pub fn restart(&self, message: &str) {
        self.bar.set_message(message.to_string());
        self.bar.set_position(0);
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        if let Ok(mut current) = CURRENT.lock() {
            // Only forget the bar if it is still ours (a later stage may have replaced it).
            if current.as_ref().is_some_and(|(id, _)| *id == self.id) {
                *current = None;
            }
        }
    }
}

/// Runs `print` with the bar lifted off the screen (if one is drawn).
pub fn suspend<R>(print: impl FnOnce() -> R) -> R {
    let bar = CURRENT.lock().ok().and_then(|c| c.as_ref().map(|(_, b)| b.clone()));
    match bar {
        Some(bar) => bar.suspend(print),
        None => print(),
    }
}
