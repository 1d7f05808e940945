#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Streaming to lttng-relayd over loopback, kctf as the producer.
#
# Per buffer configuration (8 sub-buffers of 1 MiB, then of 64 KiB), one
# private lttng-relayd on free loopback ports, RUNS alternating runs of:
#  (limit) relay_limit sends a kctf trace of the same configuration (made
#          once, locally) from memory through the library's relay link as
#          fast as the relay takes it: its wall time, its CPU;
#  (kctf)  kctf --relay offering the limit's byte rate of the same run
#          (-r from the event size of the trace above) for SECS seconds:
#          the bytes its producers committed over the wall time of the
#          whole run (the consumer drains the rings, closes every stream
#          and waits for the relay's answers before kctf exits) minus that
#          of a run recording one event (start-up, session, teardown);
#          kconsumerd's CPU as kctf prints it minus that run's.  What the
#          consumer cannot keep up with, the producer discards (printed).
# Both over the bytes sent.
# Also the relay's own CPU per GB.  Prints medians, the worst run, each
# run, and kctf / limit ratios of throughput (target >= 0.9) and CPU per
# GB.  Then (b): bench/ust/lttng_peer.sh with ONLY=relay, lttng-consumerd
# streaming lttng-ust events to a relay against kconsumerd at the same
# byte rate (target <= 0.5 x lttng-consumerd's CPU per GB).  A discarded
# count past 2^62 (a counter read backwards) fails the run.
#
# Usage: bench/relay/run.sh [BUILD_DIR]   (default: build)
# Environment: RUNS (3), SECS (3), THREADS (1),
# SUBBUFS ("1048576 65536"), PEER (1; 0 skips part b).  Skips, with the
# reason, when lttng-relayd is missing; lttng_peer.sh skips by itself
# without lttng-sessiond or liblttng-ust.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$(dirname "$(dirname "$here")")/build}
build=$(cd "$build" && pwd)
runs=${RUNS:-3}
secs=${SECS:-3}
threads=${THREADS:-1}
subbufs=${SUBBUFS:-"1048576 65536"}
peer=${PEER:-1}
kctf=$build/tools/ctf/kctf
consumer=$build/src/kconsumerd
limit=$build/bench/relay/relay_limit
hz=$(getconf CLK_TCK)

skip() { echo "relay bench: skipped: $*"; exit 0; }
die() { echo "relay bench: $*" >&2; exit 1; }

command -v lttng-relayd >/dev/null ||
	skip "lttng-relayd missing (apt-get install lttng-tools)"
for t in "$kctf" "$consumer" "$limit"; do
	[ -x "$t" ] || die "$t missing: meson setup $build && ninja -C $build"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/relay-bench.XXXXXX")
relayd_pid=
cleanup() {
	[ -z "$relayd_pid" ] || { kill "$relayd_pid" 2>/dev/null && wait "$relayd_pid" 2>/dev/null; } || true
	rm -rf "$tmp"
}
trap cleanup EXIT

proc_cpu() {
	awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / hz }' \
		"/proc/$1/stat"
}

now() { date +%s.%N; }

# Field $1 of a key=value line $2.
kv() { echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }

start_relayd() {
	local base
	mkdir -p "$tmp/home" "$tmp/relay"
	for base in $(shuf -i 20000-60000 -n 20); do
		ss -Htln | awk '{ print $4 }' | grep -E ":($base|$((base + 1))|$((base + 2)))\$" >/dev/null &&
			continue
		url=net://127.0.0.1:$base:$((base + 1))
		HOME=$tmp/home lttng-relayd -C "tcp://127.0.0.1:$base" \
			-D "tcp://127.0.0.1:$((base + 1))" -L "tcp://127.0.0.1:$((base + 2))" \
			-o "$tmp/relay" > "$tmp/relayd.log" 2>&1 &
		relayd_pid=$!
		sleep 0.5
		kill -0 "$relayd_pid" 2>/dev/null && return 0
	done
	die "lttng-relayd did not start: $(tail -2 "$tmp/relayd.log")"
}

clear_relay() {
	sleep 0.2
	find "$tmp/relay" -mindepth 1 -delete
	sync
}

# "bytes seconds cpu relayd-cpu discarded" of one relay_limit run ($1 sb).
limit_run() {
	local r0 r1 line
	r0=$(proc_cpu "$relayd_pid")
	line=$("$limit" --url "$url" --trace "$tmp/src-$1")
	r1=$(proc_cpu "$relayd_pid")
	clear_relay
	echo "$(kv bytes "$line") $(kv seconds "$line") $(kv cpu "$line") \
$(awk -v a="$r0" -v b="$r1" 'BEGIN { print b - a }') 0"
}

