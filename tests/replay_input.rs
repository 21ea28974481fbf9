//! `--replay` on hostile and live inputs: garbage and endless files are
//! refused at once with bounded memory, a big file loads with memory bounded
//! by the dashboard's caps and stays interruptible, a cut file replays up to
//! its last whole line, and pipes and FIFOs are followed, with `q` and
//! signals working while they wait.

mod common;

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Tmux;

const WAIT: Duration = Duration::from_secs(15);
/// Peak RSS of a replay refused at its first line: the binary, its libraries
/// and a read buffer (measured: 4 MiB, 8 MiB with a 4 MiB line).
const REFUSED_PEAK_KIB: u64 = 24 << 10;
/// Peak RSS of a two-million-line replay with --max-finished 10000: the
/// rows kept, a line, and at most 4,000 events in flight (measured: see
/// the test: about 13 MiB). The whole file parsed into memory takes over 1 GiB.
const LOADED_PEAK_KIB: u64 = 64 << 10;

/// One exit line, as `--json` writes it, of a process that ended at `t`.
fn exit_line(pid: u32, t: &str, marker: &str) -> String {
    format!(
        "{{\"event\":\"exit\",\"time\":\"{t}\",\"pid\":{pid},\"ppid\":1,\"uid\":0,\"comm\":\"w\",\"filename\":\"/w\",\"argv\":[\"{marker}\"],\"duration_ns\":1000,\"exit_code\":0}}\n"
    )
}

/// Runs a replay without a terminal, as a user would see a refusal:
/// (exit status, stderr, elapsed, peak RSS in KiB from wait4).
fn refused(
    args: &[&str],
    stdin: Stdio,
    feed: Option<Box<dyn FnOnce(std::process::ChildStdin) + Send>>,
) -> (i32, String, Duration, u64) {
    let started = Instant::now();
    // reaped below with wait4, which gives its peak RSS too
    #[allow(clippy::zombie_processes)]
    let mut child = Command::new(common::bin())
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tracer-tui");
    if let (Some(feed), Some(stdin)) = (feed, child.stdin.take()) {
        std::thread::spawn(move || feed(stdin));
    }
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; the pid is our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, writing into the locals above.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    let elapsed = started.elapsed();
    let code = std::process::ExitStatus::from_raw(status)
        .code()
        .unwrap_or(-1);
    (
        code,
        reader.join().expect("stderr"),
        elapsed,
        usage.ru_maxrss as u64,
    )
}

fn assert_refused_quickly(what: &str, run: (i32, String, Duration, u64), reason: &str) {
    let (code, stderr, elapsed, peak_kib) = run;
    eprintln!("{what}: refused in {elapsed:?}, peak RSS {peak_kib} KiB");
    assert_eq!(code, 1, "{what}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{what}: one line: {stderr}");
    assert!(stderr.contains(reason), "{what}: {stderr}");
    assert!(elapsed < Duration::from_secs(1), "{what}: took {elapsed:?}");
    assert!(
        peak_kib < REFUSED_PEAK_KIB,
        "{what}: peak RSS {peak_kib} KiB, bound {REFUSED_PEAK_KIB} KiB"
    );
}

/// A sparse file of `len` bytes beginning with `head`: big to the reader,
/// nothing on the disk.
fn sparse(dir: &Path, name: &str, head: &[u8], len: u64) -> String {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(head).expect("write");
    f.set_len(len).expect("set_len");
    path.to_str().expect("utf-8 path").to_string()
}

