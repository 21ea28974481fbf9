#!/usr/bin/env bash
# A little of everything for screenshots and demos: quick tools, failures,
# signals, a core dump and a few longer-lived processes. Runs until killed.
ulimit -c unlimited 2>/dev/null || true
# a plain $PATH, so a failed command's search reads the same everywhere
export PATH=/usr/local/bin:/usr/bin:/bin
# core dumps land in the working directory: keep them out of the project
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
cd "$workdir" || exit 1
i=0
while true; do
  i=$((i + 1))
  ls /usr/bin > /dev/null
  grep -q root /etc/passwd
  sh -c "exit $((i % 4))"
  date +%s > /dev/null
  awk 'BEGIN { for (n = 0; n < 20000; n++) s += n }'
  cat /proc/loadavg > /dev/null
  false
  # a failed exec (env tries each $PATH entry) and a process that execs twice
  env demo-missing-tool --flag 2> /dev/null
  env DEMO=1 sh -c 'exit 0'
  sleep 0.2
  if [ $((i % 3)) -eq 0 ]; then
    sleep 30 & victim=$!
    sleep 0.1
    kill -9 "$victim"
    bash -c 'kill -SEGV $$'
    (sleep 4; exit 1) &
  fi
  if [ $((i % 5)) -eq 0 ]; then
    sh -c 'sleep 2.5' &
    perl -e 'exit 3'
  fi
  wait -n 2> /dev/null || true
done
