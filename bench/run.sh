#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Run every benchmark against the kconsumerd of a build directory and print
# the figures: pipe drain throughput, idle-stream cost, shm drain
# throughput and sustainable event rate, (as root, with trace-cmd) real
# kernel tracing against trace-cmd record, short and sustained storms, and
# (as root, with lttng-tools) lttng-consumerd as a peer, and streaming to
# lttng-relayd (bench/relay/run.sh).
# Usage: bench/run.sh [BUILD_DIR]   (default: build)
# Outputs go to a fresh directory under $TMPDIR (or /tmp), removed after.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$(dirname "$here")/build}

for exe in bench/drain_throughput bench/idle_streams bench/shm/shm_drain \
	bench/shm/shm_rate src/kconsumerd; do
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
echo
"$build/bench/shm/shm_drain" --consumer "$build/src/kconsumerd"
echo
"$build/bench/shm/shm_rate" --consumer "$build/src/kconsumerd" \
	--kctf "$build/tools/ctf/kctf"
echo
if [ "$(id -u)" -eq 0 ] && command -v trace-cmd >/dev/null; then
	bash "$here/ftrace/run.sh" "$build"
	echo
	STORM=sustained bash "$here/ftrace/run.sh" "$build"
else
	echo "ftrace vs trace-cmd: skipped (needs root and trace-cmd)"
fi
echo
bash "$here/ust/lttng_peer.sh" "$build"

echo
bash "$here/relay/run.sh" "$build"
