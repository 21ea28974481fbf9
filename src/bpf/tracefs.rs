//! Ids of the syscall tracepoints that failed execs are seen at. Only tracefs
//! publishes them. When it is not mounted, a short-lived child process mounts
//! it in a mount namespace of its own and reads them: the host's mounts are
//! never changed, and tracer-tui itself stays in the host's namespace (so a
//! command it may one day start for the user sees the host's mounts too).

use std::ffi::CString;
use std::fs;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};

use anyhow::{anyhow, bail, Context, Result};

/// The tracepoints, in the order the kernel program's handlers are attached.
pub const EXEC_TRACEPOINTS: [&str; 2] = ["sys_exit_execve", "sys_exit_execveat"];

/// Where tracefs is found when something has mounted it.
const MOUNT_POINTS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

fn id_path(root: &str, name: &str) -> String {
    format!("{root}/events/syscalls/{name}/id")
}

fn parse_ids(text: &str) -> Result<[u64; 2]> {
    let mut ids = [0u64; 2];
    let mut lines = text.lines();
    for (id, name) in ids.iter_mut().zip(EXEC_TRACEPOINTS) {
        let line = lines.next().unwrap_or("").trim();
        *id = line
            .parse()
            .map_err(|_| anyhow!("no id for the syscalls/{name} tracepoint"))?;
    }
    Ok(ids)
}

/// The tracepoints' ids, from a mounted tracefs or a private mount of one.
pub fn exec_tracepoint_ids() -> Result<[u64; 2]> {
    let mut denied = None;
    for root in MOUNT_POINTS {
        let text: std::io::Result<String> = EXEC_TRACEPOINTS
            .iter()
            .map(|name| fs::read_to_string(id_path(root, name)))
            .collect();
        match text {
            Ok(text) => return parse_ids(&text),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                denied = denied.or(Some(root));
            }
            Err(_) => {}
        }
    }
    ids_from_private_mount().map_err(|e| match denied {
        Some(root) => unreadable(root),
        None => e,
    })
}

/// A tracefs that is mounted but closed to this user (systemd mounts it
/// root-only, mode 0700) is what to fix, not the private mount tried after:
/// the ids are read with CAP_DAC_READ_SEARCH, far less than the
/// CAP_SYS_ADMIN a private mount needs.
fn unreadable(root: &str) -> anyhow::Error {
    anyhow!(
        "the tracepoint ids in {root} are not readable (that needs root or CAP_DAC_READ_SEARCH)"
    )
}

/// The helper's "error <what>errno <n>" as a sentence. EPERM is the usual
/// case, tracer-tui running with CAP_BPF and CAP_PERFMON alone, so it says
/// what the private mount needs.
fn helper_error(report: &str) -> anyhow::Error {
    let report = report.trim();
    let parsed = report
        .rsplit_once("errno ")
        .and_then(|(what, n)| Some((what, n.parse::<i32>().ok()?)));
    match parsed {
        Some((what, errno)) => {
            let err = crate::write_error::reason(&std::io::Error::from_raw_os_error(errno));
            let hint = if errno == libc::EPERM {
                " (tracefs is not mounted, and mounting it privately needs root or CAP_SYS_ADMIN)"
            } else {
                ""
            };
            anyhow!("mounting tracefs privately failed: {what}{err}{hint}")
        }
        None => anyhow!("mounting tracefs privately failed: {report}"),
    }
}

/// Forks a child that unshares its mount namespace, makes every mount in it
/// private (so nothing propagates back to the host), mounts tracefs, and
/// writes the ids to a pipe. The child runs only system calls on memory
/// prepared before the fork: the parent may have other threads.
fn ids_from_private_mount() -> Result<[u64; 2]> {
    let cstr = |s: &str| CString::new(s).context("a path holds a NUL byte");
    let root = cstr("/")?;
    let fstype = cstr("tracefs")?;
    let target = cstr(MOUNT_POINTS[0])?;
    let paths: Vec<CString> = EXEC_TRACEPOINTS
        .iter()
        .map(|name| cstr(&id_path(MOUNT_POINTS[0], name)))
        .collect::<Result<_>>()?;

    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        bail!("creating a pipe: {}", std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two new descriptors that nothing else owns.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };

    // SAFETY: the child calls only async-signal-safe system calls on memory
    // set up above, then _exit; it never returns into Rust code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        bail!("fork: {}", std::io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: in the child; see above.
        unsafe { child(&root, &fstype, &target, &paths, fds[1]) }
    }
    drop(write_end);
    let mut text = String::new();
    let read = fs::File::from(read_end).read_to_string(&mut text);
    let mut status = 0;
    // SAFETY: pid is our child; status is a valid out-parameter.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    read.context("reading tracepoint ids from the helper process")?;
    if let Some(report) = text.strip_prefix("error ") {
        return Err(helper_error(report));
    }
    parse_ids(&text)
}