#[test]
fn garbage_and_endless_inputs_are_refused_at_once_with_bounded_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gib = 1 << 30;
    assert_refused_quickly(
        "/dev/zero",
        refused(&["--replay", "/dev/zero"], Stdio::null(), None),
        "/dev/zero:1: not a tracer-tui record: a control byte (0x00)",
    );
    let garbage = sparse(dir.path(), "garbage", b"GET / HTTP/1.1\r\n", gib);
    assert_refused_quickly(
        "1 GiB of garbage",
        refused(&["--replay", &garbage], Stdio::null(), None),
        "garbage:1: not a tracer-tui record: a record is a JSON object, starting with '{'",
    );
    // an object that never ends: refused at its first raw control byte
    let endless = sparse(dir.path(), "endless", b"{\"event\":\"exec\",", gib);
    assert_refused_quickly(
        "1 GiB in one line",
        refused(&["--replay", &endless], Stdio::null(), None),
        "endless:1: not a tracer-tui record: a control byte (0x00)",
    );
    // and one of spaces: refused at the line limit
    let spaces = dir.path().join("spaces");
    let mut f = std::fs::File::create(&spaces).expect("create");
    f.write_all(b"{").expect("write");
    f.write_all(&vec![b' '; 5 << 20]).expect("write");
    drop(f);
    assert_refused_quickly(
        "a 5 MiB line",
        refused(
            &["--replay", spaces.to_str().expect("utf-8")],
            Stdio::null(),
            None,
        ),
        "spaces:1: not a tracer-tui record: longer than 4 MiB",
    );
    // a gigabyte of garbage through a pipe, as --replay - reads it
    let feed: Box<dyn FnOnce(std::process::ChildStdin) + Send> = Box::new(|mut stdin| {
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..1024 {
            if stdin.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    assert_refused_quickly(
        "1 GiB of garbage on stdin",
        refused(&["--replay", "-"], Stdio::piped(), Some(feed)),
        "stdin:1: not a tracer-tui record",
    );
}

/// A shell command that writes its pid to `pidfile`, then execs `args`.
fn exec_with_pid(pidfile: &Path, args: &str) -> String {
    format!(
        "sh -c 'echo $$ > {}; exec {} {args}'; echo TRACER-EXIT=$?",
        pidfile.display(),
        common::bin()
    )
}

/// The pid `exec_with_pid` wrote.
fn pane_pid(pidfile: &Path) -> u32 {
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(pidfile).unwrap_or_default();
        if let Ok(pid) = text.trim().parse() {
            return pid;
        }
        assert!(started.elapsed() < WAIT, "no pid in {}", pidfile.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn alive(pid: u32) -> bool {
    // a zombie has no memory map left: it has ended
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| s.contains("VmHWM:"))
}

/// Waits for `pid` to end; how long it took.
fn ended_within(pid: u32, limit: Duration) -> Duration {
    let started = Instant::now();
    while alive(pid) {
        assert!(started.elapsed() < limit, "still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    started.elapsed()
}

/// (finished, evicted) from the header: `finished N (M evicted, cap C)`.
fn counts(screen: &str) -> Option<(u64, u64)> {
    let at = screen.find("finished ")? + "finished ".len();
    let mut words = screen[at..].split_whitespace();
    let finished = words.next()?.parse().ok()?;
    let evicted = words
        .next()
        .and_then(|w| w.strip_prefix('('))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Some((finished, evicted))
}

#[test]
fn two_million_exits_load_with_bounded_memory_and_stay_interruptible() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.ndjson");
    let marker = format!("big{}", std::process::id());
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        // every exit at one timestamp: one huge batch for the dashboard
        for i in 0..2_000_000u32 {
            f.write_all(exit_line(1000 + i, "2023-11-14T22:13:20Z", &marker).as_bytes())
                .expect("write");
        }
        f.flush().expect("flush");
    }
    let cmd = |pidfile: &Path| {
        exec_with_pid(
            pidfile,
            &format!("--replay {} --max-finished 10000", path.display()),
        )
    };

    // SIGINT while loading ends it at once
    let pidfile = dir.path().join("pid-int");
    let tmux = Tmux::start("replay-big-int", 120, 30, &cmd(&pidfile));
    let pid = pane_pid(&pidfile);
    tmux.wait_for("replay loading", WAIT);
    // SAFETY: a signal to the replay this test started
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
    let took = ended_within(pid, Duration::from_secs(1));
    eprintln!("SIGINT while loading: ended in {took:?}");
    tmux.wait_for("TRACER-EXIT=0", WAIT);
    drop(tmux);

    // loading shows progress; playing the huge batch keeps frames coming;
    // q ends it at once; memory stays within the caps
    let pidfile = dir.path().join("pid-q");
    let tmux = Tmux::start("replay-big", 120, 30, &cmd(&pidfile));
    let pid = pane_pid(&pidfile);
    tmux.wait_until("loading progress", WAIT, |s| {
        s.lines()
            .next()
            .is_some_and(|top| top.contains("replay loading ") && !top.contains("loading 0%"))
    });
    let loading_peak = peak_rss_kib(pid);
    // frames keep coming while the batch is taken in: the header's counts
    // change from one frame to the next before the end
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while seen.len() < 3 {
        let screen = tmux.screen();
        assert!(
            !screen.contains("replay finished"),
            "the batch was not seen in parts ({seen:?}):\n{screen}"
        );
        assert!(
            Instant::now() < deadline,
            "no progress ({seen:?}):\n{screen}"
        );
        if let Some(counts) = counts(&screen).filter(|c| c.0 > 0) {
            seen.insert(counts);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    tmux.keys(&["q"]);
    let took = ended_within(pid, Duration::from_secs(1));
    eprintln!(
        "loading peak RSS {loading_peak} KiB; q during the huge batch ended it in {:?}",
        started.elapsed()
    );
    assert!(took < Duration::from_millis(250), "q took {took:?}");
    tmux.wait_for("TRACER-EXIT=0", WAIT);
    drop(tmux);

    // to the end, for the peak over the whole file
    let pidfile = dir.path().join("pid-end");
    let tmux = Tmux::start("replay-big-end", 120, 30, &cmd(&pidfile));
    let pid = pane_pid(&pidfile);
    let screen = tmux.wait_for("replay finished", Duration::from_secs(60));
    assert!(screen.contains("1990000 evicted, cap 10000"), "{screen}");
    let peak = peak_rss_kib(pid);
    eprintln!("two million exits replayed: peak RSS {peak} KiB");
    assert!(
        peak > 0 && peak < LOADED_PEAK_KIB,
        "peak RSS {peak} KiB, bound {LOADED_PEAK_KIB} KiB"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
}

#[test]
fn a_file_cut_mid_line_replays_up_to_its_last_whole_line_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = format!("cut{}", std::process::id());
    let path = dir.path().join("cut.ndjson");
    let third = exit_line(303, "2023-11-14T22:13:22Z", &format!("{marker}-third"));
    let text = exit_line(301, "2023-11-14T22:13:20Z", &format!("{marker}-first"))
        + &exit_line(302, "2023-11-14T22:13:21Z", &format!("{marker}-second"))
        + &third[..third.len() / 2];
    std::fs::write(&path, text).expect("write");
    let cmd = format!(
        "{} --replay {} --speed 100; echo TRACER-EXIT=$?",
        common::bin(),
        path.display()
    );
    let tmux = Tmux::start("replay-cut", 160, 30, &cmd);
    let screen = tmux.wait_for("replay finished", WAIT);
    assert!(screen.contains(&format!("{marker}-first")), "{screen}");
    assert!(screen.contains(&format!("{marker}-second")), "{screen}");
    assert!(!screen.contains(&format!("{marker}-third")), "{screen}");
    assert!(
        screen.contains("cut.ndjson:3: the last line is cut short"),
        "the warning:\n{screen}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
}

#[test]
fn stdin_from_a_pipe_is_followed_as_lines_arrive_and_q_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = format!("pipe{}", std::process::id());
    let source = dir.path().join("live.ndjson");
    std::fs::write(&source, "").expect("create");
    // tail -f keeps the pipe's writer open however long the test waits
    let cmd = format!(
        "tail -f {} | {} --replay -; echo TRACER-EXIT=${{PIPESTATUS[1]}}",
        source.display(),
        common::bin()
    );
    let tmux = Tmux::start("replay-pipe", 160, 30, &cmd);
    tmux.wait_for("following, no lines yet", WAIT);
    let append = |line: String| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&source)
            .expect("open");
        f.write_all(line.as_bytes()).expect("append");
    };
    append(exit_line(
        401,
        "2023-11-14T22:13:20Z",
        &format!("{marker}-one"),
    ));
    let screen = tmux.wait_for(&format!("{marker}-one"), WAIT);
    assert!(screen.contains("following 22:13:2"), "{screen}");
    append(exit_line(
        402,
        "2023-11-14T22:13:25Z",
        &format!("{marker}-two"),
    ));
    let screen = tmux.wait_for(&format!("{marker}-two"), WAIT);
    assert!(!screen.contains("replay finished"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
    assert!(!tmux.alternate_screen(), "the terminal was restored");
}

#[test]
fn a_fifo_without_a_writer_waits_and_q_and_sigterm_end_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let pidfile = dir.path().join("pid");
    let cmd = exec_with_pid(&pidfile, &format!("--replay {}", fifo.display()));

    let tmux = Tmux::start("replay-fifo-q", 160, 30, &cmd);
    tmux.wait_for("following, no lines yet", WAIT);
    let started = Instant::now();
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
    eprintln!("q with no writer: {:?}", started.elapsed());
    drop(tmux);

    let _ = std::fs::remove_file(&pidfile);
    let tmux = Tmux::start("replay-fifo-term", 160, 30, &cmd);
    let pid = pane_pid(&pidfile);
    tmux.wait_for("following, no lines yet", WAIT);
    // SAFETY: a signal to the replay this test started
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
    let took = ended_within(pid, Duration::from_secs(1));
    eprintln!("SIGTERM with no writer: ended in {took:?}");
    tmux.wait_for("TRACER-EXIT=0", WAIT);
    assert!(!tmux.alternate_screen(), "the terminal was restored");
    drop(tmux);

    // and with a writer: followed, then ended when the writer closes
    let marker = format!("fifo{}", std::process::id());
    let tmux = Tmux::start("replay-fifo-write", 160, 30, &cmd);
    tmux.wait_for("following, no lines yet", WAIT);
    let mut writer = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open the FIFO");
    writer
        .write_all(exit_line(501, "2023-11-14T22:13:20Z", &marker).as_bytes())
        .expect("write");
    tmux.wait_for(&marker, WAIT);
    drop(writer);
    tmux.wait_for("stream ended 22:13:20", WAIT);
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
}
