#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Build kconsumerd and run the whole test suite twice: a normal build and
# one with AddressSanitizer + UndefinedBehaviorSanitizer.  Installs the
# packages it needs first (as root: through sudo when run by a user).  Tests that need root or tracefs say why they
# skip when those are missing.
set -euo pipefail

# Root is needed (packages, tracefs): re-run through sudo, or say how.
. "$(dirname "$0")/as-root.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash tools/deps.sh trace-cmd babeltrace2 bash-completion iproute2

run_suite() {
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
	echo "== meson test ($dir)"
	meson test -C "$dir" --print-errorlogs --num-processes 2
}

status=0
run_suite build || status=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false || status=1
# one closing line over both runs, counted per test binary
python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
n = {"passed": 0, "failed": 0, "skipped": 0}
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        n["failed"] += 1
        continue
    for line in lines:
        r = json.loads(line).get("result")
        key = "passed" if r == "OK" else "skipped" if r == "SKIP" else "failed"
        n[key] += 1
print(f"tests: {n['passed']} passed, {n['failed']} failed, {n['skipped']} skipped")
PY
exit $status
