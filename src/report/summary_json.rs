//! `summary.json`: every figure of summary.csv and strata.csv with its
//! interval, every threshold judgement (with whether it decides the exit
//! code), the decision, and the equivalence results, for CI bots and
//! dashboards. Versioned by `schema_version`; `reports/README.md` documents
//! every field. `audit-harness report` recomputes it byte for byte.

use serde::Serialize;

use crate::analysis::{Stratum, Summary};
use crate::error::HarnessError;
use crate::report::run_json::{EquivalenceResult, RunInfo};
use crate::stats::sequential::Looks;
use crate::stats::Estimate;
use crate::verdict::{self, Bound, Judgement, Outcome};

/// The layout version of summary.json (bump on any change of meaning).
pub const JSON_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Figure {
    value: f64,
    ci_low: Option<f64>,
    ci_high: Option<f64>,
}

fn figure(e: Option<Estimate>) -> Option<Figure> {
    e.filter(|e| e.value.is_finite()).map(|e| Figure {
        value: e.value,
        ci_low: e.ci.map(|c| c.0),
        ci_high: e.ci.map(|c| c.1),
    })
}

#[derive(Serialize)]
struct Row<'a> {
    engine: &'a str,
    role: &'static str,
    mix: &'a str,
    mode: &'static str,
    concurrency: u32,
    rounds: usize,
    requests: usize,
    errors: usize,
    late: u64,
    saturated: bool,
    rps: Option<Figure>,
    mean_ms: Option<Figure>,
    p50_ms: Option<Figure>,
    p90_ms: Option<Figure>,
    p95_ms: Option<Figure>,
    p99_ms: Option<Figure>,
    rps_ratio: Option<Figure>,
    p95_ratio: Option<Figure>,
    p99_ratio: Option<Figure>,
    floor_p95_ratio: Option<f64>,
    index_bytes: Option<u64>,
    verdict: String,
}

#[derive(Serialize)]
struct StratumRow<'a> {
    engine: &'a str,
    mix: &'a str,
    mode: &'static str,
    stratum: &'static str,
    value: &'a str,
    requests: usize,
    mean_ms: f64,
    p50_ms: Option<Figure>,
    p90_ms: Option<Figure>,
    p95_ms: Option<Figure>,
    p99_ms: Option<Figure>,
}

#[derive(Serialize)]
struct JudgementRow<'a> {
    engine: &'a str,
    mix: &'a str,
    check: &'static str,
    /// `max` (estimate must be at most the threshold) or `min`.
    bound: &'static str,
    threshold: f64,
    estimate: Option<f64>,
    /// The interval judged (pass side at 97.5 %, fail side family-corrected).
    interval: Option<[f64; 2]>,
    /// One-sided error rate of the interval's fail side.
    fail_alpha: f64,
    outcome: &'static str,
    decides_exit_code: bool,
}

#[derive(Serialize)]
struct LooksRow {
    first: u32,
    last: u32,
    planned: u32,
    last_is_final: bool,
}

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    run_id: &'a str,
    /// `pass`, `fail` or `inconclusive`: what the deciding checks call for.
    decision: &'static str,
    deciding_checks: usize,
    method: &'static str,
    confidence: f64,
    looks: LooksRow,
    summaries: Vec<Row<'a>>,
    judgements: Vec<JudgementRow<'a>>,
    strata: Vec<StratumRow<'a>>,
    /// The engine the equivalence results compare with (`[equivalence] reference`).
    equivalence_reference: Option<&'a str>,
    equivalence: &'a [EquivalenceResult],
    /// The fields beyond the contract the equivalence results did not compare.
    #[serde(skip_serializing_if = "Option::is_none")]
    equivalence_noise: Option<&'a crate::equivalence::noise::NoiseSummary>,
}

/// The summary.json bytes.
pub fn to_json(
    info: &RunInfo,
    summaries: &[Summary],
    verdicts: &[verdict::Cell],
    judgements: &[Judgement],
    strata: &[Stratum],
    looks: &Looks,
) -> Result<Vec<u8>, HarnessError> {
    let doc = Document {
        schema_version: JSON_SCHEMA_VERSION,
        run_id: &info.run_id,
        decision: info.decision(judgements).label(),
        deciding_checks: judgements.iter().filter(|j| !j.informational).count(),
        method: crate::stats::METHOD,
        confidence: crate::stats::CONFIDENCE,
        looks: LooksRow {
            first: looks.first,
            last: looks.last,
            planned: looks.planned,
            last_is_final: looks.last_is_final,
        },
        summaries: summaries
            .iter()
            .zip(verdicts)
            .map(|(s, v)| Row {
                engine: &s.engine,
                role: s.role.label(),
                mix: &s.mix,
                mode: s.timing.label(),
                concurrency: s.concurrency,
                rounds: s.rounds,
                requests: s.requests,
                errors: s.errors,
                late: s.late,
                saturated: s.saturated,
                rps: figure(s.rps),
                mean_ms: figure(s.mean_ms),
                p50_ms: figure(s.p50),
                p90_ms: figure(s.p90),
                p95_ms: figure(s.p95),
                p99_ms: figure(s.p99),
                rps_ratio: figure(s.rps_ratio),
                p95_ratio: figure(s.p95_ratio),
                p99_ratio: figure(s.p99_ratio),
                floor_p95_ratio: s.floor_p95_ratio.filter(|f| f.is_finite()),
                index_bytes: s.index_bytes,
                verdict: v.label(),
            })
            .collect(),
        judgements: judgements
            .iter()
            .map(|j| JudgementRow {
                engine: &j.engine,
                mix: &j.mix,
                check: j.check.key(),
                bound: match j.bound {
                    Bound::Max => "max",
                    Bound::Min => "min",
                },
                threshold: j.threshold,
                estimate: j.estimate.map(|e| e.value).filter(|v| v.is_finite()),
                interval: j.interval.map(|(lo, hi)| [lo, hi]),
                fail_alpha: j.fail_alpha,
                outcome: match j.outcome {
                    Outcome::Pass => "pass",
                    Outcome::Fail => "fail",
                    Outcome::Inconclusive => "inconclusive",
                },
                decides_exit_code: !j.informational,
            })
            .collect(),
        strata: strata
            .iter()
            .map(|s| StratumRow {
                engine: &s.engine,
                mix: &s.mix,
                mode: s.timing.label(),
                stratum: s.dimension,
                value: &s.value,
                requests: s.requests,
                mean_ms: s.mean_ms,
                p50_ms: figure(s.p50),
                p90_ms: figure(s.p90),
                p95_ms: figure(s.p95),
                p99_ms: figure(s.p99),
            })
            .collect(),
        equivalence_reference: info.equivalence.as_ref().map(|e| e.reference.as_str()),
        equivalence: info.equivalence.as_ref().map_or(&[], |e| &e.results),
        equivalence_noise: info.equivalence.as_ref().and_then(|e| e.noise.as_ref()),
    };
    let mut v = serde_json::to_vec_pretty(&doc).map_err(|e| HarnessError::input(format!("summary.json: {e}")))?;
    v.push(b'\n');
    Ok(v)
}
