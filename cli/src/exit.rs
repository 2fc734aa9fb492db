//! What does the process exit with? A status's value (0 to 9, as the C API numbers
//! them) or [`USAGE`], and where each kind of failure is reported.

use lcm_outcome::{Error, Status};

/// A command line that could not be used (EX_USAGE from sysexits.h): distinct from
/// every status, so that a script can tell "you called me wrong" from "LCM said no".
pub const USAGE: i32 = 64;

/// Why a command did not do its job.
#[derive(Debug)]
pub enum Failure {
    /// The library's error: printed as `NAME: message`, exit code its status's value.
    Status(Error),
    /// A command line that cannot be used: exit code [`USAGE`].
    Usage(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Status(e)
    }
}

impl Failure {
    /// Prints the failure on stderr and returns the exit code.
    pub fn report(&self) -> i32 {
        match self {
            Failure::Status(e) => {
                eprintln!("{}: {}", e.status().name(), e.message());
                e.status().code()
            }
            Failure::Usage(why) => {
                eprintln!("error: {why}\n\nFor more information, try '--help'.");
                USAGE
            }
        }
    }
}

/// A command's result: [`Status::Ok`], or [`Status::Queued`] for an outcome stored in
/// the outbox.
pub type Exit = Result<Status, Failure>;
