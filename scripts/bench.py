#!/usr/bin/env python3
"""Exec-storm benchmark: throughput and CPU with and without tracer-tui.

Runs the project's exec storm (benches/storm) alternately with no tracer,
with `tracer-tui --json > /dev/null`, and with the dashboard in tmux, and
prints, in one run: execs/s and the traced/untraced ratio (median, min, max
of the rounds), the storm's CPU per exec, the tracer's CPU per event, peak
RSS, and whether every exec and exit was seen. BPF time per program run and
per exec+exit pair comes from separate storms with kernel.bpf_stats_enabled
on (the stats themselves slow every run, so throughput is measured with them
off); the setting is restored afterwards.

Needs root. Prints figures; asserts nothing. `make bench` runs it.
"""
import argparse
import ctypes
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "target", "bench")
# TRACER_TUI_BIN runs another build (an older one, to compare)
TRACER = os.environ.get("TRACER_TUI_BIN") or os.path.join(ROOT, "target", "release", "tracer-tui")
STORM = os.path.join(OUT, "exec-storm")
CHILD = os.path.join(OUT, "storm-child")


def build():
    os.makedirs(OUT, exist_ok=True)
    subprocess.run(["cc", "-O2", "-static", "-nostdlib", "-fno-stack-protector", "-o", CHILD,
                    os.path.join(ROOT, "benches/storm/child.c")], check=True)
    subprocess.run(["cc", "-O2", "-Wall", "-pthread", "-o", STORM,
                    os.path.join(ROOT, "benches/storm/storm.c")], check=True)
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)


def storm(n, k, pidfile=None, argv_bytes=0):
    cmd = [STORM, "-n", str(n), "-k", str(k), "-a", str(argv_bytes)]
    if pidfile:
        cmd += ["-p", pidfile]
    out = subprocess.run(cmd + [CHILD], check=True, capture_output=True, text=True).stdout
    return {k: float(v) for k, v in (kv.split("=") for kv in out.split())}


def cpu_seconds(pid):
    """CPU time of all the process's threads, in nanoseconds' precision
    (/proc/PID/task/TID/schedstat), not clock ticks."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9


def status_kb(pid, key):
    """A kB figure from /proc/PID/status, such as VmRSS or VmHWM (peak)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


LIBC = ctypes.CDLL(None, use_errno=True)
SYS_BPF = 321  # x86-64
BPF_PROG_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD = 13, 15


def prog_name(prog_id):
    """A BPF program's name (15 characters at most), asked of the kernel
    by its id: fdinfo has no name, and fd order changes as programs are added."""
    attr = (ctypes.c_uint8 * 128)()
    ctypes.c_uint32.from_buffer(attr, 0).value = prog_id
    fd = LIBC.syscall(SYS_BPF, BPF_PROG_GET_FD_BY_ID, attr, 128)
    if fd < 0:
        return f"prog{prog_id}"
    try:
        info = (ctypes.c_uint8 * 256)()
        attr = (ctypes.c_uint8 * 128)()
        ctypes.c_uint32.from_buffer(attr, 0).value = fd
        ctypes.c_uint32.from_buffer(attr, 4).value = 256
        ctypes.c_uint64.from_buffer(attr, 8).value = ctypes.addressof(info)
        if LIBC.syscall(SYS_BPF, BPF_OBJ_GET_INFO_BY_FD, attr, 128) < 0:
            return f"prog{prog_id}"
        # struct bpf_prog_info: name[16] at offset 64
        return bytes(info[64:80]).split(b"\0", 1)[0].decode()
    finally:
        os.close(fd)


def bpf_stats(pid):
    """{program name: (run_time_ns, run_cnt)} for the BPF programs the process holds."""
    stats = {}
    fd_dir = f"/proc/{pid}/fdinfo"
    for fd in sorted(os.listdir(fd_dir), key=int):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                info = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if "prog_type" in info and "run_time_ns" in info:
            stats[prog_name(int(info["prog_id"]))] = (int(info["run_time_ns"]), int(info["run_cnt"]))
    return stats


# the programs that run once per process in a storm; the failed-exec hooks
# run at every exec too, and are counted per exec
PER_PROCESS = ("handle_fork", "handle_exec", "handle_exit")


