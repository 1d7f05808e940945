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
# for trace-cmd writing version 6, uncompressed,
# and "splice-v6" / "mmap-v6" for ksession writing version 6: each *-v6
# recorder's CPU ratio is to trace-cmd-v6's, when that runs too; a
# ksession recorder ending in "-old", e.g. "splice-old", runs the
# ksession and kconsumerd of OLD_BUILD instead: before and after a
# change in one run),
# KSESSION_ARGS (more options for ksession record, for tuning), CONSUMER
# (another kconsumerd binary for ksession to start; it must take --stats:
# for older builds use the -old recorders).
#
# STORM=sustained: the storm is the recorder's COMMAND (`trace-cmd record
# ... STORM`, `ksession record ... -- STORM`: no settle, recording ends
# with it), COUNT 1000000, RUNS 10, SIZES "1024", and two more "recorders"
# alternate with the others: getreader-floor and splice-floor
# (ftrace_floor: one bare loop draining every CPU's buffer with nothing
# but GET_READER on the mapping, or splice to /dev/null, same settings as
# ksession's; and splice-file-floor, a bare splice into a file: what the
# page cache and the disk alone cost).  Prints the median and the worst run of events lost,
# entries left unread and CPU seconds, CPU over trace-cmd's, and mmap over
# the GET_READER floor, splice over the splice floor.  A recorder's CPU is
# its process tree's minus the storm's own (the storm is its child here;
# the storm measures itself with the shell's `times`).  With
# TRACE_CONSUMER=strace the kconsumerd of each ksession run is traced with
# `strace -f -T` (write, splice, sync_file_range, fadvise64, openat;
# ptrace slows it: for finding stalls, not for figures) and its longest
# syscalls are printed.  Each run also shows the CPU the machine spent on
# neither the storm nor the recorder (/proc/stat): other users of a shared
# machine, writeback.  TRACE_CONSUMER=perf instead records every
# sched_switch with its kernel stack (`perf record -a -g`, far lighter
# than ptrace) during each ksession run, and offcpu.py prints the
# consumer's longest times off its CPU, with the state, the system call
# and the kernel frames that say why.  TRACE_KEEP=DIR keeps the raw
# strace / perf script outputs there.
#
# trace-cmd 3.1.6 fails on the function-tracer files these machines refuse:
# it runs in a private mount namespace with empty files over them and a
# "1" over /proc/sys/kernel/ftrace_enabled (nothing outlives the run).
# Outputs are deleted and synced between runs (dirty page cache distorts),
# then GAP seconds (0.5) pass: on a file system mounted with -o discard the
# freed blocks' discards still run then, and writers wait behind them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$(dirname "$(dirname "$here")")/build}
storm_kind=${STORM:-short}
case $storm_kind in
short)
	runs=${RUNS:-3}
	count=${COUNT:-300000}
	sizes=${SIZES:-"1024 256"}
	recorders=${RECORDERS:-"trace-cmd splice mmap"};;
sustained)
	runs=${RUNS:-10}
	count=${COUNT:-1000000}
	sizes=${SIZES:-1024}
	recorders=${RECORDERS:-"trace-cmd splice mmap getreader-floor splice-floor splice-file-floor"};;
*)
	echo "ftrace bench: STORM must be short or sustained" >&2; exit 2;;
esac
settle=1.5		# short storm: seconds between starting a recorder and the storm
gap=${GAP:-0.5}		# seconds between runs, after the output is deleted and synced
tracefs=/sys/kernel/tracing

ksession=$build/tools/ksession/ksession
consumer=${CONSUMER:-$build/src/kconsumerd}
cpu_of=$build/bench/ftrace/recorder_cpu
floor=$build/bench/ftrace/ftrace_floor

die() { echo "ftrace bench: $*" >&2; exit 1; }

