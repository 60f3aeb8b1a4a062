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

/// The dotted key whose value holds byte `offset` (the innermost one), if any.
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut best: Option<(String, usize)> = None;
    walk(doc.as_table(), "", offset, &mut best);
    best.map(|(k, _)| k)
}

fn walk(table: &dyn toml_edit::TableLike, prefix: &str, offset: usize, best: &mut Option<(String, usize)>) {
    for (k, item) in table.iter() {
        let path = if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        };
        if let Some(span) = item.span() {
            if span.contains(&offset) && best.as_ref().is_none_or(|(_, w)| span.len() <= *w) {
                *best = Some((path.clone(), span.len()));
            }
        }
        if let Some(t) = item.as_table_like() {
            walk(t, &path, offset, best);
        }
    }
}

/// `spec.toml:3:7: message` (or `spec.toml: message` without a position).
pub fn format_error(path: &Path, at: Option<(usize, usize)>, msg: &str) -> String {
    let msg = msg.replace('\n', " ");
    match at {
        Some((l, c)) => format!("{}:{l}:{c}: {msg}", path.display()),
        None => format!("{}: {msg}", path.display()),
    }
}

/// serde's Rust type names in "expected ..." replaced by words a spec author uses.
pub fn plain_types(msg: &str) -> String {
    [
        ("expected f64", "expected a number"),
        ("expected u64", "expected an integer >= 0"),
        ("expected u32", "expected an integer >= 0"),
        ("expected i64", "expected an integer"),
    ]
    .iter()
    .fold(msg.to_string(), |m, (from, to)| m.replace(from, to))
}