# One kctf --relay run: $1 sub-buffer, $2 events per thread, $3 rate per
# thread.  Prints its -M line and wall=SECONDS.
kctf_relay() {
	local t0 t1 line
	t0=$(now)
	line=$("$kctf" -n "$threads" -e "$2" -r "$3" -s "$1" -b 8 -c "$consumer" \
		-M -o "$tmp/kctf-local" --relay "$url")
	t1=$(now)
	rm -rf "$tmp/kctf-local"
	echo "$line wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}

# The same as limit_run for kctf --relay offering $2 bytes/s ($1 sb).
kctf_relay_run() {
	local r0 r1 line rate
	rate=$(awk -v r="$2" -v e="$bpe" -v t="$threads" 'BEGIN { printf "%d", r / e / t }')
	r0=$(proc_cpu "$relayd_pid")
	line=$(kctf_relay "$1" $((rate * secs)) "$rate")
	r1=$(proc_cpu "$relayd_pid")
	clear_relay
	echo "$(kv bytes "$line") $(awk -v w="$(kv wall "$line")" -v z="$idle_wall" \
		'BEGIN { print w - z }') \
$(awk -v c="$(kv consumer_cpu "$line")" -v z="$idle_cpu" 'BEGIN { print c - z }') \
$(awk -v a="$r0" -v b="$r1" 'BEGIN { print b - a }') $(kv discarded "$line")"
}

report() {
	python3 - "$tmp/results" "$runs" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
WRAP = 1 << 62
bad = False
for sb in sorted({int(r[1]) for r in rows}, reverse=True):
    print(f"\n8 x {sb // 1024} KiB sub-buffers, {sys.argv[2]} alternating runs (median, worst; each run)")
    med = {}
    for k, name in (('limit', 'limit: relay_limit from memory'),
                    ('kctf', 'kctf --relay (kconsumerd mmap)')):
        v = [r for r in rows if r[0] == k and int(r[1]) == sb]
        if not v: continue
        tp = [float(r[2]) / float(r[3]) / 1e6 for r in v]
        cpu = [float(r[4]) / (float(r[2]) / 1e9) for r in v]
        rel = [float(r[5]) / (float(r[2]) / 1e9) for r in v]
        lost = [int(r[6]) for r in v]
        bad |= any(x >= WRAP for x in lost)
        med[k] = (statistics.median(tp), statistics.median(cpu), min(tp), max(cpu))
        print(f"  {name:<32} {med[k][0]:7.1f} MB/s (worst {min(tp):.1f}), "
              f"consumer {med[k][1]:.3f} CPU-s/GB (worst {max(cpu):.3f}), "
              f"relayd {statistics.median(rel):.3f} CPU-s/GB")
        print(f"  {'':<32} runs MB/s: " + ", ".join(f"{x:.1f}" for x in tp) +
              "; CPU-s/GB: " + ", ".join(f"{x:.3f}" for x in cpu) +
              "; discarded: " + ", ".join(str(x) for x in lost))
    if 'limit' in med and 'kctf' in med:
        t = med['kctf'][0] / med['limit'][0]
        print(f"  kctf / limit: throughput {t:.2f} x (worst run {med['kctf'][2] / med['limit'][0]:.2f};"
              f" target >= 0.9: {'met' if t >= 0.9 else 'NOT met'}), consumer CPU per GB "
              f"{med['kctf'][1] / med['limit'][1]:.2f} x")
if bad:
    print("a discarded-event count past 2^62: a counter read backwards")
    sys.exit(1)
PY
}

echo "machine: $(nproc) CPUs, kernel $(uname -r), $(lttng-relayd --version 2>&1 | awk 'NR == 1');" \
	"kctf $threads thread(s), ${secs}s per run"
start_relayd
: > "$tmp/results"
for sb in $subbufs; do
	line=$("$kctf" -n "$threads" -e $((4000000 / threads)) -r 0 -s "$sb" -b 8 \
		-c "$consumer" -M -o "$tmp/src-$sb")
	bpe=$(awk -v b="$(kv bytes "$line")" -v e="$(kv events "$line")" 'BEGIN { print b / e }')
	line=$(kctf_relay "$sb" 1 0)
	clear_relay
	idle_wall=$(kv wall "$line") idle_cpu=$(kv consumer_cpu "$line")
	echo "8 x $sb: $bpe bytes per event; a one-event run: ${idle_wall}s," \
		"consumer ${idle_cpu} CPU-s (subtracted)"
	for i in $(seq 1 "$runs"); do
		line=$(limit_run "$sb")
		echo "limit $sb $line" >> "$tmp/results"
		read -r b s _ <<< "$line"
		rate=$(awk -v b="$b" -v s="$s" 'BEGIN { printf "%d", b / s }')
		echo "  run $i/$runs, 8 x $sb: limit $((rate / 1000000)) MB/s, then kctf --relay at that rate" >&2
		echo "kctf $sb $(kctf_relay_run "$sb" "$rate")" >> "$tmp/results"
	done
	rm -rf "$tmp/src-$sb"
done
report
if [ "$peer" != 0 ]; then
	echo
	echo "(b) against lttng-consumerd streaming lttng-ust events to a relay:"
	RUNS=$runs SUBBUFS="$subbufs" ONLY=relay bash "$here/../ust/lttng_peer.sh" "$build"
fi