/// The helper child. Writes the ids one per line, or "error <errno>".
///
/// # Safety
/// Only to be called in a freshly forked child.
unsafe fn child(
    root: &CString,
    fstype: &CString,
    target: &CString,
    paths: &[CString],
    out: i32,
) -> ! {
    let fail = |what: &[u8]| -> ! {
        let err = *libc::__errno_location();
        let mut msg = [0u8; 64];
        let mut n = 0;
        for &b in b"error ".iter().chain(what) {
            msg[n] = b;
            n += 1;
        }
        // errno as decimal
        let mut digits = [0u8; 12];
        let (mut d, mut e) = (0, err.unsigned_abs());
        loop {
            digits[d] = b'0' + (e % 10) as u8;
            d += 1;
            e /= 10;
            if e == 0 {
                break;
            }
        }
        while d > 0 {
            d -= 1;
            msg[n] = digits[d];
            n += 1;
        }
        libc::write(out, msg.as_ptr().cast(), n);
        libc::_exit(1)
    };
    if libc::unshare(libc::CLONE_NEWNS) != 0 {
        fail(b"unshare: errno ");
    }
    let none = std::ptr::null();
    if libc::mount(
        none,
        root.as_ptr(),
        none,
        libc::MS_REC | libc::MS_PRIVATE,
        std::ptr::null(),
    ) != 0
    {
        fail(b"making mounts private: errno ");
    }
    if libc::mount(
        fstype.as_ptr(),
        target.as_ptr(),
        fstype.as_ptr(),
        0,
        std::ptr::null(),
    ) != 0
    {
        fail(b"mount: errno ");
    }
    let mut buf = [0u8; 32];
    for path in paths {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        let n = if fd >= 0 {
            libc::read(fd, buf.as_mut_ptr().cast(), buf.len())
        } else {
            -1
        };
        if n > 0 {
            libc::write(out, buf.as_ptr().cast(), n as usize);
        } else {
            libc::write(out, b"?\n".as_ptr().cast(), 2);
        }
    }
    libc::_exit(0)
}

/// Opens a perf event on a tracepoint, for a BPF program to be attached to.
pub fn open_tracepoint(id: u64) -> Result<i32> {
    use libbpf_rs::libbpf_sys::{perf_event_attr, PERF_FLAG_FD_CLOEXEC, PERF_TYPE_TRACEPOINT};
    let attr = perf_event_attr {
        type_: PERF_TYPE_TRACEPOINT,
        size: size_of::<perf_event_attr>() as u32,
        config: id,
        ..Default::default()
    };
    // SAFETY: attr is a valid, fully initialised perf_event_attr; pid -1 and
    // cpu 0 is how a tracepoint is opened for a BPF program (it then runs on
    // every CPU).
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const perf_event_attr,
            -1,
            0,
            -1,
            PERF_FLAG_FD_CLOEXEC as libc::c_ulong,
        )
    };
    if fd < 0 {
        bail!(
            "perf_event_open on tracepoint {id}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(fd as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_in_order() {
        assert_eq!(parse_ids("1\n2\n").unwrap(), [1, 2]);
        assert!(parse_ids("1\n?\n")
            .unwrap_err()
            .to_string()
            .contains("sys_exit_execveat"));
    }

    #[test]
    fn says_which_capability_the_ids_need() {
        let eperm = helper_error("unshare: errno 1\n").to_string();
        assert_eq!(
            eperm,
            "mounting tracefs privately failed: unshare: Operation not permitted \
             (tracefs is not mounted, and mounting it privately needs root or CAP_SYS_ADMIN)"
        );
        let other = helper_error("mount: errno 19").to_string();
        assert!(other.ends_with("mount: No such device"), "{other}");
        assert_eq!(
            helper_error("garbled").to_string(),
            "mounting tracefs privately failed: garbled"
        );
        let closed = unreadable(MOUNT_POINTS[0]).to_string();
        assert!(closed.contains("/sys/kernel/tracing"), "{closed}");
        assert!(closed.contains("CAP_DAC_READ_SEARCH"), "{closed}");
    }
}
