//! Reads the kernel's per-command totals (the `commands` LRU hash) into
//! `CommandTotals`, one per visible name.
//!
//! Cost on the project's 2-core VM (tests/commands.rs prints it): 1,000
//! entries read in about 0.5 ms; a full map (8,100 of its 8,192) in about
//! 6 ms, of which the batch syscalls are 2.4 ms. One lookup per key took
//! about 40 ms for the syscalls alone, so batches are used where the kernel
//! has them. A fresh multi-megabyte buffer per read cost 15 ms more in page
//! faults: callers that read every second pass the same buffer back.

use super::decode::page_size;
use std::collections::HashMap;
use std::io;
use std::os::fd::AsRawFd;

use anyhow::{Context, Result};
use libbpf_rs::libbpf_sys;
use libbpf_rs::{MapCore, MapFlags};

use super::decode::{self, Plain};
use super::skel::types;
use super::Tracer;
use crate::event::CommandTotals;
use crate::sanitize;

// SAFETY: generated from tracer.h: u64 fields and u64 arrays only.
unsafe impl Plain for types::command_stats {}

/// Entries per batch syscall: about 750 KiB of values. A batch ends early
/// at a hash bucket that does not fit, so the loop goes on until the kernel
/// says ENOENT, not until a short batch.
const BATCH: u32 = 1024;

impl Tracer<'_> {
    /// Every command the kernel counts now, one entry per visible name:
    /// names that read the same once cleaned (invalid UTF-8, control
    /// characters) are added together.
    pub fn commands(&self) -> Result<Vec<CommandTotals>> {
        let mut out = Vec::new();
        self.read_commands(&mut out)?;
        one_per_name(&mut out);
        Ok(out)
    }

    /// Names the kernel has inserted into its per-command map since load.
    pub fn commands_inserted(&self) -> u64 {
        self.skel.maps.bss_data.as_deref().map_or(0, |bss| {
            // SAFETY: the field lives in the map's mmapped .bss, which the
            // kernel updates under us: read it fresh, as a volatile.
            unsafe { std::ptr::read_volatile(&bss.commands_inserted) }
        })
    }

    /// Fills `out` with every entry of the kernel's map, one per name as
    /// the kernel keys it (`key`): names that read the same once cleaned
    /// are separate entries, so the ledger can tell which of them the map
    /// evicted. `out` is reused from read to read, so a second's read does
    /// not fault in megabytes afresh.
    pub fn read_commands(&self, out: &mut Vec<CommandTotals>) -> Result<()> {
        let map = &self.skel.maps.commands;
        out.clear();
        match read_batched(map, &mut |key, value| out.push(totals(key, value))) {
            Ok(()) => {}
            // batch lookups came in 5.6; look up one key at a time instead
            Err(e) if unsupported(&e) => {
                out.clear();
                read_one_by_one(map, &mut |key, value| out.push(totals(key, value)));
            }
            Err(e) => return Err(e).context("reading the BPF per-command totals"),
        }
        Ok(())
    }
}

/// Adds together entries whose names read the same once cleaned.
fn one_per_name(read: &mut Vec<CommandTotals>) {
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(read.len());
    let mut same = Vec::new();
    for (i, t) in read.iter().enumerate() {
        if let Some(&at) = first.get(t.comm.as_str()) {
            same.push((at, i));
        } else {
            first.insert(&t.comm, i);
        }
    }
    drop(first);
    // from the back, so the indexes still to come stay valid
    for &(at, i) in same.iter().rev() {
        let t = read.swap_remove(i);
        read[at].merge(&t);
    }
}

fn unsupported(e: &io::Error) -> bool {
    const ENOTSUPP: i32 = 524;
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::EOPNOTSUPP | ENOTSUPP)
    )
}

/// Reads every entry with BPF_MAP_LOOKUP_BATCH. libbpf-rs's iterator takes
/// a short batch for the last one and ends there, losing the rest of the
/// map, and hides errors; this loop does neither.
pub(super) fn read_batched(
    map: &impl MapCore,
    add: &mut impl FnMut(&[u8], &[u8]),
) -> io::Result<()> {
    let (key_size, value_size) = (map.key_size() as usize, map.value_size() as usize);
    let mut keys = vec![0u8; BATCH as usize * key_size];
    let mut values = vec![0u8; BATCH as usize * value_size];
    let opts = libbpf_sys::bpf_map_batch_opts {
        sz: size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
        ..Default::default()
    };
    // a hash map's batch position is its next bucket's index
    let (mut at, mut next) = (0u32, 0u32);
    let mut first = true;
    loop {
        let mut count = BATCH;
        let in_batch = if first {
            std::ptr::null_mut()
        } else {
            (&mut at as *mut u32).cast()
        };
        // SAFETY: the buffers hold BATCH keys and BATCH values of the map's
        // sizes, `count` says so, and the batch positions are u32s, the
        // size the kernel uses for hash maps.
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_batch(
                map.as_fd().as_raw_fd(),
                in_batch,
                (&mut next as *mut u32).cast(),
                keys.as_mut_ptr().cast(),
                values.as_mut_ptr().cast(),
                &mut count,
                &opts,
            )
        };
        // ENOENT: no more entries after the ones returned with it
        let last = match -ret {
            0 => false,
            libc::ENOENT => true,
            errno => return Err(io::Error::from_raw_os_error(errno)),
        };
        let n = (count as usize).min(BATCH as usize);
        for (key, value) in keys
            .chunks_exact(key_size)
            .zip(values.chunks_exact(value_size))
            .take(n)
        {
            add(key, value);
        }
        if last {
            return Ok(());
        }
        at = next;
        first = false;
    }
}

