//! The statistics the verdicts rest on (DESIGN §5): quantiles as the service's
//! runner computes them, distribution-free intervals for them, intervals over
//! trials, and bootstrap intervals for ratios between engines.

pub mod bootstrap;
pub mod quantile;
pub mod trials;

pub use bootstrap::{ratio_intervals, Measured, RatioIntervals, BOOTSTRAP_METHOD};
pub use quantile::{order_statistic_ranks, quantile, quantile_with_ci, Estimate};
pub use trials::mean_ci;

/// The confidence level of every interval the harness reports.
pub const CONFIDENCE: f64 = 0.95;
