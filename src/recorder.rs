//! `--record FILE`: the event stream saved as NDJSON while the dashboard runs.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

use crate::event::{Origin, ProcessInfo, TraceEvent};
use crate::record;

pub struct Recorder {
    out: BufWriter<File>,
    path: PathBuf,
    wrote_running: bool,
}

impl Recorder {
    /// Creates (or truncates) the file, readable by its owner only. A
    /// symlink in its place is refused rather than followed.
    pub fn create(path: &Path) -> Result<Recorder> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => anyhow!(
                    "{} is a symbolic link: refusing to record through it",
                    path.display()
                ),
                _ => anyhow!(e).context(format!("creating {}", path.display())),
            })?;
        let meta = file
            .metadata()
            .with_context(|| format!("checking {}", path.display()))?;
        if !meta.is_file() {
            return Err(anyhow!("{} is not a regular file", path.display()));
        }
        // an existing file keeps its mode on open: narrow it
        file.set_permissions(Permissions::from_mode(0o600))
            .with_context(|| format!("setting the mode of {}", path.display()))?;
        Ok(Recorder {
            out: BufWriter::new(file),
            path: path.to_path_buf(),
            wrote_running: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The processes running when recording began, as exec lines with
    /// origin "proc", so a replay's live table starts complete. Those the
    /// kernel saw exec'ing since it attached come as exec events right after.
    pub fn running(&mut self, processes: &[ProcessInfo]) -> io::Result<()> {
        if self.wrote_running {
            return Ok(());
        }
        self.wrote_running = true;
        for p in processes.iter().filter(|p| p.origin == Origin::Proc) {
            writeln!(
                self.out,
                "{}",
                record::to_line(&TraceEvent::Exec(p.clone()))
            )?;
        }
        Ok(())
    }

    pub fn write(&mut self, events: &[TraceEvent]) -> io::Result<()> {
        for e in events {
            writeln!(self.out, "{}", record::to_line(e))?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn creates_owner_only_and_refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.ndjson");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let mut r = Recorder::create(&path).unwrap();
        r.write(&[TraceEvent::Exec(ProcessInfo::default())])
            .unwrap();
        r.flush().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\"event\":\"exec\""), "{text}");

        let target = dir.path().join("target");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = Recorder::create(&link).err().unwrap().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(!target.exists(), "followed the link");
    }
}
