//! `equivalence.csv`: one row per engine and property.

use crate::equivalence::{outcome::FailureKind, Report, Status};
use crate::error::HarnessError;
use crate::report::run_json::EquivalenceResult;

/// The CSV layout version, bumped whenever a column changes.
pub const SCHEMA_VERSION: u32 = 3;

/// The report as CSV: `schema_version, engine, property, status, cases,
/// failures, seed, counterexample, detail, replay, reference` (counterexample is the
/// minimal query as one JSON line, with the dataset when it is a small one).
pub fn to_csv(report: &Report) -> Result<Vec<u8>, HarnessError> {
    render(report).map_err(|e| HarnessError::input(format!("equivalence.csv: {e}")))
}

fn render(report: &Report) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "schema_version",
        "engine",
        "property",
        "status",
        "cases",
        "failures",
        "seed",
        "counterexample",
        "detail",
        "replay",
        "reference",
    ])?;
    for r in &report.results {
        let (ce, detail, replay) = match &r.counterexample {
            Some(c) if c.kind == FailureKind::CannotOpen && c.dataset.is_none() => {
                (String::new(), c.detail.clone(), c.replay.clone())
            }
            Some(c) => {
                let ce = match &c.dataset {
                    None => serde_json::json!({ "query": c.query }),
                    Some(rows) => serde_json::json!({ "query": c.query, "dataset": rows }),
                };
                (ce.to_string(), c.detail.clone(), c.replay.clone())
            }
            None => (String::new(), r.note.clone().unwrap_or_default(), String::new()),
        };
        let status = serde_json::to_value(r.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        w.write_record([
            SCHEMA_VERSION.to_string(),
            r.engine.clone(),
            r.property.name().to_string(),
            status,
            r.cases.to_string(),
            r.failures.to_string(),
            // Hex: a spreadsheet keeps it whole (a 20-digit number loses its last digits); --seed takes it back.
            format!("{:#018x}", r.seed),
            ce,
            detail,
            replay,
            report.reference.clone(),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The results as run.json keeps them (and summary.json reports them).
pub fn results(report: &Report) -> Vec<EquivalenceResult> {
    report
        .results
        .iter()
        .map(|r| EquivalenceResult {
            engine: r.engine.clone(),
            property: r.property.name().to_string(),
            status: match r.status {
                Status::Pass => "pass",
                Status::Warn => "warn",
                Status::Fail => "fail",
                Status::NotApplicable => "n/a",
            }
            .to_string(),
            cases: r.cases,
            failures: r.failures,
            seed: format!("{:#018x}", r.seed),
            counterexample: r
                .counterexample
                .as_ref()
                .filter(|c| !(c.kind == FailureKind::CannotOpen && c.dataset.is_none()))
                .map(|c| serde_json::to_string(&c.query).unwrap_or_default()),
            detail: r
                .counterexample
                .as_ref()
                .map(|c| c.detail.clone())
                .or_else(|| r.note.clone()),
            replay: r.counterexample.as_ref().map(|c| c.replay.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::equivalence::{Property, PropertyResult, Status};

    #[test]
    fn seeds_are_written_as_hex_that_seed_flags_read_back_exactly() {
        let seed = 15_755_400_384_243_981_628u64;
        let report = Report {
            reference: "baseline".into(),
            results: vec![PropertyResult {
                engine: "memindex".into(),
                property: Property::Edge,
                status: Status::Pass,
                cases: 1,
                failures: 0,
                seed,
                counterexample: None,
                seconds: 0.0,
                note: None,
            }],
            seconds: 0.0,
            noise: None,
        };
        let csv = String::from_utf8(to_csv(&report).unwrap()).unwrap();
        let mut rd = csv::Reader::from_reader(csv.as_bytes());
        let row = rd.records().next().unwrap().unwrap();
        let cell = &row[6];
        assert_eq!(cell, "0xdaa66d2c7cea5d3c");
        assert_eq!(crate::cli::seed(cell), Ok(seed));
        assert_eq!(&row[10], "baseline", "the reference column");
        // As a spreadsheet would read the decimal: 15755400384243982336, another seed.
        assert_ne!(cell.parse::<f64>().ok().map(|f| f as u64), Some(seed));
    }
}
