//! What does `lcm-outcome send` do? Records one outcome with the configured client,
//! prints the status's name and message, and returns the status for the exit code.

use lcm_outcome::{Error, Outcome, Sent, Status};

use crate::args::{value_name, SendArgs};
use crate::connect::{client, set};
use crate::exit::Exit;

pub fn run(args: &SendArgs) -> Exit {
    let outbox = args.outbox.as_deref().map(|file| ("--outbox", file));
    let client = client(&args.connection, outbox)?;
    set(
        &client,
        "--outbox-mode",
        "outbox_mode",
        args.outbox_mode.as_ref().map(value_name),
    )?;
    let sent = client
        .set_outcome(&Outcome {
            call_id: &args.call_id,
            account_number: &args.account_number,
            outcome_id: &args.outcome_id,
            lead_score: args.lead_score,
            user_id: &args.user_id,
            agent_comments: &args.agent_comments,
            target_amount: args.target_amount,
        })
        .map_err(naming_the_flag)?;
    let (status, message) = match sent {
        Sent::Confirmed => (
            Status::Ok,
            format!(
                "LCM recorded the outcome of call {}",
                crate::show::printable(&args.call_id)
            ),
        ),
        Sent::Queued { message, .. } => (Status::Queued, message),
    };
    crate::show::line(&format!("{}: {message}", status.name()));
    Ok(status)
}

/// The outcome's fields as the library names them in its messages, and their flags.
const FIELD_FLAGS: [(&str, &str); 7] = [
    ("call_id", "--call-id"),
    ("account_number", "--account"),
    ("outcome_id", "--outcome"),
    ("lead_score", "--lead-score"),
    ("user_id", "--user"),
    ("agent_comments", "--comments"),
    ("target_amount", "--target-amount"),
];

/// A refused field's error, led by the flag it came from: the library's message starts
/// with the field's name (`call_id is empty; ...`).
fn naming_the_flag(e: Error) -> Error {
    if e.status() != Status::InvalidArgument {
        return e;
    }
    match FIELD_FLAGS
        .iter()
        .find(|(field, _)| e.message().starts_with(field))
    {
        Some((_, flag)) => Error::new(e.status(), format!("{flag}: {}", e.message())),
        None => e,
    }
}
