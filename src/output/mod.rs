//! All terminal text: each stage returns plain data and these modules turn it
//! into lines (hyperfine's `src/output/` is the model). One file per stage.
//!
//! Every line goes through [`say!`] (the normal level), [`say_always!`] (also
//! with `--quiet`: failures, the verdict, where the reports are) or
//! [`say_verbose!`] (only with `--verbose`), which lift any progress bar off
//! the screen while they print. Lines fit 120 columns, except a replay command
//! or a query, which must stay whole to be pasted.

/// Prints a line unless `--quiet`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::emit($crate::output::Verbosity::Normal, format_args!($($arg)*))
    };
}

/// Prints a line at every verbosity: what failed, the verdict, where the reports are.
macro_rules! say_always {
    ($($arg:tt)*) => {
        $crate::output::emit($crate::output::Verbosity::Quiet, format_args!($($arg)*))
    };
}

/// Prints a line only with `--verbose`.
macro_rules! say_verbose {
    ($($arg:tt)*) => {
        $crate::output::emit($crate::output::Verbosity::Verbose, format_args!($($arg)*))
    };
}

pub mod aa;
pub mod bench;
pub mod calibrate;
pub mod compare;
pub mod dataset;
pub mod equivalence;
pub mod http_cost;
pub mod process;
pub mod progress;
pub mod run;
pub mod serve;
pub mod sweep;
pub mod verdict;

use std::sync::atomic::{AtomicU8, Ordering};

/// How much the terminal is told: `--quiet`, the default, `--verbose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet = 0,
    Normal = 1,
    Verbose = 2,
}

static VERBOSITY: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);

/// Sets how much the terminal is told, for the whole process.
pub fn set_verbosity(v: Verbosity) {
    VERBOSITY.store(v as u8, Ordering::Relaxed);
}

/// Runs `f` with only what must always be said (failures) on the terminal,
/// unless `--verbose` asked for everything: a command that runs many
/// benchmarks prints its own line for each.
pub fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let before = verbosity();
    if before < Verbosity::Verbose {
        set_verbosity(Verbosity::Quiet);
    }
    let out = f();
    set_verbosity(before);
    out
}

/// How much the terminal is told.
pub fn verbosity() -> Verbosity {
    match VERBOSITY.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// Prints one line on standard output when the verbosity is at least `level`
/// (styles stripped when colour is off), with any progress bar lifted.
pub fn emit(level: Verbosity, line: std::fmt::Arguments) {
    if verbosity() >= level {
        progress::suspend(|| anstream::println!("{line}"));
    }
}

/// The widest a line may be (replay commands and queries excepted).
pub const WIDTH: usize = 120;

/// `head` followed by `items` joined with ", ", wrapped at [`WIDTH`]:
/// continuation lines are indented by `indent` spaces.
pub(crate) fn wrap_items(head: &str, items: &[String], indent: usize) -> String {
    let mut out = head.to_string();
    let mut line_len = head.chars().count();
    for (i, item) in items.iter().enumerate() {
        let sep = if i + 1 < items.len() { "," } else { "" };
        let piece = format!("{item}{sep}");
        let width = piece.chars().count();
        if i > 0 && line_len + 1 + width > WIDTH {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            line_len = indent;
        } else if i > 0 || !head.is_empty() {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(&piece);
        line_len += width;
    }
    out
}

/// `x` with three significant figures (at least as many decimals as a
/// millisecond figure needs to show microseconds), for compact tables.
pub(crate) fn sig(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else if a >= 0.1 {
        3
    } else if a >= 0.01 {
        4
    } else {
        5
    };
    format!("{x:.decimals$}")
}

/// When to colour the terminal's verdict words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    pub const ALL: [ColorWhen; 3] = [ColorWhen::Auto, ColorWhen::Always, ColorWhen::Never];

    pub fn label(self) -> &'static str {
        match self {
            ColorWhen::Auto => "auto",
            ColorWhen::Always => "always",
            ColorWhen::Never => "never",
        }
    }
}

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
