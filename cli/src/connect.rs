//! How does the command line get its configuration? From the `LCM_*` variables, then the
//! flags over them, each refusal naming the variable or flag it came from: into a
//! configured [`Client`] for `send` and `outbox flush`, or into the library's plain
//! settings for `check`, which sends its probe itself ([`Options`]).
//!
//! The variables are applied one by one, as `Client::from_env` reads them, but a bad
//! one is refused at once, before anything is sent: `Client::from_env` would only
//! remember it and fail each delivery, and a flush would spend its whole time on them.
//!
//! The command line never runs the outbox's background sender (`outbox_retry_ms` 0): a
//! process that exits right after its one outcome would only wait for it. The backlog is
//! delivered by `lcm-outcome outbox flush`.

use std::path::Path;

use lcm_outcome::config::Key;
use lcm_outcome::{Client, Error, Status};

use crate::args::{value_name, Connection};

/// Where options are set, by their key: a client, or `check`'s settings.
pub trait Options {
    fn set_option(&mut self, key: Key, value: &str) -> Result<(), Error>;
}

impl Options for &Client {
    fn set_option(&mut self, key: Key, value: &str) -> Result<(), Error> {
        self.configure(key.name(), value)
    }
}

/// A client from the environment with `flags` over it. `outbox` (its flag's name and
/// the file), when given, is set last.
pub fn client(flags: &Connection, outbox: Option<(&str, &Path)>) -> Result<Client, Error> {
    let client = Client::new();
    // First, so that an outbox with a backlog (from LCM_OUTBOX too) starts no sender.
    client.configure("outbox_retry_ms", "0")?;
    apply(&mut &client, flags, &[Key::OutboxRetryMs])?;
    if let Some((flag, file)) = outbox {
        set(&client, flag, "outbox", Some(path_text(file)))?;
    }
    Ok(client)
}

/// Sets every option whose `LCM_<KEY>` variable is set, but those in `skip`, then the
/// options that `flags` give over them.
pub fn apply(target: &mut impl Options, flags: &Connection, skip: &[Key]) -> Result<(), Error> {
    apply_environment(target, skip)?;
    let timeout = flags.timeout_ms.map(|ms| ms.to_string());
    put(target, "--timeout-ms", Key::TimeoutMs, timeout)?;
    let level = flags.log_level.as_ref().map(value_name);
    put(target, "--log-level", Key::LogLevel, level)?;
    put(target, "--endpoint", Key::Endpoint, flags.endpoint.clone())?;
    put(target, "--proxy", Key::Proxy, flags.proxy.clone())?;
    let roots = flags.tls_roots.as_ref().map(value_name);
    put(target, "--tls-roots", Key::TlsRoots, roots)?;
    let ca_file = flags.ca_file.as_deref().map(path_text);
    put(target, "--ca-file", Key::CaFile, ca_file)?;
    if let Some(file) = &flags.auth_file {
        put(target, "--auth-file", Key::Auth, Some(read_auth(file)?))?;
    }
    Ok(())
}

/// Whether LCM's endpoint is known, from `flags` or `LCM_ENDPOINT`.
pub fn has_endpoint(flags: &Connection) -> bool {
    flags.endpoint.is_some()
        || std::env::var_os(Key::Endpoint.env_var()).is_some_and(|v| !v.is_empty())
}

/// Sets every option whose `LCM_<KEY>` variable is set (but those in `skip`), naming
/// the variable when its value is refused.
fn apply_environment(target: &mut impl Options, skip: &[Key]) -> Result<(), Error> {
    for key in Key::ALL {
        let var = key.env_var();
        let Some(raw) = std::env::var_os(&var) else {
            continue;
        };
        if skip.contains(&key) {
            continue;
        }
        let value = raw
            .into_string()
            .map_err(|_| Error::new(Status::Config, format!("{var} is not valid UTF-8")))?;
        put(target, &var, key, Some(value))?;
    }
    Ok(())
}

/// Sets `key` to `value` when the flag (or variable) `from` gave one; a refusal names
/// `from`.
fn put(
    target: &mut impl Options,
    from: &str,
    key: Key,
    value: Option<String>,
) -> Result<(), Error> {
    match value {
        Some(value) => target
            .set_option(key, &value)
            .map_err(|e| Error::new(e.status(), format!("{from}: {}", e.message()))),
        None => Ok(()),
    }
}

/// Sets `key` to `value` when the flag was given; a refusal names `flag`.
pub fn set(client: &Client, flag: &str, key: &str, value: Option<String>) -> Result<(), Error> {
    match value {
        Some(value) => client
            .configure(key, &value)
            .map_err(|e| Error::new(e.status(), format!("{flag}: {}", e.message()))),
        None => Ok(()),
    }
}

/// The path as the library takes it (a string); a path that is not UTF-8 becomes one
/// with replacement characters, which the library then fails to open, naming it.
pub fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The `Authorization` value in `file`, without its trailing newline. Its content is
/// never quoted back: it is a secret.
fn read_auth(file: &Path) -> Result<String, Error> {
    let refuse = |why: String| {
        Error::new(
            Status::Config,
            format!("--auth-file '{}': {why}", file.display()),
        )
    };
    let text = std::fs::read_to_string(file).map_err(|e| refuse(format!("cannot be read: {e}")))?;
    let value = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if value.trim().is_empty() {
        return Err(refuse(
            "is empty; it must hold the Authorization header's value, e.g. \"Bearer <token>\""
                .into(),
        ));
    }
    Ok(value.to_string())
}
