//! Turning spec errors into `file:line:column` messages.

use std::path::Path;

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Where the value of a dotted key (`mixes.default.pages`) starts, if present.
pub fn find_key(text: &str, dotted: &str) -> Option<(usize, usize)> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut parts = dotted.split('.');
    let first = parts.next()?;
    let mut item = doc.as_table().get(first)?;
    let mut span = item.span();
    for p in parts {
        let (key, next) = item.as_table_like()?.get_key_value(p)?;
        span = next.span().or_else(|| key.span());
        item = next;
    }
    span.map(|s| line_col(text, s.start))
}

/// `spec.toml:3:7: message` (or `spec.toml: message` without a position).
pub fn format_error(path: &Path, at: Option<(usize, usize)>, msg: &str) -> String {
    let msg = msg.replace('\n', " ");
    match at {
        Some((l, c)) => format!("{}:{l}:{c}: {msg}", path.display()),
        None => format!("{}: {msg}", path.display()),
    }
}