check() {
	[ "$(id -u)" -eq 0 ] || die "needs root"
	[ -d $tracefs/instances ] || mount -t tracefs nodev $tracefs ||
		die "no tracefs"
	command -v trace-cmd >/dev/null || die "trace-cmd missing (apt-get install trace-cmd)"
	command -v taskset >/dev/null || die "taskset missing (util-linux)"
	[ "${TRACE_CONSUMER:-}" != strace ] || command -v strace >/dev/null ||
		die "strace missing (apt-get install strace)"
	[ "${TRACE_CONSUMER:-}" != perf ] || command -v perf >/dev/null ||
		die "perf missing (apt-get install linux-perf)"
	case " $recorders " in *-old\ *)
		[ -x "${OLD_BUILD:-}/tools/ksession/ksession" ] ||
			die "a -old recorder needs OLD_BUILD (a build directory)";;
	esac
	for exe in "$ksession" "$consumer" "$cpu_of" "$floor"; do
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

# ksession's read-mode option: --mode where its help names it, else -m.
mode_opt() {
	if "$ksession" record --help 2>&1 | grep -- '--mode' > /dev/null; then
		echo --mode
	else
		echo -m
	fi
}

# write_storm, storm_cpu: the sustained storm.
. "$here/storm.sh"

# Start recorder $1 with $2 KiB per CPU under recorder_cpu, in the
# background; any further arguments are the command it records.
start_recorder() {
	local rec=$1 kb=$2 events=(-e raw_syscalls -e sched:sched_switch)
	shift 2
	case $rec in
	trace-cmd|trace-cmd-v6)
		local v=()
		[ "$rec" = trace-cmd-v6 ] && v=(--file-version 6)
		"$cpu_of" --hide-ftrace-files "$tmp/hide" --log "$tmp/log" -- \
			trace-cmd record "${v[@]}" "${events[@]}" -b "$kb" \
			-o "$tmp/out.dat" "$@" > "$tmp/cpu" &;;
	*)
		local cmd=() mode=$rec fv=() ks=$ksession kc=$consumer
		[ $# -eq 0 ] || cmd=(-- "$@")
		case $mode in *-old)
			mode=${mode%-old}
			ks=$OLD_BUILD/tools/ksession/ksession kc=$OLD_BUILD/src/kconsumerd;;
		esac
		case $mode in *-v6) mode=${mode%-v6}; fv=(--file-version 6);; esac
		# shellcheck disable=SC2086
		"$cpu_of" --log "$tmp/log" -- "$ks" record "${events[@]}" \
			-b "$kb" "$ksession_mode" "$mode" "${fv[@]}" --consumer "$kc" \
			${KSESSION_ARGS:-} -o "$tmp/out.dat" "${cmd[@]}" > "$tmp/cpu" &;;
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
	sleep "$gap"
}

# The sub-buffer size ksession picks by default for $1 KiB per CPU.
default_subbuf_kb() {
	local kb=64 page_kb=$(($(getconf PAGESIZE) / 1024))
	while [ $kb -gt $page_kb ] && [ $((kb * 4)) -gt "$1" ]; do
		kb=$((kb / 2))
	done
	echo $kb
}

# TRACE_CONSUMER=strace: attach strace to the kconsumerd under $rec_pid.
attach_strace() {
	local ks kc i
	for i in $(seq 1 200); do
		ks=$(pgrep -P "$rec_pid" -x ksession || true)
		kc=${ks:+$(pgrep -P "$ks" -x kconsumerd || true)}
		[ -n "$kc" ] && break
		sleep 0.01
	done
	[ -n "$kc" ] || { echo "ftrace bench: no kconsumerd to trace" >&2; return 0; }
	strace -f -T -tt -e trace=write,pwrite64,writev,splice,sync_file_range,fadvise64,openat \
		-o "$tmp/strace" -p "$kc" 2>/dev/null &
	strace_pid=$!
}

# TRACE_CONSUMER=perf: every context switch, with kernel stacks.
start_perf() {
	perf record -q -e sched:sched_switch -g -a -o "$tmp/perf.data" \
		> /dev/null 2>&1 &
	perf_pid=$!
	sleep 0.3
}

# Stop perf (in the shell that started it, so that wait works).
stop_perf() {
	kill -INT "$perf_pid" 2>/dev/null || true
	wait "$perf_pid" 2>/dev/null || true
}

