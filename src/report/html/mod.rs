//! `report.html`: one self-contained page per run for the reviewer of an SLA
//! review (inline CSS and SVG; no script, no network). In reading order: the
//! decision and every check's interval against its threshold, the figures per
//! engine, the tail on a percentile axis, the CDF, the depth plot and the
//! strata, the equivalence results with counterexamples and replay commands,
//! and where the run came from.
//!
//! Rendered from the data summary.json is rendered from, and only from what
//! run.json holds at the end of the benchmark, so `audit-harness report`
//! regenerates it byte for byte. A run that ends before any benchmark (`equiv`,
//! a gate stopped by integrity or equivalence) gets a shorter page when it
//! ends ([`stages_page`]): its stages and equivalence results. Every text that
//! comes from a user (engine names, paths, error messages, the spec) is escaped.

mod interval;

use std::fmt::Write;

use crate::analysis::{Stratum, Summary};
use crate::report::plots::Colours;
use crate::report::run_json::{RunInfo, StageOutcome};
use crate::stats::sequential::Looks;
use crate::stats::Estimate;
use crate::verdict::{Bound, Cell, Decision, Judgement, Outcome, Undecided};

pub use interval::{num, outcome_colour};

/// A mix's plots, as the SVG files hold them.
pub struct MixPlots {
    pub mix: String,
    pub tail: String,
    pub cdf: String,
    pub depth: String,
}

/// Everything the page shows.
pub struct Page<'a> {
    pub info: &'a RunInfo,
    pub summaries: &'a [Summary],
    /// summary.csv's verdict column, row by row.
    pub verdicts: &'a [Cell],
    pub judgements: &'a [Judgement],
    pub strata: &'a [Stratum],
    pub looks: &'a Looks,
    pub colours: &'a Colours,
    pub plots: &'a [MixPlots],
}

