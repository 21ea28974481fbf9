#!/usr/bin/env bash
# CPU of the idle dashboard, by thread: runs tracer-tui in a 160x45 tmux pane
# on a quiet machine and prints each thread's CPU per second over SECONDS
# (default 30), from /proc/PID/task/TID/schedstat (nanoseconds). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
sock=tracer-idle-$$
tmux -L "$sock" -f /dev/null new-session -d -x 160 -y 45 ./target/release/tracer-tui
trap 'tmux -L "$sock" kill-server 2> /dev/null' EXIT
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