def bpf_per_process(samples):
    """Median ns per run of each per-process program, of the failed-exec
    hooks per exec, and their total per process (fork+exec+exit), in ns."""
    out = {}
    for name in PER_PROCESS:
        runs = [s[name][0] / max(s[name][1], 1) for s in samples if name in s]
        out[name] = statistics.median(runs) if runs else 0.0
    hooks = [sum(v[0] for k, v in s.items() if k not in PER_PROCESS) / max(s["handle_exec"][1], 1)
             for s in samples if "handle_exec" in s]
    out["hooks"] = statistics.median(hooks) if hooks else 0.0
    totals = [sum(s[name][0] / max(s[name][1], 1) for name in PER_PROCESS if name in s)
              + sum(v[0] for k, v in s.items() if k not in PER_PROCESS) / max(s["handle_exec"][1], 1)
              for s in samples if "handle_exec" in s]
    out["total"] = statistics.median(totals) if totals else 0.0
    return out


def bpf_line(label, c):
    return (f"{label:<10} BPF ns per run: fork {c['handle_fork']:.0f}, exec {c['handle_exec']:.0f}, "
            f"exit {c['handle_exit']:.0f}, failed-exec hooks {c['hooks']:.0f} per exec; "
            f"total {c['total'] / 1000:.2f} us per process (fork+exec+exit)")


class Tracer:
    """tracer-tui running in one of the modes, for one storm."""

    def __init__(self, mode, output=None, args=(), binary=None):
        self.mode = mode
        tracer = binary or TRACER
        self.session = f"tracer-bench-{os.getpid()}"
        self.scraper = None
        if mode == "json":
            sink = open(output or os.devnull, "w")
            self.proc = subprocess.Popen([tracer, "--json", *args], stdout=sink)
            sink.close()
            self.pid = self.proc.pid
        elif mode == "metrics":
            # --quiet with a scrape every 200 ms (a real Prometheus scrapes
            # every 15 s or so): what scraping costs the event path
            self.proc = subprocess.Popen([tracer, "--metrics", "127.0.0.1:0", "--quiet", *args],
                                         stderr=subprocess.PIPE, text=True)
            self.pid = self.proc.pid
            line = self.proc.stderr.readline()
            self.addr = line.split("http://", 1)[1].split("/", 1)[0]
            self.scraping = True
            self.scraper = threading.Thread(target=self._scrape_loop, daemon=True)
            self.scraper.start()
        else:
            cmd = [tracer, *args] + (["--record", output] if output else [])
            subprocess.run(["tmux", "-L", self.session, "-f", "/dev/null", "new-session", "-d",
                            "-x", "160", "-y", "45"] + cmd, check=True)
            self.pid = int(subprocess.run(["tmux", "-L", self.session, "display", "-p", "#{pane_pid}"],
                                          capture_output=True, text=True).stdout)
        # loaded and attached when the exit program shows up, then let it settle
        deadline = time.time() + 10
        while "handle_exit" not in bpf_stats(self.pid) and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)

    def scrape(self):
        """The exposition, as text."""
        with urllib.request.urlopen(f"http://{self.addr}/metrics", timeout=10) as r:
            return r.read().decode()

    def _scrape_loop(self):
        while self.scraping:
            self.scrape()
            time.sleep(0.2)

    def sample(self, prefix):
        """The sum of the samples whose line starts with `prefix`."""
        return sum(float(line.rsplit(" ", 1)[1]) for line in self.scrape().splitlines()
                   if line.startswith(prefix))

    def screen(self):
        """The dashboard's screen as text."""
        return subprocess.run(["tmux", "-L", self.session, "capture-pane", "-p"],
                              capture_output=True, text=True).stdout

    def stop(self):
        if self.scraper:
            self.scraping = False
            self.scraper.join()
        if self.mode in ("json", "metrics"):
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait()
        else:
            subprocess.run(["tmux", "-L", self.session, "send-keys", "q"])
            deadline = time.time() + 10
            while os.path.exists(f"/proc/{self.pid}") and time.time() < deadline:
                time.sleep(0.05)
            subprocess.run(["tmux", "-L", self.session, "kill-server"], capture_output=True)


