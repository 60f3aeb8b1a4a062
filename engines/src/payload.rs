//! Payload reads shared by the fast engines: positioned reads (`pread`) on one
//! file handle shared by all threads, reopened when the file is replaced, so
//! every request reads the bytes on disk now and never stale ones.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::contract::EngineError;

/// `payloads.jsonl`, opened once and shared.
pub struct PayloadFile {
    path: PathBuf,
    current: RwLock<(Arc<File>, (u64, u64))>,
}

fn identity(m: &std::fs::Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

impl PayloadFile {
    pub fn open(dir: &Path) -> Result<PayloadFile, EngineError> {
        let path = dir.join(crate::PAYLOADS_FILE);
        let file = File::open(&path).map_err(|e| EngineError::io(&path, e))?;
        let id = identity(&file.metadata().map_err(|e| EngineError::io(&path, e))?);
        Ok(PayloadFile {
            path,
            current: RwLock::new((Arc::new(file), id)),
        })
    }

    /// The handle to read with: the open one, unless the path now names another
    /// file (replaced by a rename), in which case that one is opened.
    pub fn handle(&self) -> Result<Arc<File>, EngineError> {
        let now = identity(&std::fs::metadata(&self.path).map_err(|e| EngineError::io(&self.path, e))?);
        {
            let cur = self
                .current
                .read()
                .map_err(|_| EngineError::Other("payload handle lock poisoned".into()))?;
            if cur.1 == now {
                return Ok(cur.0.clone());
            }
        }
        let file = File::open(&self.path).map_err(|e| EngineError::io(&self.path, e))?;
        let id = identity(&file.metadata().map_err(|e| EngineError::io(&self.path, e))?);
        let file = Arc::new(file);
        let mut cur = self
            .current
            .write()
            .map_err(|_| EngineError::Other("payload handle lock poisoned".into()))?;
        *cur = (file.clone(), id);
        Ok(file)
    }

    /// Hints the kernel to start reading `len` bytes at `offset` (posix_fadvise WILLNEED).
    pub fn will_need(file: &File, offset: u64, len: u64) {
        use std::os::fd::AsRawFd;
        // SAFETY: posix_fadvise only reads its integer arguments; the fd is open for the call.
        unsafe {
            libc::posix_fadvise(
                file.as_raw_fd(),
                offset as libc::off_t,
                len as libc::off_t,
                libc::POSIX_FADV_WILLNEED,
            );
        }
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, or says which row's payload is damaged.
pub fn read_at(file: &File, buf: &mut [u8], offset: u64, id: i64) -> Result<(), EngineError> {
    file.read_exact_at(buf, offset).map_err(|e| {
        let reason = match (e.kind(), file.metadata()) {
            (std::io::ErrorKind::UnexpectedEof, Ok(m)) => format!(
                "its {} bytes at offset {offset} end at byte {}, past the end of payloads.jsonl ({} bytes): the file is truncated",
                buf.len(),
                offset + buf.len() as u64,
                m.len()
            ),
            _ => format!("reading {} bytes at offset {offset}: {e}", buf.len()),
        };
        EngineError::CorruptPayload { id, reason }
    })
}

/// Decodes one payload line, as the baseline does (trailing newline allowed).
pub fn decode(bytes: &[u8], id: i64) -> Result<Value, EngineError> {
    serde_json::from_slice(bytes).map_err(|e| EngineError::CorruptPayload {
        id,
        reason: format!("payload is not JSON: {e}"),
    })
}
