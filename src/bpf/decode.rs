//! Decodes the kernel's records into domain types. Untrusted bytes are
//! cleaned here, once.

use std::fmt;
use std::mem::offset_of;

use super::skel::types::{self, event_kind, exit_flags, record_flags};
use crate::clock::BootClock;
use crate::event::{
    split_cpu, ExitStatus, FailedExec, KernelEvent, Origin, ProcessInfo, RawEnded, RawExit,
    RawFork, Usage,
};
use crate::procfs::ProcEntry;
use crate::sanitize;

/// The generated types that may be filled from raw bytes.
///
/// # Safety
/// Implementors must be repr(C) and consist only of integers and integer
/// arrays, so that every bit pattern is a valid value.
pub unsafe trait Plain: Default + Copy {}
// SAFETY: generated from tracer.h: u32/u64/u16 fields and u8 arrays only.
unsafe impl Plain for types::exec_record {}
// SAFETY: as above.
unsafe impl Plain for types::exit_event {}
// SAFETY: as above.
unsafe impl Plain for types::settings {}
// SAFETY: as above.
unsafe impl Plain for types::fork_event {}
// SAFETY: as above.
unsafe impl Plain for types::ended_event {}

/// Reads a `T` from the start of `bytes`; missing trailing bytes stay zero.
pub fn from_bytes<T: Plain>(bytes: &[u8]) -> T {
    let mut value = T::default();
    let n = bytes.len().min(size_of::<T>());
    // SAFETY: T is Plain (any bit pattern is valid) and at most size_of::<T>()
    // bytes are copied into it from a slice at least n bytes long.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), (&mut value as *mut T).cast::<u8>(), n);
    }
    value
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    TooShort {
        kind: u32,
        len: usize,
    },
    UnknownKind(u32),
    BadLengths {
        filename: u16,
        args: u16,
        len: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooShort { kind, len } => {
                write!(f, "record of kind {kind} too short: {len} bytes")
            }
            DecodeError::UnknownKind(kind) => write!(f, "unknown record kind {kind}"),
            DecodeError::BadLengths {
                filename,
                args,
                len,
            } => {
                write!(
                    f,
                    "record lengths (filename {filename}, args {args}) exceed its {len} bytes"
                )
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes one ring-buffer record.
pub fn decode(bytes: &[u8], clock: &BootClock) -> Result<KernelEvent, DecodeError> {
    let kind = u32::from_ne_bytes(bytes.get(..4).and_then(|b| b.try_into().ok()).ok_or(
        DecodeError::TooShort {
            kind: 0,
            len: bytes.len(),
        },
    )?);
    match event_kind(kind) {
        event_kind::EVENT_EXEC => exec_record(bytes, clock).map(KernelEvent::Exec),
        event_kind::EVENT_EXEC_FAILED => {
            let p = exec_record(bytes, clock)?;
            let r: types::exec_record = from_bytes(bytes);
            Ok(KernelEvent::ExecFailed(FailedExec::from_attempt(
                p, r.error,
            )))
        }
        event_kind::EVENT_FORK => {
            let f: types::fork_event = whole(kind, bytes)?;
            Ok(KernelEvent::Fork(RawFork {
                pid: f.pid,
                ppid: f.ppid,
                uid: f.uid,
                comm: sanitize::c_string(&f.comm),
                start_boot_ns: f.start_ns,
                not_kept: f.flags & record_flags::RECORD_NOT_KEPT.0 != 0,
            }))
        }
        event_kind::EVENT_ENDED => {
            let e: types::ended_event = whole(kind, bytes)?;
            Ok(KernelEvent::Ended(RawEnded {
                pid: e.pid,
                start_boot_ns: e.start_ns,
                exit_boot_ns: e.exit_ns,
                reaper: e.reaper,
                had_record: e.flags & exit_flags::EXIT_HAD_RECORD.0 != 0,
            }))
        }
        event_kind::EVENT_EXIT => {
            let e: types::exit_event = whole(kind, bytes)?;
            Ok(KernelEvent::Exit(RawExit {
                pid: e.pid,
                ppid: e.ppid,
                uid: e.uid,
                status: ExitStatus(e.exit_status),
                start_boot_ns: e.start_ns,
                exit_boot_ns: e.exit_ns,
                comm: sanitize::c_string(&e.comm),
                thread_comm: sanitize::c_string(&e.thread_comm),
                had_record: e.flags & exit_flags::EXIT_HAD_RECORD.0 != 0,
                reaper: e.reaper,
                usage: usage(&e.usage, e.flags & exit_flags::EXIT_NO_IOAC.0 == 0),
            }))
        }
        _ => Err(DecodeError::UnknownKind(kind)),
    }
}

/// A fixed-size record, which must arrive whole.
fn whole<T: Plain>(kind: u32, bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() < size_of::<T>() {
        return Err(DecodeError::TooShort {
            kind,
            len: bytes.len(),
        });
    }
    Ok(from_bytes(bytes))
}

/// The kernel's raw use figures in rusage's units.
fn usage(u: &types::usage, has_ioac: bool) -> Usage {
    let (cpu_user_ns, cpu_system_ns) = split_cpu(u.runtime_ns, u.utime_ns, u.stime_ns);
    Usage {
        cpu_user_ns,
        cpu_system_ns,
        max_rss_kib: u.maxrss_pages.saturating_mul(page_size()) / 1024,
        minor_faults: u.min_flt,
        major_faults: u.maj_flt,
        read_bytes: has_ioac.then_some(u.read_bytes),
        write_bytes: has_ioac.then_some(u.write_bytes),
        voluntary_switches: u.nvcsw,
        involuntary_switches: u.nivcsw,
    }
}

/// The kernel's page size: signal->maxrss counts pages.
pub(super) fn page_size() -> u64 {
    static PAGE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf reads a constant and has no memory effects.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        u64::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
    })
}

