//! The library against real peers, not only lcm-sim: nginx in front of lcm-sim
//! (HTTP and HTTPS, short keep-alive limits, nginx's own error statuses) and squid
//! (its stock rules, and with Basic auth) between the library and lcm-sim. Each
//! server is Debian's package, run by the test as a child process on loopback; a
//! missing one skips its tests with a printed reason (and fails them under CI).
//!
//! docs/design.md (transport rules, truth on real peers) is what these check: no
//! call fails for an outcome that was recorded, and each is recorded once.

#[path = "../common/mod.rs"]
mod common;

mod nginx;
mod no_proxy;
mod squid;
