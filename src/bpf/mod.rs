//! The only code that touches libbpf-rs: load and attach the kernel program,
//! read its ring buffer, and read and write its maps.

mod commands;
mod decode;
mod pids;
mod scope;
pub mod tracefs;

pub use pids::process_from_proc;

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{
    ErrorKind, Link, MapCore, MapFlags, OpenObject, PrintLevel, RingBuffer, RingBufferBuilder,
};

pub use decode::{decode, DecodeError};

#[allow(clippy::all, non_camel_case_types, non_upper_case_globals, dead_code)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/tracer.skel.rs"));
}
use skel::types;

use crate::event::Drops;

/// Where the kernel publishes its own BTF.
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// How to load the program.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Ring buffer size in bytes (a power of two, a multiple of the page size).
    pub ring_buffer_bytes: u32,
    /// Records the pid map holds: the most processes alive at once that
    /// tracer-tui can know; past it, inserts fail and are counted.
    pub max_processes: u32,
    /// Route libbpf's debug log to stderr.
    pub verbose: bool,
    /// A BTF file to use instead of the kernel's own.
    pub btf: Option<PathBuf>,
    /// Trace failed execs (syscall tracepoints; needs their ids from tracefs).
    pub failed_execs: bool,
    /// Follow only the processes in the traced set (one command's or one
    /// process's tree), not the whole host.
    pub scoped: bool,
}

/// The loaded and attached kernel program.
pub struct Tracer<'obj> {
    skel: skel::TracerSkel<'obj>,
    /// the failed-exec programs' attachments, kept alive with the tracer
    _exec_links: Vec<Link>,
    /// why failed execs are not traced, when they are not
    failed_exec_gap: Option<String>,
    /// only the traced set is followed
    scoped: bool,
}

fn libbpf_log(level: PrintLevel, msg: String) {
    let _ = level;
    eprint!("libbpf: {msg}");
}

/// libbpf prints to stderr by default, which would corrupt the dashboard:
/// keep it silent unless asked.
fn route_libbpf_log(verbose: bool) {
    if verbose {
        libbpf_rs::set_print(Some((PrintLevel::Debug, libbpf_log)));
    } else {
        libbpf_rs::set_print(None);
    }
}

/// Fails with one clear line when the BTF that CO-RE needs is missing, or
/// (for a file given with --btf) is not a regular file or not BTF. The
/// given file is returned open, for libbpf to read that very file.
pub fn check_btf(path: &Path, custom: bool) -> Result<Option<File>> {
    if custom {
        return check_btf_file(path).map(Some);
    }
    if path.exists() {
        return Ok(None);
    }
    bail!(
        "kernel BTF not found at {}: tracer-tui needs a kernel built with \
         CONFIG_DEBUG_INFO_BTF=y (or pass a BTF file with --btf)",
        path.display()
    )
}

