//! What engines leave behind dies with the command. Killing an engine's
//! process group reaches what it started in that group, but a child that
//! called `setsid` (a daemon, a double fork) has left the group, and an
//! orphan is normally handed to init and outlives the harness. The binary
//! makes itself a child subreaper (`PR_SET_CHILD_SUBREAPER`): every orphaned
//! descendant is handed to the harness instead, and [`kill_orphans`], called
//! when the command ends, kills and reaps each child still there (by then
//! every engine the harness started itself has been stopped and reaped, so
//! any child left is an orphan), and the ones they leave in turn.
//!
//! Assumption: nothing else in the process waits for arbitrary children (no
//! `waitpid(-1)`); Rust's `Child` waits for its own pid only.

/// Makes the harness the subreaper of its descendants. Returns whether the
/// kernel accepted it (Linux 3.4 and later).
pub fn adopt_orphans() -> bool {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on this process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) == 0 }
}

/// The pids of this process's children, from `/proc` (zombies included).
fn children() -> Vec<libc::pid_t> {
    let me = std::process::id() as libc::pid_t;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: libc::pid_t = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
            let ppid: libc::pid_t = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == me).then_some(pid)
        })
        .collect()
}

/// Kills and reaps every child of the harness, then the children they leave
/// (handed to the harness as their parent dies), until none is left or 100
/// rounds have passed. Returns how many were killed. Call only when every
/// child the harness started itself has been stopped.
pub fn kill_orphans() -> usize {
    let mut killed = 0;
    for _ in 0..100 {
        let found = children();
        if found.is_empty() {
            break;
        }
        for pid in found {
            // SAFETY: `pid` is our own child (its ppid is us), so it cannot
            // be reused before we reap it; kill and waitpid only touch it.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            killed += 1;
        }
    }
    killed
}