# The consumer's longest times off its CPU, from the last perf record.
perf_summary() {
	perf script -i "$tmp/perf.data" -F comm,tid,cpu,time,event,trace,ip,sym \
		2>/dev/null > "$tmp/perf.txt" || true
	echo "    perf $1 run $2:"
	python3 "$here/offcpu.py" < "$tmp/perf.txt"
	[ -z "${TRACE_KEEP:-}" ] || cp "$tmp/perf.txt" "$TRACE_KEEP/perf.$1.$2.txt"
	rm -f "$tmp/perf.data" "$tmp/perf.txt"
}

# The longest syscalls of the last traced consumer, and how many took
# longer than a 1 MiB buffer lasts under the storm (4 ms).
strace_summary() {
	[ -z "${TRACE_KEEP:-}" ] || cp "$tmp/strace" "$TRACE_KEEP/strace.$1.$2"
	python3 - "$tmp/strace" "$1" "$2" <<'PY'
import re, sys, collections
pat = re.compile(r'^(\d+)\s+(\S+)\s+(\w+)\(.*<([0-9.]+)>$')
calls = []
for line in open(sys.argv[1], errors='replace'):
    m = pat.match(line.strip())
    if m:
        calls.append((float(m.group(4)), m.group(3), m.group(2), m.group(1)))
if not calls:
    print(f"    strace {sys.argv[2]} run {sys.argv[3]}: no syscalls seen"); sys.exit()
calls.sort(reverse=True)
per = collections.defaultdict(lambda: [0, 0.0, 0, 0.0])
for d, name, _, _ in calls:
    p = per[name]; p[0] += 1; p[1] = max(p[1], d)
    if d > 0.004: p[2] += 1; p[3] += d
print(f"    strace {sys.argv[2]} run {sys.argv[3]}: {len(calls)} calls; longest: " +
      ", ".join(f"{n} {d*1e3:.1f} ms at {t}" for d, n, t, _ in calls[:5]))
print("      per call: " + "; ".join(f"{n} x{c} max {m*1e3:.1f} ms, >4 ms: {k} ({s*1e3:.0f} ms)"
      for n, (c, m, k, s) in sorted(per.items())))
PY
}

# The consumer's own CPU and the bytes of pages it moved: kconsumerd's
# from ksession's summary; trace-cmd's whole tree and its file's size.
consumer_figures() {
	case $1 in
	trace-cmd*)
		echo "$cpu $(stat -c %s "$tmp/out.dat")";;
	*)
		awk '/^bytes:/ { b = $2 }
			/^recorder CPU:/ { for (i = 1; i < NF; i++) if ($i == "kconsumerd") c = $(i + 1) }
			END { print c + 0, b + 0 }' "$tmp/log";;
	esac
}

# The machine's busy CPU seconds so far and its steal time (/proc/stat).
machine_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {
		printf "%.3f %.3f", ($2 + $3 + $4 + $7 + $8 + $9) / hz, $9 / hz }' /proc/stat
}

# "REC OTHERS STEAL" for the last run: CPU the machine spent on anything
# but the storm and the recorder (other users of a shared machine), and
# the time the hypervisor took away.
others_of_run() {
	local after storm_s=0 rec_cpu
	after=$(machine_cpu)
	[ -s "$tmp/storm-times" ] && storm_s=$(storm_cpu)
	rec_cpu=$(tail -1 "$tmp/results" | awk '{ print ($3 == "fail") ? 0 : $6 }')
	awk -v r="$1" -v b="$busy_before" -v a="$after" -v s="$storm_s" -v c="$rec_cpu" 'BEGIN {
		split(b, x, " "); split(a, y, " ")
		printf "%s %.3f %.3f\n", r, y[1] - x[1] - s - c, y[2] - x[2] }'
}

# The consumer's own account of the last ksession run, per CPU, from the
# summary: peak fill, longest drain, longest call.
drain_of_run() {
	sed -n 's/^  \(cpu[0-9]*\): .*; peak fill /       \1: peak fill /p' "$tmp/log"
}

