//! How does the command line get a configured [`Client`]? From the `LCM_*` variables,
//! then the flags over them, each refusal naming the flag it came from.
//!
//! The command line never runs the outbox's background sender (`outbox_retry_ms` 0): a
//! process that exits right after its one outcome would only wait for it. The backlog is
//! delivered by `lcm-outcome outbox flush`.

use std::path::Path;

use lcm_outcome::{Client, Error, Status};

use crate::args::{value_name, Connection};

/// A client from the environment with `flags` over it. `outbox`, when given, is set
/// last, so that its backlog starts no sender.
pub fn client(flags: &Connection, outbox: Option<(&str, &Path)>) -> Result<Client, Error> {
    let client = Client::from_env();
    set(
        &client,
        "--timeout-ms",
        "timeout_ms",
        flags.timeout_ms.map(|ms| ms.to_string()),
    )?;
    set(
        &client,
        "--log-level",
        "log_level",
        flags.log_level.as_ref().map(value_name),
    )?;
    set(&client, "--endpoint", "endpoint", flags.endpoint.clone())?;
    set(&client, "--proxy", "proxy", flags.proxy.clone())?;
    set(
        &client,
        "--tls-roots",
        "tls_roots",
        flags.tls_roots.as_ref().map(value_name),
    )?;
    set(
        &client,
        "--ca-file",
        "ca_file",
        flags.ca_file.as_deref().map(path_text),
    )?;
    if let Some(file) = &flags.auth_file {
        set(&client, "--auth-file", "auth", Some(read_auth(file)?))?;
    }
    client.configure("outbox_retry_ms", "0")?;
    if let Some((flag, file)) = outbox {
        set(&client, flag, "outbox", Some(path_text(file)))?;
    }
    Ok(client)
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
