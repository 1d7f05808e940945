#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Real kernel tracing against trace-cmd: the same events (raw_syscalls and
# sched:sched_switch), the same per-CPU buffer size, the same syscall storm
# on every CPU (taskset -c N dd bs=1 from /dev/zero to /dev/null), run
# alternately RUNS times each, for trace-cmd record, ksession record with
# kconsumerd in splice mode and in mmap mode.  Per recorder: events
# recorded, events lost, entries left unread in the buffers, and the CPU
# seconds of its whole process tree (recorder_cpu: wait4 rusage, which
# takes in trace-cmd's per-CPU children and ksession's kconsumerd).  Prints
# medians and the ratio of our CPU to trace-cmd's.
#
# Usage: bench/ftrace/run.sh [BUILD_DIR]      (default: build; needs root)
# Environment: RUNS (3), COUNT (dd bytes per CPU, 300000), SIZES (KiB per
# CPU, "1024 256"), RECORDERS ("trace-cmd splice mmap"; add "trace-cmd-v6"
# for trace-cmd writing the same uncompressed format as ours),
# KSESSION_ARGS (more options for ksession record, for tuning).
#
# trace-cmd 3.1.6 fails on the function-tracer files these machines refuse:
# it runs in a private mount namespace with empty files over them and a
# "1" over /proc/sys/kernel/ftrace_enabled (nothing outlives the run).
# Outputs are deleted and synced between runs (dirty page cache distorts).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$(dirname "$(dirname "$here")")/build}
runs=${RUNS:-3}
count=${COUNT:-300000}
sizes=${SIZES:-"1024 256"}
recorders=${RECORDERS:-"trace-cmd splice mmap"}
settle=1.5		# seconds between starting a recorder and the storm
tracefs=/sys/kernel/tracing

ksession=$build/tools/ksession/ksession
consumer=$build/src/kconsumerd
cpu_of=$build/bench/ftrace/recorder_cpu

die() { echo "ftrace bench: $*" >&2; exit 1; }

check() {
	[ "$(id -u)" -eq 0 ] || die "needs root"
	[ -d $tracefs/instances ] || mount -t tracefs nodev $tracefs ||
		die "no tracefs"
	command -v trace-cmd >/dev/null || die "trace-cmd missing (apt-get install trace-cmd)"
	command -v taskset >/dev/null || die "taskset missing (util-linux)"
	for exe in "$ksession" "$consumer" "$cpu_of"; do
		[ -x "$exe" ] || die "$exe missing: meson setup $build && ninja -C $build"
	done
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ftrace-bench.XXXXXX")
top_kb=$(cat $tracefs/buffer_size_kb 2>/dev/null || echo 1408)
cleanup() {
	echo "$top_kb" > $tracefs/buffer_size_kb 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/hide"
: > "$tmp/hide/empty"
echo 1 > "$tmp/hide/one"

# The storm: one dd per CPU, pinned; returns when all are done.
storm() {
	local c pids=()
	for c in $(seq 0 $(($(nproc) - 1))); do
		taskset -c "$c" dd if=/dev/zero of=/dev/null bs=1 count="$count" \
			2>/dev/null & pids+=($!)
	done
	wait "${pids[@]}"
}

# Start recorder $1 with $2 KiB per CPU under recorder_cpu, in the background.
start_recorder() {
	local events=(-e raw_syscalls -e sched:sched_switch)
	case $1 in
	trace-cmd|trace-cmd-v6)
		local v=()
		[ "$1" = trace-cmd-v6 ] && v=(--file-version 6)
		"$cpu_of" --hide-ftrace-files "$tmp/hide" --log "$tmp/log" -- \
			trace-cmd record "${v[@]}" "${events[@]}" -b "$2" \
			-o "$tmp/out.dat" > "$tmp/cpu" &;;
	*)
		# shellcheck disable=SC2086
		"$cpu_of" --log "$tmp/log" -- "$ksession" record "${events[@]}" \
			-b "$2" --mode "$1" --consumer "$consumer" ${KSESSION_ARGS:-} \
			-o "$tmp/out.dat" > "$tmp/cpu" &;;
	esac
	rec_pid=$!
}