# One sustained run: the storm is the recorder's command.
run_sustained() {
	local rec=$1 kb=$2 cpu total storm_s out
	rm -f "$tmp/storm-times"
	busy_before=$(machine_cpu)
	case $rec in
	*-floor)
		out=$("$floor" -m "${rec%-floor}" -b "$kb" \
			-s "$(default_subbuf_kb "$kb")" -i "kc-floor-$$" -o "$tmp/out.dat" -- \
			"$tmp/storm.sh" 2>"$tmp/log") || true
		if [ -z "$out" ]; then
			echo "ftrace bench: $rec run failed:" >&2
			tail -5 "$tmp/log" >&2
			echo "$rec $kb fail" >> "$tmp/results"
		else
			echo "$out" | awk -v r="$rec" -v kb="$kb" \
				'{ print r, kb, "-", $14, $16, $4, $4, $12 }' >> "$tmp/results"
		fi;;
	*)
		strace_pid= perf_pid=
		[ "${TRACE_CONSUMER:-}" = perf ] && [ "${rec#trace-cmd}" = "$rec" ] &&
			start_perf
		start_recorder "$rec" "$kb" "$tmp/storm.sh"
		[ "${TRACE_CONSUMER:-}" = strace ] && [ "${rec#trace-cmd}" = "$rec" ] &&
			attach_strace
		wait "$rec_pid" || true
		if [ -n "$strace_pid" ]; then
			wait "$strace_pid" 2>/dev/null || true
			strace_summary "$rec" "$3" | tee -a "$tmp/trace-summary" >&2
		fi
		if [ -n "$perf_pid" ]; then
			stop_perf
			perf_summary "$rec" "$3" | tee -a "$tmp/trace-summary" >&2
		fi
		total=$(awk '{ print $2 }' "$tmp/cpu")
		storm_s=$([ -s "$tmp/storm-times" ] && storm_cpu || true)
		if [ ! -s "$tmp/out.dat" ] || [ -z "$total" ] || [ -z "$storm_s" ]; then
			echo "ftrace bench: $rec run failed:" >&2
			tail -5 "$tmp/log" >&2
			echo "$rec $kb fail" >> "$tmp/results"
		else
			cpu=$(awk -v t="$total" -v s="$storm_s" 'BEGIN { printf "%.3f", t - s }')
			echo "$rec $kb $(figures "$rec") $cpu $(consumer_figures "$rec")" \
				>> "$tmp/results"
		fi;;
	esac
	others_of_run "$rec" >> "$tmp/others"
	tail -1 "$tmp/results" | awk -v o="$(tail -1 "$tmp/others" | cut -d' ' -f2-)" \
		'{ printf "    -> lost %s left %s CPU %s (neither storm nor recorder, steal: %s)\n", $4, $5, $6, o }' >&2
	case $rec in trace-cmd*|*-floor) ;; *) drain_of_run >&2;; esac
	rm -f "$tmp/out.dat"
	sync
	sleep "$gap"
}

