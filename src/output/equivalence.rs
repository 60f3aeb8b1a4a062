//! The equivalence stage's lines: what it checks, one line per engine and
//! property as results land (with the counterexample and its replay command
//! when one fails), and the totals.

use crate::equivalence::outcome::FailureKind;
use crate::equivalence::{Options, PropertyResult, Report, Status};

/// The engine column's width when names are short.
const NAME_WIDTH: usize = 10;

/// What the stage checks, in one line. Returns the width of the engine
/// column of the result lines: the longest name of the stage.
pub fn print_header(opts: &Options, names: &[&str]) -> usize {
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .chain([opts.reference.name.chars().count(), NAME_WIDTH])
        .max()
        .unwrap_or(NAME_WIDTH);
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    say!(
        "{}",
        super::wrap_items(
            &format!("== equivalence vs {} (the reference):", opts.reference.name),
            &names,
            4
        )
    );
    say!(
        "   seed {}, {} cases + {} small datasets per candidate{}",
        opts.seed,
        opts.cases,
        opts.small_dataset_cases,
        if opts.strict_domain { ", strict domain" } else { "" }
    );
    width
}

/// One result as it lands, its engine name in a column `width` wide (what
/// [`print_header`] returned).
pub fn print_result(r: &PropertyResult, width: usize) {
    let lines = render(r, width, super::word);
    if r.status == Status::Pass {
        say!("{lines}");
    } else {
        say_always!("{lines}");
    }
}

/// How many checks ran, how fast.
pub fn print_totals(report: &Report) {
    let cases: u64 = report.results.iter().map(|r| r.cases).sum();
    say!(
        "  {} checks in {:.1} s ({:.0} per second)",
        cases,
        report.seconds,
        cases as f64 / report.seconds.max(1e-9)
    );
    if let Some(noise) = &report.noise {
        say!("  {}", crate::equivalence::noise::describe(noise));
    }
}

/// One line per result: engine, property, status, cases, and the counterexample if any.
pub fn describe(r: &PropertyResult) -> String {
    render(r, NAME_WIDTH, |w, width| format!("{w:<width$}"))
}

/// The lines of one result, with the status word drawn by `word` (plain or styled).
fn render(r: &PropertyResult, width: usize, word: fn(&str, usize) -> String) -> String {
    let status = match r.status {
        Status::Pass => "ok",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
        Status::NotApplicable => "n/a",
    };
    let mut s = format!(
        "  {:<width$} {:<19} {} {:>6} cases {:>5} failures {:>6.2} s  seed {}",
        r.engine,
        r.property.name(),
        word(status, 4),
        r.cases,
        r.failures,
        r.seconds,
        r.seed,
    );
    if let Some(note) = &r.note {
        s.push_str(&format!("\n      {note}"));
    }
    if let Some(c) = &r.counterexample {
        let query = if c.kind == FailureKind::CannotOpen && c.dataset.is_none() {
            "(none: the engine could not open the dataset)".to_string()
        } else {
            serde_json::to_string(&c.query).unwrap_or_default()
        };
        let label = if c.kind == FailureKind::Mismatch {
            "differs"
        } else {
            "failed "
        };
        s.push_str(&format!(
            "\n      query   {query}\n      {label} {}\n      shrunk  in {} step(s)",
            c.detail, c.shrink_steps
        ));
        if let Some(rows) = &c.dataset {
            s.push_str(&format!(
                "\n      dataset {} row(s): {}",
                rows.len(),
                serde_json::to_string(rows).unwrap_or_default()
            ));
        }
        s.push_str(&format!("\n      replay  {}", c.replay));
    }
    s
}