def measured_round(mode, n, k, argv_bytes=0, binary=None):
    if mode == "none":
        return storm(n, k, argv_bytes=argv_bytes)
    tracer = Tracer(mode, binary=binary)
    cpu0, bpf0 = cpu_seconds(tracer.pid), bpf_stats(tracer.pid)
    result = storm(n, k, argv_bytes=argv_bytes)
    # the reader drains on a timer: give it the time to take the tail in
    time.sleep(0.3)
    cpu1, bpf1 = cpu_seconds(tracer.pid), bpf_stats(tracer.pid)
    result["tracer_cpu_s"] = cpu1 - cpu0
    result["bpf"] = {name: (b[0] - bpf0.get(name, (0, 0))[0], b[1] - bpf0.get(name, (0, 0))[1])
                     for name, b in bpf1.items()}
    result["rss_kb"] = status_kb(tracer.pid, "VmHWM")
    tracer.stop()
    return result


def seen_by_metrics(n, k):
    """Storm once with the exporter; the storm's exits and the losses it counted."""
    with tempfile.TemporaryDirectory() as d:
        pidfile = os.path.join(d, "pids")
        tracer = Tracer("metrics")
        exits = 'tracer_tui_process_exits_total{comm="storm-child"'
        before = tracer.sample(exits)
        execs0 = tracer.sample("tracer_tui_execs_total")
        storm(n, k, pidfile)
        # the kernel's totals are read once a second
        time.sleep(2.5)
        exits_seen = tracer.sample(exits) - before
        execs_seen = tracer.sample("tracer_tui_execs_total") - execs0
        drops = tracer.sample("tracer_tui_events_lost_total")
        tracer.stop()
        spawned = sum(1 for _ in open(pidfile))
        # every exec on the host counts: the storm's are at least its own
        return spawned, min(int(execs_seen), spawned), int(exits_seen), int(drops)


def seen(mode, n, k):
    """Storm once with the tracer writing its events to a file; count them."""
    if mode == "metrics":
        return seen_by_metrics(n, k)
    with tempfile.TemporaryDirectory() as d:
        pidfile, events = os.path.join(d, "pids"), os.path.join(d, "events")
        tracer = Tracer(mode, events)
        storm(n, k, pidfile)
        time.sleep(1.5)
        tracer.stop()
        pids = set(int(p) for p in open(pidfile))
        execs, exits, lost = set(), set(), {}
        for line in open(events):
            e = json.loads(line)
            if e["event"] == "lost":
                lost = e
            elif e.get("pid") in pids and e["event"] in ("exec", "exit"):
                (execs if e["event"] == "exec" else exits).add(e["pid"])
        drops = sum(lost.get(key, 0)
                    for key in ("exec_ringbuf", "exit_ringbuf", "pid_map_full", "fork_ringbuf"))
        return len(pids), len(execs), len(exits), drops


def median_min_max(values):
    return statistics.median(values), min(values), max(values)


