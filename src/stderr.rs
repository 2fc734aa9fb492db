//! Log lines on standard error, written so that neither fork() nor a closed pipe can
//! hurt the host process.
//!
//! Each line is one `write(2)` on file descriptor 2, without std's stderr lock: a
//! child forked while a parent thread held that lock would wait for it forever, and
//! a single write keeps lines from many threads whole (up to PIPE_BUF bytes on a
//! pipe). When fd 2 is a pipe whose reader is gone, the write would raise SIGPIPE,
//! whose default action ends the process: a dialer must not die because its log
//! collector did. The signal is blocked on this thread for the write, and one that
//! the write raised is taken back before it is unblocked (as libcurl and OpenSSL do
//! around their socket writes).

/// Writes all of `bytes` to standard error. A failure has nowhere better to be
/// reported, so it ends the attempt silently.
#[cfg(unix)]
pub(crate) fn write(bytes: &[u8]) {
    // SAFETY: plain signal-mask calls on this thread, with sets initialised by
    // sigemptyset; the mask is restored before returning.
    unsafe {
        let mut pipe: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe);
        libc::sigaddset(&mut pipe, libc::SIGPIPE);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &pipe, &mut old) != 0 {
            write_all(bytes);
            return;
        }
        let was_pending = sigpipe_pending();
        write_all(bytes);
        if !was_pending && sigpipe_pending() {
            // Raised by our write: pending, so sigwait returns at once and consumes it.
            let mut taken = 0;
            libc::sigwait(&pipe, &mut taken);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
}

#[cfg(unix)]
fn sigpipe_pending() -> bool {
    // SAFETY: sigpending fills the set it is given.
    unsafe {
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pending);
        libc::sigpending(&mut pending) == 0 && libc::sigismember(&pending, libc::SIGPIPE) == 1
    }
}

#[cfg(unix)]
fn write_all(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe a live, initialised slice.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n > 0 {
            bytes = &bytes[n as usize..];
        } else if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {
            continue;
        } else {
            return;
        }
    }
}

/// Writes all of `bytes` to standard error. Without fork() or SIGPIPE, std's
/// locked stderr is safe here.
#[cfg(not(unix))]
pub(crate) fn write(bytes: &[u8]) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(bytes);
}
