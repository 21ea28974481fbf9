#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png: the real binary, tracing this machine,
# in a 160x45 tmux pane, rendered cell for cell by scripts/ansi_png.py.
# Needs root (it traces) and Pillow (installed with pip when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import PIL' 2> /dev/null || pip install --quiet Pillow
cargo build --release --locked
out=docs/screenshots
mkdir -p "$out"
sock=tracer-screenshots
caps=$(mktemp -d)
tmux -L "$sock" kill-server 2> /dev/null || true
scripts/demo-workload.sh > /dev/null 2>&1 &
workload=$!
trap 'kill $workload 2> /dev/null; tmux -L $sock kill-server 2> /dev/null; rm -rf "$caps"' EXIT
tmux -L "$sock" -f /dev/null new-session -d -x 160 -y 45 ./target/release/tracer-tui
tmux -L "$sock" set -g window-size manual
keys() { tmux -L "$sock" send-keys "$@"; }
# capture all the screens first, render afterwards: rendering starts processes
shot() {
  sleep "$2"
  tmux -L "$sock" capture-pane -e -p -N > "$caps/$1"
}
sleep 8
shot main 0
# the detail pane of a process whose exec failed, found by search
keys / d e m o - m i s s i n g Enter
sleep 0.5
keys Enter
shot detail 1
# alone: an Escape followed at once by a key reads as Alt+key
keys Escape
sleep 0.5
keys Escape
sleep 0.5
keys '?'
shot help 1
keys Escape
sleep 0.5
keys d BSpace 1 5 0 m s
shot min-duration 0.5
keys Enter q
for name in main detail help min-duration; do
  python3 scripts/ansi_png.py "$caps/$name" "$out/$name.png" 160 45
  echo "wrote $out/$name.png"
done
