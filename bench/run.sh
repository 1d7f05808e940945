#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Run every benchmark against the kconsumerd of a build directory and print
# the figures.  Usage: bench/run.sh [BUILD_DIR]   (default: build)
# Outputs go to a fresh directory under $TMPDIR (or /tmp), removed after.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$(dirname "$here")/build}

for exe in bench/drain_throughput bench/idle_streams src/kconsumerd; do
	if [ ! -x "$build/$exe" ]; then
		echo "run.sh: $build/$exe is missing; build first:" >&2
		echo "  meson setup $build && ninja -C $build" >&2
		exit 1
	fi
done

tmp=${TMPDIR:-/tmp}
echo "machine: $(nproc) CPUs, kernel $(uname -r)," \
	"outputs on $(df -PT "$tmp" | awk 'NR == 2 { print $2 }') ($tmp)"
echo
"$build/bench/drain_throughput" --consumer "$build/src/kconsumerd"
echo
"$build/bench/idle_streams" --consumer "$build/src/kconsumerd"
