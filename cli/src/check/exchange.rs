//! How does `check` send its probe? With ureq, its resolver and connectors wrapped so
//! that the DNS, connect and TLS stages end as they happen: each is timed where it
//! really ends, and a failure is known to be one of theirs.
//!
//! This uses ureq's `unversioned` transport API, pinned to 3.5.x for it in Cargo.toml.

use std::net::IpAddr;
use std::sync::Arc;

use lcm_outcome::client::MAX_RESPONSE_BYTES;
use ureq::config::Config;
use ureq::http::{StatusCode, Uri};
use ureq::tls::{RootCerts, TlsConfig};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    ConnectionDetails, Connector, NextTimeout, RustlsConnector, TcpConnector, Transport,
};
use ureq::Agent;

use super::setup::Setup;
use super::stages::{Progress, Stage};

/// What came back, read whole.
pub struct Answer {
    pub status: StatusCode,
    /// `Location`, for a redirect (which is not followed).
    pub location: Option<String>,
    /// `Content-Encoding`, when the server compressed the body unasked.
    pub encoding: Option<String>,
    pub body: Vec<u8>,
}

/// POSTs `body` to the endpoint and reads the whole answer. An error comes back with
/// the stage it happened in still under way in `progress`.
pub fn send(setup: &Setup, body: &[u8], progress: &Arc<Progress>) -> Result<Answer, ureq::Error> {
    let agent = agent(setup, progress);
    let mut request = agent
        .post(&setup.endpoint.url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json");
    if let Some(auth) = &setup.auth {
        request = request.header("Authorization", auth);
    }
    let mut response = request.send(body)?;
    let header = |name: &str| {
        let value = response.headers().get(name)?;
        Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
    };
    let location = header("location");
    let encoding = header("content-encoding").filter(|e| !e.eq_ignore_ascii_case("identity"));
    let status = response.status();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_vec()?;
    Ok(Answer {
        status,
        location,
        encoding,
        body,
    })
}

/// An agent for one request: no redirect followed, no proxy, no pool, the statuses
/// left to us, the CAs of the setup.
fn agent(setup: &Setup, progress: &Arc<Progress>) -> Agent {
    let tls = TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(setup.roots.clone())))
        .build();
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .proxy(None)
        .max_idle_connections(0)
        .timeout_global(Some(setup.timeout))
        .timeout_resolve(Some(setup.connect_timeout))
        .timeout_connect(Some(setup.connect_timeout))
        .tls_config(tls)
        .user_agent(format!("lcm-outcome/{} (check)", lcm_outcome::VERSION))
        .build();
    let connector =
        ().chain(TcpConnector::default())
            .chain(Connected(progress.clone()))
            .chain(RustlsConnector::default())
            .chain(TlsDone(progress.clone()));
    Agent::with_parts(config, connector, TimedResolver(progress.clone()))
}

/// ureq's resolver, ending the DNS stage with the addresses found.
#[derive(Debug)]
struct TimedResolver(Arc<Progress>);

impl Resolver for TimedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = DefaultResolver::default().resolve(uri, config, timeout)?;
        let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        let literal = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .is_some_and(|h| h.parse::<IpAddr>().is_ok());
        let how = if literal {
            " (an IP address: nothing to look up)"
        } else {
            ""
        };
        self.0
            .passed(Stage::Dns, &format!("{}{how}", list.join(", ")));
        Ok(addrs)
    }
}

/// After ureq's TCP connector: ends the connect stage.
#[derive(Debug)]
struct Connected(Arc<Progress>);

impl<In: Transport> Connector<In> for Connected {
    type Out = In;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<In>, ureq::Error> {
        // ureq tries the addresses in turn and does not say which one answered.
        let to = match &details.addrs[..] {
            [one] => one.to_string(),
            more => format!("one of {} addresses", more.len()),
        };
        self.0
            .passed(Stage::Connect, &format!("TCP connection to {to} open"));
        Ok(chained)
    }
}

/// After rustls: ends the TLS stage (the handshake and the certificate's check are
/// done), or skips it for http://.
#[derive(Debug)]
struct TlsDone(Arc<Progress>);

impl<In: Transport> Connector<In> for TlsDone {
    type Out = In;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<In>, ureq::Error> {
        if details.needs_tls() {
            let host = details.uri.host().unwrap_or_default();
            self.0
                .passed(Stage::Tls, &format!("certificate for {host} verified"));
        } else {
            self.0.skipped(Stage::Tls, "none: the endpoint is http://");
        }
        Ok(chained)
    }
}
