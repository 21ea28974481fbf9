//! contrib/tracer-tui.service's privileges, tested on the real binary and
//! kernel: as an unprivileged user holding exactly the unit's capabilities
//! and running the unit's command line (both read from the file, so the test
//! follows it), tracer-tui loads, attaches, traces and serves /metrics; each
//! capability in the set is needed; with none it fails with one line.
//! systemd itself is not involved: setpriv sets the same user, capability
//! sets and no-new-privs that the unit asks systemd for.

mod common;

use common::metrics::{http_get, parse_exposition, sum, Sample};

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/tracer-tui.service");

/// nobody/nogroup: a user with no privilege of its own, as DynamicUser's is.
const USER: &str = "65534";

/// The values of `key=` in the unit's [Service] section, split at spaces.
fn unit_values(key: &str) -> Vec<String> {
    let text = std::fs::read_to_string(UNIT).expect("read the unit");
    let prefix = format!("{key}=");
    let lines: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix(&prefix))
        .collect();
    assert_eq!(lines.len(), 1, "one {key}= line in the unit");
    lines[0].split_whitespace().map(str::to_string).collect()
}

/// ExecStart's arguments, with the port of any address (--metrics') made
/// 0, so the test neither needs the unit's port free nor takes it: the
/// kernel picks one, which tracer-tui prints.
fn exec_start_args() -> Vec<String> {
    let exec = unit_values("ExecStart");
    exec[1..]
        .iter()
        .map(|a| match a.parse::<SocketAddr>() {
            Ok(mut addr) => {
                addr.set_port(0);
                addr.to_string()
            }
            Err(_) => a.clone(),
        })
        .collect()
}

/// The address tracer-tui says it serves metrics at, once it has.
fn serving(run: &Run) -> Option<SocketAddr> {
    run.stderr().lines().find_map(|l| {
        let rest = l.strip_prefix("tracer-tui: serving metrics at http://")?;
        rest.strip_suffix("/metrics")?.parse().ok()
    })
}

/// GET /metrics: its samples, when it answered 200.
fn scrape(addr: SocketAddr) -> Option<Vec<Sample>> {
    let (code, body) = http_get(addr, "/metrics");
    (code == 200).then(|| parse_exposition(&body))
}

/// The unit's capabilities, as setpriv names them (CAP_BPF -> bpf). The
/// bounding and ambient sets must be the same: a capability only bounded
/// is never held, one only ambient is dropped.
fn unit_caps() -> Vec<String> {
    let bounding = unit_values("CapabilityBoundingSet");
    let ambient = unit_values("AmbientCapabilities");
    assert_eq!(bounding, ambient, "the bounding and ambient sets differ");
    bounding
        .iter()
        .map(|c| {
            c.strip_prefix("CAP_")
                .unwrap_or_else(|| panic!("{c} is not a capability name"))
                .to_lowercase()
        })
        .collect()
}

/// setpriv as the unit's user with exactly `caps` (ambient, inheritable and
/// bounding sets) and no-new-privs, as systemd starts the service.
fn setpriv(caps: &[String]) -> Vec<String> {
    let set: String = std::iter::once("-all".to_string())
        .chain(caps.iter().map(|c| format!("+{c}")))
        .collect::<Vec<_>>()
        .join(",");
    [
        "setpriv".to_string(),
        format!("--reuid={USER}"),
        format!("--regid={USER}"),
        "--clear-groups".to_string(),
        "--no-new-privs".to_string(),
        format!("--inh-caps={set}"),
        format!("--ambient-caps={set}"),
        format!("--bounding-set={set}"),
    ]
    .into()
}

/// Mounts tracefs as a systemd host has it (root-only, mode 0700) in a mount
/// namespace of its own, for the command after it; the host's mounts are
/// left alone.
const WITH_TRACEFS: [&str; 7] = [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    "mount -t tracefs tracefs /sys/kernel/tracing && chmod 0700 /sys/kernel/tracing && exec \"$@\"",
];

/// setpriv with `caps`, inside a mount namespace with tracefs as systemd
/// mounts it.
fn wrapped(caps: &[String]) -> Vec<String> {
    WITH_TRACEFS
        .iter()
        .map(|s| s.to_string())
        .chain(["sh".to_string()])
        .chain(setpriv(caps))
        .collect()
}

