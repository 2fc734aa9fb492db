//! Test helpers: call the library through its C ABI exactly as a C program would
//! (raw pointers, NUL-terminated strings, a caller-owned error buffer), against a
//! live lcm-sim on loopback.
#![allow(dead_code)]

pub mod daemon;
pub mod logs;
pub mod mono;
pub mod native;
pub mod nginx;
pub mod process;
pub mod python;
pub mod quickstart;
pub mod squid;
pub mod timing;
pub mod toolchain;

use std::ffi::{c_char, CStr, CString};
use std::path::PathBuf;

use lcm_outcome::ffi::*;
pub use lcm_sim::{Faults, Sim, SimConfig};
// Not every test binary captures logs, builds native programs, runs other ones or
// drives another language's binding.
#[allow(unused_imports)]
pub use logs::*;
#[allow(unused_imports)]
pub use mono::*;
#[allow(unused_imports)]
pub use native::*;
#[allow(unused_imports)]
pub use process::*;
#[allow(unused_imports)]
pub use python::*;
#[allow(unused_imports)]
pub use quickstart::*;
#[allow(unused_imports)]
pub use timing::*;
#[allow(unused_imports)]
pub use toolchain::*;

/// The vendor sample's arguments, as raw bytes so that tests can pass NULL or
/// invalid UTF-8 in any one of them.
#[derive(Clone, Debug)]
pub struct Call {
    pub call_id: Option<Vec<u8>>,
    pub account_number: Option<Vec<u8>>,
    pub outcome_id: Option<Vec<u8>>,
    pub lead_score: f64,
    pub user_id: Option<Vec<u8>>,
    pub agent_comments: Option<Vec<u8>>,
    pub target_amount: f64,
}

impl Call {
    /// The inputs of the vendor's sample request.
    pub fn sample() -> Call {
        Call {
            call_id: Some(b"12345".to_vec()),
            account_number: Some(b"5|3|1|0|0|44|1".to_vec()),
            outcome_id: Some(b"1".to_vec()),
            lead_score: 0.0,
            user_id: Some(b"testagent".to_vec()),
            agent_comments: Some(b"Test comment".to_vec()),
            target_amount: 0.0,
        }
    }

    /// The sample with another call id.
    pub fn with_id(id: &str) -> Call {
        Call {
            call_id: Some(id.as_bytes().to_vec()),
            ..Call::sample()
        }
    }

    /// Sends through `lcm_client_set_outcome` with an `LCM_ERROR_SIZE` buffer.
    pub fn send(&self, client: *mut lcm_client) -> (lcm_status, String) {
        let mut err = vec![0x55 as c_char; LCM_ERROR_SIZE];
        let status = unsafe { self.send_raw(client, err.as_mut_ptr(), err.len()) };
        (status, buffer_text(&err))
    }

    /// Sends through the default client's `lcm_set_outcome`.
    pub fn send_default(&self) -> (lcm_status, String) {
        let a = self.c_strings();
        let mut err = vec![0x55 as c_char; LCM_ERROR_SIZE];
        let status = unsafe {
            lcm_set_outcome(
                ptr(&a[0]),
                ptr(&a[1]),
                ptr(&a[2]),
                self.lead_score,
                ptr(&a[3]),
                ptr(&a[4]),
                self.target_amount,
                err.as_mut_ptr(),
                err.len(),
            )
        };
        (status, buffer_text(&err))
    }

    /// Sends with whatever error buffer pointer and length the test wants.
    ///
    /// # Safety
    /// `err` must be NULL or point to `err_len` writable bytes.
    pub unsafe fn send_raw(
        &self,
        client: *mut lcm_client,
        err: *mut c_char,
        err_len: usize,
    ) -> lcm_status {
        let a = self.c_strings();
        unsafe {
            lcm_client_set_outcome(
                client,
                ptr(&a[0]),
                ptr(&a[1]),
                ptr(&a[2]),
                self.lead_score,
                ptr(&a[3]),
                ptr(&a[4]),
                self.target_amount,
                err,
                err_len,
            )
        }
    }

    fn c_strings(&self) -> [Option<CString>; 5] {
        [
            &self.call_id,
            &self.account_number,
            &self.outcome_id,
            &self.user_id,
            &self.agent_comments,
        ]
        .map(|f| {
            f.as_ref()
                .map(|b| CString::new(b.clone()).expect("no NUL in test strings"))
        })
    }
}

fn ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}

/// The NUL-terminated text at the start of `buf`; panics when there is no NUL or
/// the text is not UTF-8, since the library promises both.
pub fn buffer_text(buf: &[c_char]) -> String {
    let bytes: Vec<u8> = buf.iter().map(|&c| c as u8).collect();
    CStr::from_bytes_until_nul(&bytes)
        .expect("error buffer is NUL-terminated")
        .to_str()
        .expect("error buffer holds UTF-8")
        .to_string()
}

/// An `lcm_client` handle, freed on drop. The C API is thread-safe, so the handle
/// may be shared between threads.
pub struct Client(pub *mut lcm_client);

unsafe impl Send for Client {}
unsafe impl Sync for Client {}

