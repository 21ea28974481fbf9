//! Files tracer-tui writes and reads where other users may have left traps:
//! --record through symlinks, onto other users' files and FIFOs, under sudo
//! and onto a full disk; --btf with FIFOs and files that are not BTF; write
//! errors that name their target. Run as root (files are given to other
//! users); they must not skip under CI.

mod common;

use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::Tmux;

const WAIT: Duration = Duration::from_secs(15);

/// Runs the binary without a terminal, killing it after a few seconds (a
/// hang is a failure, not a stuck test); returns its output and how long it ran.
fn run(args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(common::bin())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tracer-tui");
    let deadline = started + Duration::from_secs(5);
    while child.try_wait().expect("wait").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    (out, started.elapsed())
}

/// Status 1, within a second, one line on stderr containing every needle.
fn refused_at_once(args: &[&str], needles: &[&str]) {
    let (out, took) = run(args, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(took < Duration::from_secs(1), "{args:?} took {took:?}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    }
}

/// What must not change about a file someone else cares about.
fn state(path: &Path) -> (Vec<u8>, u32, u32, u32, SystemTime) {
    let meta = fs::symlink_metadata(path).expect("victim");
    let modified = meta.modified().expect("mtime");
    let content = fs::read(path).expect("victim content");
    (content, meta.uid(), meta.gid(), meta.mode(), modified)
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn a_symlinked_directory_and_a_foreign_file_are_refused() {
    if !common::require_bpf("a_symlinked_directory_and_a_foreign_file_are_refused") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let public = dir.path().join("pub");
    let victim = dir.path().join("victim");
    fs::create_dir(&public).expect("pub");
    fs::create_dir(&victim).expect("victim");
    let important = victim.join("important.conf");
    fs::write(&important, "keep me\n").expect("victim file");
    // another user's trap: pub/logs -> victim/
    std::os::unix::fs::symlink(&victim, public.join("logs")).expect("symlink");
    let before = state(&important);
    for args in [
        &["--record", s(&public.join("logs/important.conf"))][..],
        &[
            "--record",
            s(&public.join("logs/important.conf")),
            "--force",
        ],
        &["--record", s(&public.join("logs/new.ndjson")), "--force"],
    ] {
        refused_at_once(args, &["refusing", "symbolic link"]);
    }
    assert_eq!(state(&important), before, "the victim file changed");
    assert!(
        !victim.join("new.ndjson").exists(),
        "created through the link"
    );

    // a file another user made, open to all, waiting to be written to
    let planted = public.join("rec.ndjson");
    fs::write(&planted, "planted\n").expect("planted");
    fs::set_permissions(&planted, fs::Permissions::from_mode(0o666)).expect("chmod");
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).expect("chown");
    let before = state(&planted);
    refused_at_once(&["--record", s(&planted)], &["exists", "--force"]);
    refused_at_once(
        &["--record", s(&planted), "--force"],
        &["refusing", "belongs to uid 65534"],
    );
    assert_eq!(state(&planted), before, "the planted file changed");
}

#[test]
fn fifos_for_btf_and_record_are_refused_at_once() {
    if !common::require_bpf("fifos_for_btf_and_record_are_refused_at_once") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    refused_at_once(
        &["--json", "--btf", s(&fifo)],
        &["FIFO", "not a regular file"],
    );
    for force in [&[][..], &["--force"]] {
        let args: Vec<&str> = ["--record", s(&fifo)]
            .iter()
            .chain(force)
            .copied()
            .collect();
        refused_at_once(&args, &["FIFO", "not a regular file"]);
    }
}

#[test]
fn btf_that_is_not_btf_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("passwd");
    fs::write(&text, "root:x:0:0:root:/root:/bin/sh\n").expect("write");
    // BTF's magic number, then nothing that holds together
    let fake = dir.path().join("fake.btf");
    fs::write(&fake, b"\x9f\xeb\x01\x00garbage that is not a header").expect("write");
    for file in [&text, &fake] {
        let (out, _) = run(&["--json", "--btf", s(file)], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("{} is not a BTF file", file.display())),
            "{stderr}"
        );
        assert!(!stderr.contains("4001"), "{stderr}");
    }
}

#[test]
fn write_errors_name_stdout() {
    let Some(_serial) = common::bpf_test("write_errors_name_stdout") else {
        return;
    };
    // --stream writes its header at once; /dev/full fails every write
    let full = File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = Command::new(common::bin())
        .arg("--stream")
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("run tracer-tui");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "tracer-tui: writing stdout: No space left on device"
    );
}

