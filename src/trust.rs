//! Which certificates does HTTPS trust? Those of `ca_file`, read and checked when the
//! option is set, so that a bad file fails in `lcm_configure` and names itself.

use std::sync::Arc;

use ureq::tls::{parse_pem, Certificate, PemItem};

use crate::error::Error;
use crate::text::short;

/// The CA certificates of `ca_file`, read when it was set.
#[derive(Debug, Clone)]
pub struct CaFile {
    /// The certificates.
    pub certs: Arc<Vec<Certificate<'static>>>,
}

/// Largest `ca_file` read: the biggest system bundles are a few hundred KiB.
const MAX_CA_FILE_BYTES: u64 = 8 * 1024 * 1024;

pub(crate) fn read_ca_file(value: &str) -> Result<CaFile, Error> {
    use std::io::Read;
    let shown = short(value);
    let cannot_read =
        |e: std::io::Error| Error::config(format!("ca_file '{shown}' cannot be read: {e}"));
    // A FIFO would block lcm_configure and /dev/zero would fill the memory.
    if !std::fs::metadata(value).map_err(cannot_read)?.is_file() {
        return Err(Error::config(format!(
            "ca_file '{shown}' is not a regular file"
        )));
    }
    let mut pem = Vec::new();
    std::fs::File::open(value)
        .and_then(|f| f.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut pem))
        .map_err(cannot_read)?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(Error::config(format!(
            "ca_file '{shown}' is larger than {} MiB",
            MAX_CA_FILE_BYTES >> 20
        )));
    }
    let mut certs = Vec::new();
    for item in parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => {
                return Err(Error::config(format!(
                    "ca_file '{shown}' is not a valid PEM file: {e}"
                )))
            }
        }
    }
    if certs.is_empty() {
        return Err(Error::config(format!(
            "ca_file '{shown}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(CaFile {
        certs: Arc::new(certs),
    })
}
