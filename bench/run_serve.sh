#!/usr/bin/env bash
# igx serve under load on the loopback (docs/serving.md): throughput and p50/p99 latency of
# :explain on spam-transformer at tolerance 1 % with cross-request batching on and off, then a
# flood of malformed requests mixed with valid ones, with the server's resident memory before and
# after. Bounded: REQUESTS per run (default 200), SECONDS per run (default 120).
# Usage: bench/run_serve.sh [build-dir]    (env: CLIENTS=16 REQUESTS=200 FLOOD=3000 THREADS=0)
set -euo pipefail
build=${1:-build}
clients=${CLIENTS:-16}
requests=${REQUESTS:-200}
flood=${FLOOD:-3000}
threads=${THREADS:-0}
seconds=${SECONDS_PER_RUN:-120}

server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT

# start_server ARGS...: igx serve on a free port; sets server_pid and port.
start_server() {
  local log
  log=$(mktemp)
  "$build/igx" serve --model spam-transformer --port 0 --threads "$threads" "$@" > "$log" 2>/dev/null &
  server_pid=$!
  for _ in $(seq 1 600); do
    port=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$log")
    [ -n "$port" ] && break
    sleep 0.2
  done
  rm -f "$log"
  [ -n "$port" ] || { echo "igx serve did not start" >&2; exit 1; }
}

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$server_pid/status"; }

echo "host: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo
echo "| batching | clients | requests | throughput (req/s) | p50 (ms) | p99 (ms) | mean requests per engine call |"
echo "|---|---|---|---|---|---|---|"
for mode in on off; do
  if [ "$mode" = on ]; then start_server; else start_server --no-batching; fi
  result=$("$build/bench/serve_load" --port "$port" --clients "$clients" --requests "$requests" --seconds "$seconds")
  fill=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^igx_batch_requests_sum/ {s=$2} /^igx_batch_requests_count/ {c=$2} END {if (c > 0) printf "%.1f", s / c}')
  stop_server
  /usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[1]); print(f\"| $mode | {r['clients']} | {r['valid_correct']} | {r['throughput_per_s']:.2f} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | $fill |\")" "$result"
done
echo
echo "Malformed flood (batching on, $clients clients, $flood requests, 7 in 8 malformed):"
start_server
# Warm up first (allocator pools, LibTorch's caches), so that the flood's start is steady state.
"$build/bench/serve_load" --port "$port" --clients "$clients" --requests 64 --seconds "$seconds" > /dev/null
start_rss=$(rss_kb)
result=$("$build/bench/serve_load" --port "$port" --clients "$clients" --requests "$flood" --malformed 0.875 --seconds "$seconds" || true)
end_rss=$(rss_kb)
stop_server
echo "$result"
echo "server RSS after a 64-request warm-up: ${start_rss} kB; after the flood: ${end_rss} kB"
