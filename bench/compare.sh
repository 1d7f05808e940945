#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Before and after, in one run: the benchmarks of NEW_BUILD drive the
# kconsumerd of OLD_BUILD and of NEW_BUILD in turn, A B A B, so that the
# two runs of the same consumer show the noise a difference must exceed.
# The harnesses (drain_throughput, idle_streams, shm_drain, shm_rate) are
# the new build's; only the consumer changes.  The protocol is the same.
# Then, as root with trace-cmd, bench/ftrace/run.sh once with both
# builds' ksession and kconsumerd as alternating recorders (splice-old,
# splice, mmap-old, mmap beside trace-cmd): the recorder changes as a
# whole, since ksession and its consumer move together.
# Usage: bench/compare.sh OLD_BUILD NEW_BUILD
set -eu

here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: bench/compare.sh OLD_BUILD NEW_BUILD" >&2; exit 2; }
old=$1
new=$2
for c in "$old/src/kconsumerd" "$new/src/kconsumerd"; do
	[ -x "$c" ] || { echo "compare.sh: $c is missing" >&2; exit 1; }
done

# Run one benchmark; a failure is reported and the pass goes on.
one() {
	"$@" || echo "compare.sh: failed ($?): $*"
}

# One pass of every benchmark against consumer $2, labelled $1.
pass() {
	echo "==== $1: $2"
	one "$new/bench/drain_throughput" --consumer "$2"
	one "$new/bench/idle_streams" --consumer "$2"
	one "$new/bench/shm/shm_drain" --consumer "$2"
	one "$new/bench/shm/shm_rate" --consumer "$2" --kctf "$new/tools/ctf/kctf"
	echo
}

echo "machine: $(nproc) CPUs, kernel $(uname -r)"
pass "old #1" "$old/src/kconsumerd"
pass "new #1" "$new/src/kconsumerd"
pass "old #2" "$old/src/kconsumerd"
pass "new #2" "$new/src/kconsumerd"
if [ "$(id -u)" -eq 0 ] && command -v trace-cmd >/dev/null; then
	echo "==== ftrace recorders: old (-old) and new"
	one env OLD_BUILD="$old" RECORDERS="trace-cmd splice-old splice mmap-old mmap" \
		bash "$here/ftrace/run.sh" "$new"
else
	echo "ftrace vs trace-cmd: skipped (needs root and trace-cmd)"
fi
