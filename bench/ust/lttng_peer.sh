#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Userspace streams against the peer: lttng-consumerd (lttng-tools 2.13)
# draining lttng-ust events, and kconsumerd draining kctf's shm rings at
# the same byte rate, each as consumer CPU seconds per GB of trace on disk.
#
# Per buffer configuration (8 sub-buffers of 64 KiB, then of 1 MiB) and run
# (RUNS, alternating):
#  1. lttng: a private lttng-sessiond (no kernel domain) records
#     lttng_ust_libc:* in a userspace channel of that size while
#     malloc_storm runs THREADS threads for SECS seconds under
#     LD_PRELOAD=liblttng-ust-libc-wrapper.so; lttng-consumerd's CPU is the
#     utime+stime delta of /proc/PID/stat between `lttng start` and the end
#     of `lttng stop` (which waits for the data), over the bytes of the
#     trace directory;
#  2. kctf -n THREADS with the same sub-buffers, slowed to that run's byte
#     rate (-r, from the event size kctf showed in a calibration run) for
#     the same bytes, with kconsumerd in each of KC_MODES (default: mmap,
#     splice, and both again with --io direct: O_DIRECT for sub-buffers
#     of 128 KiB and more);
#     kconsumerd's CPU (its rusage, as kctf prints it) minus a run
#     recording nothing (its start-up and exit);
#  3. the same lttng session streamed to a private lttng-relayd on
#     loopback (`lttng create --set-url net://127.0.0.1:CTRL:DATA`):
#     lttng-consumerd's CPU and the relay's, over the bytes the relay wrote;
#  4. kctf --relay to the same relay at that run's byte rate (kconsumerd
#     mmap mode): kconsumerd's CPU (minus its start-up and exit) and the
#     relay's, over the bytes the relay wrote.
# Prints medians, the worst run, every run, and kconsumerd /
# lttng-consumerd ratios.  Every discarded-event count is checked: one
# past 2^62 is flagged as a wrapped counter (lttng-consumerd has printed
# 9223372036855013630 for a counter that went backwards).
#
# Everything runs in a private mount namespace with its own /run and
# /dev/shm: the session daemon's sockets (/var/run/lttng), the apps'
# wait-shm and LTTNG_HOME are private; a system session daemon, if any,
# neither sees nor disturbs the runs.  Daemons are killed at the end.
#
# Usage: bench/ust/lttng_peer.sh [BUILD_DIR]    (default: build; needs root)
# Environment: RUNS (3), SECS (3), THREADS (1), SUBBUFS ("65536 1048576"),
# RELAY (1; 0 skips steps 3 and 4), ONLY (relay: steps 3 and 4 only),
# KC_MODES ("mmap splice mmap+direct splice+direct mmap+direct@50
# splice+direct@50": MODE[+IO][@PCT], IO a kconsumerd --io value, PCT its
# --buffer-percent, default 25).  Skips, with the reason, when lttng-tools or
# liblttng-ust is missing (tools/deps.sh lttng-tools liblttng-ust1).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$(dirname "$(dirname "$here")")/build}
build=$(cd "$build" && pwd)
runs=${RUNS:-3}
secs=${SECS:-3}
threads=${THREADS:-1}
subbufs=${SUBBUFS:-"65536 1048576"}
relay=${RELAY:-1}
kc_modes=${KC_MODES:-"mmap splice mmap+direct splice+direct mmap+direct@50 splice+direct@50"}
only=${ONLY:-}
storm=$build/bench/ust/malloc_storm
kctf=$build/tools/ctf/kctf
consumer=$build/src/kconsumerd

skip() { echo "lttng peer: skipped: $*"; exit 0; }
die() { echo "lttng peer: $*" >&2; exit 1; }

preflight() {
	local t
	for t in lttng lttng-sessiond lttng-relayd; do
		command -v $t >/dev/null ||
			skip "$t missing (apt-get install lttng-tools)"
	done
	# (awk reads to the end: an early exit would SIGPIPE ldconfig, fatal under pipefail)
	wrapper=$(ldconfig -p | awk '/liblttng-ust-libc-wrapper\.so/ && !w { w = $NF } END { print w }')
	[ -n "$wrapper" ] ||
		skip "liblttng-ust-libc-wrapper.so missing (apt-get install liblttng-ust1)"
	[ "$(id -u)" -eq 0 ] || skip "needs root (a private mount namespace)"
	command -v unshare >/dev/null || skip "unshare missing (util-linux)"
	for t in "$storm" "$kctf" "$consumer"; do
		[ -x "$t" ] || die "$t missing: meson setup $build && ninja -C $build"
	done
}

