//! `--record FILE`: the event stream saved as NDJSON while the dashboard runs.
//! The file only ever ends in a whole line, so a recording cut short (a
//! full disk) still replays.

use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::event::{Origin, ProcessInfo, TraceEvent};
use crate::record;
use crate::safe_file::{self, OutputFile, Owner};

/// Lines are gathered to about this size before a write.
const BUFFER: usize = 64 * 1024;

pub struct Recorder {
    out: OutputFile,
    path: PathBuf,
    /// whole lines not yet written
    pending: Vec<u8>,
    /// bytes of whole lines in the file: where the next write goes
    written: u64,
    started: bool,
    wrote_running: bool,
}

impl Recorder {
    /// Opens the file before tracing starts, so a bad path is refused
    /// before anything is attached (see `safe_file::create`). Nothing is
    /// written, and a file reused with `force` keeps its content, until
    /// `start`; dropped before that, a file this made is removed.
    pub fn open(path: &Path, force: bool, owner: Owner) -> Result<Recorder> {
        let out = safe_file::create(path, force, owner)?;
        Ok(Recorder {
            out,
            path: path.to_path_buf(),
            pending: Vec::new(),
            written: 0,
            started: false,
            wrote_running: false,
        })
    }

    /// The run has begun: the file is emptied and kept.
    pub fn start(&mut self) -> Result<()> {
        self.out
            .file
            .set_len(0)
            .with_context(|| format!("emptying {}", self.path.display()))?;
        self.started = true;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The processes running when recording began, as exec lines with
    /// origin "proc", so a replay's live table starts complete. Those the
    /// kernel saw exec'ing since it attached come as exec events right after.
    pub fn running(&mut self, processes: &[ProcessInfo]) -> Result<()> {
        if self.wrote_running {
            return Ok(());
        }
        self.wrote_running = true;
        for p in processes.iter().filter(|p| p.origin == Origin::Proc) {
            self.line(&TraceEvent::Exec(p.clone()))?;
        }
        Ok(())
    }

    pub fn write(&mut self, events: &[TraceEvent]) -> Result<()> {
        for e in events {
            self.line(e)?;
        }
        Ok(())
    }

    fn line(&mut self, event: &TraceEvent) -> Result<()> {
        if !record::recorded(event) {
            return Ok(());
        }
        self.pending
            .extend_from_slice(record::to_line(event).as_bytes());
        self.pending.push(b'\n');
        if self.pending.len() >= BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the gathered lines. On a failed or short write the file is
    /// cut back to its last whole line, and the error names the file.
    pub fn flush(&mut self) -> Result<()> {
        let result = write_lines(&self.out.file, &self.pending, self.written);
        self.pending.clear();
        match result {
            Ok(end) => {
                self.written = end;
                Ok(())
            }
            Err((end, e)) => {
                self.written = end;
                let named = crate::write_error::writing(&self.path.display().to_string(), &e);
                // the cut is what makes the file replay; its own failure is worth saying
                match self.out.file.set_len(end) {
                    Ok(()) => Err(named),
                    Err(cut) => Err(named.context(format!(
                        "and cutting it back to its last whole line: {}",
                        crate::write_error::reason(&cut)
                    ))),
                }
            }
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if !self.started {
            self.out.remove();
        }
    }
}

/// Writes `lines` (whole lines) at `at`; returns the new end, or the end of
/// the last whole line that reached the file and the error.
fn write_lines(file: &impl FileExt, lines: &[u8], at: u64) -> Result<u64, (u64, io::Error)> {
    let mut done = 0;
    while done < lines.len() {
        match file.write_at(&lines[done..], at + done as u64) {
            Ok(0) => {
                let full = io::Error::from_raw_os_error(libc::ENOSPC);
                return Err((at + whole(&lines[..done]), full));
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((at + whole(&lines[..done]), e)),
        }
    }
    Ok(at + lines.len() as u64)
}

/// How many bytes of `written` end in a newline.
fn whole(written: &[u8]) -> u64 {
    written
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::os::unix::fs::MetadataExt;

    fn me() -> Owner {
        Owner::resolve((None, None)).unwrap()
    }

    #[test]
    fn records_owner_only_lines_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.ndjson");
        std::fs::write(&path, "old content that is longer than a line").unwrap();
        let mut r = Recorder::open(&path, true, me()).unwrap();
        r.start().unwrap();
        r.write(&[TraceEvent::Exec(ProcessInfo::default())])
            .unwrap();
        r.flush().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\"event\":\"exec\""), "{text}");
        assert_eq!(text.lines().count(), 1);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn a_recording_that_never_started_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.ndjson");
        drop(Recorder::open(&path, false, me()).unwrap());
        assert!(!path.exists());
        std::fs::write(&path, "keep").unwrap();
        drop(Recorder::open(&path, true, me()).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"keep");
    }

    /// A file that takes `room` bytes, then fails as a full disk does.
    struct Full {
        data: RefCell<Vec<u8>>,
        room: usize,
    }

    impl FileExt for Full {
        fn read_at(&self, _: &mut [u8], _: u64) -> io::Result<usize> {
            unreachable!()
        }
        fn write_at(&self, buf: &[u8], at: u64) -> io::Result<usize> {
            let mut data = self.data.borrow_mut();
            assert_eq!(at as usize, data.len());
            let n = buf.len().min(self.room - data.len()).min(7);
            if n == 0 {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            data.extend_from_slice(&buf[..n]);
            Ok(n)
        }
    }

    #[test]
    fn a_short_write_ends_at_the_last_whole_line() {
        let file = Full {
            data: RefCell::new(Vec::new()),
            room: 20,
        };
        let lines = b"first\nsecond line\nthird line\n";
        let (end, e) = write_lines(&file, lines, 0).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(end, "first\nsecond line\n".len() as u64);
        assert_eq!(write_lines(&file, b"", 3).unwrap(), 3);
        assert_eq!(whole(b"abc"), 0);
    }
}
