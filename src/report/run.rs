//! A run from start to end: its report directory is made and run.json written
//! (`complete: false`) before any stage runs; each stage's outcome is recorded
//! as it ends; the end marks it complete unless its cancellation token was
//! cancelled (and writes report.html for a run that ended before any benchmark).

use std::path::Path;
use std::time::SystemTime;

use crate::cancel::Cancel;
use crate::error::HarnessError;
use crate::spec::Spec;

use super::run_json::{self, RunInfo, Stage, StageOutcome};
use super::RunDir;

/// How a run ended: its exit status, and where its reports are (and whether
/// complete), unless it was discarded.
pub struct Ended {
    pub result: Result<(), HarnessError>,
    pub reports: Option<(std::path::PathBuf, bool)>,
}

/// A run in progress: its report directory and its run.json.
pub struct Run {
    pub dir: RunDir,
    pub info: RunInfo,
    /// A stage's failure that must not cost the stages after it their
    /// reports (the appends stage, after the quiet run's figures): the run
    /// still ends with it, unless a failed check ends it first.
    pub deferred: Option<HarnessError>,
    /// The stage under way (begun, not yet recorded): a run that ends by an
    /// error inside it records it as `error`, so run.json says where it stopped.
    running: Option<Stage>,
    /// Every stage of the run stops once it is cancelled, and the run ends incomplete.
    pub cancel: Cancel,
}

impl Run {
    /// Creates the report directory and writes run.json (`complete: false`)
    /// before anything runs; `cancel` stops its stages.
    pub fn start(spec: &Spec, data_dir: &Path, cancel: &Cancel) -> Result<Run, HarnessError> {
        let started = SystemTime::now();
        let dir = RunDir::create(&spec.bench.reports_dir, started, &spec.digest)?;
        let info = RunInfo::start(&dir.id, started, spec, data_dir);
        if let Err(e) = dir.write("run.json", &info.to_json()) {
            // An empty run directory is no run: `latest` goes back to the one before.
            dir.discard();
            return Err(e);
        }
        Ok(Run {
            dir,
            info,
            deferred: None,
            running: None,
            cancel: cancel.clone(),
        })
    }

    /// Marks stage `name` under way (see `running`).
    pub fn begin(&mut self, stage: Stage) {
        self.running = Some(stage);
    }

    /// Records a stage's outcome and saves run.json.
    pub fn stage(&mut self, stage: Stage, outcome: StageOutcome) -> Result<(), HarnessError> {
        self.running = None;
        self.info.stages.push((stage, outcome));
        self.save()
    }

    /// Saves run.json as the record stands (after a stage adds its part).
    pub fn save(&self) -> Result<(), HarnessError> {
        self.dir.write("run.json", &self.info.to_json())
    }

    /// Marks the run ended and saves run.json. A
    /// run refused as bad input before any stage ran (an engine that cannot
    /// start, say) is removed instead: nothing half-done stays. A run is
    /// complete unless interrupted or stopped by bad input or environment
    /// (a disk that filled up, an engine that died).
    pub fn finish(mut self, result: Result<(), HarnessError>) -> Ended {
        let result = match (result, self.deferred.take()) {
            (Err(e), _) if e.is_input() || e.exit_code() == 1 => Err(e),
            (_, Some(deferred)) => Err(deferred),
            (result, None) => result,
        };
        if result.as_ref().is_err_and(HarnessError::is_input)
            && self.info.stages.is_empty()
            && self.info.bench.is_none()
        {
            self.dir.discard();
            return Ended { result, reports: None };
        }
        if let Err(e) = &result {
            if let Some(stage) = self.running.take() {
                self.info.stages.push((stage, StageOutcome::Error));
            }
            self.info.error = Some(e.to_string());
        }
        self.info.ended_at = Some(run_json::timestamp(SystemTime::now()));
        let cancelled = self.cancel.is_cancelled();
        self.info.complete = !cancelled && !result.as_ref().is_err_and(HarnessError::is_input);
        self.info.exit_code = Some(result.as_ref().map_or_else(HarnessError::exit_code, |_| 0));
        let mut saved = self.save();
        // A run that benchmarked wrote its report.html with its figures; one
        // that stopped before (equiv, or a failed integrity or equivalence
        // stage, or a signal in its first stage) gets the page of its
        // stages, its counterexamples included.
        let started = self.info.equivalence.is_some() || !self.info.stages.is_empty() || cancelled;
        if self.info.bench.is_none() && started {
            saved = saved.and(
                self.dir
                    .write("report.html", super::html::stages_page(&self.info).as_bytes()),
            );
        }
        Ended {
            result: result.and(saved),
            reports: Some((self.dir.path, self.info.complete)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run that ends by an error inside a stage (a disk that filled up
    /// while the benchmark wrote its files) records that stage as `error`
    /// and the error itself, instead of `stages: []`.
    #[test]
    fn an_error_inside_a_stage_is_recorded_with_the_stage() {
        let tmp = tempfile::tempdir().unwrap();
        let mut spec = Spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("harness.toml")).unwrap();
        spec.bench.reports_dir = tmp.path().join("reports");
        let mut run = Run::start(&spec, tmp.path(), &Cancel::new()).unwrap();
        run.begin(Stage::Integrity);
        run.stage(Stage::Integrity, StageOutcome::Pass).unwrap();
        run.begin(Stage::Bench);
        let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let ended = run.finish(Err(HarnessError::io(tmp.path().join("latencies.csv"), full)));
        let (dir, complete) = ended.reports.expect("the run keeps its directory");
        assert!(!complete);
        let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
        assert_eq!(
            info["stages"],
            serde_json::json!([["integrity", "pass"], ["bench", "error"]])
        );
        let error = info["error"].as_str().unwrap();
        assert!(
            error.contains("latencies.csv") && error.contains("No space left on device"),
            "{error}"
        );
        assert_eq!(info["exit_code"], 2);
    }

    /// A run whose token was cancelled ends incomplete, though its result
    /// is `Ok` (the stages return what they finished).
    #[test]
    fn a_cancelled_run_ends_incomplete() {
        let tmp = tempfile::tempdir().unwrap();
        let mut spec = Spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("harness.toml")).unwrap();
        spec.bench.reports_dir = tmp.path().join("reports");
        let cancel = Cancel::new();
        let mut run = Run::start(&spec, tmp.path(), &cancel).unwrap();
        run.begin(Stage::Integrity);
        run.stage(Stage::Integrity, StageOutcome::Pass).unwrap();
        cancel.cancel();
        let ended = run.finish(Ok(()));
        let (dir, complete) = ended.reports.expect("the run keeps its directory");
        assert!(!complete);
        let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
        assert_eq!(info["complete"], false);
    }
}
