//! The record of accepted outcomes: one JSON line per outcome in the `--record` file,
//! and, when kept, the same values in memory for [`Sim::accepted`](crate::Sim::accepted).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::lock;

/// Appends accepted outcomes to a file and to a list (each optional), and counts them.
pub(crate) struct Recorder {
    // One lock for both, so that the file and the list have the same order and a
    // concurrent reader never sees one without the other.
    inner: Mutex<Inner>,
    count: AtomicUsize,
}

struct Inner {
    file: Option<File>,
    /// `None` when outcomes are not kept in memory (a long load test).
    lines: Option<Vec<Value>>,
}

impl Recorder {
    /// Opens (creating it, appending to it) the record file, if any. Appending, because
    /// a test harness may restart the simulator on the same file and count all lines.
    /// `keep`: also keep every outcome in memory for [`Recorder::lines`].
    pub(crate) fn open(path: Option<&Path>, keep: bool) -> io::Result<Recorder> {
        let file = match path {
            Some(path) => Some(OpenOptions::new().create(true).append(true).open(path)?),
            None => None,
        };
        Ok(Recorder {
            inner: Mutex::new(Inner {
                file,
                lines: keep.then(Vec::new),
            }),
            count: AtomicUsize::new(0),
        })
    }

    /// Records one outcome: the request's `data` plus `source` (null when not sent) and
    /// `received_at_ms` (Unix time in milliseconds). Returns only once the line is in the
    /// file, so that the answer, sent afterwards, never announces an unrecorded outcome.
    pub(crate) fn record(
        &self,
        mut data: Map<String, Value>,
        source: Option<String>,
    ) -> io::Result<()> {
        let mut inner = lock(&self.inner);
        if inner.file.is_none() && inner.lines.is_none() {
            drop(inner);
            self.count.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        data.insert(
            "source".to_owned(),
            source.map_or(Value::Null, Value::String),
        );
        data.insert("received_at_ms".to_owned(), Value::from(now_ms));
        let value = Value::Object(data);
        if let Some(file) = inner.file.as_mut() {
            let mut line = serde_json::to_vec(&value)?;
            line.push(b'\n');
            // One write_all of the whole line, under the lock: lines from concurrent
            // connections never interleave, and with O_APPEND neither do another
            // process's appends to the same file. No user-space buffer: the line is in
            // the file (the kernel's page cache, visible to readers) when this returns.
            file.write_all(&line)?;
        }
        if let Some(lines) = inner.lines.as_mut() {
            lines.push(value);
        }
        self.count.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// The outcomes recorded so far, in order; empty when they are not kept.
    pub(crate) fn lines(&self) -> Vec<Value> {
        lock(&self.inner).lines.clone().unwrap_or_default()
    }

    /// How many outcomes were recorded, kept in memory or not.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}
