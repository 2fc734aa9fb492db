//! Which certificates of `ca_file` can be trust anchors? Read and checked when the
//! option is set, so that a bad file fails in `lcm_configure` and names itself.

use std::sync::Arc;

use ureq::tls::{parse_pem, Certificate, PemItem};
use x509_parser::time::ASN1Time;

use super::Note;
use crate::error::Error;
use crate::text::short;

/// The CA certificates of `ca_file`, read and checked when it was set.
#[derive(Debug, Clone)]
pub struct CaFile {
    /// The certificates trusted: those of the file that are CAs valid now.
    pub certs: Arc<Vec<Certificate<'static>>>,
    /// The certificates left out for their dates, when others were kept.
    pub(super) left_out: Option<Arc<Note>>,
}

/// Largest `ca_file` read: the biggest system bundles are a few hundred KiB.
const MAX_CA_FILE_BYTES: u64 = 8 * 1024 * 1024;

pub(crate) fn read_ca_file(value: &str) -> Result<CaFile, Error> {
    let shown = short(value);
    let pem = read_bounded(value, &shown)?;
    let (mut certs, mut out_of_date) = (Vec::new(), Vec::new());
    for item in parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => {
                let position = certs.len() + out_of_date.len() + 1;
                match anchor_problem(&shown, position, cert.der())? {
                    None => certs.push(cert),
                    Some(problem) => out_of_date.push(problem),
                }
            }
            Ok(_) => {}
            Err(e) => {
                return Err(Error::config(format!(
                    "ca_file '{shown}' is not a valid PEM file: {e}"
                )))
            }
        }
    }
    let left_out = match (certs.is_empty(), out_of_date.first()) {
        (true, None) => {
            return Err(Error::config(format!(
                "ca_file '{shown}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
            )))
        }
        (true, Some(first)) => {
            let more = match out_of_date.len() - 1 {
                0 => String::new(),
                n => format!(" (and {n} more certificates are not valid now)"),
            };
            return Err(Error::config(format!("ca_file '{shown}': {first}{more}")));
        }
        (false, None) => None,
        (false, Some(first)) => Some(Arc::new(Note::new(format!(
            "ca_file '{shown}': {} of its {} certificates are not trusted because they are \
             not valid now, e.g. {first}",
            out_of_date.len(),
            out_of_date.len() + certs.len()
        )))),
    };
    Ok(CaFile {
        certs: Arc::new(certs),
        left_out,
    })
}

/// The file's bytes, refusing what is not a regular file of at most 8 MiB.
fn read_bounded(value: &str, shown: &str) -> Result<Vec<u8>, Error> {
    use std::io::Read;
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
    Ok(pem)
}

/// Whether certificate `der` (the `position`th of `ca_file` `shown`) can be a trust anchor: the
/// verifier trusts whatever key a root holds, checking neither that it is a CA nor
/// its dates, and curl `--cacert` refuses both. A certificate that is no CA is an
/// error: a server's own certificate in `ca_file` would vouch for anything signed
/// with its key. One outside its dates is `Some(why)`: a distribution's bundle keeps
/// roots that expired until they are removed, so it is left out, not an error,
/// unless nothing else is left.
fn anchor_problem(shown: &str, position: usize, der: &[u8]) -> Result<Option<String>, Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| {
        Error::config(format!(
            "ca_file '{shown}': certificate {position} is not a valid X.509 certificate: {e}"
        ))
    })?;
    let subject = match cert.subject().to_string() {
        s if s.is_empty() => format!("number {position} (no subject)"),
        s => format!("\"{}\"", short(&s)),
    };
    match cert.basic_constraints() {
        Ok(Some(constraints)) if constraints.value.ca => {}
        Ok(_) => {
            return Err(Error::config(format!(
            "ca_file '{shown}': certificate {subject} is not a CA certificate (basicConstraints \
                 CA:FALSE or absent)"
        )))
        }
        Err(e) => {
            return Err(Error::config(format!(
                "ca_file '{shown}': certificate {subject} has unreadable basicConstraints: {e}"
            )))
        }
    }
    let (validity, now) = (cert.validity(), ASN1Time::now());
    Ok(if now > validity.not_after {
        Some(format!(
            "certificate {subject} expired on {}",
            when(&validity.not_after)
        ))
    } else if now < validity.not_before {
        Some(format!(
            "certificate {subject} is not valid before {}",
            when(&validity.not_before)
        ))
    } else {
        None
    })
}

/// `2001-01-01 00:00:00 UTC`: certificate times are UTC.
fn when(time: &ASN1Time) -> String {
    let t = time.to_datetime();
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        t.date(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_times_are_shown_as_utc_dates() {
        let t = ASN1Time::from_timestamp(978_307_200).unwrap();
        assert_eq!(when(&t), "2001-01-01 00:00:00 UTC");
    }
}
