#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png: the real binary tracing the demo
# workload and only it (`tracer-tui -- ...`), so the pictures show the
# workload's own processes, not whatever else the host runs. Rendered cell
# for cell by scripts/ansi_png.py. Needs root (it traces) and Pillow
# (installed with pip when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import PIL' 2> /dev/null || pip install --quiet Pillow
cargo build --release --locked
out=docs/screenshots
mkdir -p "$out"
sock=tracer-screenshots
small=tracer-screenshots-80
caps=$(mktemp -d)
tmux -L "$sock" kill-server 2> /dev/null || true
tmux -L "$small" kill-server 2> /dev/null || true
trap 'tmux -L $sock kill-server 2> /dev/null; tmux -L $small kill-server 2> /dev/null; rm -rf "$caps"' EXIT
# the workload's output would share the dashboard's terminal
workload="exec scripts/demo-workload.sh > /dev/null 2>&1"
start() { # socket width height
  tmux -L "$1" -f /dev/null new-session -d -x "$2" -y "$3" \
    ./target/release/tracer-tui -- sh -c "$workload"
  tmux -L "$1" set -g window-size manual
}
start "$sock" 160 45
start "$small" 80 24
keys() { tmux -L "$sock" send-keys "$@"; }
# capture all the screens first, render afterwards: rendering starts processes
shot() {
  sleep "$2"
  tmux -L "$sock" capture-pane -e -p -N > "$caps/$1"
}
settle() { sleep 0.5; }
sleep 12
# a traced command opens on its tree
shot tree 0
tmux -L "$small" capture-pane -e -p -N > "$caps/small"
keys t
shot main 1
# the detail pane of a process whose exec failed, found by search
keys / d e m o - m i s s i n g Enter
settle
keys Enter
shot detail 1
# alone: an Escape followed at once by a key reads as Alt+key
keys Escape
settle
keys Escape
settle
# a process that exec'd twice (env, then sh): its exec chain
keys / D E M O = 1 Enter
settle
keys Enter
shot exec-chain 1
keys Escape
settle
keys Escape
settle
# the Commands view, and one command's duration histogram
keys c
settle
keys / a w k Enter
settle
keys Enter
shot commands 1
keys Escape
settle
keys Escape
settle
keys c
settle
keys '?'
shot help 1
keys Escape
settle
keys d BSpace 1 5 0 m s
shot min-duration 0.5
keys Enter q
tmux -L "$small" send-keys q
for name in tree main detail exec-chain commands help min-duration; do
  python3 scripts/ansi_png.py "$caps/$name" "$out/$name.png" 160 45
  echo "wrote $out/$name.png"
done
python3 scripts/ansi_png.py "$caps/small" "$out/80x24.png" 80 24
echo "wrote $out/80x24.png"