/// Opened without blocking (a FIFO would wait for a writer) and looked at
/// before libbpf is given it.
fn check_btf_file(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display();
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("BTF file {shown} not found"),
        Err(e) => {
            let reason = crate::write_error::reason(&e);
            bail!("opening the BTF file {shown}: {reason}")
        }
    };
    let meta = file
        .metadata()
        .with_context(|| format!("checking the BTF file {shown}"))?;
    if !meta.is_file() {
        let kind = crate::safe_file::kind(&meta);
        bail!("--btf {shown} is {kind}, not a regular file");
    }
    let mut header = [0u8; 24];
    let read = read_up_to(&mut file, &mut header);
    if !is_btf(&header[..read], meta.len()) {
        bail!(
            "{shown} is not a BTF file (such as /sys/kernel/btf/vmlinux, \
             or an ELF file with a .BTF section)"
        );
    }
    Ok(file)
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> usize {
    let mut done = 0;
    while done < buf.len() {
        match file.read(&mut buf[done..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => done += n,
        }
    }
    done
}

/// Whether a file starting with `start`, `len` bytes long, is raw BTF with
/// a sane header (magic 0xeB9F in either byte order, version 1, sections
/// inside the file), or an ELF file, whose .BTF section libbpf reads itself.
fn is_btf(start: &[u8], len: u64) -> bool {
    if start.starts_with(b"\x7fELF") {
        return true;
    }
    let Some(header) = start.get(..24) else {
        return false;
    };
    let big = match header[..2] {
        [0x9f, 0xeb] => false,
        [0xeb, 0x9f] => true,
        _ => return false,
    };
    let word = |at: usize| {
        let b = [header[at], header[at + 1], header[at + 2], header[at + 3]];
        u64::from(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let (hdr_len, types_end, strings_end) = (word(4), word(8) + word(12), word(16) + word(20));
    header[2] == 1 && hdr_len >= 24 && hdr_len + types_end.max(strings_end) <= len
}

/// libbpf's "Unknown error 4001": data it could not parse (LIBBPF_ERRNO__FORMAT);
/// ENODATA: an ELF file without a .BTF section.
const NOT_BTF: [i32; 2] = [4001, libc::ENODATA];

/// Whether libbpf failed because the BTF file is not BTF. libbpf-rs keeps
/// its io::Error private, so the code is read back from its message.
fn is_format_error(err: &libbpf_rs::Error) -> bool {
    let text = err.to_string();
    let code = text
        .rsplit_once("(os error ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .and_then(|n| n.parse::<i32>().ok());
    code.is_some_and(|c| NOT_BTF.contains(&c))
}

fn explain_load_error(err: libbpf_rs::Error, btf: Option<&Path>) -> anyhow::Error {
    if let Some(path) = btf.filter(|_| is_format_error(&err)) {
        anyhow!(
            "{} is not a BTF file libbpf can read (run with -v for libbpf's log)",
            path.display()
        )
    } else if err.kind() == ErrorKind::PermissionDenied {
        anyhow!(
            "permission denied loading the BPF program: tracer-tui needs root or \
             CAP_BPF+CAP_PERFMON (try: sudo tracer-tui)"
        )
    } else {
        anyhow!(err)
            .context("loading the BPF program into the kernel (run with -v for libbpf's log)")
    }
}

impl<'obj> Tracer<'obj> {
    /// Opens, loads and attaches the program, with the min-duration filter
    /// in force from the first event. `storage` holds libbpf's object for as
    /// long as the tracer lives.
    pub fn load(
        storage: &'obj mut MaybeUninit<OpenObject>,
        opts: &LoadOptions,
        min_duration_ns: u64,
    ) -> Result<Self> {
        route_libbpf_log(opts.verbose);
        let btf = opts
            .btf
            .clone()
            .unwrap_or_else(|| PathBuf::from(KERNEL_BTF));
        // kept open until the program is loaded: libbpf reads this file,
        // not whatever the path names by then
        let btf_file = check_btf(&btf, opts.btf.is_some())?;
        let ring = opts.ring_buffer_bytes;
        if !ring.is_power_of_two() || ring < 4096 {
            bail!("ring buffer size {ring} is not a power of two of at least 4096 bytes");
        }

        let builder = skel::TracerSkelBuilder::default();
        let mut open = match &opts.btf {
            Some(path) => {
                let checked = btf_file
                    .as_ref()
                    .map(|f| PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd())))
                    .filter(|p| p.exists());
                let path = checked.as_deref().unwrap_or(path);
                let path = CString::new(path.as_os_str().as_bytes())
                    .context("BTF path contains a NUL byte")?;
                let open_opts = libbpf_rs::libbpf_sys::bpf_object_open_opts {
                    sz: size_of::<libbpf_rs::libbpf_sys::bpf_object_open_opts>() as _,
                    btf_custom_path: path.as_ptr(),
                    ..Default::default()
                };
                // libbpf copies the path while opening, so `path` may drop after.
                builder.open_opts(open_opts, storage)
            }
            None => builder.open(storage),
        }
        .context("opening the BPF object")?;

        open.maps
            .events
            .set_max_entries(ring)
            .context("sizing the ring buffer")?;
        open.maps
            .pids
            .set_max_entries(opts.max_processes)
            .context("sizing the pid map")?;
        let rodata = open
            .maps
            .rodata_data
            .as_deref_mut()
            .ok_or_else(|| anyhow!("BPF object has no .rodata section"))?;
        rodata.wakeup_threshold = u64::from(ring / 8).min(256 * 1024);
        rodata.scoped = u32::from(opts.scoped);

        // The failed-exec programs are attached by hand, through perf events
        // on tracepoint ids that only tracefs publishes; without the ids they
        // are not loaded at all, and tracing goes on without them.
        let ids = if opts.failed_execs {
            tracefs::exec_tracepoint_ids()
        } else {
            Err(anyhow!("turned off"))
        };
        for prog in [&mut open.progs.exit_execve, &mut open.progs.exit_execveat] {
            prog.set_autoattach(false);
            prog.set_autoload(ids.is_ok());
        }

        let skel = open
            .load()
            .map_err(|e| explain_load_error(e, opts.btf.as_deref()))?;
        drop(btf_file);
        let mut tracer = Self {
            skel,
            _exec_links: Vec::new(),
            failed_exec_gap: None,
            scoped: opts.scoped,
        };
        tracer.set_min_duration(min_duration_ns)?;
        tracer.attach_in_order()?;
        match ids.and_then(|ids| tracer.attach_exec_tracepoints(ids)) {
            Ok(links) => tracer._exec_links = links,
            // left out on purpose: nothing to tell
            Err(_) if !opts.failed_execs => {}
            Err(e) => tracer.failed_exec_gap = Some(format!("failed execs are not traced: {e:#}")),
        }
        Ok(tracer)
    }

    /// Attaches the exit program first, then exec, then fork: a process
    /// whose fork or exec makes a record must have its exit seen, or the
    /// record (and its live row) would stay for good.
    fn attach_in_order(&mut self) -> Result<()> {
        let progs = &self.skel.progs;
        let links = &mut self.skel.links;
        links.handle_exit = Some(
            progs
                .handle_exit
                .attach()
                .context("attaching to the sched_process_exit raw tracepoint")?,
        );
        links.handle_exec = Some(
            progs
                .handle_exec
                .attach()
                .context("attaching to the sched_process_exec raw tracepoint")?,
        );
        links.handle_fork = Some(
            progs
                .handle_fork
                .attach()
                .context("attaching to the sched_process_fork raw tracepoint")?,
        );
        Ok(())
    }

    /// Attaches the failed-exec programs to the syscall tracepoints.
    fn attach_exec_tracepoints(&self, ids: [u64; 2]) -> Result<Vec<Link>> {
        let progs = [&self.skel.progs.exit_execve, &self.skel.progs.exit_execveat];
        progs
            .into_iter()
            .zip(ids)
            .zip(tracefs::EXEC_TRACEPOINTS)
            .map(|((prog, id), name)| {
                let fd = tracefs::open_tracepoint(id)?;
                // on success the link owns the perf event and closes it
                prog.attach_perf_event(fd).map_err(|e| {
                    // SAFETY: fd was opened above and nothing else owns it.
                    unsafe { libc::close(fd) };
                    anyhow!(e).context(format!("attaching to the syscalls/{name} tracepoint"))
                })
            })
            .collect()
    }

    /// Why failed execs are not being traced, when they are not.
    pub fn failed_exec_gap(&self) -> Option<&str> {
        self.failed_exec_gap.as_deref()
    }

    /// A ring-buffer reader that hands each record's bytes to `callback`.
    pub fn ring_buffer<'cb>(
        &self,
        callback: impl FnMut(&[u8]) -> i32 + 'cb,
    ) -> Result<RingBuffer<'cb>> {
        let mut builder = RingBufferBuilder::new();
        builder
            .add(&self.skel.maps.events, callback)
            .context("opening the ring buffer")?;
        builder.build().context("opening the ring buffer")
    }

    /// Sets the kernel's min-duration filter and returns the value read back.
    pub fn set_min_duration(&self, ns: u64) -> Result<u64> {
        let value = types::settings {
            min_duration_ns: ns,
        };
        self.skel
            .maps
            .settings
            .update(&0u32.to_ne_bytes(), as_bytes(&value), MapFlags::ANY)
            .context("writing the min-duration filter to the BPF settings map")?;
        self.min_duration()
    }

    /// The min-duration filter the kernel is applying.
    pub fn min_duration(&self) -> Result<u64> {
        let bytes = self
            .skel
            .maps
            .settings
            .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
            .context("reading the BPF settings map")?
            .ok_or_else(|| anyhow!("the BPF settings map has no entry"))?;
        let value: types::settings = decode::from_bytes(&bytes);
        Ok(value.min_duration_ns)
    }

    /// Totals of what the kernel could not deliver, summed over CPUs.
    pub fn drops(&self) -> Result<Drops> {
        let read = |counter: types::drop_counter| -> Result<u64> {
            sum_per_cpu(&self.skel.maps.drops, counter.0).context("reading the BPF drop counters")
        };
        // an exec event sent late, at exit, is not lost
        let recovered = read(types::drop_counter::DROP_EXEC_RECOVERED)?;
        Ok(Drops {
            exec_ringbuf: read(types::drop_counter::DROP_EXEC_RINGBUF)?.saturating_sub(recovered),
            exit_ringbuf: read(types::drop_counter::DROP_EXIT_RINGBUF)?,
            pid_map_full: read(types::drop_counter::DROP_PID_MAP_FULL)?,
            exec_failed_ringbuf: read(types::drop_counter::DROP_EXEC_FAILED_RINGBUF)?,
            fork_ringbuf: read(types::drop_counter::DROP_FORK_RINGBUF)?,
            undecodable: 0,
            traced_full: read(types::drop_counter::DROP_TRACED_FULL)?,
        })
    }

    /// Successful execs the kernel has counted since load (of traced
    /// processes only, when tracing is scoped).
    pub fn execs(&self) -> Result<u64> {
        sum_per_cpu(&self.skel.maps.totals, types::total_counter::TOTAL_EXECS.0)
            .context("reading the BPF exec count")
    }
}

