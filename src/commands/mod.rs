//! One module per subcommand, each turning parsed arguments into a run of the
//! library's stages; `app.rs` dispatches to them.

pub mod aa;
pub mod adopt;
pub mod bench;
pub mod calibrate;
pub mod compare;
pub mod completions;
pub mod engines;
pub mod equiv;
pub mod gate;
pub mod gen;
pub mod http_cost;
pub mod man;
pub mod protocol_cost;
pub mod query;
pub mod report;
pub mod serve;
pub mod sweep;
pub mod verify;