def bpf_compare(args, other):
    """BPF cost per process of this build and `other`, storms alternated
    (A, B, B, A, ...), with kernel.bpf_stats_enabled on."""
    samples = {"this": [], "other": []}
    for r in range(args.rounds):
        order = [("this", None), ("other", other)]
        for label, binary in order if r % 2 == 0 else order[::-1]:
            samples[label].append(measured_round("json", args.n, args.k, binary=binary)["bpf"])
        this, that = bpf_per_process(samples["this"][-1:]), bpf_per_process(samples["other"][-1:])
        print(f"round {r + 1}/{args.rounds}: this {this['total'] / 1000:.2f} us, "
              f"other {that['total'] / 1000:.2f} us per process", flush=True)
    print(f"\nBPF cost per process, {args.n} processes x {args.rounds} rounds per build, "
          f"{args.k} workers, builds alternated (medians)")
    print(bpf_line("this", bpf_per_process(samples["this"])))
    print(bpf_line("other", bpf_per_process(samples["other"])))
    print(f"{'':<10} other = {other}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("-n", type=int, default=20000, help="processes per storm")
    parser.add_argument("-k", type=int, default=2, help="storm workers")
    parser.add_argument("--modes", default="json,dashboard",
                        help="tracer modes to alternate with no tracer: json, dashboard, metrics "
                             "(--metrics --quiet, scraped every 200 ms)")
    parser.add_argument("--argv-bytes", type=int, default=256,
                        help="an extra argument of this many bytes for each child, for the BPF-cost storms")
    parser.add_argument("--compare", metavar="BIN",
                        help="only the BPF cost per process: this build and BIN (another "
                             "tracer-tui build) alternated, --rounds storms each, --json mode")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (it loads BPF and enables kernel.bpf_stats_enabled)")
    build()
    stats_file = "/proc/sys/kernel/bpf_stats_enabled"
    old = open(stats_file).read().strip()
    if args.compare:
        try:
            with open(stats_file, "w") as f:
                f.write("1")
            bpf_compare(args, args.compare)
        finally:
            with open(stats_file, "w") as f:
                f.write(old)
        return
    modes = ["none"] + args.modes.split(",")
    results = {m: [] for m in modes}
    costs = {m: [] for m in modes[1:]}
    long_costs = {m: [] for m in modes[1:]}
    try:
        with open(stats_file, "w") as f:
            f.write("0")
        for r in range(args.rounds):
            order = modes[r % len(modes):] + modes[:r % len(modes)]
            for mode in order:
                results[mode].append(measured_round(mode, args.n, args.k))
            print(f"round {r + 1}/{args.rounds}: " + "  ".join(
                f"{m} {results[m][-1]['execs_per_s']:.0f}/s" for m in modes), flush=True)
        with open(stats_file, "w") as f:
            f.write("1")
        for mode in modes[1:]:
            for _ in range(3):
                costs[mode].append(measured_round(mode, args.n, args.k)["bpf"])
                long_costs[mode].append(measured_round(mode, args.n, args.k, args.argv_bytes)["bpf"])
    finally:
        with open(stats_file, "w") as f:
            f.write(old)

    base = results["none"]
    base_cpu = statistics.median(x["cpu_us_per_exec"] for x in base)
    print(f"\nexec storm: {args.n} processes x {args.rounds} rounds, {args.k} workers, "
          f"modes alternated; kernel.bpf_stats_enabled restored to {old}")
    med, lo, hi = median_min_max([x["execs_per_s"] for x in base])
    print(f"{'untraced':<10} execs/s median {med:8.0f} (min {lo:.0f}, max {hi:.0f}); "
          f"storm CPU {base_cpu:.1f} us/exec")
    for mode in modes[1:]:
        rs = results[mode]
        ratios = [x["execs_per_s"] / b["execs_per_s"] for x, b in zip(rs, base)]
        med, lo, hi = median_min_max([x["execs_per_s"] for x in rs])
        rmed, rlo, rhi = median_min_max(ratios)
        storm_cpu = statistics.median(x["cpu_us_per_exec"] for x in rs)
        tracer_us_per_proc = statistics.median(x["tracer_cpu_s"] * 1e6 / x["spawned"] for x in rs)
        # events per process: its fork, exec and exit
        tracer_us_per_event = tracer_us_per_proc / 3
        short, long = bpf_per_process(costs[mode]), bpf_per_process(long_costs[mode])
        pair_us = short["total"] / 1000
        added = storm_cpu - base_cpu + tracer_us_per_proc
        rss = max(x["rss_kb"] for x in rs)
        print(f"{mode:<10} execs/s median {med:8.0f} (min {lo:.0f}, max {hi:.0f}); "
              f"ratio traced/untraced median {rmed:.3f} (min {rlo:.3f}, max {rhi:.3f})")
        print(bpf_line("", short) + " (argv of 16 bytes)")
        print(bpf_line("", long) + f" (with {args.argv_bytes} more bytes of argv)")
        print(f"{'':<10} storm CPU {storm_cpu:.1f} us/exec ({storm_cpu - base_cpu:+.1f}); "
              f"tracer {tracer_us_per_proc:.2f} us/process, {tracer_us_per_event:.2f} us/event; "
              f"added CPU per traced process {added:.1f} us; peak RSS {rss / 1024:.1f} MiB")
        # the storm's CPU varies from round to round by more than the BPF
        # time it absorbs; this sum of the two measured costs is steadier
        print(f"{'':<10} BPF per process + tracer per process: {pair_us + tracer_us_per_proc:.1f} us")
        spawned, execs, exits, drops = seen(mode, args.n, args.k)
        print(f"{'':<10} seen: {execs}/{spawned} execs, {exits}/{spawned} exits, "
              f"kernel drops {drops}")


if __name__ == "__main__":
    main()