/// Decodes an exec record: a ring-buffer exec event (only the used part of
/// its data) or a pid-map value (the whole struct).
pub fn exec_record(bytes: &[u8], clock: &BootClock) -> Result<ProcessInfo, DecodeError> {
    let header = offset_of!(types::exec_record, data);
    if bytes.len() < header {
        return Err(DecodeError::TooShort {
            kind: event_kind::EVENT_EXEC.0,
            len: bytes.len(),
        });
    }
    let r: types::exec_record = from_bytes(bytes);
    let (f, a) = (usize::from(r.filename_len), usize::from(r.args_len));
    let data = &bytes[header..];
    if f + a > data.len() {
        return Err(DecodeError::BadLengths {
            filename: r.filename_len,
            args: r.args_len,
            len: bytes.len(),
        });
    }
    let flags = r.flags;
    Ok(ProcessInfo {
        pid: r.pid,
        ppid: r.ppid,
        uid: r.uid,
        comm: sanitize::c_string(&r.comm),
        filename: sanitize::c_string(&data[..f]),
        argv: sanitize::argv(&data[f..f + a]),
        argv_truncated: flags & record_flags::RECORD_ARGS_TRUNCATED.0 != 0,
        filename_truncated: flags & record_flags::RECORD_FILENAME_TRUNCATED.0 != 0,
        cgroup_id: r.cgroup_id,
        start: clock.to_wall(r.start_ns),
        start_boot_ns: r.start_ns,
        exec_time: clock.to_wall(if r.exec_ns != 0 {
            r.exec_ns
        } else {
            r.start_ns
        }),
        history: Vec::new(),
        history_dropped: 0,
        not_kept: flags & record_flags::RECORD_NOT_KEPT.0 != 0,
        origin: if flags & record_flags::RECORD_FROM_PROC.0 != 0 {
            Origin::Proc
        } else if flags & record_flags::RECORD_FORKED.0 != 0 {
            Origin::Forked
        } else {
            Origin::Exec
        },
    })
}