preflight
if [ -z "${LTTNG_PEER_PRIVATE:-}" ]; then
	LTTNG_PEER_PRIVATE=1 exec unshare -m --propagation private \
		bash "$0" "$build"
fi
[ "$only" != relay ] || relay=1
mount -t tmpfs -o mode=0755 lttng-peer-run /run
mount -t tmpfs -o mode=1777 lttng-peer-shm /dev/shm

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lttng-peer.XXXXXX")
export LTTNG_HOME=$tmp/home
mkdir -p "$LTTNG_HOME"
sessiond_pid= relayd_pid=
cleanup() {
	local p
	for p in $sessiond_pid $relayd_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)

# CPU seconds (utime + stime, all threads) of process $1 so far.
proc_cpu() {
	awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / hz }' \
		"/proc/$1/stat"
}

start_sessiond() {
	lttng-sessiond --no-kernel > "$tmp/sessiond.log" 2>&1 &
	sessiond_pid=$!
	for _ in $(seq 1 100); do
		lttng list > /dev/null 2>&1 && return 0
		kill -0 "$sessiond_pid" 2>/dev/null || break
		sleep 0.1
	done
	tail -5 "$tmp/sessiond.log" >&2
	die "lttng-sessiond did not start"
}

# A private relay on three free loopback ports.
start_relayd() {
	local base
	for base in $(shuf -i 20000-60000 -n 20); do
		ss -Htln | awk '{ print $4 }' | grep -E ":($base|$((base + 1))|$((base + 2)))\$" >/dev/null &&
			continue
		ctrl_port=$base data_port=$((base + 1))
		mkdir -p "$tmp/relay"
		lttng-relayd -C "tcp://127.0.0.1:$ctrl_port" -D "tcp://127.0.0.1:$data_port" \
			-L "tcp://127.0.0.1:$((base + 2))" -o "$tmp/relay" \
			> "$tmp/relayd.log" 2>&1 &
		relayd_pid=$!
		sleep 0.5
		kill -0 "$relayd_pid" 2>/dev/null && return 0
	done
	die "lttng-relayd did not start: $(tail -2 "$tmp/relayd.log")"
}

# An lttng command; on failure its output goes to stderr.
lt() {
	if ! lttng "$@" > "$tmp/lttng.out" 2>&1; then
		echo "lttng peer: lttng $*: failed:" >&2
		tail -3 "$tmp/lttng.out" >&2
		return 1
	fi
}

# One lttng session: $1 sub-buffer bytes, $2 local|relay.  Prints
# "bytes seconds consumer-cpu relayd-cpu discarded".
lttng_run() {
	local sb=$1 where=$2 out=$tmp/lttng-trace c0 c1 r0=0 r1=0 cpid res bytes lost
	if [ "$where" = local ]; then
		lt create peer -o "$out" || return 1
	else
		lt create peer --set-url "net://127.0.0.1:$ctrl_port:$data_port" || return 1
		out=$tmp/relay
	fi
	lt enable-channel -u --subbuf-size "$sb" --num-subbuf 8 ch &&
		lt enable-event -u -c ch 'lttng_ust_libc:*' && lt start ||
		{ lt destroy peer; return 1; }
	cpid=$(pgrep -P "$sessiond_pid" -x lttng-consumerd | awk 'NR == 1')
	[ -n "$cpid" ] || { echo "lttng peer: no lttng-consumerd" >&2; lt destroy peer; return 1; }
	c0=$(proc_cpu "$cpid")
	[ "$where" = local ] || r0=$(proc_cpu "$relayd_pid")
	res=$(LD_PRELOAD=$wrapper "$storm" "$threads" "$secs")
	lt stop || { lt destroy peer; return 1; }
	cp "$tmp/lttng.out" "$tmp/stop.log"
	c1=$(proc_cpu "$cpid")
	[ "$where" = local ] || r1=$(proc_cpu "$relayd_pid")
	lt destroy peer || return 1
	bytes=$(du -sb "$out" | awk '{ print $1 }')
	lost=$(awk '/discarded/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) n += $i }
		END { print n + 0 }' "$tmp/stop.log")
	find "$out" -mindepth 1 -delete
	sync
	echo "$bytes ${res#*seconds=} $(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }') \
$(awk -v a="$r0" -v b="$r1" 'BEGIN { print b - a }') $lost"
}

# One kctf run: $1 MODE[+IO][@PCT], $2 sub-buffer bytes, $3 events per
# thread, $4 rate per thread (0: flat out).  Prints kctf's -M line and the
# bytes on disk.
kctf_run() {
	local dir=$tmp/kctf-trace line opt=() m=$1
	case $m in *@*) opt+=(--buffer-percent "${m#*@}"); m=${m%@*};; esac
	case $m in *+*) opt+=(--io "${m#*+}"); m=${m%%+*};; esac
	line=$("$kctf" -n "$threads" -e "$3" -r "$4" -s "$2" -b 8 -m "$m" \
		"${opt[@]}" -c "$consumer" -M -o "$dir" ${KCTF_RELAY:+--relay "$KCTF_RELAY"})
	echo "$line disk=$(du -sb "$dir" | awk '{ print $1 }')"
	rm -rf "$dir"
	sync
}

