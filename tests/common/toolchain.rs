//! Tools a test needs beyond cargo (a compiler, an interpreter, a runtime): under
//! CI their absence is a failure, elsewhere a skip with a printed reason.

use std::process::Command;

/// Whether `command` runs and exits with success (its output is discarded).
pub fn succeeds(command: &mut Command) -> bool {
    command.output().is_ok_and(|o| o.status.success())
}

/// Whether a tool a test needs is `present`. When it is not, the test fails under
/// `CI=true` (CI must install it) and is skipped elsewhere, saying why: `missing`
/// names what is missing and `hint` how to install it.
#[track_caller]
pub fn present_or_skip(present: bool, missing: &str, hint: &str) -> bool {
    if present {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{missing}; CI must install it: {hint}");
    }
    eprintln!("skipped: {missing}; {hint}");
    false
}