/// A per-CPU array's u64 at `index`, added up over the CPUs.
fn sum_per_cpu(map: &impl MapCore, index: u32) -> Result<u64> {
    let per_cpu = map
        .lookup_percpu(&index.to_ne_bytes(), MapFlags::ANY)?
        .unwrap_or_default();
    Ok(per_cpu
        .iter()
        .filter_map(|v| v.get(..8)?.try_into().ok())
        .map(u64::from_ne_bytes)
        .sum())
}

/// The bytes of a generated plain-data type, to write into a map.
fn as_bytes<T: decode::Plain>(value: &T) -> &[u8] {
    // SAFETY: Plain types are repr(C) structs of integers and byte arrays
    // generated from the program's BTF; reading their bytes is always valid.
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btf_headers_are_checked_before_libbpf_sees_them() {
        let mut raw = vec![0x9f, 0xeb, 1, 0, 24, 0, 0, 0];
        // types at 0, 8 bytes; strings at 8, 4 bytes
        for word in [0u32, 8, 8, 4] {
            raw.extend_from_slice(&word.to_le_bytes());
        }
        assert!(is_btf(&raw, 24 + 12));
        assert!(!is_btf(&raw, 24 + 11), "sections past the end");
        assert!(!is_btf(&raw[..10], 100), "cut header");
        raw[2] = 2;
        assert!(!is_btf(&raw, 100), "unknown version");
        assert!(is_btf(b"\x7fELF\x02\x01\x01", 7));
        assert!(!is_btf(b"root:x:0:0:root:/root:/bin/bash\n", 32));
        let sys = check_btf(Path::new("/nonexistent/vmlinux"), true).unwrap_err();
        assert!(sys.to_string().contains("not found"), "{sys}");
    }
}