# Events recorded / lost / left of the last run, from the file's own
# per-CPU statistics (trace-cmd) or ksession's summary.
figures() {
	case $1 in
	trace-cmd*)
		trace-cmd report --stat "$tmp/out.dat" 2>/dev/null | awk '
			/^read events:/ { rec += $3 }
			/^overrun:/ || /^commit overrun:/ { lost += $NF }
			/^dropped events:/ { lost += $3 }
			/^entries:/ { left += $2 }
			END { print rec + 0, lost + 0, left + 0 }';;
	*)
		awk '/^events:/ { rec = $2 } /^events lost:/ { lost = $3 }
			/^entries left:/ { left = $3 }
			END { print rec + 0, lost + 0, left + 0 }' "$tmp/log";;
	esac
}

# One run: record the storm, stop, collect the figures, clean up.
run_one() {
	local rec=$1 kb=$2 cpu
	start_recorder "$rec" "$kb"
	sleep $settle
	storm
	sleep 0.3
	kill -USR1 "$rec_pid"
	wait "$rec_pid" || true
	cpu=$(awk '{ print $2 }' "$tmp/cpu")
	if [ ! -s "$tmp/out.dat" ] || [ -z "$cpu" ]; then
		echo "ftrace bench: $rec run failed:" >&2
		tail -5 "$tmp/log" >&2
		echo "$rec $kb fail" >> "$tmp/results"
	else
		echo "$rec $kb $(figures "$rec") $cpu" >> "$tmp/results"
	fi
	rm -f "$tmp/out.dat"
	sync
	sleep 0.5
}

report() {
	python3 - "$tmp/results" "$recorders" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
recs = sys.argv[2].split()
sizes = sorted({int(r[1]) for r in rows}, reverse=True)
med = lambda v: statistics.median(v) if v else float('nan')
for kb in sizes:
    print(f"\n{kb} KiB per CPU: medians of {max(sum(1 for r in rows if r[0] == x and int(r[1]) == kb) for x in recs)} runs")
    print(f"  {'recorder':<13} {'recorded':>10} {'lost':>9} {'left':>7} {'CPU s':>7}  {'CPU/trace-cmd':>13}  runs (lost / CPU s)")
    base = None
    for rec in recs:
        ok = [r for r in rows if r[0] == rec and int(r[1]) == kb and r[2] != 'fail']
        fails = sum(1 for r in rows if r[0] == rec and int(r[1]) == kb and r[2] == 'fail')
        if not ok:
            print(f"  {rec:<13} no successful run ({fails} failed)")
            continue
        m = [med([float(r[i]) for r in ok]) for i in (2, 3, 4, 5)]
        if rec == 'trace-cmd':
            base = m[3]
        ratio = f"{m[3] / base:.2f}" if base else "-"
        each = ", ".join(f"{int(r[3])}/{float(r[5]):.2f}" for r in ok)
        extra = f" ({fails} failed)" if fails else ""
        print(f"  {rec:<13} {m[0]:>10.0f} {m[1]:>9.0f} {m[2]:>7.0f} {m[3]:>7.3f}  {ratio:>13}  {each}{extra}")
PY
}

check
echo "machine: $(nproc) CPUs, kernel $(uname -r); storm: dd bs=1 count=$count per CPU;" \
	"runs: $runs, alternating: $recorders"
: > "$tmp/results"
for kb in $sizes; do
	for i in $(seq 1 "$runs"); do
		for rec in $recorders; do
			echo "  run $i/$runs, $kb KiB per CPU: $rec" >&2
			run_one "$rec" "$kb"
		done
	done
done
report
