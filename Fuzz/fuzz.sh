#!/usr/bin/env bash
# Fuzz/fuzz.sh [SECONDS] [TARGET...]: builds MISC's libFuzzer targets (-sanitize=fuzzer,address,
# release) and runs each for SECONDS (default 60) from its committed seed corpus (Corpus/TARGET)
# plus what earlier runs found (.build/corpus/TARGET). Limits: 5 s an input, 2 GB of memory.
# A crash, hang or out-of-memory stops the run with exit status 1 and prints the reproducer
# (base64) into the log; the file itself stays under Fuzz/crashes/TARGET/. See Fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzContainer FuzzContainerBody FuzzSemantics FuzzSafeTensors FuzzImage)
# --sanitize makes SwiftPM link libFuzzer's main; -Xswiftc -sanitize instruments every module for coverage.
flags=(-c release --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
swift build "${flags[@]}"
bin=$(swift build "${flags[@]}" --show-bin-path)
status=0
for target in "${targets[@]}"; do
  corpus=.build/corpus/$target
  crashes=crashes/$target
  mkdir -p "$corpus" "$crashes"
  echo "== $target: ${seconds} s from Corpus/$target"
  log=.build/$target.log
  rc=0
  "$bin/$target" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "Corpus/$target" > "$log" 2>&1 || rc=$?
  # The run's last lines: its coverage, executions and speed (or the crash's stack).
  tail -n 40 "$log"
  if [ "$rc" != 0 ] || [ -n "$(ls -A "$crashes")" ]; then
    status=1
    for file in "$crashes"/*; do
      [ -f "$file" ] || continue
      echo "== $target: reproducer $file (base64; decode with base64 -d):"
      base64 "$file"
    done
  fi
done
exit $status
