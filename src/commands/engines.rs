//! `audit-harness engines`: every engine, one line each, with its role.

use crate::spec::Spec;
use crate::{output, registry};

pub fn run(spec: &Spec) {
    output::dataset::print_engines(&registry::list(spec));
}
