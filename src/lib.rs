//! lcm-outcome records a dialed call's telephony outcome in LCM, the outbound
//! campaign manager, through its `SetCallOutcomeWithComments` web service.
//!
//! The C ABI (`include/lcm_outcome.h`, the [`ffi`] module) is the product; the safe
//! Rust API below is the core it is a thin layer over, and is usable on its own:
//!
//! ```no_run
//! use lcm_outcome::{Client, Outcome};
//!
//! let client = Client::new();
//! client.configure("endpoint", "https://lcm.example.com/api/SetCallOutcomeWithComments")?;
//! client.set_outcome(&Outcome {
//!     call_id: "12345",
//!     account_number: "5|3|1|0|0|44|1",
//!     outcome_id: "1",
//!     lead_score: 0.0,
//!     user_id: "testagent",
//!     agent_comments: "Test comment",
//!     target_amount: 0.0,
//! })?;
//! # Ok::<(), lcm_outcome::Error>(())
//! ```
//!
//! # Logging in a Rust program
//!
//! The library's own lines go to stderr or to the callback of
//! [`ffi::lcm_set_log_callback`], never to the `log` crate. Its HTTP client, ureq,
//! does log through the `log` crate, and at `trace` level it writes the raw bytes of
//! each request, **`Authorization` header included**, which ureq does not let a
//! dependent turn off. A Rust program that installs a `log` logger must keep the
//! `ureq` and `ureq_proto` targets below `trace` (with env_logger, e.g.
//! `RUST_LOG=info,ureq=debug,ureq_proto=debug`). C, Python and .NET programs install
//! no `log` logger, so nothing of this reaches them.

mod call;
pub mod client;
pub mod config;
mod env_vars;
pub mod error;
mod failure;
pub mod ffi;
pub mod log;
pub mod message;
pub mod outbox;
mod proxy;
mod redact;
mod resolve;
mod stderr;
pub mod text;
mod transport;
mod trust;

pub use client::{Client, Sent};
pub use error::{Error, Status};
pub use message::Outcome;

/// The library's version, `MAJOR.MINOR.PATCH`, from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