/// Reads every entry with one lookup per key.
pub(super) fn read_one_by_one(map: &impl MapCore, add: &mut impl FnMut(&[u8], &[u8])) {
    for key in map.keys() {
        // a key evicted since it was listed is simply not counted now
        if let Ok(Some(value)) = map.lookup(&key, MapFlags::ANY) {
            add(&key, &value);
        }
    }
}

/// One entry: its key is the command's name, its value the kernel's
/// counts. Short or malformed bytes read as zeros, never panic.
fn totals(key: &[u8], value: &[u8]) -> CommandTotals {
    let s: types::command_stats = decode::from_bytes(value);
    let mut t = CommandTotals::new(sanitize::c_string(key));
    t.key = key.split(|&b| b == 0).next().unwrap_or_default().to_vec();
    t.runs = s.runs;
    t.failed = s.failed;
    t.cpu_ns = s.cpu_ns;
    t.cpu_user_ns = s.user_ns;
    t.cpu_system_ns = s.system_ns;
    t.duration_ns = s.duration_ns;
    t.max_duration_ns = s.max_duration_ns;
    t.max_rss_kib = s.max_rss_pages.saturating_mul(page_size()) / 1024;
    t.outcomes = s.outcomes;
    t.durations = s.durations;
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DURATION_BOUNDS_NS, DURATION_BUCKETS, OUTCOME_CORE, OUTCOME_SLOTS};
    use libbpf_rs::skel::SkelBuilder;
    use std::mem::MaybeUninit;

    /// Opening parses the object without loading it: no privilege needed.
    #[test]
    fn the_kernels_bucket_bounds_are_the_domain_types() {
        let mut storage = MaybeUninit::uninit();
        let open = super::super::skel::TracerSkelBuilder::default()
            .open(&mut storage)
            .expect("open the BPF object");
        let rodata = open.maps.rodata_data.as_deref().expect("rodata");
        assert_eq!(rodata.duration_bounds, DURATION_BOUNDS_NS);
        let zero = &rodata.zero_stats;
        assert_eq!(zero.durations.len(), DURATION_BUCKETS);
        assert_eq!(zero.outcomes.len(), OUTCOME_SLOTS);
        assert_eq!(OUTCOME_CORE, OUTCOME_SLOTS - 1, "tracer.h's OUTCOME_CORE");
        assert!(zero.durations.iter().chain(&zero.outcomes).all(|&n| n == 0));
    }

    #[test]
    fn names_that_read_the_same_are_one_command() {
        let mut read: Vec<CommandTotals> = ["a", "b", "a", "c", "b", "a"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mut t = CommandTotals::new(*name);
                t.runs = 1 << i;
                t
            })
            .collect();
        one_per_name(&mut read);
        read.sort_by(|x, y| x.comm.cmp(&y.comm));
        let runs: Vec<(&str, u64)> = read.iter().map(|t| (t.comm.as_str(), t.runs)).collect();
        assert_eq!(runs, [("a", 1 + 4 + 32), ("b", 2 + 16), ("c", 8)]);
    }

    fn bytes(s: &types::command_stats) -> Vec<u8> {
        // SAFETY: command_stats is Plain (u64s only, no padding).
        unsafe {
            std::slice::from_raw_parts(
                (s as *const types::command_stats).cast::<u8>(),
                size_of_val(s),
            )
        }
        .to_vec()
    }

    #[test]
    fn entries_become_totals_with_clean_names_and_kib() {
        let mut s = types::command_stats {
            runs: 3,
            failed: 1,
            cpu_ns: 900,
            duration_ns: 3_000,
            max_duration_ns: 2_000,
            max_rss_pages: 10,
            ..Default::default()
        };
        s.outcomes[0] = 2;
        s.outcomes[1] = 1;
        s.durations[0] = 3;
        let mut key = [0u8; 16];
        key[..7].copy_from_slice(b"a\x1b[2Jzz");
        let t = totals(&key, &bytes(&s));
        assert_eq!(t.comm, "a\\x1b[2Jzz");
        assert_eq!((t.runs, t.failed, t.cpu_ns), (3, 1, 900));
        assert_eq!(t.max_rss_kib, 10 * page_size() / 1024);
        assert_eq!(t.outcomes[..2], [2, 1]);
        assert_eq!(t.durations[0], 3);
        // cut short: zeros, not a panic
        let t = totals(b"x", &bytes(&s)[..8]);
        assert_eq!(
            (t.comm.as_str(), t.runs, t.failed, t.cpu_ns),
            ("x", 3, 0, 0)
        );
    }
}
