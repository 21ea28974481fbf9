//! Reads the processes that were running before tracing began from /proc.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A process as /proc shows it; bytes are raw, to be cleaned by the decoder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcEntry {
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub comm: Vec<u8>,
    pub filename: Vec<u8>,
    /// NUL-separated argv, as in /proc/PID/cmdline
    pub cmdline: Vec<u8>,
    /// start time on CLOCK_BOOTTIME (clock-tick precision)
    pub start_boot_ns: u64,
    pub cgroup_id: u64,
}

const PF_KTHREAD: u64 = 0x0020_0000;

/// Every user-space process in /proc. Kernel threads are left out: they
/// never exec, so the kernel program would never know them either.
pub fn scan(proc_root: &Path) -> Vec<ProcEntry> {
    pid_dirs(proc_root)
        .filter_map(|pid| match read(proc_root, pid) {
            Read::Process(entry) => Some(entry),
            _ => None,
        })
        .collect()
}

/// What /proc says of one pid.
pub enum Read {
    Process(ProcEntry),
    KernelThread,
    Gone,
}

/// The inode number of the initial pid namespace (PROC_PID_INIT_INO).
const INITIAL_PID_NS_INO: u64 = 0xEFFF_FFFC;

/// Whether this process is in the initial pid namespace, whose pids are the
/// kernel's own (the BPF program sees those); a container's /proc shows
/// others. Told by the namespace's inode, which no container can share.
pub fn in_initial_pid_namespace() -> bool {
    fs::metadata("/proc/self/ns/pid").is_ok_and(|m| m.ino() == INITIAL_PID_NS_INO)
}

/// Whether a process with this id exists, asked of the kernel rather than
/// of /proc (which `hidepid` may filter).
pub fn exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// The process ids listed in /proc.
pub fn pid_dirs(proc_root: &Path) -> impl Iterator<Item = u32> {
    fs::read_dir(proc_root)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
}

/// Reads one process's entry.
pub fn read(root: &Path, pid: u32) -> Read {
    let dir = root.join(pid.to_string());
    let Some(stat) = fs::read(dir.join("stat")).ok().and_then(|b| parse_stat(&b)) else {
        return Read::Gone;
    };
    if stat.flags & PF_KTHREAD != 0 {
        return Read::KernelThread;
    }
    // a zombie has ended: its exit came before tracing, and its reaping
    // sends no event, so a record of it would never leave the live table
    if stat.ended {
        return Read::Gone;
    }
    let status = fs::read_to_string(dir.join("status")).unwrap_or_default();
    Read::Process(ProcEntry {
        pid,
        ppid: stat.ppid,
        uid: real_uid(&status).unwrap_or(u32::MAX),
        comm: stat.comm,
        // the executable needs ptrace access; fall back to nothing
        filename: fs::read_link(dir.join("exe"))
            .map(|p| p.as_os_str().as_bytes().to_vec())
            .unwrap_or_default(),
        cmdline: fs::read(dir.join("cmdline")).unwrap_or_default(),
        start_boot_ns: stat.start_ticks.saturating_mul(1_000_000_000) / clock_ticks(),
        cgroup_id: fs::read_to_string(dir.join("cgroup"))
            .ok()
            .and_then(|c| cgroup_id(&c))
            .unwrap_or(0),
    })
}

#[derive(Debug, PartialEq, Eq)]
struct Stat {
    comm: Vec<u8>,
    /// a zombie (Z) or dead (X) task
    ended: bool,
    ppid: u32,
    flags: u64,
    start_ticks: u64,
}

/// Parses /proc/PID/stat. The name may hold spaces and parentheses, so it
/// runs from the first '(' to the last ')'.
fn parse_stat(bytes: &[u8]) -> Option<Stat> {
    let open = bytes.iter().position(|&b| b == b'(')?;
    let close = bytes.iter().rposition(|&b| b == b')')?;
    let comm = bytes.get(open + 1..close)?.to_vec();
    let rest = std::str::from_utf8(bytes.get(close + 1..)?).ok()?;
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // fields[0] is field 3 (state) of proc_pid_stat(5)
    Some(Stat {
        comm,
        // a process whose first thread has ended shows Z too while its
        // other threads run: only one with no thread left has ended
        ended: matches!(fields.first(), Some(&"Z" | &"X"))
            && fields.get(17).and_then(|n| n.parse::<u32>().ok()) <= Some(1),
        ppid: fields.get(1)?.parse().ok()?,
        flags: fields.get(6)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

fn real_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// On cgroup v2 a cgroup's id is its directory's inode number.
fn cgroup_id(cgroup_file: &str) -> Option<u64> {
    let path = cgroup_file.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    fs::metadata(dir).ok().map(|m| m.ino())
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_names() {
        let line =
            b"1234 (a) b (c)) S 77 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5000 1000 200";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.comm, b"a) b (c)");
        assert_eq!(s.ppid, 77);
        assert_eq!(s.flags, 4194560);
        assert_eq!(s.start_ticks, 5000);
        assert!(!s.ended);
        assert_eq!(parse_stat(b"garbage"), None);
        let zombie = b"99 (z) Z 1 99 99 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 7000 0 0";
        assert!(parse_stat(zombie).unwrap().ended);
        // its leader gone, three threads still at work
        let running = b"99 (z) Z 1 99 99 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 3 0 7000 0 0";
        assert!(!parse_stat(running).unwrap().ended);
    }

    #[test]
    fn tells_the_pid_namespace_and_live_processes() {
        assert!(
            in_initial_pid_namespace(),
            "tests run in the initial pid namespace"
        );
        // a child in a new pid namespace is not in the initial one
        let out = std::process::Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--mount-proc",
                "stat",
                "-L",
                "-c",
                "%i",
                "/proc/self/ns/pid",
            ])
            .output()
            .expect("unshare");
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        assert!(out.status.success() || !root, "unshare failed as root");
        if out.status.success() {
            let ino: u64 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("inode");
            assert_ne!(ino, INITIAL_PID_NS_INO);
        }
        assert!(exists(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = child.id();
        child.wait().expect("wait");
        assert!(!exists(pid), "a reaped child still exists");
    }

    #[test]
    fn parses_uid() {
        assert_eq!(real_uid("Name:\tx\nUid:\t1000\t1000\t0\t0\n"), Some(1000));
        assert_eq!(real_uid("Name:\tx\n"), None);
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        let entries = scan(Path::new("/proc"));
        let mine = entries
            .iter()
            .find(|e| e.pid == me)
            .expect("own process in /proc");
        assert_eq!(mine.ppid, std::os::unix::process::parent_id());
        assert!(!mine.cmdline.is_empty());
        assert!(mine.start_boot_ns > 0 && mine.start_boot_ns <= crate::clock::boot_ns());
        // kernel threads are left out
        assert!(entries.iter().all(|e| e.pid != 2));
    }
}
