//! Locks that survive a panicking holder: the harness reports an engine's
//! panic as that engine's failure and goes on, so a mutex it poisoned must
//! still hand out its data (which every holder leaves consistent).

use std::sync::{Mutex, MutexGuard};

/// A mutex's guard, also after a panicking holder.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
