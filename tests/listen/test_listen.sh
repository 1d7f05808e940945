#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# ksession record -N against the real `trace-cmd listen`, in a private
# network namespace with only loopback up (the listener binds its ports on
# every address).  The script re-runs itself under `unshare -n`.
#
#  1. streamed: a small syscall storm on every CPU recorded with
#     `ksession record -F -c -N 127.0.0.1:PORT -t` (the storm only: the
#     machine may be shared); the listener's trace.dat is
#     read by `trace-cmd report`, and its events per CPU equal the events
#     the kernel says the consumer read from that CPU (per_cpu stats,
#     ksession --json "read"); nothing is kept locally.
#  2. the listener killed mid-recording (its whole process group,
#     SIGKILL): ksession says the connection was lost (the consumer's
#     KCONSUMERD_RELAY_LOST), exits 3 (partial), the consumer's log names
#     the stream and the sub-buffer from which it is local, the local
#     trace.dat is read by `trace-cmd report` with events of every CPU,
#     every buffer was drained (entries left 0) and no event that reached
#     the local page files is missing from it.
#
# Skips (exit 77) with the reason without root, tracefs, trace-cmd,
# unshare or ip.
set -u

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -n "${tmp:-}" ] && tail -n 20 "$tmp"/*.log 2>/dev/null; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (tracefs, a network namespace)"
command -v trace-cmd >/dev/null || skip "trace-cmd is not installed"
command -v unshare >/dev/null || skip "unshare is not installed"
command -v ip >/dev/null || skip "ip (iproute2) is not installed"
[ -n "${KC_KSESSION:-}" ] && [ -x "$KC_KSESSION" ] ||
	skip "KC_KSESSION does not name the ksession binary"
if [ ! -d /sys/kernel/tracing/events ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null ||
		skip "no tracefs at /sys/kernel/tracing"
fi
if [ -z "${KC_LISTEN_NETNS:-}" ]; then
	KC_LISTEN_NETNS=1 exec unshare -n "$BASH" "$0" "$@" ||
		skip "cannot enter a network namespace"
fi
ip link set lo up || skip "cannot bring loopback up in the namespace"

tmp=$(mktemp -d /tmp/kc-listen-XXXXXX) || fail "mktemp"
listener=
cleanup() {
	[ -n "$listener" ] && kill -INT -- "-$listener" 2>/dev/null
	sleep 0.2
	[ -n "$listener" ] && kill -KILL -- "-$listener" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ncpu=$(nproc)
port=9150

# Start trace-cmd listen in its own process group; wait until it listens.
start_listener() {
	rm -rf "$tmp/out"
	mkdir -p "$tmp/out"
	setsid trace-cmd listen -p "$port" -d "$tmp/out" -l "$tmp/listen.log" \
		>/dev/null 2>&1 &
	listener=$!
	for _ in $(seq 100); do
		ss -ltn 2>/dev/null | grep -q ":$port " && return 0
		sleep 0.05
	done
	fail "trace-cmd listen did not listen on $port"
}

# ROUNDS storms of COUNT one-byte dd copies pinned on every CPU, a
# second apart.
cat > "$tmp/storm.sh" <<EOF
#!/bin/sh
for r in \$(seq \${2:-1}); do
	[ \$r = 1 ] || sleep 1
	for c in \$(seq 0 $((ncpu - 1))); do
		taskset -c "\$c" dd if=/dev/zero of=/dev/null bs=1 count=\$1 2>/dev/null &
	done
	wait
done
EOF
chmod +x "$tmp/storm.sh"

# Events per CPU in a trace.dat, as trace-cmd report prints them: "N COUNT"
# into $2; fails if trace-cmd report does.
report_cpus() {
	trace-cmd report "$1" > "$tmp/report.txt" 2>/dev/null || return 1
	awk 'match($0, /\[[0-9]+\]/) { n[substr($0, RSTART + 1, RLENGTH - 2) + 0]++ }
		END { for (c in n) print c, n[c] }' "$tmp/report.txt" | sort -n > "$2"
	rm -f "$tmp/report.txt"
}

# Per-CPU "read" of ksession's JSON summary: "N COUNT".
json_read() {
	grep -o '"cpu":[0-9]*,"events":[0-9]*,"read":[0-9]*' "$1" |
		sed 's/"cpu":\([0-9]*\),"events":[0-9]*,"read":\([0-9]*\)/\1 \2/' |
		awk '$2 > 0' | sort -n
}

# ---- 1. streamed ---------------------------------------------------------------
start_listener
cd "$tmp" || fail "cd"
"$KC_KSESSION" record -e raw_syscalls -e sched:sched_switch -b 2048 -F -c \
	-N "127.0.0.1:$port" -t -o "$tmp/local.dat" --json \
	-- "$tmp/storm.sh" 20000 > "$tmp/rec1.json" 2> "$tmp/rec1.log"
rc=$?
[ $rc = 0 ] || fail "ksession record -N exited $rc: $(cat "$tmp/rec1.log")"
grep -q '"local_bytes":0' "$tmp/rec1.json" || fail "pages kept locally: $(cat "$tmp/rec1.json")"
[ ! -e "$tmp/local.dat" ] || fail "a local trace.dat was written though nothing was lost"
# the listener assembles its file about 2 s after CLOSE, then removes
# its per-CPU temporary files
for _ in $(seq 150); do
	ls "$tmp"/out/*.dat >/dev/null 2>&1 &&
		! ls "$tmp"/out/*.cpu* >/dev/null 2>&1 && break
	sleep 0.1
done
sleep 0.5
kill -INT -- "-$listener"
wait "$listener" 2>/dev/null
listener=
dat=$(ls "$tmp"/out/*.dat 2>/dev/null | head -1)
[ -n "$dat" ] || fail "the listener wrote no trace.dat: $(cat "$tmp/listen.log")"
report_cpus "$dat" "$tmp/report.cpus" || fail "trace-cmd report $dat failed"
json_read "$tmp/rec1.json" > "$tmp/kernel.cpus"
[ -s "$tmp/kernel.cpus" ] || fail "no CPU read any event: $(cat "$tmp/rec1.json")"
diff "$tmp/kernel.cpus" "$tmp/report.cpus" > "$tmp/cpus.diff" ||
	fail "events per CPU (kernel < > trace-cmd report): $(cat "$tmp/cpus.diff")"
echo "ok 1 streamed: events per CPU equal the kernel's read counts:" \
	$(tr '\n' ' ' < "$tmp/report.cpus")

# ---- 2. the listener killed mid-recording --------------------------------------
start_listener
rm -f "$tmp/local.dat"
( sleep 1.5; kill -KILL -- "-$listener" ) &
killer=$!
"$KC_KSESSION" record -e raw_syscalls -e sched:sched_switch -b 2048 -F -c -v -v \
	-N "127.0.0.1:$port" -o "$tmp/local.dat" --json -d 6 \
	-- "$tmp/storm.sh" 20000 4 > "$tmp/rec2.json" 2> "$tmp/rec2.log"
rc=$?
wait "$killer"
listener=
[ $rc = 3 ] || fail "ksession record -N with the listener killed exited $rc (not 3): $(cat "$tmp/rec2.log")"
grep -q "lost a connection to the listener" "$tmp/rec2.log" ||
	fail "ksession did not say the connection was lost: $(cat "$tmp/rec2.log")"
grep -q "KCONSUMERD_RELAY_LOST\|TCP connection lost" "$tmp/rec2.log" ||
	fail "neither the code nor the consumer's log line shown: $(cat "$tmp/rec2.log")"
grep -q '"partial":"the listener.s connection was lost' "$tmp/rec2.json" ||
	fail "the summary does not say the trace is partial: $(cat "$tmp/rec2.json")"
grep -q '"left":0,' "$tmp/rec2.json" || fail "buffers not drained: $(cat "$tmp/rec2.json")"
[ -s "$tmp/local.dat" ] || fail "no local trace.dat"
report_cpus "$tmp/local.dat" "$tmp/local.cpus" ||
	fail "trace-cmd report of the local trace.dat failed"
[ "$(wc -l < "$tmp/local.cpus")" -ge 1 ] || fail "the local trace.dat holds no event"
# every event of the local pages is in the local trace.dat (ksession
# counted them in the pages it wrote; trace-cmd report prints them all)
pages=$(grep -o '"events":[0-9]*,"lost"' "$tmp/rec2.json" | head -1 | grep -o '[0-9]*')
total=$(awk '{ t += $2 } END { print t + 0 }' "$tmp/local.cpus")
[ "$pages" = "$total" ] || fail "local pages hold $pages events, trace-cmd report prints $total"
echo "ok 2 listener killed: local trace.dat of $total events, exit 3, connection loss reported"
exit 0
