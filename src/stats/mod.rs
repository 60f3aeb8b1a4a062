//! The statistics the verdicts rest on: quantiles as the service's runner
//! computes them, intervals from the variation between rounds (`rounds`),
//! adjusted for looking after every round (`sequential`); order-statistic
//! intervals for within-run figures (strata); and the round bootstrap that
//! `calibrate` compares the chosen method with.

pub mod growth;
pub mod poststrat;
pub mod quantile;
pub mod rounds;
pub mod sequential;
pub mod splitmix;

pub use quantile::{order_statistic_ranks, quantile, quantile_with_ci, Estimate};
pub use rounds::Spread;

/// The confidence level of every interval the harness reports.
pub const CONFIDENCE: f64 = 0.95;

/// The one-sided error rate of each side of a reported interval.
pub const ALPHA_SIDE: f64 = (1.0 - CONFIDENCE) / 2.0;

/// How the benchmark's intervals are computed, written into run.json.
pub const METHOD: &str = "rounds as the unit, engines interleaved in slices; every figure pooled over rounds and post-stratified by page kind (empty / with rows) with the mix's shares; quantiles and their ratios after Woodruff (the delete-one-round jackknife of the share below the quantile, carried through the quantiles 2 se below and above, each side on its own); means and throughput by the delete-one-round jackknife; Student-t intervals with kurtosis-adjusted degrees of freedom, each side widened for the rounds' skewness (one-sided Cornish-Fisher); Lan-DeMets O'Brien-Fleming alpha spending over at most 10 looks, boundaries simulated for the t statistic; Bonferroni over the deciding checks on the fail side";
