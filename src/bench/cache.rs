//! Cold-cache trials: the payload file is dropped from the page cache before
//! each trial, so payload reads go to the device as after a restart.

use std::path::Path;

use crate::error::HarnessError;

/// Asks the kernel to evict `path` from the page cache (`posix_fadvise(DONTNEED)`).
/// The file is clean (never written by engines), so every cached page can go.
pub fn evict(path: &Path) -> Result<(), HarnessError> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).map_err(|e| HarnessError::io(path, e))?;
    // SAFETY: a valid descriptor, offset 0 and length 0 (= to the end of the file).
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(HarnessError::input(format!(
            "{}: cannot evict it from the page cache (posix_fadvise: {}); use --cache warm",
            path.display(),
            std::io::Error::from_raw_os_error(rc)
        )));
    }
    Ok(())
}

/// Pages of `path` resident in the page cache, and its total pages (via `mincore`).
pub fn resident_pages(path: &Path) -> Result<(usize, usize), HarnessError> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).map_err(|e| HarnessError::io(path, e))?;
    let len = f.metadata().map_err(|e| HarnessError::io(path, e))?.len() as usize;
    if len == 0 {
        return Ok((0, 0));
    }
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    let pages = len.div_ceil(page);
    // SAFETY: a read-only shared mapping of a file we hold open, unmapped below.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return Err(HarnessError::io(path, std::io::Error::last_os_error()));
    }
    let mut vec = vec![0u8; pages];
    // SAFETY: `vec` has one byte per page of the mapping.
    let rc = unsafe { libc::mincore(addr, len, vec.as_mut_ptr()) };
    // SAFETY: the mapping made above.
    unsafe { libc::munmap(addr, len) };
    if rc != 0 {
        return Err(HarnessError::io(path, std::io::Error::last_os_error()));
    }
    Ok((vec.iter().filter(|b| *b & 1 == 1).count(), pages))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_empties_the_page_cache_for_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("payloads.jsonl");
        std::fs::write(&p, vec![b'x'; 1 << 20]).unwrap();
        // Make sure it is on disk (dirty pages cannot be dropped), then read it in.
        std::fs::File::open(&p).unwrap().sync_all().unwrap();
        let _ = std::fs::read(&p).unwrap();
        let (before, total) = resident_pages(&p).unwrap();
        assert!(before > 0, "{before}/{total} resident after reading");
        evict(&p).unwrap();
        let (after, _) = resident_pages(&p).unwrap();
        assert!(after < before, "{after} pages still resident of {total}");
    }

    #[test]
    fn a_missing_file_is_an_input_error() {
        let e = evict(Path::new("/nonexistent/payloads.jsonl")).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
