#!/usr/bin/env bash
# Builds main.cpp against vitals the three ways users consume it (find_package
# after `cmake --install`, add_subdirectory, FetchContent from the local path),
# runs each, and checks what it prints. Those three are header-only; a fourth
# (compiled/) builds examples/minimal_exporter.cpp against vitals::compiled
# from the same install and scrapes its /metrics.
# Usage: tests/consumer/run.sh [build-dir]   (default: <root>/build/consumer)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build/consumer}
expected='consumer_requests_total{method="GET"} 3'

# Start clean: files left by an earlier install must not hide a broken one.
rm -rf "$out"
echo "-- installing vitals into $out/prefix"
cmake -S "$root" -B "$out/vitals" -DVITALS_BUILD_TESTS=OFF -DVITALS_BUILD_EXAMPLES=OFF \
      -DVITALS_BUILD_BENCHMARKS=OFF -DVITALS_SEPARATE_COMPILATION=ON >/dev/null
cmake --build "$out/vitals" >/dev/null  # the compiled parts: OTLP messages, vitals::compiled
cmake --install "$out/vitals" --prefix "$out/prefix" >/dev/null

consume() {  # way, cmake arguments...
  local way=$1 output
  shift
  cmake -S "$here/$way" -B "$out/$way" "$@" || return 1
  cmake --build "$out/$way" || return 1
  [[ $way == compiled ]] && { scrape "$out/$way/consumer"; return; }
  output=$("$out/$way/consumer") || { echo "$output"; return 1; }
  echo "$output"
  grep -qxF "$expected" <<<"$output" || { echo "expected the line: $expected"; return 1; }
}

# The minimal exporter on a free port: its /metrics must show its counter.
scrape() {  # executable
  local pid line port body rc=1
  exec 3< <("$1" 0)
  pid=$!
  read -r -t 20 line <&3 || true
  port=$(sed -nE 's|^serving http://127\.0\.0\.1:([0-9]+)/metrics$|\1|p' <<<"$line")
  if [[ -n $port ]] && body=$(curl -fsS --max-time 10 "http://127.0.0.1:$port/metrics"); then
    grep -q '^jobs_done_total ' <<<"$body" && rc=0
    grep -m1 '^jobs_done_total ' <<<"$body" || echo "no jobs_done_total in: $body"
  else
    echo "the exporter did not serve: '$line'"
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  exec 3<&-
  return $rc
}

passed=0 failed=0
for way in find_package add_subdirectory fetchcontent compiled; do
  echo "-- consumer: $way"
  if [[ $way == find_package || $way == compiled ]]; then
    args=(-DCMAKE_PREFIX_PATH="$out/prefix")  # no source tree: only the installed package
  else
    args=(-DVITALS_ROOT="$root")
  fi
  # One way builds with Clang, so the headers are checked with a second compiler.
  if [[ $way == fetchcontent ]] && command -v clang++ >/dev/null; then
    args+=(-DCMAKE_CXX_COMPILER=clang++)
  fi
  if consume "$way" "${args[@]}"; then
    echo "-- consumer: $way passed"
    passed=$((passed + 1))
  else
    echo "-- consumer: $way FAILED"
    failed=$((failed + 1))
  fi
done
echo "consumer: $passed passed, $failed failed"
((failed == 0))