# Field $1 of a key=value line $2.
kv() { echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }

# kconsumerd at lttng's byte rate: $1 mode, $2 sub-buffer, $3 bytes, $4 s.
kctf_matched() {
	local bpe=${bpe_of[$2]} line ev rate
	ev=$(awk -v b="$3" -v e="$bpe" -v t="$threads" 'BEGIN { printf "%d", b / e / t }')
	rate=$(awk -v b="$3" -v s="$4" -v e="$bpe" -v t="$threads" \
		'BEGIN { printf "%d", b / s / e / t }')
	line=$(kctf_run "$1" "$2" "$ev" "$rate")
	echo "$(kv disk "$line") $(kv seconds "$line") \
$(awk -v c="$(kv consumer_cpu "$line")" -v z="${idle_of[${1%%[+@]*}]}" 'BEGIN { print c - z }') \
0 $(kv discarded "$line")"
}

# kconsumerd streaming kctf to the relay at lttng's byte rate: $1
# sub-buffer, $2 bytes, $3 s.  Prints "bytes seconds consumer-cpu
# relayd-cpu discarded", bytes as the relay wrote them.
kctf_relay_matched() {
	local bpe=${bpe_of[$1]} line ev rate r0 r1 bytes
	ev=$(awk -v b="$2" -v e="$bpe" -v t="$threads" 'BEGIN { printf "%d", b / e / t }')
	rate=$(awk -v b="$2" -v s="$3" -v e="$bpe" -v t="$threads" \
		'BEGIN { printf "%d", b / s / e / t }')
	r0=$(proc_cpu "$relayd_pid")
	line=$(KCTF_RELAY="net://127.0.0.1:$ctrl_port:$data_port" \
		kctf_run mmap "$1" "$ev" "$rate")
	sleep 0.3	# the relay may still write what it has received
	r1=$(proc_cpu "$relayd_pid")
	bytes=$(du -sb "$tmp/relay" | awk '{ print $1 }')
	find "$tmp/relay" -mindepth 1 -delete
	sync
	echo "$bytes $(kv seconds "$line") \
$(awk -v c="$(kv consumer_cpu "$line")" -v z="${idle_of[mmap]}" 'BEGIN { print c - z }') \
$(awk -v a="$r0" -v b="$r1" 'BEGIN { print b - a }') $(kv discarded "$line")"
}

# Event size kctf writes (bytes per event, packet headers included) and
# kconsumerd's CPU for a run that records next to nothing.
calibrate() {
	local sb line m
	declare -gA bpe_of idle_of
	for sb in $subbufs; do
		line=$(kctf_run mmap "$sb" 200000 0)
		bpe_of[$sb]=$(awk -v b="$(kv bytes "$line")" -v e="$(kv events "$line")" \
			'BEGIN { print b / e }')
	done
	for m in mmap splice; do
		line=$(kctf_run "$m" 65536 1 0)
		idle_of[$m]=$(kv consumer_cpu "$line")
	done
	echo "calibration: kctf bytes per event ${bpe_of[*]}; kconsumerd start-up and exit" \
		"(mmap, splice) ${idle_of[mmap]} ${idle_of[splice]} CPU-s (subtracted)"
}