/// A copy of the binary in a directory anyone can enter: the build's own
/// may sit under a directory the unprivileged user cannot.
struct Installed {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn install() -> Installed {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = dir.path().join("tracer-tui");
    std::fs::copy(common::bin(), &path).expect("copy the binary");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Installed { _dir: dir, path }
}

/// tracer-tui under a wrapper, its stdout and stderr going to files.
struct Run {
    child: Child,
    _dir: tempfile::TempDir,
    out: PathBuf,
    err: PathBuf,
}

impl Run {
    fn start(wrapper: &[String], bin: &Path, args: &[String]) -> Run {
        let dir = tempfile::tempdir().expect("tempdir");
        let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let child = Command::new(&wrapper[0])
            .args(&wrapper[1..])
            .arg(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("spawn tracer-tui");
        Run {
            child,
            _dir: dir,
            out,
            err,
        }
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.out).unwrap_or_default()).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.err).unwrap_or_default()).into_owned()
    }

    /// Waits until `done` holds or the process has exited (its status).
    fn wait_until(&mut self, limit: Duration, done: impl Fn(&Run) -> bool) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status.code().unwrap_or(-1));
            }
            if done(self) || Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, as systemctl stop sends; returns the exit status.
    fn stop(mut self) -> (i32, String) {
        // SAFETY: kill with the pid of our own child and a valid signal.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().expect("wait");
        (status.code().unwrap_or(-1), self.stderr())
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The capability mask of these names, as /proc/PID/status prints it.
fn cap_mask(caps: &[String]) -> String {
    // the numbers of linux/capability.h (libc does not export them)
    let bit = |name: &str| match name {
        "dac_read_search" => 2,
        "sys_admin" => 21,
        "perfmon" => 38,
        "bpf" => 39,
        other => panic!("the test does not know the bit of CAP_{other}; add it"),
    };
    let mask = caps.iter().fold(0u64, |m, c| m | 1 << bit(c));
    format!("{mask:016x}")
}

/// A script under a name no other process has, that exits with 3.
fn marker_script(dir: &Path, tag: &str) -> (PathBuf, String) {
    let name = format!("{tag}{}", std::process::id() % 100_000);
    let path = dir.join(&name);
    let mut f = std::fs::File::create(&path).expect("script");
    f.write_all(b"#!/bin/sh\nexit 3\n").expect("write script");
    drop(f);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (path, name)
}

#[test]
fn the_units_capabilities_and_command_serve_metrics_as_an_unprivileged_user() {
    let Some(_guard) = common::bpf_test(
        "the_units_capabilities_and_command_serve_metrics_as_an_unprivileged_user",
    ) else {
        return;
    };
    let caps = unit_caps();
    let bin = install();
    let mut run = Run::start(&wrapped(&caps), &bin.path, &exec_start_args());
    // it says where it serves once the programs are attached; then an
    // exec is counted within a second
    let ready = run.wait_until(Duration::from_secs(10), |r| serving(r).is_some());
    assert_eq!(ready, None, "tracer-tui exited: {}", run.stderr());
    let addr = serving(&run).unwrap_or_else(|| panic!("no address: {}", run.stderr()));
    let execs = |samples: &[Sample]| sum(samples, "tracer_tui_execs_total", &[]);
    let ready = run.wait_until(Duration::from_secs(10), |_| {
        let _ = Command::new("/bin/true").status();
        scrape(addr).is_some_and(|samples| execs(&samples) > 0.0)
    });
    assert_eq!(ready, None, "tracer-tui exited: {}", run.stderr());
    assert_eq!(run.stdout(), "", "--quiet: nothing on stdout");

    // unshare, sh and setpriv each exec the next: the pid is tracer-tui's
    let pid = run.child.id();
    assert_eq!(
        common::proc_status(pid, "Uid").split_whitespace().next(),
        Some(USER)
    );
    assert_eq!(common::proc_status(pid, "NoNewPrivs"), "1");
    assert_eq!(common::proc_status(pid, "CapEff"), cap_mask(&caps));
    assert_eq!(common::proc_status(pid, "CapBnd"), cap_mask(&caps));

    // a process of the test's own, under a name no other has: its exec
    // gives the series its name, its exit (status 3) the count
    let dir = tempfile::tempdir().expect("tempdir");
    let (script, name) = marker_script(dir.path(), "svc");
    let status = Command::new(&script).status().expect("run the marker");
    assert_eq!(status.code(), Some(3));
    let exits = "tracer_tui_process_exits_total";
    let series = [("comm", name.as_str()), ("outcome", "failure")];
    // the kernel's totals are read once a second
    run.wait_until(Duration::from_secs(10), |_| {
        scrape(addr).is_some_and(|samples| sum(&samples, exits, &series) == 1.0)
    });
    let samples = scrape(addr).expect("a second scrape");
    assert_eq!(sum(&samples, exits, &series), 1.0, "{exits} of {name}");

    let (code, stderr) = run.stop();
    assert_eq!(code, 0, "{stderr}");
    let mut lines = stderr.lines();
    assert_eq!(
        lines.next(),
        Some(format!("tracer-tui: serving metrics at http://{addr}/metrics").as_str()),
        "{stderr}"
    );
    // failed execs are in no metric: --quiet does not trace them, so no
    // capability is missed and nothing more is said
    let rest: Vec<&str> = lines.collect();
    assert!(rest.is_empty(), "{stderr}");
}

/// Leaving any capability out of the set changes what tracer-tui does, and
/// it names the one that is missing: none of them is there for nothing.
#[test]
fn each_of_the_units_capabilities_is_needed() {
    let Some(_guard) = common::bpf_test("each_of_the_units_capabilities_is_needed") else {
        return;
    };
    let caps = unit_caps();
    let bin = install();
    for left_out in &caps {
        let fewer: Vec<String> = caps.iter().filter(|c| *c != left_out).cloned().collect();
        let mut run = Run::start(&wrapped(&fewer), &bin.path, &exec_start_args());
        let named = format!("CAP_{}", left_out.to_uppercase());
        let exited = run
            .wait_until(Duration::from_secs(10), |r| r.stderr().contains(&named))
            // a load error is written just before the exit
            .or_else(|| run.wait_until(Duration::from_secs(1), |_| false));
        let stderr = run.stderr();
        assert!(
            stderr.starts_with("tracer-tui: ") && stderr.contains(&named),
            "without {named}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "without {named}: {stderr}");
        // as the README says: one line and status 1, for the service
        // manager to restart it
        assert_eq!(exited, Some(1), "without {named}: {stderr}");
    }
}

#[test]
fn without_capabilities_it_fails_with_one_line() {
    let Some(_guard) = common::bpf_test("without_capabilities_it_fails_with_one_line") else {
        return;
    };
    let bin = install();
    let mut run = Run::start(&setpriv(&[]), &bin.path, &exec_start_args());
    let code = run.wait_until(Duration::from_secs(10), |_| false);
    let stderr = run.stderr();
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("tracer-tui: "), "{stderr}");
    assert!(stderr.contains("CAP_BPF"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(run.stdout(), "", "nothing on stdout");
}
