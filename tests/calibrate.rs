//! The gate's statistics checked by simulation with known truth, as
//! `audit-harness calibrate` does, at a size `cargo test` can afford: fewer
//! replicates, so the bounds are the targets widened by about three binomial
//! standard errors. They fail for the earlier designs: requests treated as
//! independent (63-79 % coverage and 10-19 % false fails under drift and
//! bursts), and one trial per engine per round (the default mix's two-cluster
//! candidate under bursts: 25-27 % false fails).

mod common;

use audit_harness::calibrate::{self, Config, Design, Noise, Shape, Truth};

fn config(noises: &[&str], shapes: &[Shape], truths: &[Truth], replicates: u32) -> Config {
    let mut cfg = Config::from_spec(&common::spec()).unwrap();
    cfg.noises = noises.iter().map(|s| s.parse::<Noise>().unwrap()).collect();
    cfg.shapes = shapes.to_vec();
    cfg.truths = truths.to_vec();
    cfg.replicates = replicates;
    cfg.seed = 20261203;
    cfg
}

/// Three standard errors of a rate `p` from `n` draws.
fn slack(p: f64, n: u32) -> f64 {
    3.0 * (p * (1.0 - p) / f64::from(n)).sqrt()
}

#[test]
fn at_the_threshold_intervals_cover_and_the_gate_rarely_fails() {
    let reps = 150;
    let mut cfg = config(&["independent"], &[Shape::Scaled], &[Truth::AtThreshold], reps);
    cfg.noises = ["drift-0.05", "ar1-0.5"].iter().map(|s| s.parse().unwrap()).collect();
    cfg.shapes = vec![Shape::Scaled, Shape::Bimodal, Shape::BimodalSplit];
    let rows = calibrate::run(&cfg, |_| {}).unwrap();
    assert_eq!(rows.len(), 6);
    for r in &rows {
        for (i, c) in r.coverage.iter().enumerate() {
            assert!(
                *c >= 0.93 - slack(0.93, reps * 2),
                "{}: coverage of check {i} {c}: {r:?}",
                r.scenario
            );
        }
        for (i, f) in r.check_fail.iter().enumerate() {
            assert!(
                *f <= 0.0083 + slack(0.0083, reps * 2),
                "{}: false fails of check {i} {f}: {r:?}",
                r.scenario
            );
        }
        assert!(
            r.gate_fail <= 0.05 + slack(0.05, reps),
            "{}: gate false fails {}: {r:?}",
            r.scenario,
            r.gate_fail
        );
        assert!(
            r.gate_pass <= 0.025 + slack(0.025, reps),
            "{}: gate passes at the threshold {}",
            r.scenario,
            r.gate_pass
        );
        assert!(r.mean_rounds >= f64::from(cfg.budget.min_rounds));
    }
}

/// Where the method is short of its targets, said plainly in
/// docs/statistics.md: slow episodes of the whole machine (3 % of the time,
/// 2.5x slower, 200 ms) against the default mix's two-cluster candidate
/// fail its p99 check 5.6 % of the time at the threshold (nominal 0.8 %;
/// coverage 88.6 %, 1000 replicates): a run meets a handful of episodes,
/// and its p99 ratio hinges on how many. This holds that line, so a change
/// that makes it worse is seen.
#[test]
fn slow_episodes_against_a_two_cluster_candidate_stay_within_their_measured_bounds() {
    let reps = 150;
    let cfg = config(
        &["bursts"],
        &[Shape::Bimodal, Shape::Scaled],
        &[Truth::AtThreshold],
        reps,
    );
    let rows = calibrate::run(&cfg, |_| {}).unwrap();
    for r in &rows {
        assert!(r.coverage[1] >= 0.886 - slack(0.114, reps * 2), "{r:?}");
        assert!(r.check_fail[1] <= 0.056 + slack(0.056, reps * 2), "{r:?}");
        assert!(r.gate_fail <= 0.08 + slack(0.08, reps), "{r:?}");
        assert!(r.gate_pass <= 0.025 + slack(0.025, reps), "{r:?}");
    }
}

/// Episodes rarer than the run (`bursts-rare`: 2 s every 200 s on average)
/// leave most 60 s runs with none: such a run sees the machine without
/// episodes, where the two-cluster candidate placed at the threshold with
/// them stands past it (p99 ×0.825 exactly), and the gate fails it there as
/// it should. The row says so: the truth without episodes, the runs that met
/// none and how they were judged; a machine without episodes has no such line.
#[test]
fn a_run_that_met_no_slow_episode_is_judged_by_the_machine_without_them() {
    let reps = 60;
    let cfg = config(
        &["bursts-rare", "drift-0.05"],
        &[Shape::Bimodal],
        &[Truth::AtThreshold],
        reps,
    );
    let rows = calibrate::run(&cfg, |_| {}).unwrap();
    let e = rows[0]
        .episodes
        .as_ref()
        .expect("a row with slow episodes says what its runs met");
    assert!((e.without[1] - 0.825).abs() < 0.005, "{e:?}");
    assert!(e.without[0] > rows[0].true_ratios[0], "{e:?}");
    // exp(-60 s / 200 s) = 74 % of runs meet no episode.
    let none = f64::from(e.none) / f64::from(reps);
    assert!((0.55..=0.92).contains(&none), "{e:?}");
    assert!(e.mean_met < 1.0, "{e:?}");
    // Those runs fail the candidate as one truly past the line: far above the 0.83 % of one at it.
    assert!(e.none_check_fail[1] >= 0.05, "{e:?}");
    assert!(rows[1].episodes.is_none(), "{:?}", rows[1]);
}