report() {
	python3 - "$tmp/results" "$runs" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def per_gb(r): return float(r[4]) / (float(r[2]) / 1e9)
WRAP = 1 << 62
names = {'lttng-local': 'lttng-consumerd, local files',
         'kc-mmap': 'kconsumerd mmap (kctf)', 'kc-splice': 'kconsumerd splice (kctf)',
         'kc-mmap+direct': 'kconsumerd mmap --io direct',
         'kc-splice+direct': 'kconsumerd splice --io direct',
         'kc-mmap+direct@50': 'kconsumerd mmap direct, 50% wake',
         'kc-splice+direct@50': 'kconsumerd splice direct, 50% wake',
         'lttng-relay': 'lttng-consumerd -> lttng-relayd',
         'kc-relay': 'kconsumerd -> lttng-relayd (kctf)'}
base = {k: 'lttng-local' for k in names if k.startswith('kc-') and k != 'kc-relay'}
base['kc-relay'] = 'lttng-relay'
wrapped = []
for sb in sorted({int(r[1]) for r in rows}):
    print(f"\n8 x {sb // 1024} KiB sub-buffers, {sys.argv[2]} alternating runs: "
          "consumer CPU-s per GB on disk (median, worst; each run)")
    med = {}
    for k in names:
        v = [r for r in rows if r[0] == k and int(r[1]) == sb]
        if not v: continue
        g = [per_gb(r) for r in v]
        med[k] = statistics.median(g)
        rate = statistics.median(float(r[2]) / float(r[3]) / 1e6 for r in v)
        lost = [int(r[6]) for r in v]
        wrapped += [(names[k], sb, x) for x in lost if x >= WRAP]
        sane = [x for x in lost if x < WRAP]
        ratio = ""
        if k in base and base[k] in med:
            ratio = f"  = {med[k] / med[base[k]]:.2f} x (worst {max(g) / med[base[k]]:.2f})"
        print(f"  {names[k]:<35} {med[k]:6.3f} {max(g):6.3f}  at {rate:6.1f} MB/s, "
              f"discarded {statistics.median(sane) if sane else 0:.0f}{ratio}")
        print(f"  {'':<35} runs: " + ", ".join(f"{x:.3f}" for x in g) +
              "; discarded: " + ", ".join(str(x) for x in lost))
        if k.endswith('relay'):
            rg = [float(r[5]) / (float(r[2]) / 1e9) for r in v]
            print(f"  {'  lttng-relayd itself':<35} {statistics.median(rg):6.3f} "
                  f"{max(rg):6.3f}  runs: " + ", ".join(f"{x:.3f}" for x in rg))
    if 'kc-relay' in med and 'lttng-relay' in med:
        r = med['kc-relay'] / med['lttng-relay']
        print(f"  streaming to the relay: kconsumerd / lttng-consumerd CPU per GB = {r:.2f}"
              f" (target <= 0.5: {'met' if r <= 0.5 else 'NOT met'})")
for name, sb, x in wrapped:
    print(f"wrapped discarded-event count: {name}, 8 x {sb // 1024} KiB: {x} "
          "(a counter that went backwards, read as unsigned)")
if any(n.startswith('kconsumerd') for n, _, _ in wrapped):
    sys.exit(1)
PY
}

echo "machine: $(nproc) CPUs, kernel $(uname -r), $(lttng --version | awk 'NR == 1');" \
	"producer: malloc_storm $threads thread(s) x ${secs}s under the libc wrapper"
start_sessiond
[ "$relay" = 0 ] || start_relayd
calibrate
: > "$tmp/results"
for sb in $subbufs; do
	for i in $(seq 1 "$runs"); do
		if [ "$only" != relay ]; then
			echo "  run $i/$runs, 8 x $sb: lttng-consumerd" >&2
			if ! line=$(lttng_run "$sb" local); then
				echo "  run $i: lttng-consumerd run failed, run skipped" >&2
				continue
			fi
			read -r bytes s _ <<< "$line"
			echo "lttng-local $sb $line" >> "$tmp/results"
			for m in $kc_modes; do
				echo "  run $i/$runs, 8 x $sb: kconsumerd $m at $(awk -v b="$bytes" -v s="$s" \
					'BEGIN { printf "%.1f", b / s / 1e6 }') MB/s" >&2
				echo "kc-$m $sb $(kctf_matched "$m" "$sb" "$bytes" "$s")" >> "$tmp/results"
			done
		fi
		if [ "$relay" != 0 ]; then
			echo "  run $i/$runs, 8 x $sb: lttng-consumerd to lttng-relayd" >&2
			if ! line=$(lttng_run "$sb" relay); then
				echo "  run $i: relay run failed" >&2
				continue
			fi
			echo "lttng-relay $sb $line" >> "$tmp/results"
			read -r bytes s _ <<< "$line"
			echo "  run $i/$runs, 8 x $sb: kconsumerd to lttng-relayd at $(awk -v b="$bytes" \
				-v s="$s" 'BEGIN { printf "%.1f", b / s / 1e6 }') MB/s" >&2
			echo "kc-relay $sb $(kctf_relay_matched "$sb" "$bytes" "$s")" >> "$tmp/results"
		fi
	done
done
report
