#!/usr/bin/env bash
# CPU of the idle dashboard, by thread: runs tracer-tui in a 160x45 tmux pane
# on a quiet machine and prints each thread's CPU per second over SECONDS
# (default 30), from /proc/PID/task/TID/schedstat (nanoseconds), and the
# live count its header shows. Needs root.
#
#   scripts/idle-cpu.sh [-n SLEEPERS] [-b BINARY] [SECONDS]
#
# -n starts SLEEPERS exec'd `sleep 3600` processes first (killed on exit),
# so the dashboard idles with that many live rows; -b runs another build.
set -euo pipefail
cd "$(dirname "$0")/.."
sleepers=0
binary=./target/release/tracer-tui
while getopts "n:b:" opt; do
  case $opt in
    n) sleepers=$OPTARG ;;
    b) binary=$OPTARG ;;
    *) echo "usage: $0 [-n SLEEPERS] [-b BINARY] [SECONDS]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
seconds=${1:-30}
sock=tracer-idle-$$
pids=$(mktemp)
cleanup() {
  tmux -L "$sock" kill-server 2> /dev/null || true
  # only the sleepers this script started, by their recorded pids
  xargs -r kill -KILL < "$pids" 2> /dev/null || true
  rm -f "$pids"
}
trap cleanup EXIT
if ((sleepers > 0)); then
  # posix_spawn (vfork + exec): 10,000 of them start in a few seconds
  python3 - "$sleepers" "$pids" << 'EOF'
import os, sys
n, out = int(sys.argv[1]), sys.argv[2]
with open(out, "w") as f:
    for _ in range(n):
        pid = os.posix_spawn("/bin/sleep", ["sleep", "3600"], os.environ,
                             file_actions=[(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)])
        f.write(f"{pid}\n")
EOF
  echo "started $(wc -l < "$pids") sleepers"
fi
tmux -L "$sock" -f /dev/null new-session -d -x 160 -y 45 "$binary"
sleep 3
pid=$(tmux -L "$sock" display -p '#{pane_pid}')
declare -A before
for task in /proc/"$pid"/task/*; do
  before[${task##*/}]=$(cut -d' ' -f1 "$task/schedstat")
done
sleep "$seconds"
total=0
for task in /proc/"$pid"/task/*; do
  tid=${task##*/}
  used=$(( ($(cut -d' ' -f1 "$task/schedstat") - ${before[$tid]:-0}) / seconds / 1000 ))
  total=$((total + used))
  printf '%-16s %6d us of CPU per second\n' "$(cat "$task/comm")" "$used"
done
printf '%-16s %6d us of CPU per second; RSS %s\n' total "$total" "$(grep VmRSS /proc/"$pid"/status | awk '{print $2, $3}')"
live=$(tmux -L "$sock" capture-pane -p | grep -o 'live [0-9]*' | head -1 || true)
printf 'header: %s\n' "${live:-no live count on screen}"
