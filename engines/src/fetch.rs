//! Turning a page's rows into events: reading and decoding their payloads,
//! either one positioned read per row or all at once, sorted and coalesced.

use std::fs::File;

use crate::contract::{EngineError, Event, RowMeta};
use crate::payload::{self, PayloadFile};

/// One positioned read and one decode per row, in page order.
pub fn one_by_one(file: &File, rows: &[RowMeta]) -> Result<Vec<Event>, EngineError> {
    let mut buf = Vec::new();
    rows.iter()
        .map(|m| {
            buf.resize(m.payload_len as usize, 0);
            payload::read_at(file, &mut buf, m.payload_offset, m.id)?;
            Ok(m.to_event(payload::decode(&buf, m.id)?))
        })
        .collect()
}

/// Ranges closer than this are read as one (the bytes between are read and skipped).
const COALESCE_GAP: u64 = 4096;

/// All of a page's reads issued together: sorted by offset, adjacent ranges
/// coalesced into one read each, read-ahead hinted for every range before the
/// first read, and each range decoded as soon as its read completes.
pub fn coalesced(file: &File, rows: &[RowMeta]) -> Result<Vec<Event>, EngineError> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_unstable_by_key(|&i| rows[i].payload_offset);
    // Runs of rows (in offset order) read with one pread each.
    let mut runs: Vec<(u64, u64, std::ops::Range<usize>)> = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        let (off, end) = (
            rows[i].payload_offset,
            rows[i].payload_offset.saturating_add(rows[i].payload_len),
        );
        match runs.last_mut() {
            Some((_, run_end, r)) if off <= run_end.saturating_add(COALESCE_GAP) && off >= *run_end => {
                *run_end = end;
                r.end = k + 1;
            }
            _ => runs.push((off, end, k..k + 1)),
        }
    }
    for (start, end, _) in &runs {
        PayloadFile::will_need(file, *start, end - start);
    }
    let mut events: Vec<Option<Event>> = vec![None; rows.len()];
    let mut buf = Vec::new();
    for (start, end, members) in runs {
        buf.resize((end - start) as usize, 0);
        let first = &rows[order[members.start]];
        payload::read_at(file, &mut buf, start, first.id)?;
        for &i in &order[members] {
            let m = &rows[i];
            let at = (m.payload_offset - start) as usize;
            let bytes = &buf[at..at + m.payload_len as usize];
            events[i] = Some(m.to_event(payload::decode(bytes, m.id)?));
        }
    }
    Ok(events.into_iter().flatten().collect())
}
