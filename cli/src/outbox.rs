//! What do `lcm-outcome outbox status|list|dead|retry|purge` do? They read and tidy an
//! outbox file through the library's `Outbox`, which never deletes a pending entry;
//! `flush.rs` delivers.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use lcm_outcome::outbox::{Entry, Outbox, State};
use lcm_outcome::{Error, Status};
use serde::Serialize;

use crate::args::{EntryState, Inspect, ListArgs, OutboxFile, Pick, PurgeArgs};
use crate::connect::path_text;
use crate::exit::{Exit, Failure};
use crate::show::{age, json, line, printable, table, when, EntryJson};

/// Opens an outbox that exists. `Outbox::open` would create a missing file, which
/// for a command that only looks at one would hide a mistyped path.
pub fn open(file: &OutboxFile) -> Result<Outbox, Error> {
    let path: &Path = &file.file;
    if let Err(e) = std::fs::metadata(path) {
        return Err(Error::new(
            Status::Config,
            format!("outbox '{}' cannot be used: {e}", path.display()),
        ));
    }
    Outbox::open(&path_text(path))
}

/// The counts as `status --json` prints them.
#[derive(Serialize)]
struct CountsJson {
    pending: usize,
    dead: usize,
    oldest_pending_ms: Option<i64>,
    oldest_pending_age_ms: Option<i64>,
}

pub fn status(args: &Inspect) -> Exit {
    let counts = open(&args.file)?.counts()?;
    if args.json {
        line(&json(&CountsJson {
            pending: counts.pending,
            dead: counts.dead,
            oldest_pending_ms: counts.oldest_pending_ms,
            oldest_pending_age_ms: counts
                .oldest_pending_ms
                .map(|ms| (crate::show::now_ms() - ms).max(0)),
        }));
        return Ok(Status::Ok);
    }
    line(&format!("pending: {}", counts.pending));
    line(&format!("dead:    {}", counts.dead));
    if let Some(ms) = counts.oldest_pending_ms {
        line(&format!(
            "oldest pending: given {} ago ({})",
            age(ms),
            when(ms)
        ));
    }
    Ok(Status::Ok)
}

pub fn list(args: &ListArgs) -> Exit {
    let states: Vec<State> = match args.state {
        None => vec![State::Pending, State::Sending, State::Dead],
        Some(EntryState::Pending) => vec![State::Pending],
        Some(EntryState::Sending) => vec![State::Sending],
        Some(EntryState::Dead) => vec![State::Dead],
    };
    let entries = open(&args.inspect.file)?.entries(&states)?;
    if args.inspect.json {
        entries
            .iter()
            .for_each(|e| line(&json(&EntryJson::from(e))));
        return Ok(Status::Ok);
    }
    if entries.is_empty() {
        line("no entries");
        return Ok(Status::Ok);
    }
    let mut rows = vec![[
        "ID",
        "STATE",
        "CALL ID",
        "OUTCOME",
        "USER",
        "GIVEN",
        "ATTEMPTS",
        "LAST STATUS",
    ]
    .map(String::from)
    .to_vec()];
    rows.extend(entries.iter().map(|e| {
        vec![
            e.id.to_string(),
            e.state.name().to_string(),
            printable(&e.outcome.call_id).into_owned(),
            printable(&e.outcome.outcome_id).into_owned(),
            printable(&e.outcome.user_id).into_owned(),
            format!("{} ago", age(e.created_ms)),
            e.attempts.to_string(),
            e.last_status.clone().unwrap_or_else(|| "-".into()),
        ]
    }));
    table(&rows).iter().for_each(|l| line(l));
    Ok(Status::Ok)
}

pub fn dead(args: &Inspect) -> Exit {
    let entries = open(&args.file)?.entries(&[State::Dead])?;
    if args.json {
        entries
            .iter()
            .for_each(|e| line(&json(&EntryJson::from(e))));
        return Ok(Status::Ok);
    }
    if entries.is_empty() {
        line("no dead letters");
    }
    entries.iter().for_each(show_dead);
    Ok(Status::Ok)
}

/// A dead letter in two lines: what it was, then LCM's answer.
fn show_dead(e: &Entry) {
    let o = &e.outcome;
    line(&format!(
        "#{}  call {}  outcome {}  user {}  account {}  attempts {}  dead since {}",
        e.id,
        printable(&o.call_id),
        printable(&o.outcome_id),
        printable(&o.user_id),
        printable(&o.account_number),
        e.attempts,
        when(e.updated_ms)
    ));
    line(&format!(
        "    {}: {}",
        e.last_status.as_deref().unwrap_or("-"),
        printable(e.last_error.as_deref().unwrap_or("-"))
    ));
}

pub fn retry(args: &Pick) -> Exit {
    let outbox = open(&args.file)?;
    check_dead_id(&outbox, args.id)?;
    let moved = outbox.revive(args.id)?;
    line(&format!(
        "{moved} dead letter(s) moved back to pending; `lcm-outcome outbox flush` delivers them"
    ));
    Ok(Status::Ok)
}

pub fn purge(args: &PurgeArgs) -> Exit {
    let outbox = open(&args.pick.file)?;
    check_dead_id(&outbox, args.pick.id)?;
    let doomed = match args.pick.id {
        Some(_) => 1,
        None => outbox.counts()?.dead,
    };
    if doomed == 0 {
        line("no dead letters; nothing deleted");
        return Ok(Status::Ok);
    }
    if !args.yes && !confirmed(doomed)? {
        line("nothing deleted");
        return Ok(Status::Ok);
    }
    let deleted = outbox.purge(args.pick.id)?;
    line(&format!("{deleted} dead letter(s) deleted"));
    Ok(Status::Ok)
}

/// Refuses an `--id` that names no dead letter, saying what it names instead.
fn check_dead_id(outbox: &Outbox, id: Option<i64>) -> Result<(), Failure> {
    let Some(id) = id else {
        return Ok(());
    };
    let all = outbox.entries(&[State::Pending, State::Sending, State::Dead])?;
    match all.iter().find(|e| e.id == id) {
        Some(e) if e.state == State::Dead => Ok(()),
        Some(e) => Err(Failure::Usage(format!(
            "--id {id}: entry {id} is {}, not a dead letter; it is left alone",
            e.state.name()
        ))),
        None => Err(Failure::Usage(format!(
            "--id {id}: the outbox has no entry {id}"
        ))),
    }
}

/// Asks on the terminal whether to delete `count` dead letters. Without a terminal
/// there is nobody to ask, and deleting unasked is what --yes is for.
fn confirmed(count: usize) -> Result<bool, Failure> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure::Usage(format!(
            "purge would delete {count} dead letter(s) and stdin is not a terminal to \
             confirm on; add --yes to delete them"
        )));
    }
    eprint!("delete {count} dead letter(s) for good? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::Usage(format!("reading the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
