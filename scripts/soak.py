#!/usr/bin/env python3
"""Soak: a max-rate exec storm for a while under the dashboard; memory must
stay flat and nothing may be lost.

The dashboard runs in tmux with a finished list capped at 50,000 rows, so the
cap is reached within seconds; then its resident memory is sampled every
second. It passes when the largest RSS of the last third is within 10 % (plus
4 MiB) of the largest of the middle third, the header shows no kernel drops,
and the live table holds only the few processes really alive (short-lived
ones leave no record behind). Prints `soak: ok` or what failed, and exits 1.

    python3 scripts/soak.py --seconds 600     # the ten-minute run
"""
import argparse
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--no-build", action="store_true", help="use the binaries already built")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("soak: needs root")
    if args.no_build:
        os.makedirs(bench.OUT, exist_ok=True)
        if not os.path.exists(bench.STORM):
            bench.build()
    else:
        bench.build()

    tracer = bench.Tracer("dashboard", args=["--max-finished", "50000"])
    samples, processes = [], [0]
    stop = threading.Event()

    def storms():
        while not stop.is_set():
            processes[0] += int(bench.storm(5000, 2)["spawned"])

    worker = threading.Thread(target=storms)
    started = time.time()
    worker.start()
    try:
        while time.time() - started < args.seconds:
            time.sleep(1)
            samples.append(bench.status_kb(tracer.pid, "VmRSS"))
    finally:
        stop.set()
        worker.join()
    time.sleep(2)
    screen = tracer.screen()
    tracer.stop()

    third = max(1, len(samples) // 3)
    middle, last = max(samples[third:2 * third] or samples), max(samples[-third:])
    header = "\n".join(screen.splitlines()[:3])
    drops = re.search(r"drops (\S+)", header)
    live = re.search(r"live (\d+)", header)
    print(f"soak: {processes[0]} processes in {args.seconds} s "
          f"({processes[0] / args.seconds:.0f}/s); RSS MiB by second: "
          + " ".join(f"{s / 1024:.0f}" for s in samples))
    print(f"soak: RSS max of the middle third {middle / 1024:.1f} MiB, of the last third {last / 1024:.1f} MiB")
    print(f"soak: header at the end:\n{header}")
    failures = []
    if last > middle * 1.10 + 4096:
        failures.append(f"RSS grew: {middle} kB -> {last} kB")
    if not drops or drops.group(1) != "0":
        failures.append(f"kernel drops shown: {drops.group(1) if drops else 'none found'}")
    if not live or int(live.group(1)) > 500:
        failures.append(f"live table holds {live.group(1) if live else '?'} rows after the storm")
    for f in failures:
        print(f"soak: FAILED: {f}")
    if failures:
        sys.exit(1)
    print("soak: ok")


if __name__ == "__main__":
    main()