/// Types `command` into the shell, waits for the dashboard, quits it, and
/// returns the exit status the shell saw and the screen after.
fn dashboard(tmux: &Tmux, command: &str, tag: &str, during: impl FnOnce()) -> (i32, String) {
    tmux.type_line(&format!("{command}; echo {tag}=$?"));
    tmux.wait_until("the dashboard", WAIT, |screen| {
        tmux.alternate_screen() && screen.contains("Finished")
    });
    during();
    tmux.keys(&["q"]);
    let prefix = format!("{tag}=");
    let screen = tmux.wait_until("the shell", WAIT, |screen| {
        screen.lines().any(|l| l.starts_with(&prefix))
    });
    let code = screen
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|c| c.trim().parse().ok())
        .expect("exit status");
    (code, screen)
}

/// Every line parses as a record.
fn replays(path: &Path) -> usize {
    let text = fs::read_to_string(path).expect("recording");
    assert!(text.is_empty() || text.ends_with('\n'), "half a last line");
    for (n, line) in text.lines().enumerate() {
        if let Err(e) = tracer_tui::record::parse_line(line) {
            panic!("line {} of {} does not parse: {e:?}", n + 1, path.display());
        }
    }
    text.lines().count()
}

#[test]
fn under_sudo_the_recording_is_the_users_and_force_reuses_only_own_files() {
    let Some(_serial) = common::bpf_test("under_sudo_the_recording_is_the_users") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let tmux = Tmux::start("files-sudo", 160, 40, "true");

    let new = dir.path().join("new.ndjson");
    let cmd = format!(
        "SUDO_UID=65534 SUDO_GID=65533 {} --record {}",
        common::bin(),
        new.display()
    );
    let (code, screen) = dashboard(&tmux, &cmd, "SUDO-EXIT", || {});
    assert_eq!(code, 0, "{screen}");
    let meta = fs::metadata(&new).expect("recording");
    assert_eq!((meta.uid(), meta.gid()), (65534, 65533));
    assert_eq!(meta.mode() & 0o7777, 0o600);
    assert!(replays(&new) > 0, "nothing recorded");

    // an old file of root's own, readable by all, replaced on request
    let own = dir.path().join("own.ndjson");
    fs::write(&own, "old content, not a record\n").expect("own file");
    fs::set_permissions(&own, fs::Permissions::from_mode(0o644)).expect("chmod");
    let cmd = format!("{} --record {} --force", common::bin(), own.display());
    let (code, screen) = dashboard(&tmux, &cmd, "FORCE-EXIT", || {});
    assert_eq!(code, 0, "{screen}");
    assert_eq!(fs::metadata(&own).expect("own").mode() & 0o7777, 0o600);
    assert!(replays(&own) > 0, "nothing recorded");
}

#[test]
fn a_full_disk_ends_the_recording_on_a_whole_line_and_fails_the_run() {
    let Some(_serial) = common::bpf_test("a_full_disk_ends_the_recording") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let fs_dir = dir.path().join("fs");
    fs::create_dir(&fs_dir).expect("mount point");
    let file = fs_dir.join("rec.ndjson");
    let copy = dir.path().join("copy.ndjson");
    // a 64 KiB disk in a mount namespace of the test's own: the host's
    // mounts never change; the file is copied out before the namespace ends
    let inner = format!(
        "mount -t tmpfs -o size=64k tracer-test {fs} && {bin} --record {file}; \
         code=$?; cp {file} {copy}; exit $code",
        fs = fs_dir.display(),
        bin = common::bin(),
        file = file.display(),
        copy = copy.display()
    );
    let cmd = format!("unshare -m --propagation private sh -c '{inner}'");
    let tmux = Tmux::start("files-full", 200, 40, "true");
    let (code, screen) = dashboard(&tmux, &cmd, "FULL-EXIT", || {
        common::run_storm(3000, 4, 0);
        tmux.wait_for("recording stopped", WAIT);
    });
    assert_ne!(code, 0, "{screen}");
    let message = format!("writing {}: No space left on device", file.display());
    assert!(screen.contains(&message), "{message:?} not in:\n{screen}");
    let lines = replays(&copy);
    assert!(lines > 0, "nothing recorded");
    let size = fs::metadata(&copy).expect("copy").len();
    assert!(size <= 64 * 1024, "{size} bytes on a 64 KiB disk");
}