/// The pid-map record for a process read from /proc.
pub fn record_from_proc(entry: &ProcEntry) -> types::exec_record {
    let mut r = types::exec_record {
        kind: event_kind::EVENT_EXEC.0,
        pid: entry.pid,
        ppid: entry.ppid,
        uid: entry.uid,
        start_ns: entry.start_boot_ns,
        cgroup_id: entry.cgroup_id,
        flags: record_flags::RECORD_FROM_PROC.0,
        ..Default::default()
    };
    let n = entry.comm.len().min(r.comm.len() - 1);
    r.comm[..n].copy_from_slice(&entry.comm[..n]);

    // the filename with its NUL, then as much argv as fits, as the kernel lays it out
    let cap = r.data.len();
    let filename_cap = cap / 3;
    let f = entry.filename.len().min(filename_cap - 1);
    r.data[..f].copy_from_slice(&entry.filename[..f]);
    let f = f + 1;
    let a = entry.cmdline.len().min(cap - f);
    r.data[f..f + a].copy_from_slice(&entry.cmdline[..a]);
    if a < entry.cmdline.len() {
        r.flags |= record_flags::RECORD_ARGS_TRUNCATED.0;
    }
    r.filename_len = f as u16;
    r.args_len = a as u16;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> BootClock {
        BootClock::with_offset(1_000_000_000_000_000_000)
    }

    fn bytes_of<T: Plain>(value: &T) -> Vec<u8> {
        super::super::as_bytes(value).to_vec()
    }

    fn exec_bytes(filename: &[u8], args: &[u8]) -> Vec<u8> {
        let mut r = types::exec_record {
            kind: event_kind::EVENT_EXEC.0,
            pid: 42,
            ppid: 7,
            uid: 1000,
            start_ns: 5_000,
            cgroup_id: 99,
            ..Default::default()
        };
        r.comm[..4].copy_from_slice(b"echo");
        r.data[..filename.len()].copy_from_slice(filename);
        r.data[filename.len()..filename.len() + args.len()].copy_from_slice(args);
        r.filename_len = filename.len() as u16;
        r.args_len = args.len() as u16;
        // as sent through the ring buffer: only the used part of data
        let used = offset_of!(types::exec_record, data) + filename.len() + args.len();
        bytes_of(&r)[..used].to_vec()
    }

    #[test]
    fn decodes_exec_event() {
        let bytes = exec_bytes(b"/bin/echo\0", b"/bin/echo\0a\0b c\0");
        let KernelEvent::Exec(p) = decode(&bytes, &clock()).unwrap() else {
            panic!("not exec")
        };
        assert_eq!((p.pid, p.ppid, p.uid, p.cgroup_id), (42, 7, 1000, 99));
        assert_eq!(p.comm, "echo");
        assert_eq!(p.filename, "/bin/echo");
        assert_eq!(p.argv, ["/bin/echo", "a", "b c"]);
        assert_eq!(p.start.0, 1_000_000_000_000_005_000);
        assert_eq!(p.start_boot_ns, 5_000);
        assert_eq!(p.origin, Origin::Exec);
    }

    #[test]
    fn decodes_exit_event() {
        let mut e = types::exit_event {
            kind: event_kind::EVENT_EXIT.0,
            pid: 42,
            ppid: 1,
            exit_status: 9,
            start_ns: 10,
            exit_ns: 20,
            flags: exit_flags::EXIT_HAD_RECORD.0,
            ..Default::default()
        };
        e.comm[..5].copy_from_slice(b"x\x1b[2J");
        e.thread_comm[..6].copy_from_slice(b"worker");
        let KernelEvent::Exit(x) = decode(&bytes_of(&e), &clock()).unwrap() else {
            panic!("not exit")
        };
        assert_eq!(x.status.signal(), Some(9));
        assert_eq!(x.comm, "x\\x1b[2J");
        assert_eq!(x.thread_comm, "worker");
        assert!(x.had_record);
        assert_eq!((x.start_boot_ns, x.exit_boot_ns), (10, 20));
    }

    #[test]
    fn decodes_fork_and_ended_events() {
        let mut f = types::fork_event {
            kind: event_kind::EVENT_FORK.0,
            pid: 43,
            ppid: 42,
            uid: 7,
            start_ns: 500,
            ..Default::default()
        };
        f.comm[..4].copy_from_slice(b"b\x07sh");
        let KernelEvent::Fork(k) = decode(&bytes_of(&f), &clock()).unwrap() else {
            panic!("not a fork")
        };
        assert_eq!((k.pid, k.ppid, k.uid, k.start_boot_ns), (43, 42, 7, 500));
        assert_eq!(k.comm, "b\\x07sh");
        let e = types::ended_event {
            kind: event_kind::EVENT_ENDED.0,
            pid: 43,
            reaper: 1,
            flags: exit_flags::EXIT_HAD_RECORD.0,
            start_ns: 500,
            exit_ns: 900,
        };
        let KernelEvent::Ended(x) = decode(&bytes_of(&e), &clock()).unwrap() else {
            panic!("not an end")
        };
        assert_eq!(
            (x.pid, x.reaper, x.start_boot_ns, x.exit_boot_ns),
            (43, 1, 500, 900)
        );
        assert!(x.had_record);
        let short = bytes_of(&e);
        assert!(matches!(
            decode(&short[..short.len() - 1], &clock()),
            Err(DecodeError::TooShort { .. })
        ));
    }

    #[test]
    fn a_record_made_at_fork_is_forked() {
        let r = types::exec_record {
            kind: event_kind::EVENT_EXEC.0,
            pid: 9,
            flags: record_flags::RECORD_FORKED.0,
            ..Default::default()
        };
        let p = exec_record(&bytes_of(&r), &clock()).unwrap();
        assert_eq!(p.origin, Origin::Forked);
    }

    #[test]
    fn the_pid_map_record_is_the_size_the_docs_state() {
        // the README and --max-processes' help give this size
        assert_eq!(size_of::<types::exec_record>(), 840);
    }

    #[test]
    fn decodes_failed_exec() {
        let mut bytes = exec_bytes(b"/usr/bin/nosuchcmd\0", b"nosuchcmd\0-x\0");
        bytes[..4].copy_from_slice(&event_kind::EVENT_EXEC_FAILED.0.to_ne_bytes());
        let at = offset_of!(types::exec_record, error);
        bytes[at..at + 4].copy_from_slice(&2i32.to_ne_bytes());
        let KernelEvent::ExecFailed(f) = decode(&bytes, &clock()).unwrap() else {
            panic!("not a failed exec")
        };
        assert_eq!((f.pid, f.errno), (42, 2));
        assert_eq!(f.filename, "/usr/bin/nosuchcmd");
        assert_eq!(f.argv, ["nosuchcmd", "-x"]);
    }

    #[test]
    fn hostile_exec_text_is_neutralised() {
        let bytes = exec_bytes(b"/tmp/\x1b]0;pwned\x07\0", b"\x9b\xff\0\xe2\x80\xae\0");
        let KernelEvent::Exec(p) = decode(&bytes, &clock()).unwrap() else {
            panic!()
        };
        assert_eq!(p.filename, "/tmp/\\x1b]0;pwned\\x07");
        assert_eq!(p.argv, ["\u{fffd}\u{fffd}", "\\u{202e}"]);
    }

    #[test]
    fn rejects_malformed_records() {
        let c = clock();
        assert!(matches!(decode(&[], &c), Err(DecodeError::TooShort { .. })));
        assert_eq!(decode(&[9, 0, 0, 0], &c), Err(DecodeError::UnknownKind(9)));
        assert!(matches!(
            decode(&[2, 0, 0, 0, 1], &c),
            Err(DecodeError::TooShort { .. })
        ));
        let mut bytes = exec_bytes(b"/x\0", b"x\0");
        bytes.truncate(bytes.len() - 1);
        assert!(matches!(
            decode(&bytes, &c),
            Err(DecodeError::BadLengths { .. })
        ));
    }

    #[test]
    fn proc_records_round_trip() {
        let entry = ProcEntry {
            pid: 5,
            ppid: 1,
            uid: 0,
            comm: b"sshd".to_vec(),
            filename: b"/usr/sbin/sshd".to_vec(),
            cmdline: b"sshd: root\0-D\0".to_vec(),
            start_boot_ns: 123,
            cgroup_id: 8,
        };
        let r = record_from_proc(&entry);
        let p = exec_record(&bytes_of(&r), &clock()).unwrap();
        assert_eq!(p.comm, "sshd");
        assert_eq!(p.filename, "/usr/sbin/sshd");
        assert_eq!(p.argv, ["sshd: root", "-D"]);
        assert_eq!(p.origin, Origin::Proc);
        assert!(!p.argv_truncated);

        let long = ProcEntry {
            cmdline: vec![b'a'; 5000],
            ..entry
        };
        let p = exec_record(&bytes_of(&record_from_proc(&long)), &clock()).unwrap();
        assert!(p.argv_truncated);
    }
}
