//! `lcm-outcome`: how does an operator or a shell script record an outcome in LCM, or
//! look after the outbox, without writing a program? With this command, built on the
//! library's safe Rust API (docs/design.md §10).
//!
//! The exit code is the library's status value (0 to 9), so that a script branches on
//! it as a C caller would; a command line that cannot be used exits 64 (EX_USAGE),
//! which no status has, and never clap's 2, which is `LCM_ERR_CONFIG`.

mod args;
mod check;
mod connect;
mod exit;
mod flush;
mod outbox;
mod send;
mod show;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;

use clap::Parser;
use lcm_outcome::Status;

use args::{Cli, Command, OutboxCommand};
use exit::{Exit, USAGE};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are printed on stdout and are no error.
            let code = if e.use_stderr() { USAGE } else { 0 };
            let _ = e.print();
            return exit_code(code);
        }
    };
    // A panic is a bug of ours or of the library: reported as LCM_ERR_INTERNAL, as the
    // C API reports one, rather than as Rust's 101.
    let code = match catch_unwind(AssertUnwindSafe(|| run(&cli))) {
        Ok(Ok(status)) => status.code(),
        Ok(Err(failure)) => failure.report(),
        Err(_) => {
            eprintln!(
                "{}: lcm-outcome panicked (a bug; please report it)",
                Status::Internal.name()
            );
            Status::Internal.code()
        }
    };
    exit_code(code)
}

fn run(cli: &Cli) -> Exit {
    match &cli.command {
        Command::Send(a) => send::run(a),
        Command::Check(a) => check::run(a),
        Command::Outbox(OutboxCommand::Status(a)) => outbox::status(a),
        Command::Outbox(OutboxCommand::List(a)) => outbox::list(a),
        Command::Outbox(OutboxCommand::Flush(a)) => flush::run(a),
        Command::Outbox(OutboxCommand::Dead(a)) => outbox::dead(a),
        Command::Outbox(OutboxCommand::Retry(a)) => outbox::retry(a),
        Command::Outbox(OutboxCommand::Purge(a)) => outbox::purge(a),
    }
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_accepts_the_definitions() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_is_no_status() {
        assert!(Status::from_code(USAGE).is_none());
    }
}
