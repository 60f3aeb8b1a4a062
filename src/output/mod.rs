//! All terminal text: each stage returns plain data and these modules turn it
//! into lines (hyperfine's `src/output/` is the model). One file per stage.

pub mod bench;
pub mod calibrate;
pub mod compare;
pub mod dataset;
pub mod equivalence;
pub mod process;
pub mod run;
pub mod sweep;
pub mod verdict;

use crate::cli::ColorWhen;
use crate::stats::Estimate;

/// Sets when the verdict words are coloured: `auto` colours on a terminal
/// unless `NO_COLOR` is set (anstream's rules), `always` and `never` force it.
pub fn set_color(when: ColorWhen) {
    let choice = match when {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

/// A verdict word (`PASS`, `ok`, `FAIL`, `WARN`, `INCONCLUSIVE`, ...) styled
/// by its meaning, padded to `width`; the style is stripped when colour is off.
pub(crate) fn word(text: &str, width: usize) -> String {
    use anstyle::{AnsiColor, Style};
    let color = match text.to_ascii_lowercase().as_str() {
        "pass" | "ok" | "improved" => Some(AnsiColor::Green),
        "fail" | "error" | "regressed" => Some(AnsiColor::Red),
        "inconclusive" | "warn" => Some(AnsiColor::Yellow),
        _ => None,
    };
    let style = color.map_or(Style::new(), |c| Style::new().fg_color(Some(c.into())).bold());
    let pad = width.saturating_sub(text.chars().count());
    format!("{style}{text}{style:#}{}", " ".repeat(pad))
}

/// An estimate with its interval, `digits` decimals (`-` without data).
pub(crate) fn est(e: Option<Estimate>, digits: usize) -> String {
    match e {
        Some(Estimate {
            value,
            ci: Some((lo, hi)),
            ..
        }) => format!("{value:.digits$} [{lo:.digits$}, {hi:.digits$}]"),
        Some(Estimate { value, ci: None, .. }) => format!("{value:.digits$} [no interval]"),
        None => "-".into(),
    }
}