/// The page of a run without a benchmark: its stages, equivalence results and provenance.
pub fn stages_page(info: &RunInfo) -> String {
    let colours = Colours::new(&[]);
    let looks = Looks {
        first: 0,
        last: 0,
        planned: 0,
        last_is_final: true,
        every: 1,
    };
    to_html(&Page {
        info,
        summaries: &[],
        verdicts: &[],
        judgements: &[],
        strata: &[],
        looks: &looks,
        colours: &colours,
        plots: &[],
    })
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1a1a1a;background:#fff;margin:0;line-height:1.4}
main{max-width:1320px;margin:0 auto;padding:16px 14px 48px}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.25em;border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}h3{font-size:1.05em;margin:1.2em 0 .4em}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:.9em}table.figures{font-size:.76em}table.figures td,table.figures th{padding:3px 5px}th,td{border:1px solid #d0d0d0;padding:3px 7px;text-align:left;vertical-align:middle}
th{background:#f3f3f3}td.engine{white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
small,.muted{color:#555}.ci{color:#555;font-size:.8em;white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:3px;font-weight:700;letter-spacing:.02em}
.pass{background:#0072b2;color:#fff}.fail{background:#d55e00;color:#fff}.inconclusive{background:#f0e442;color:#000}.warn{background:#f0e442;color:#000}.na{background:#999;color:#fff}
.info{background:#eee;color:#333;font-weight:400}
.decision{font-size:1.6em;padding:4px 14px}
.banner{border:1px solid #ccc;border-left:8px solid #888;padding:10px 14px;margin:12px 0;background:#fafafa}
.banner.pass{border-left-color:#0072b2;background:#f2f7fb;color:inherit}.banner.fail{border-left-color:#d55e00;background:#fdf4ee;color:inherit}.banner.inconclusive{border-left-color:#c9bd00;background:#fdfbe6;color:inherit}
.eng{white-space:nowrap}.swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;margin-right:5px;vertical-align:-1px}
.plot svg{max-width:100%;height:auto;border:1px solid #e4e4e4}
svg.strip{display:block}
pre{background:#f6f6f6;border:1px solid #e0e0e0;padding:6px 8px;white-space:pre-wrap;word-break:break-all;font-size:.85em;margin:.2em 0 .6em}
code{font-size:.9em}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;font-size:.92em}dt{font-weight:600}dd{margin:0;word-break:break-all}
.failure{border-left:4px solid #d55e00;padding:2px 10px;margin:10px 0}
nav a{margin-right:12px}
";

/// The page's bytes.
pub fn to_html(p: &Page) -> String {
    let mut s = String::new();
    let id = esc(&p.info.run_id);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>audit-harness report {id}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<main>\n\
         <h1>audit-harness report <code>{id}</code></h1>\n\
         <nav><a href=\"#verdict\">Verdict</a>{}<a href=\"#equivalence\">Equivalence</a><a href=\"#provenance\">Provenance</a></nav>\n",
        if p.info.bench.is_some() {
            "<a href=\"#figures\">Figures</a><a href=\"#plots\">Plots</a><a href=\"#strata\">Strata</a>"
        } else {
            ""
        }
    );
    if p.info.bench.is_some() {
        verdict(&mut s, p);
        figures(&mut s, p);
        plots(&mut s, p);
        strata(&mut s, p);
    } else {
        stages_only(&mut s, p);
    }
    equivalence(&mut s, p);
    provenance(&mut s, p);
    s.push_str("</main>\n</body>\n</html>\n");
    s
}

/// The page of a run that ended before any benchmark (`equiv`, or a gate
/// stopped by integrity or equivalence): the outcome of each stage that ran.
/// Written once, when the run ends (there is nothing for `report` to recompute).
fn stages_only(s: &mut String, p: &Page) {
    let i = p.info;
    let failed = i.stages.iter().any(|(_, o)| *o == StageOutcome::Fail);
    let class = match (failed, i.exit_code) {
        (true, _) | (_, Some(1)) => "fail",
        (false, Some(0)) => "pass",
        _ => "inconclusive",
    };
    let _ = write!(
        s,
        "<section id=\"verdict\">\n<h2>Verdict</h2>\n<div class=\"banner {class}\"><span class=\"badge decision {class}\">{}</span> \
         No benchmark ran in this run{}.</div>\n",
        class.to_uppercase(),
        i.exit_code.map_or(String::new(), |c| format!(" (exit code {c})")),
    );
    if i.stages.is_empty() {
        s.push_str("</section>\n");
        return;
    }
    s.push_str("<table>\n<tr><th>stage</th><th>outcome</th></tr>\n");
    for (stage, outcome) in &i.stages {
        let class = match outcome {
            StageOutcome::Pass => "pass",
            StageOutcome::Fail => "fail",
            _ => "info",
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(stage.label()),
            badge(&outcome.label().to_uppercase(), class)
        );
    }
    s.push_str("</table>\n</section>\n");
}

fn badge(label: &str, class: &str) -> String {
    format!("<span class=\"badge {class}\">{}</span>", esc(label))
}

fn outcome_badge(o: Outcome) -> String {
    badge(&o.label().to_uppercase(), o.label())
}

fn swatch(p: &Page, engine: &str) -> String {
    format!(
        "<span class=\"eng\"><span class=\"swatch\" style=\"background:{}\"></span>{}</span>",
        p.colours.hex(engine),
        esc(engine)
    )
}

/// The decision, each candidate's outcome, and every check with its interval drawn against its threshold.
fn verdict(s: &mut String, p: &Page) {
    let d = p.info.decision(p.judgements);
    let deciding: Vec<&Judgement> = p.judgements.iter().filter(|j| !j.informational).collect();
    let class = d.label();
    let word = class.to_uppercase();
    let _ = writeln!(s, "<section id=\"verdict\">\n<h2>Verdict</h2>");
    let _ = write!(
        s,
        "<div class=\"banner {class}\"><span class=\"badge decision {class}\">{word}</span> "
    );
    let why = match d {
        Decision::Inconclusive(Undecided::Interrupted) => {
            "The run was interrupted: the figures cover the finished rounds only, the outcomes below decide nothing, and the gate exits 3.".to_string()
        }
        Decision::Inconclusive(Undecided::NoYardstick) => {
            "The reference erred or answered no request of a round: its figures are no yardstick, so the outcomes below decide nothing, and the gate exits 1.".to_string()
        }
        Decision::Inconclusive(Undecided::DriverLost) => {
            "The load driver lost a round's records: the run ended there, the outcomes below decide nothing, and the gate exits 2.".to_string()
        }
        Decision::Inconclusive(Undecided::NothingDecides) => {
            "No check decides the exit code in this run (no engine of <code>[gate] candidates</code> ran on a mix of <code>[gate] mixes</code>): no evidence either way, exit 3.".to_string()
        }
        _ => {
            let count = |o: Outcome| deciding.iter().filter(|j| j.outcome == o).count();
            format!(
                "{} deciding check(s): {} passed, {} failed, {} inconclusive (exit code {}).",
                deciding.len(),
                count(Outcome::Pass),
                count(Outcome::Fail),
                count(Outcome::Inconclusive),
                d.exit_code()
            )
        }
    };
    let _ = writeln!(s, "{why}</div>");
    // Each candidate's worst deciding outcome, in the run's engine order.
    let mut candidates: Vec<(&str, Outcome, usize)> = Vec::new();
    for j in &deciding {
        match candidates.iter_mut().find(|c| c.0 == j.engine) {
            Some(c) => {
                c.1 = c.1.max(j.outcome);
                c.2 += 1;
            }
            None => candidates.push((&j.engine, j.outcome, 1)),
        }
    }
    if !candidates.is_empty() {
        s.push_str("<p>");
        for (engine, o, n) in &candidates {
            let _ = write!(
                s,
                "{} {} <small>({n} checks)</small> &nbsp; ",
                swatch(p, engine),
                outcome_badge(*o)
            );
        }
        s.push_str("</p>\n");
    }
    let _ = writeln!(
        s,
        "<p class=\"muted\">A check passes when its whole interval is on the shaded (pass) side of the dashed threshold line, \
         fails when it is wholly on the other side, and is inconclusive otherwise. Deciding checks: pass side 97.5 %, \
         fail side family-corrected (Bonferroni over the deciding checks); informational checks: 95 % both sides; \
         adjusted for the looks at rounds {}..{} of {} planned. The dot is the estimate.</p>",
        p.looks.first, p.looks.last, p.looks.planned
    );
    for (title, informational) in [
        ("Checks that decide the exit code", false),
        ("Informational checks", true),
    ] {
        let rows: Vec<&Judgement> = p
            .judgements
            .iter()
            .filter(|j| j.informational == informational)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "<h3>{title}</h3>\n<table class=\"checks\">\n<tr><th>outcome</th><th>engine</th><th>mix</th><th>check</th>\
             <th>estimate</th><th>interval judged</th><th>threshold</th><th>interval against threshold</th></tr>"
        );
        for j in rows {
            let op = match j.bound {
                Bound::Max => "≤",
                Bound::Min => "≥",
            };
            let interval = j
                .interval
                .map_or("none".to_string(), |(lo, hi)| format!("[{}, {}]", num(lo), num(hi)));
            let strip = interval::strip(j).unwrap_or_else(|| {
                if j.check.is_statistical() {
                    "<small>no interval (too few rounds)</small>".into()
                } else {
                    "<small>a count, not an interval</small>".into()
                }
            });
            let _ = writeln!(
                s,
                "<tr class=\"check\"><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td class=\"n\">{}</td>\
                 <td class=\"n\">{interval}</td><td class=\"n\">{op} {}</td><td>{strip}</td></tr>",
                outcome_badge(j.outcome),
                swatch(p, &j.engine),
                esc(&j.mix),
                j.check.key(),
                j.estimate.map_or("–".to_string(), |e| num(e.value)),
                j.threshold,
            );
        }
        s.push_str("</table>\n");
    }
    if p.judgements.is_empty() {
        s.push_str("<p>No thresholds apply to the engines of this run.</p>\n");
    }
    s.push_str("</section>\n");
}

/// `v` with `digits` decimals, none from 1000 up (a column stays narrow).
fn fixed(v: f64, digits: usize) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.digits$}")
    }
}

fn figure(e: Option<Estimate>, digits: usize) -> String {
    match e {
        Some(e) if e.value.is_finite() => match e.ci {
            Some((lo, hi)) => format!(
                "{}<br/><span class=\"ci\">[{}, {}]</span>",
                fixed(e.value, digits),
                fixed(lo, digits),
                fixed(hi, digits)
            ),
            None => fixed(e.value, digits),
        },
        _ => "–".into(),
    }
}

/// summary.csv's figures, one table per mix.
fn figures(s: &mut String, p: &Page) {
    let _ = writeln!(
        s,
        "<section id=\"figures\">\n<h2>Figures per engine</h2>\n<p class=\"muted\">Latencies in ms; [95 % intervals from the \
         round-to-round spread]; × = ratio to the reference on the same requests. The same figures as summary.csv and summary.json.</p>"
    );
    engine_errors(s, p);
    let mut mixes: Vec<&str> = Vec::new();
    for r in p.summaries {
        if !mixes.contains(&r.mix.as_str()) {
            mixes.push(&r.mix);
        }
    }
    for mix in mixes {
        let _ = writeln!(
            s,
            "<h3>Mix {}</h3>\n<table class=\"figures\">\n<tr><th>engine</th><th>errors</th><th>rps</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>× rps</th><th>× p95</th><th>× p99</th>\
             <th>p95 / floor</th><th>verdict</th></tr>",
            esc(mix)
        );
        for (r, v) in p.summaries.iter().zip(p.verdicts).filter(|(r, _)| r.mix == mix) {
            let _ = writeln!(
                s,
                "<tr><td class=\"engine\">{}<br/><small>{}, {}{}<br/>{} rounds, {} requests</small></td><td class=\"n\">{}{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                swatch(p, &r.engine),
                r.role.label(),
                r.timing.label(),
                r.index_bytes
                    .map_or(String::new(), |b| format!(", index {:.1} MB", b as f64 / 1e6)),
                r.rounds,
                r.requests,
                r.errors,
                if r.saturated { " <b>saturated</b>" } else { "" },
                figure(r.rps, 0),
                figure(r.p50, 3),
                figure(r.p90, 3),
                figure(r.p95, 3),
                figure(r.p99, 3),
                figure(r.rps_ratio, 2),
                figure(r.p95_ratio, 4),
                figure(r.p99_ratio, 4),
                r.floor_p95_ratio
                    .filter(|f| f.is_finite())
                    .map_or("–".to_string(), |f| format!("{f:.2}")),
                verdict_cell(*v),
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("</section>\n");
}

/// The errors engines answered with (run.json's engine_errors): any error fails a candidate.
fn engine_errors(s: &mut String, p: &Page) {
    let Some(b) = &p.info.bench else { return };
    if b.engine_errors.is_empty() {
        return;
    }
    s.push_str(
        "<h3>Engine errors</h3>\n<table class=\"errors\">\n<tr><th>engine</th><th>mix</th><th>round</th>\
         <th>warm-up errors</th><th>measured errors</th><th>first message</th></tr>\n",
    );
    for e in &b.engine_errors {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
            swatch(p, &e.engine),
            esc(&e.mix),
            e.trial,
            e.warmup_errors,
            e.measured_errors,
            esc(&e.first_error)
        );
    }
    s.push_str("</table>\n");
}

fn verdict_cell(v: Cell) -> String {
    match v {
        Cell::Judged {
            worst: Some(o),
            informational: false,
        } => badge(&o.label().to_uppercase(), o.label()),
        Cell::Judged {
            worst,
            informational: true,
        } => format!(
            "{}<br/><small>informational</small>",
            badge(worst.map_or("no thresholds", Outcome::label), "info")
        ),
        other => badge(&other.label(), "info"),
    }
}

/// The plots of every mix, inline.
fn plots(s: &mut String, p: &Page) {
    let _ = writeln!(
        s,
        "<section id=\"plots\">\n<h2>Plots</h2>\n<p class=\"muted\">Each engine keeps its colour in every plot \
         (black: the reference; grey: yardsticks). The tail plot spreads the percentiles evenly (x = 1/(1 − p)): \
         the dots with bars are the p50/p90/p95/p99 estimates with their intervals, hollow where there is none. \
         Dashed: the p95/p99 lines and the gate's latency limits on the mix. The same SVG files are in the run directory.</p>"
    );
    for m in p.plots {
        let mix = esc(&m.mix);
        let _ = writeln!(
            s,
            "<h3>Mix {mix}</h3>\n<figure class=\"plot\">{}<figcaption>tail-{mix}.svg</figcaption></figure>\n\
             <figure class=\"plot\">{}<figcaption>cdf-{mix}.svg</figcaption></figure>\n\
             <figure class=\"plot\">{}<figcaption>p99-by-depth-{mix}.svg</figcaption></figure>",
            m.tail.trim_end(),
            m.cdf.trim_end(),
            m.depth.trim_end()
        );
    }
    s.push_str("</section>\n");
}

/// strata.csv as tables, folded (descriptive, never judged).
fn strata(s: &mut String, p: &Page) {
    let _ = writeln!(
        s,
        "<section id=\"strata\">\n<h2>Strata</h2>\n<p class=\"muted\">Quantiles per kind of request, with pooled within-run \
         order-statistic intervals (they assume independent requests: descriptive, never judged). As strata.csv.</p>"
    );
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for r in p.strata {
        if !keys.contains(&(r.mix.as_str(), r.dimension)) {
            keys.push((&r.mix, r.dimension));
        }
    }
    for (mix, dim) in keys {
        let _ = writeln!(
            s,
            "<details><summary>Mix {} by {dim}</summary>\n<table>\n<tr><th>engine</th><th>{dim}</th><th>requests</th>\
             <th>mean</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th></tr>",
            esc(mix)
        );
        for r in p.strata.iter().filter(|r| r.mix == mix && r.dimension == dim) {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.3}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                swatch(p, &r.engine),
                esc(&r.value),
                r.requests,
                r.mean_ms,
                figure(r.p50, 3),
                figure(r.p90, 3),
                figure(r.p95, 3),
                figure(r.p99, 3),
            );
        }
        s.push_str("</table>\n</details>\n");
    }
    s.push_str("</section>\n");
}

/// The equivalence results, each failure with its counterexample and replay command.
fn equivalence(s: &mut String, p: &Page) {
    let _ = writeln!(s, "<section id=\"equivalence\">\n<h2>Equivalence</h2>");
    let Some(eq) = &p.info.equivalence else {
        s.push_str("<p>This run had no equivalence stage (<code>bench</code> runs the benchmark only; <code>gate</code> and <code>equiv</code> run it).</p>\n</section>\n");
        return;
    };
    let failed = eq.results.iter().filter(|r| r.status == "fail").count();
    let _ = writeln!(
        s,
        "<p>{} result(s) for {}, seed <code>{:#018x}</code>, {} cases + {} small datasets per candidate: {}.</p>",
        eq.results.len(),
        esc(&eq.engines.join(", ")),
        eq.seed,
        eq.cases,
        eq.small_dataset_cases,
        if failed == 0 {
            "no property failed".to_string()
        } else {
            format!("<b>{failed} failed</b>")
        }
    );
    if let Some(noise) = &eq.noise {
        let _ = writeln!(s, "<p>{}</p>", esc(&crate::equivalence::noise::describe(noise)));
    }
    s.push_str(
        "<table>\n<tr><th>status</th><th>engine</th><th>property</th><th>cases</th><th>failures</th><th>seed</th></tr>\n",
    );
    for r in &eq.results {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
            badge(
                &r.status.to_uppercase(),
                match r.status.as_str() {
                    "n/a" => "na",
                    other => other,
                }
            ),
            swatch(p, &r.engine),
            esc(&r.property),
            r.cases,
            r.failures,
            esc(&r.seed)
        );
    }
    s.push_str("</table>\n");
    for r in eq.results.iter().filter(|r| r.detail.is_some() || r.replay.is_some()) {
        let _ = writeln!(
            s,
            "<div class=\"failure\"><h3>{} {}: {}</h3>",
            esc(&r.engine),
            esc(&r.property),
            esc(&r.status.to_uppercase())
        );
        let detail = if r.status == "n/a" {
            "why not run"
        } else {
            "first difference"
        };
        for (what, text) in [
            ("minimal counterexample", &r.counterexample),
            (detail, &r.detail),
            ("replay", &r.replay),
        ] {
            if let Some(t) = text {
                let _ = writeln!(s, "<div>{what}:</div><pre>{}</pre>", esc(t));
            }
        }
        s.push_str("</div>\n");
    }
    s.push_str("</section>\n");
}

/// Where the run came from: revision, machine, spec, dataset, seeds, settings.
fn provenance(s: &mut String, p: &Page) {
    let i = p.info;
    let _ = writeln!(s, "<section id=\"provenance\">\n<h2>Provenance</h2>\n<dl>");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(s, "<dt>{k}</dt><dd>{v}</dd>");
    };
    row("run id", format!("<code>{}</code>", esc(&i.run_id)));
    row("started", esc(&i.started_at));
    row(
        "command",
        format!("<code>{}</code>", esc(&crate::shell::shell_words(&i.command))),
    );
    row(
        "git revision",
        i.git.as_ref().map_or("not in a git work tree".to_string(), |g| {
            format!(
                "<code>{}</code>{}",
                esc(&g.revision),
                if g.dirty { " (with uncommitted changes)" } else { "" }
            )
        }),
    );
    row(
        "versions",
        i.versions
            .iter()
            .map(|(k, v)| format!("{} <code>{}</code>", esc(k), esc(v)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    row(
        "machine",
        format!(
            "{}, {} cores, {}, kernel {}",
            esc(&i.machine.cpu_model),
            i.machine.cores,
            esc(&i.machine.os),
            esc(&i.machine.kernel)
        ),
    );
    row(
        "spec",
        format!(
            "<code>{}</code> sha256 <code>{}</code>",
            esc(&i.spec.path),
            esc(&i.spec.sha256)
        ),
    );
    row("dataset", format!("<code>{}</code>", esc(&i.dataset_dir)));
    if let Some(eq) = &i.equivalence {
        row(
            "equivalence seed",
            format!("<code>{:#018x}</code> ({})", eq.seed, eq.seed),
        );
    }
    if let Some(b) = &i.bench {
        row(
            "benchmark",
            format!(
                "{}, {} mode, concurrency {}, {} requests per engine per round, {} warm-up, {} cache; engines {}; mixes {}",
                b.stop.label(),
                b.mode.label(),
                b.concurrency,
                b.requests,
                b.warmup,
                b.cache.label(),
                esc(&b.engines.join(", ")),
                esc(&b.mixes.join(", "))
            ),
        );
        row(
            "rounds",
            format!(
                "{} done ({} planned, {}..{} allowed) in {:.1} s of {} s",
                b.rounds, b.planned_rounds, b.min_rounds, b.max_rounds, b.seconds, b.max_seconds
            ),
        );
        row(
            "bench seeds",
            format!(
                "seed <code>{}</code>, warm-up stream <code>{:#018x}</code>, round streams {}",
                b.seed,
                b.warmup_stream_seed,
                b.round_stream_seeds
                    .iter()
                    .map(|x| format!("<code>{x:#018x}</code>"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        );
        if let Some(o) = &b.harness_overhead {
            row(
                "harness overhead",
                format!("{:.0} ns per request ({} requests)", o.per_request_ns, o.requests),
            );
        }
        row(
            "method",
            format!(
                "{} intervals, familywise false-fail rate {}: {}",
                b.confidence,
                b.family_alpha,
                esc(&b.method)
            ),
        );
    }
    s.push_str("</dl>\n");
    let _ = writeln!(
        s,
        "<details><summary>The spec as run ({})</summary><pre>{}</pre></details>\n</section>",
        esc(&i.spec.path),
        esc(&i.spec.text)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Timing;
    use crate::verdict::Check;
    use audit_engines::Role;

    fn estimate(value: f64) -> Option<Estimate> {
        Some(Estimate {
            value,
            ci: Some((value * 0.9, value * 1.1)),
            spread: None,
        })
    }

    /// A page whose every user-given text is hostile markup: engine names
    /// (the CLI refuses such names, the renderer must not rely on that),
    /// paths, the spec text and an equivalence failure's detail.
    #[test]
    fn user_text_is_escaped_everywhere() {
        let evil = "<img src=x onerror=alert(1)>&\"'";
        let bench = serde_json::json!({"engines": [evil], "roles": ["candidate"], "mixes": [evil], "mode": "closed", "concurrency": 1, "requests": 10,
                "slices": 1, "slice_ms": 10.0, "precision": {"p95": 0.1, "p99": 0.25, "throughput": 0.1},
                "warmup": 1, "min_rounds": 3, "max_rounds": 3, "max_seconds": 1.0, "planned_rounds": 3, "rounds": 3,
                "stop": "planned", "seconds": 1.0, "phases": [], "cache": "warm", "arrivals": "uniform", "seed": 1,
                "warmup_stream_seed": 2, "round_stream_seeds": [3], "round_records": [], "rates_rps": {}, "pacing": {},
                "confidence": 0.95, "method": evil, "family_alpha": 0.05, "index_bytes": {},
                "engine_errors": [{"engine": evil, "mix": evil, "trial": 1, "warmup_errors": 0, "measured_errors": 1,
                    "first_error": evil}],
                "variance": []});
        let mut info = serde_json::json!({
            "schema_version": 2, "run_id": "r1", "complete": true, "started_at": "t",
            "command": ["audit-harness", evil],
            "spec": {"path": evil, "sha256": "sha256:00", "text": evil},
            "dataset_dir": evil,
            "machine": {"cpu_model": evil, "cores": 2, "os": "os", "kernel": "k"},
            "versions": {}, "stages": [],
            "equivalence": {"seed": 1, "cases": 1, "small_dataset_cases": 1, "engines": [evil],
                "results": [{"engine": evil, "property": "mix", "status": "fail", "cases": 1, "failures": 1,
                    "seed": "0x01", "counterexample": evil, "detail": evil, "replay": evil}]}
        });
        info["bench"] = bench;
        let info: RunInfo = serde_json::from_value(info).unwrap();
        let summary = Summary {
            engine: evil.into(),
            role: Role::Candidate,
            mix: evil.into(),
            timing: Timing::Closed,
            concurrency: 1,
            rounds: 3,
            requests: 30,
            errors: 0,
            late: 0,
            saturated: false,
            rps: estimate(100.0),
            mean_ms: estimate(1.0),
            p50: estimate(1.0),
            p90: estimate(2.0),
            p95: estimate(3.0),
            p99: estimate(4.0),
            rps_ratio: estimate(2.0),
            p95_ratio: estimate(0.5),
            p99_ratio: estimate(0.5),
            floor_p95_ratio: None,
            index_bytes: None,
            looks: Looks::fixed(3),
        };
        let judgement = Judgement {
            engine: evil.into(),
            mix: evil.into(),
            check: Check::P95RatioMax,
            bound: Bound::Max,
            threshold: 0.8,
            estimate: estimate(0.5),
            interval: Some((0.4, 0.6)),
            fail_alpha: 0.025,
            outcome: Outcome::Pass,
            informational: false,
        };
        let colours = Colours::new(&[(evil.to_string(), Role::Candidate)]);
        let looks = Looks {
            first: 3,
            last: 3,
            planned: 3,
            last_is_final: true,
            every: 1,
        };
        let html = to_html(&Page {
            info: &info,
            summaries: std::slice::from_ref(&summary),
            verdicts: &[Cell::Judged {
                worst: Some(Outcome::Pass),
                informational: false,
            }],
            judgements: std::slice::from_ref(&judgement),
            strata: &[],
            looks: &looks,
            colours: &colours,
            plots: &[],
        });
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("\"'"), "{html}");
        assert!(
            html.matches("&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;")
                .count()
                >= 10
        );
        // The verdict comes first, then the figures.
        let verdict = html.find("id=\"verdict\"").unwrap();
        assert!(verdict < html.find("id=\"figures\"").unwrap());
        assert!(html[verdict..].contains("<span class=\"badge decision pass\">PASS</span>"));
    }

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
