#!/usr/bin/env bash
# The first start (issue 17): clones a repository afresh, runs scripts/run.sh in it, and prints
# the seconds until /healthz answers, the machine's load, and the CPU seconds run.sh spent until
# then (setup, migrations, demo, server start; the background training is not counted).
# Then stops that server and its training.
#   bash benchmarks/first_start.sh [REPOSITORY (default /work/main)] [CLONE (/tmp/fs)] [PORT (8720)]
set -euo pipefail
source_repo=${1:-/work/main}
clone=${2:-/tmp/fs}
port=${3:-8720}
cd / && rm -rf "$clone" && git clone -q "$source_repo" "$clone" && cd "$clone"
uptime
start=$(date +%s.%N)
HELPLINE_PORT=$port /usr/bin/time -f "run.sh until stopped: %U s user, %S s system CPU" \
  -o "$clone/var-first-start-cpu.txt" bash scripts/run.sh >"$clone/first-start.log" 2>&1 &
run=$!
until curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/healthz"; do
  kill -0 "$run" 2>/dev/null || { tail -n 20 "$clone/first-start.log"; echo "run.sh ended"; exit 1; }
  sleep 1
done
echo "port answered after $(echo "$(date +%s.%N) - $start" | bc) s"
uptime
grep '^\[' "$clone/first-start.log"
# Only this clone's processes, by their full path.
pkill -TERM -f "^$clone/.venv/bin/python $clone/.venv/bin/helpline serve" || true
sleep 3
pkill -TERM -f "^$clone/.venv/bin/python $clone/.venv/bin/helpline nlu train" || true
wait || true
cat "$clone/var-first-start-cpu.txt"
