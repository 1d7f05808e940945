#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Build kconsumerd and run the whole test suite twice: a normal build and
# one with AddressSanitizer + UndefinedBehaviorSanitizer.  Installs the
# packages it needs first.  Tests that need root or tracefs say why they
# skip when those are missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash tools/deps.sh trace-cmd babeltrace2

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
exit $status