#[test]
fn a_better_candidate_passes_and_a_worse_one_never_does() {
    let reps = 150;
    let cfg = config(
        &["drift-0.05"],
        &[Shape::Scaled, Shape::Bimodal],
        &[Truth::Better, Truth::Worse],
        reps,
    );
    let rows = calibrate::run(&cfg, |_| {}).unwrap();
    for r in &rows {
        match r.truth {
            Truth::Better => {
                assert!(r.gate_pass >= 0.80 - slack(0.8, reps), "power {}: {r:?}", r.gate_pass);
                assert_eq!(r.gate_fail, 0.0, "{r:?}");
            }
            _ => {
                assert_eq!(r.gate_pass, 0.0, "a worse candidate never passes: {r:?}");
                assert!(r.gate_fail >= 0.9, "{r:?}");
            }
        }
    }
}

/// A tail of another shape than the baseline's (half its spread, 1.2 % of
/// requests 4x slower) whose true p99 ratio is exactly the threshold must not
/// pass its p99 check: reading p99 from each round's own few requests passed
/// it 80-93 % of the time.
#[test]
fn a_tail_of_another_shape_at_the_threshold_does_not_pass_p99() {
    let cfg = config(
        &["independent", "drift-0.05"],
        &[Shape::Tail],
        &[Truth::AtThreshold],
        150,
    );
    let rows = calibrate::run(&cfg, |_| {}).unwrap();
    for r in &rows {
        assert!(
            r.check_pass[1] <= 0.025 + slack(0.025, 300),
            "{}: p99 passes {}: {r:?}",
            r.scenario,
            r.check_pass[1]
        );
        assert!(
            r.coverage[1] >= 0.90,
            "{}: p99 coverage {}: {r:?}",
            r.scenario,
            r.coverage[1]
        );
        assert!(r.gate_pass <= 0.05, "{r:?}");
    }
}

/// The earlier design (one trial per engine per round, equal requests) ran
/// five to eight rounds in the budget and could not decide a 10 %-better
/// candidate under drift; interleaved slices give it the rounds to.
#[test]
fn the_interleaved_design_decides_where_the_earlier_one_could_not() {
    let mut cfg = config(&["drift-0.05"], &[Shape::Scaled], &[Truth::Better], 80);
    let now = calibrate::run(&cfg, |_| {}).unwrap();
    cfg.design = Design::Trials;
    let before = calibrate::run(&cfg, |_| {}).unwrap();
    assert!(now[0].gate_pass >= 0.8, "{:?}", now[0]);
    assert!(
        before[0].gate_pass <= now[0].gate_pass - 0.3,
        "trials {:?} vs interleaved {:?}",
        before[0],
        now[0]
    );
}

#[test]
fn the_same_seed_gives_the_same_table() {
    let cfg = config(&["drift-0.10"], &[Shape::Bimodal], &[Truth::AtThreshold], 12);
    let a = calibrate::run(&cfg, |_| {}).unwrap();
    let b = calibrate::run(&cfg, |_| {}).unwrap();
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

/// A row's replicates are seeded from its scenario's name and truth, not its
/// place in the command: a reader checks one row of a table by running it alone.
#[test]
fn a_row_run_alone_prints_what_it_printed_in_the_full_table() {
    let full = config(
        &["independent", "drift-0.05"],
        &[Shape::Scaled, Shape::Tail],
        &[Truth::Better],
        10,
    );
    let rows = calibrate::run(&full, |_| {}).unwrap();
    let alone = config(&["drift-0.05"], &[Shape::Tail], &[Truth::Better], 10);
    let row = calibrate::run(&alone, |_| {}).unwrap();
    let in_full: Vec<_> = rows.iter().filter(|r| r.scenario == "drift-0.05 tail").collect();
    assert_eq!(in_full.len(), 1);
    assert_eq!(format!("{:?}", row[0]), format!("{:?}", in_full[0]));
}

#[test]
fn the_command_prints_its_table_and_refuses_unknown_scenarios() {
    let o = common::harness(&[
        "calibrate",
        "--replicates",
        "6",
        "--scenario",
        "independent",
        "--shape",
        "bimodal-split",
        "--truth",
        "better",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("independent bimodal-split"), "{out}");
    assert!(!out.contains("without its episodes"), "{out}");
    assert!(
        out.contains("== bounds: 1 of 1 row(s) meet every bound within two Monte Carlo standard errors"),
        "{out}"
    );
    let o = common::harness(&[
        "calibrate",
        "--replicates",
        "8",
        "--scenario",
        "bursts-rare",
        "--shape",
        "bimodal",
        "--truth",
        "at-threshold",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("without its episodes: p95 ×0.806, p99 ×0.825, throughput ×12.490"),
        "{out}"
    );
    assert!(
        out.contains("episodes met: ")
            && out.contains("run(s) met none: the gate failed")
            && out.contains("and passed "),
        "{out}"
    );
    for (args, want) in [
        (
            vec!["calibrate", "--scenario", "drift-2"],
            "unknown scenario \"drift-2\"",
        ),
        (vec!["calibrate", "--shape", "round"], "unknown shape \"round\""),
        (vec!["calibrate", "--design", "x"], "unknown design \"x\""),
    ] {
        let o = common::harness(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want) && err.lines().count() == 1, "{err}");
    }
}