# Sustained storm: median and worst run per recorder, CPU ratios.
report_sustained() {
	python3 - "$tmp/results" "$recorders" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
recs = sys.argv[2].split()
sizes = sorted({int(r[1]) for r in rows}, reverse=True)
floor_of = {'mmap': 'getreader-floor', 'splice': 'splice-floor'}
for kb in sizes:
    ok = {x: [r for r in rows if r[0] == x and int(r[1]) == kb and r[2] != 'fail'] for x in recs}
    fails = {x: sum(1 for r in rows if r[0] == x and int(r[1]) == kb and r[2] == 'fail') for x in recs}
    med = {x: [statistics.median(float(r[i]) for r in v) for i in (3, 4, 5)] for x, v in ok.items() if v}
    print(f"\n{kb} KiB per CPU, sustained storm: median / worst of {max(len(v) for v in ok.values())} runs")
    print(f"  {'recorder':<16} {'lost med':>9} {'worst':>9} {'left med':>8} {'worst':>7}"
          f" {'CPU med':>7} {'worst':>6} {'/trace-cmd':>10} {'/floor':>7}  runs with loss")
    print("  (CPU: the recorder's process tree minus the storm; /floor: the consumer"
          " alone (kconsumerd) over the bare loop of its mode)")
    for x in recs:
        v6 = x.removesuffix('-old').endswith('-v6')
        base = med.get('trace-cmd-v6' if v6 else 'trace-cmd', [0, 0, 0])[2]
        v = ok[x]
        if not v:
            print(f"  {x:<16} no successful run ({fails[x]} failed)"); continue
        lost = [float(r[3]) for r in v]; left = [float(r[4]) for r in v]; cpu = [float(r[5]) for r in v]
        m = med[x]
        ratio = f"{m[2] / base:.2f}" if base and 'floor' not in x else "-"
        f = floor_of.get(x)
        own = statistics.median(float(r[6]) for r in v)
        fr = f"{own / med[f][2]:.2f}" if f in med and med[f][2] > 0 else "-"
        extra = f" ({fails[x]} failed)" if fails[x] else ""
        print(f"  {x:<16} {m[0]:>9.0f} {max(lost):>9.0f} {m[1]:>8.0f} {max(left):>7.0f}"
              f" {m[2]:>7.3f} {max(cpu):>6.3f} {ratio:>10} {fr:>7}  "
              f"{sum(1 for l in lost if l > 0)}/{len(v)}{extra}")
        sizes = [r for r in v if float(r[7]) > 0]
        page = "" if x.startswith('trace-cmd') or not sizes else \
            f"consumer alone {own:.3f} CPU s, " + \
            f"{statistics.median(float(r[6]) / (float(r[7]) / 4096) * 1e6 for r in sizes):.2f} us per 4 KiB page; "
        print(f"  {'':<16} {page}each run (lost/CPU s): " +
              ", ".join(f"{int(float(r[3]))}/{float(r[5]):.2f}" for r in v))
PY
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
    base = {}
    for rec in recs:
        ok = [r for r in rows if r[0] == rec and int(r[1]) == kb and r[2] != 'fail']
        fails = sum(1 for r in rows if r[0] == rec and int(r[1]) == kb and r[2] == 'fail')
        if not ok:
            print(f"  {rec:<13} no successful run ({fails} failed)")
            continue
        m = [med([float(r[i]) for r in ok]) for i in (2, 3, 4, 5)]
        if rec.startswith('trace-cmd'):
            base[rec] = m[3]
        b = base.get('trace-cmd-v6' if rec.removesuffix('-old').endswith('-v6') else 'trace-cmd')
        ratio = f"{m[3] / b:.2f}" if b else "-"
        each = ", ".join(f"{int(r[3])}/{float(r[5]):.2f}" for r in ok)
        extra = f" ({fails} failed)" if fails else ""
        print(f"  {rec:<13} {m[0]:>10.0f} {m[1]:>9.0f} {m[2]:>7.0f} {m[3]:>7.3f}  {ratio:>13}  {each}{extra}")
PY
}

check
ksession_mode=$(mode_opt)
echo "machine: $(nproc) CPUs, kernel $(uname -r); storm ($storm_kind): dd bs=1" \
	"count=$count per CPU; runs: $runs, alternating: $recorders"
: > "$tmp/results"
: > "$tmp/others"
[ "$storm_kind" = sustained ] && write_storm
for kb in $sizes; do
	for i in $(seq 1 "$runs"); do
		for rec in $recorders; do
			echo "  run $i/$runs, $kb KiB per CPU: $rec" >&2
			if [ "$storm_kind" = sustained ]; then
				run_sustained "$rec" "$kb" "$i"
			else
				run_one "$rec" "$kb"
			fi
		done
	done
done
if [ "$storm_kind" = sustained ]; then
	report_sustained
	awk '{ n++; o += $2; st += $3; if ($2 > m) m = $2 }
		END { if (n) printf "\nCPU used during the runs by neither the storm nor the recorder" \
			" (other users of the machine, writeback and other kernel threads):" \
			" mean %.2f s per run, most %.2f s; steal %.3f s per run\n", o / n, m, st / n }' \
		"$tmp/others"
	[ ! -s "$tmp/trace-summary" ] || { echo; cat "$tmp/trace-summary"; }
else
	report
fi
