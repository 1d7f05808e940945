#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Streaming ftrace to `trace-cmd listen`: `ksession record -N` (kconsumerd
# splicing each CPU's pages to the listener's per-CPU TCP ports) against
# `trace-cmd record -N -t` (its per-CPU recorders splicing to the same
# kind of connections), to one listener on loopback, in a private network
# namespace, the same events (raw_syscalls, sched:sched_switch, of the
# storm only: -F -c, the machine may be shared), the same
# per-CPU buffer size and the same storm: COUNT one-byte dd copies pinned
# on every CPU, run as the recorder's COMMAND (recording ends with it).
# RUNS alternating runs of each.  Per run: events in the listener's file
# (`trace-cmd report` lines), events lost (the counts of its "[N EVENTS
# DROPPED]" pages: the same measure for both recorders, since trace-cmd
# record -N keeps no per-CPU statistics; ksession's own kernel figure is
# shown beside it), and the CPU seconds of the recorder's whole process
# tree (recorder_cpu: wait4 rusage, trace-cmd's per-CPU children and
# ksession's kconsumerd included) minus the storm's own (`times`).  Prints
# the median and the worst run of each, and ksession's CPU over
# trace-cmd's.  The listener's own CPU is not counted (the same program
# for both).
#
# Usage: bench/listen/run.sh [BUILD_DIR]      (default: build; needs root)
# Environment: RUNS (5), COUNT (dd bytes per CPU, 300000), KB (buffer per
# CPU, 1024), KSESSION_ARGS (more ksession record options).
#
# trace-cmd record 3.1.6 needs the function-tracer files these machines
# refuse: recorder_cpu --hide-ftrace-files runs it in a private mount
# namespace with empty files over them (as bench/ftrace/run.sh does).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$(dirname "$(dirname "$here")")/build}
build=$(cd "$build" && pwd)
runs=${RUNS:-5}
count=${COUNT:-300000}
kb=${KB:-1024}
port=${PORT:-9160}
tracefs=/sys/kernel/tracing
ksession=$build/tools/ksession/ksession
consumer=$build/src/kconsumerd
cpu_of=$build/bench/ftrace/recorder_cpu

