//! The traced set (`traced` in scope.bpf.h): the processes followed when
//! tracing is scoped to one command's or one process's tree.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use anyhow::{Context, Result};
use libbpf_rs::{MapCore, MapFlags};

use super::Tracer;

impl Tracer<'_> {
    /// A descriptor of the traced set of its own (close-on-exec), for the
    /// spawned command to put itself in before its exec. None when tracing
    /// is not scoped.
    pub fn traced_map(&self) -> Result<Option<OwnedFd>> {
        if !self.scoped {
            return Ok(None);
        }
        let fd = self
            .skel
            .maps
            .traced
            .as_fd()
            .try_clone_to_owned()
            .context("duplicating the traced set's descriptor")?;
        Ok(Some(fd))
    }

    /// Follows a running process (--pid) and everything it starts.
    pub fn trace(&self, tgid: u32) -> Result<()> {
        self.skel
            .maps
            .traced
            .update(&tgid.to_ne_bytes(), &[1], MapFlags::ANY)
            .with_context(|| format!("adding process {tgid} to the traced set"))
    }

    /// Stops following a process (one that ended before it was followed,
    /// so the kernel will never take it out).
    pub fn untrace(&self, tgid: u32) {
        // already gone is what is wanted
        let _ = self.skel.maps.traced.delete(&tgid.to_ne_bytes());
    }

    /// Whether a process is in the traced set.
    pub fn is_traced(&self, tgid: u32) -> bool {
        matches!(
            self.skel
                .maps
                .traced
                .lookup(&tgid.to_ne_bytes(), MapFlags::ANY),
            Ok(Some(_))
        )
    }

    /// Whether nothing is traced any more: every traced process has ended.
    pub fn traced_is_empty(&self) -> Result<bool> {
        crate::scope::map::is_empty(self.skel.maps.traced.as_fd().as_raw_fd())
            .context("reading the traced set")
    }
}