impl Client {
    /// A new client with no configuration.
    pub fn new() -> Client {
        let mut err = [0 as c_char; LCM_ERROR_SIZE];
        let c = unsafe { lcm_client_new(err.as_mut_ptr(), err.len()) };
        assert!(!c.is_null(), "lcm_client_new: {}", buffer_text(&err));
        Client(c)
    }

    /// A new client pointed at `endpoint`, directly: a proxy in the test
    /// environment (`HTTP_PROXY`, ...) must not stand between it and a loopback sim.
    pub fn for_endpoint(endpoint: &str) -> Client {
        let client = Client::new();
        client.set("endpoint", endpoint);
        client.set("proxy", "none");
        client
    }

    /// `lcm_client_configure`, returning status and message.
    pub fn configure(&self, key: &str, value: &str) -> (lcm_status, String) {
        let (k, v) = (CString::new(key).unwrap(), CString::new(value).unwrap());
        let mut err = [0x55 as c_char; LCM_ERROR_SIZE];
        let status = unsafe {
            lcm_client_configure(self.0, k.as_ptr(), v.as_ptr(), err.as_mut_ptr(), err.len())
        };
        (status, buffer_text(&err))
    }

    /// `lcm_client_configure` that must succeed.
    pub fn set(&self, key: &str, value: &str) {
        let (status, message) = self.configure(key, value);
        assert_eq!(status, LCM_OK, "configure {key}: {message}");
    }

    /// Sends `call` with this client.
    pub fn send(&self, call: &Call) -> (lcm_status, String) {
        call.send(self.0)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        unsafe { lcm_client_free(self.0) };
    }
}

/// A simulator with default settings.
pub fn sim() -> Sim {
    Sim::start(SimConfig::default()).expect("start lcm-sim")
}

/// A simulator injecting `faults` from the first request on.
pub fn sim_with(faults: Faults) -> Sim {
    Sim::start(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .expect("start lcm-sim")
}

/// The name of a status, for readable assertion messages.
pub fn name(status: lcm_status) -> &'static str {
    unsafe { CStr::from_ptr(lcm_status_name(status)) }
        .to_str()
        .unwrap()
}

/// Asserts status and that the message contains every one of `words`.
#[track_caller]
pub fn assert_status(result: &(lcm_status, String), expected: lcm_status, words: &[&str]) {
    let (status, message) = result;
    assert_eq!(name(*status), name(expected), "message: {message}");
    for word in words {
        assert!(message.contains(word), "{:?} lacks {word:?}", message);
    }
    if expected == LCM_OK {
        assert_eq!(message, "", "the buffer must hold \"\" after success");
    }
}

/// An endpoint that refuses connections: a loopback port that this process keeps
/// bound, but never listens on, for as long as it runs. Linux answers a connection to
/// such a socket with a reset, as to a closed port, and no other test's server can be
/// given the port meanwhile (a port bound and released at once could be).
pub fn refused_endpoint() -> String {
    static PORT: std::sync::OnceLock<(std::os::fd::OwnedFd, u16)> = std::sync::OnceLock::new();
    let (_, port) = PORT.get_or_init(bound_but_not_listening);
    format!("http://127.0.0.1:{port}/lcm")
}

/// A TCP socket bound to 127.0.0.1 and a free port, not listening; and the port.
fn bound_but_not_listening() -> (std::os::fd::OwnedFd, u16) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor this function owns, with an address
    // structure of the size passed.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let fd = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        let bound = libc::bind(raw, std::ptr::from_ref(&addr).cast(), len);
        assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
        let named = libc::getsockname(raw, std::ptr::from_mut(&mut addr).cast(), &mut len);
        assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
        (fd, u16::from_be(addr.sin_port))
    }
}

/// Polls `done` every millisecond until it holds, for what the simulator counts but
/// does not announce; panics naming `what` after `timeout`.
#[track_caller]
pub fn wait_until(what: &str, timeout: std::time::Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not after {timeout:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Where this test build's liblcm_outcome.so is: `target/<profile>/deps`, beside
/// the test executable. (`cargo test` builds the cdylib there and, unlike
/// `cargo build`, does not copy it up to `target/<profile>`, where an older one
/// may lie.)
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

/// The repository root.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `lcm-sim` program, for tests that drive another language's runtime and let
/// it start its own simulators from the command line, as an integrator would.
///
/// `cargo test` builds the workspace's binaries only when it tests their package,
/// so this asks cargo (the one running these tests) to build it; when it is up to
/// date that takes a fraction of a second. Built once per test process.
pub fn sim_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target_dir = lib_dir().join("../..");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args(["build", "--quiet", "-p", "lcm-sim", "--bin", "lcm-sim"])
                .arg("--target-dir")
                .arg(&target_dir)
                .current_dir(repo_dir())
                .status()
                .expect("run cargo build -p lcm-sim");
            assert!(status.success(), "cargo build -p lcm-sim failed");
            let exe = target_dir.join("debug/lcm-sim");
            assert!(exe.is_file(), "{} was not built", exe.display());
            exe.canonicalize().unwrap()
        })
        .clone()
}