die() { echo "listen bench: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root"
for p in trace-cmd taskset unshare ip ss; do
	command -v $p >/dev/null || die "$p missing"
done
for exe in "$ksession" "$consumer" "$cpu_of"; do
	[ -x "$exe" ] || die "$exe missing: meson setup $build && ninja -C $build"
done
[ -d $tracefs/instances ] || mount -t tracefs nodev $tracefs || die "no tracefs"
if [ -z "${KC_LISTEN_BENCH_NS:-}" ]; then
	KC_LISTEN_BENCH_NS=1 exec unshare -n "$BASH" "$0" "$build"
fi
ip link set lo up

tmp=$(mktemp -d "${TMPDIR:-/tmp}/listen-bench.XXXXXX")
listener=
cleanup() {
	[ -z "$listener" ] || kill -INT -- "-$listener" 2>/dev/null || true
	sleep 0.3
	[ -z "$listener" ] || kill -KILL -- "-$listener" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/hide" "$tmp/out"
: > "$tmp/hide/empty"
echo 1 > "$tmp/hide/one"

# The storm as a command, its own CPU time into $tmp/storm-times.
. "$here/../ftrace/storm.sh"	# write_storm, storm_cpu
write_storm

setsid trace-cmd listen -p "$port" -d "$tmp/out" -l "$tmp/listen.log" \
	> /dev/null 2>&1 &
listener=$!
for _ in $(seq 100); do
	ss -ltn | grep -q ":$port " && break
	sleep 0.05
done
ss -ltn | grep -q ":$port " || die "trace-cmd listen did not start"

events=(-e raw_syscalls -e sched:sched_switch -F -c)	# the storm only: the machine may be shared

# One run of recorder $1 ($2: run number): "REC EVENTS DROPPED KLOST CPU".
run_one() {
	local rec=$1 cpu storm_s dat klost=-
	rm -f "$tmp/storm-times" "$tmp"/out/*
	case $rec in
	trace-cmd)
		"$cpu_of" --hide-ftrace-files "$tmp/hide" --log "$tmp/log" -- \
			trace-cmd record "${events[@]}" -b "$kb" \
			-N "127.0.0.1:$port" -t -- "$tmp/storm.sh" > "$tmp/cpu";;
	ksession)
		# shellcheck disable=SC2086
		"$cpu_of" --log "$tmp/log" -- "$ksession" record "${events[@]}" \
			-b "$kb" --consumer "$consumer" ${KSESSION_ARGS:-} \
			-N "127.0.0.1:$port" -t -o "$tmp/local.dat" \
			-- "$tmp/storm.sh" > "$tmp/cpu"
		klost=$(awk '/^streamed to:/ { for (i = 1; i < NF; i++)
			if ($(i + 1) == "lost") print $i }' "$tmp/log");;
	esac
	for _ in $(seq 200); do	# the listener assembles ~2 s after CLOSE
		ls "$tmp"/out/*.dat > /dev/null 2>&1 &&
			! ls "$tmp"/out/*.cpu* > /dev/null 2>&1 && break
		sleep 0.1
	done
	sleep 0.5
	dat=$(ls "$tmp"/out/*.dat 2>/dev/null | head -1)
	cpu=$(awk '{ print $2 }' "$tmp/cpu")
	storm_s=$(storm_cpu)
	if [ -z "$dat" ] || [ -z "$cpu" ]; then
		echo "listen bench: $rec run $2 failed:" >&2
		tail -5 "$tmp/log" >&2
		echo "$rec fail" >> "$tmp/results"
		return
	fi
	trace-cmd report "$dat" 2>/dev/null | awk -v r="$rec" -v k="$klost" \
		-v c="$cpu" -v s="$storm_s" '
		/EVENTS DROPPED\]/ { if (match($0, /\[[0-9]+ EVENTS/))
			d += substr($0, RSTART + 1, RLENGTH - 8) + 0; next }
		/^ *cpus=/ { next }
		{ n++ }
		END { printf "%s %d %d %s %.3f\n", r, n, d, k, c - s }' \
		>> "$tmp/results"
	tail -1 "$tmp/results" | sed 's/^/  /'
	rm -f "$tmp"/out/* "$tmp/local.dat"
	sync
	sleep 0.5
}

echo "listen bench: $runs alternating runs, $(nproc) CPUs, storm $count dd" \
	"bytes per CPU, -b $kb KiB, events ${events[*]}"
echo "  (columns: recorder, events in the listener's file, events dropped" \
	"per its pages, ksession's kernel-counted loss, recorder CPU s)"
: > "$tmp/results"
for i in $(seq 1 "$runs"); do
	run_one trace-cmd "$i"
	run_one ksession "$i"
done

# Medians and worst runs, and the CPU ratio.
awk '$2 != "fail" { n[$1]++; ev[$1, n[$1]] = $2; dr[$1, n[$1]] = $3; cpu[$1, n[$1]] = $5 }
function med(a, r, k,    i, j, t, v) {
	for (i = 1; i <= k; i++) v[i] = a[r, i]
	for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
		if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
	return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
}
function worst(a, r, k,    i, m) {
	m = a[r, 1]; for (i = 2; i <= k; i++) if (a[r, i] > m) m = a[r, i]; return m
}
END {
	for (r in n) {
		mc[r] = med(cpu, r, n[r])
		printf "%-10s runs %d: events median %d; dropped median %d, worst %d; " \
			"CPU median %.3f s, worst %.3f s\n", r, n[r], med(ev, r, n[r]),
			med(dr, r, n[r]), worst(dr, r, n[r]), mc[r], worst(cpu, r, n[r])
	}
	if (mc["trace-cmd"] > 0 && ("ksession" in mc))
		printf "ksession CPU / trace-cmd CPU (medians): %.2f\n",
			mc["ksession"] / mc["trace-cmd"]
}' "$tmp/results"
