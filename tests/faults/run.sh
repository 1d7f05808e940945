#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The fault matrix: faults played against the daemon and a real recording,
# each row asserting what survives, printed as one table
#   fault | data kept | data lost | time to recover | result
# (measured figures; "time to recover" is printed, never judged).  Exits 1
# if any row's check failed.  Rows that need root, tracefs, trace-cmd or
# FUSE say why they skip where those are missing.
#
# usage: run.sh KCONSUMERD KSESSION FAULT_PEER FAULT_PAGES FAULT_REAP [FAULT_FUSE]
#
# Rows:
#  - SIGKILL of the consumer at 5 random moments of a recording (ksession
#    held stopped meanwhile so it leaves the files as they are): every
#    per-CPU file holds whole pages that parse, `ksession recover` makes a
#    trace.dat that `trace-cmd report` reads with every event of those
#    pages.  Lost: what the tracer still held in its buffers.
#  - SIGKILL of the session daemon (ksession): the consumer drains what it
#    holds and exits 0; the files as above.
#  - SIGSTOP of the consumer for 3 s: the tracer counts losses, ksession
#    reports them, the trace.dat reads.
#  - ENOSPC mid-stream (a 256 KiB tmpfs) and at file creation (a tmpfs
#    with no inode left), EIO (a FUSE file system failing writes past
#    128 KiB: no device-mapper error target is needed): OUTFD_ERROR, the
#    errno text in the log, the failed stream's file a byte-exact prefix of
#    what was written, the other stream whole, a clean exit; ENOSPC
#    mid-stream and EIO once more with the consumer's --io uring.
#  - A session daemon that never reads its error socket (200,000 codes
#    owed): the daemon still serves a stream and exits, in bounded time.
#  - 10,000 connect/disconnect cycles on the command socket: no fd growth,
#    the daemon still serves.
set -u

KC=$1 KS=$2 PEER=$3 PAGES=$4 REAP=$5 FUSE=${6:-}
TRACEFS=/sys/kernel/tracing
EVENT=syscalls:sys_enter_getppid
STORM_RATE=200000	# getppid() calls a second per storm process
status=0
rows=()
bg=()			# background pids we started
mounts=()		# mount points to undo

work=$(mktemp -d "${TMPDIR:-/tmp}/kc-faults.XXXXXX") || exit 1

# End a background job we started, quietly (no "Killed" from the shell).
stop_bg() {
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

cleanup() {
	local p m
	for m in "${mounts[@]}"; do
		umount -l "$m" 2>/dev/null
	done
	for p in "${bg[@]}"; do
		stop_bg "$p"
	done
	rm -rf "$work"
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# row FAULT KEPT LOST TIME RESULT
row() {
	rows+=("$1|$2|$3|$4|$5")
	case $5 in FAIL*) status=1 ;; esac
}

# The value of key in a line of key=value words.
kv() {
	local key=$1 w
	for w in $2; do
		case $w in "$key="*) echo "${w#*=}"; return ;; esac
	done
}

# why_no_root: empty when running as root, else the reason.
why_no_root() { [ "$(id -u)" -eq 0 ] || echo "needs root"; }

# Why a recording cannot run here (empty when it can).
why_no_record() {
	local why
	why=$(why_no_root)
	[ -n "$why" ] && { echo "$why"; return; }
	if [ ! -d "$TRACEFS/instances" ]; then
		mount -t tracefs nodev "$TRACEFS" 2>/dev/null
		[ -d "$TRACEFS/instances" ] || { echo "no tracefs"; return; }
	fi
	command -v trace-cmd >/dev/null || { echo "no trace-cmd"; return; }
	[ -d "$TRACEFS/events/syscalls/sys_enter_getppid" ] ||
		echo "no event $EVENT"
}

# ---- the recording rows ------------------------------------------------

# The hidden data directory of a recording whose output is $1/trace.dat.
data_dir() {
	local d
	for d in "$1"/.trace.dat.??????; do
		[ -d "$d" ] && { echo "$d"; return; }
	done
}

# Sum of the sizes of the cpuN files in $1.
cpu_bytes() {
	local n=0 f
	for f in "$1"/cpu*; do
		[ -f "$f" ] && n=$(( n + $(stat -c %s "$f") ))
	done
	echo $n
}

# Wait (bounded) until the recording in $1 has written data; its data dir.
wait_writing() {
	local d i
	for (( i = 0; i < 1000; i++ )); do
		d=$(data_dir "$1")
		if [ -n "$d" ] && [ "$(cpu_bytes "$d")" -gt 0 ]; then
			echo "$d"
			return 0
		fi
		sleep 0.01
	done
	return 1
}

# The kconsumerd child of pid $1.
consumer_of() {
	local c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		[ "$(cat /proc/"$c"/comm 2>/dev/null)" = kconsumerd ] &&
			{ echo "$c"; return; }
	done
}

# Turn the tracing of ksession $1's instance off; print the entries its
# buffers still held (the tracer's own count), or "?" once it is gone.
ring_left() {
	local inst=$TRACEFS/instances/ksession-$1 n=0 f e
	[ -d "$inst" ] || { echo "?"; return; }
	echo 0 > "$inst/tracing_on" 2>/dev/null
	for f in "$inst"/per_cpu/cpu*/stats; do
		e=$(awk '/^entries:/ { print $2 }' "$f" 2>/dev/null)
		n=$(( n + ${e:-0} ))
	done
	echo $n
}

# Remove the instance a killed ksession $1 left.
drop_instance() {
	rmdir "$TRACEFS/instances/ksession-$1" 2>/dev/null
	return 0
}

# The sub-buffer ("page") size a recording's data dir was made with.
page_size_of() {
	awk '$1 == "page_size" { print $2 }' "$1/meta/recording" 2>/dev/null
}

# Events trace-cmd report prints for $1 (-1 when it cannot read it).
report_events() {
	local n
	n=$(trace-cmd report "$1" 2>"$1.err" | grep -c ' sys_enter_getppid:') ||
		true
	if grep -qi 'error\|failed' "$1.err"; then
		echo -1
	else
		echo "${n:-0}"
	fi
}

# Check the page files of data dir $1 and recover it into $2/trace.dat.
# Sets: pg_line (fault_pages' figures), rec_ms, rep_events; returns 1 and
# sets why when a check fails.
check_and_recover() {
	local d=$1 out=$2 ps t0
	ps=$(page_size_of "$d")
	pg_line=$("$PAGES" -p "${ps:-4096}" "$d"/cpu*) ||
		{ why="torn or bad pages: $pg_line"; return 1; }
	t0=$(now_ms)
	"$KS" recover -o "$out/trace.dat" "$d" >"$out/recover.log" 2>&1 ||
		{ why="ksession recover failed: $(tail -1 "$out/recover.log")"; return 1; }
	rec_ms=$(( $(now_ms) - t0 ))
	rep_events=$(report_events "$out/trace.dat")
	[ "$rep_events" -ge 0 ] ||
		{ why="trace-cmd report: $(head -1 "$out/trace.dat.err")"; return 1; }
	[ "$rep_events" -eq "$(kv events "$pg_line")" ] ||
		{ why="report has $rep_events events, the pages $(kv events "$pg_line")"; return 1; }
	return 0
}

# Start a storm of $1 seconds in the background.
storm() {
	"$PEER" storm "$1" "$STORM_RATE" 2 &
	bg+=($!)
}

# Start `ksession record` under the subreaper, output in dir $1; sets ks
# (ksession's pid) and reaplog.
start_recording() {
	local dir=$1 i
	ks=
	mkdir -p "$dir"
	reaplog=$dir/reap.log
	: > "$reaplog"	# read below before the background job opens it
	"$REAP" "$KS" record -q -e "$EVENT" -b 1024 -d 30 -o "$dir/trace.dat" \
		>"$reaplog" 2>"$dir/ksession.err" &
	bg+=($!)
	reaper=$!
	for (( i = 0; i < 500; i++ )); do
		ks=$(awk '$1 == "start" { print $2 }' "$reaplog")
		[ -n "$ks" ] && return 0
		sleep 0.01
	done
	return 1
}

# Wait (bounded) for the reaper of the current recording to end.
wait_reaper() {
	local i
	for (( i = 0; i < 3000; i++ )); do
		kill -0 "$reaper" 2>/dev/null || { wait "$reaper"; return 0; }
		sleep 0.01
	done
	return 1
}

# One SIGKILL of the consumer after $1 ms of recording, into dir $2.
# Sets kill_pages, kill_events, kill_left, rec_ms; returns 1 with why.
kill_consumer_once() {
	local delay=$1 dir=$2 d c i
	start_recording "$dir" || { why="ksession did not start"; return 1; }
	d=$(wait_writing "$dir") ||
		{ why="the recording wrote nothing"; kill -KILL "$ks"; return 1; }
	sleep "$(printf '%d.%03d' $(( delay / 1000 )) $(( delay % 1000 )))"
	c=$(consumer_of "$ks")
	[ -n "$c" ] || { why="no consumer"; kill -KILL "$ks"; return 1; }
	kill -STOP "$ks"	# ksession leaves the files as they are
	kill -KILL "$c"
	for (( i = 0; i < 500; i++ )); do
		[ "$(awk '{ print $3 }' /proc/"$c"/stat 2>/dev/null)" = Z ] && break
		sleep 0.01
	done
	kill_left=$(ring_left "$ks")
	check_and_recover "$d" "$dir"
	local ok=$?
	kill -KILL "$ks"
	wait_reaper
	drop_instance "$ks"
	[ $ok -eq 0 ] || return 1
	kill_pages=$(kv pages "$pg_line")
	kill_events=$(kv events "$pg_line")
	return 0
}

row_kill_consumer() {
	local name="SIGKILL consumer x5" why_skip pages=0 events=0 left=0
	local delays="" times="" i delay
	why_skip=$(why_no_record)
	[ -z "$why_skip" ] || { row "$name" - - - "skipped: $why_skip"; return; }
	storm 40
	local stormpid=$!
	for (( i = 1; i <= 5; i++ )); do
		delay=$(( 100 + RANDOM % 1400 ))
		delays+="${delays:+,}$(printf '%d.%02d' $(( delay / 1000 )) $(( delay % 1000 / 10 )))"
		if ! kill_consumer_once "$delay" "$work/kill$i"; then
			row "$name (at ${delays}s)" - - - "FAIL: kill $i: $why"
			stop_bg "$stormpid"
			return
		fi
		pages=$(( pages + kill_pages ))
		events=$(( events + kill_events ))
		[ "$kill_left" = "?" ] || left=$(( left + kill_left ))
		times+="${times:+,}$rec_ms"
	done
	stop_bg "$stormpid"
	row "$name (at ${delays}s)" \
		"$pages whole pages, $events events, all in trace-cmd report" \
		"$left events left in the rings" "recover $times ms" ok
}

row_kill_session() {
	local name="SIGKILL session daemon" why_skip dir=$work/killks d c line
	local st left t_kill
	why_skip=$(why_no_record)
	[ -z "$why_skip" ] || { row "$name" - - - "skipped: $why_skip"; return; }
	storm 10
	local stormpid=$!
	if ! start_recording "$dir" || ! d=$(wait_writing "$dir"); then
		row "$name" - - - "FAIL: the recording did not start"
		[ -n "${ks:-}" ] && kill -KILL "$ks"
		return
	fi
	sleep 1
	c=$(consumer_of "$ks")
	t_kill=$(( $(date +%s%N) / 1000 ))
	kill -KILL "$ks"
	wait_reaper || { row "$name" - - - "FAIL: the consumer did not exit"; return; }
	left=$(ring_left "$ks")
	stop_bg "$stormpid"
	line=$(awk -v c="$c" '$2 == c' "$reaplog")
	st=$(echo "$line" | awk '{ print $1 " " $4 }')
	if [ "$st" != "exit 0" ]; then
		row "$name" - - - "FAIL: consumer ended: ${line:-not seen}"
	elif ! check_and_recover "$d" "$dir"; then
		row "$name" - - - "FAIL: $why"
	else
		row "$name" "$(kv pages "$pg_line") whole pages, $(kv events "$pg_line") events, all in trace-cmd report" \
			"$left events left in the rings" \
			"consumer exit 0 $(awk -v a="$(echo "$line" | awk '{ print $5 }')" -v b="$t_kill" 'BEGIN { printf "%.1f", a - b / 1000 }') ms after the kill" ok
	fi
	drop_instance "$ks"
}

row_sigstop() {
	local name="SIGSTOP consumer 3 s" why_skip dir=$work/stop d c b0 t0 ms i
	local rc json ev lost rep
	why_skip=$(why_no_record)
	[ -z "$why_skip" ] || { row "$name" - - - "skipped: $why_skip"; return; }
	mkdir -p "$dir"
	storm 9
	"$KS" record --json -e "$EVENT" -b 256 -d 7 -o "$dir/trace.dat" \
		>"$dir/summary.json" 2>"$dir/ksession.err" &
	local kspid=$!
	bg+=($kspid)
	d=$(wait_writing "$dir") ||
		{ row "$name" - - - "FAIL: the recording did not start"; return; }
	sleep 1
	c=$(consumer_of "$kspid")
	kill -STOP "$c"
	sleep 3
	b0=$(cpu_bytes "$d")
	kill -CONT "$c"
	t0=$(date +%s%N)
	ms=-1
	for (( i = 0; i < 5000; i++ )); do
		if [ "$(cpu_bytes "$d")" -gt "$b0" ]; then
			ms=$(( ($(date +%s%N) - t0) / 1000000 ))
			break
		fi
		sleep 0.002
	done
	wait "$kspid"
	rc=$?
	json=$(cat "$dir/summary.json")
	ev=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])' <<<"$json" 2>/dev/null)
	lost=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["lost"])' <<<"$json" 2>/dev/null)
	rep=$(report_events "$dir/trace.dat")
	if [ "$rc" -ne 0 ]; then
		row "$name" - - - "FAIL: ksession exit $rc: $(tail -1 "$dir/ksession.err")"
	elif [ -z "$lost" ] || [ "$lost" -le 0 ]; then
		row "$name" "${ev:-?} events" "${lost:-?}" - "FAIL: no loss reported"
	elif [ "$rep" != "$ev" ]; then
		row "$name" "$ev events" "$lost" - "FAIL: trace-cmd report shows $rep events"
	elif [ "$ms" -lt 0 ]; then
		row "$name" "$ev events" "$lost" - "FAIL: nothing written after SIGCONT"
	else
		row "$name" "$ev events, all in trace-cmd report" \
			"$lost events (tracer's count, reported)" \
			"writing again $ms ms after SIGCONT" ok
	fi
}

# ---- the daemon rows ---------------------------------------------------

# A fresh work and output directory for one daemon row: sets w and o.
daemon_dirs() {
	w=$work/$1/work
	o=$work/$1/out
	mkdir -p "$w" "$o"
}

# mount_tmpfs DIR OPTIONS
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "$2" kc-faults "$1" || return 1
	mounts+=("$1")
}

# The row of a `fault_peer streams` run whose first stream fails.
streams_row() {
	local name=$1 line rc; shift
	line=$("$PEER" streams "$KC" "$w" "$o" --fail 0 "$@" 2>"$w/peer.err")
	rc=$?
	if [ $rc -ne 0 ]; then
		row "$name" - - - "FAIL: $(grep -m1 FAIL "$w/peer.err" || tail -1 "$w/peer.err")"
		return
	fi
	row "$name" "$(kv kept "$line") B of the stream (exact prefix), other stream whole ($(kv others "$line") B)" \
		"$(kv lost "$line") B the peer wrote past what the file kept" \
		"other stream served $(kv recover_ms "$line") ms after $(kv code "$line")" ok
}

row_enospc() {
	local why_skip
	why_skip=$(why_no_root)
	if [ -n "$why_skip" ]; then
		row "ENOSPC mid-stream" - - - "skipped: $why_skip (mount)"
		row "ENOSPC at file creation" - - - "skipped: $why_skip (mount)"
		return
	fi
	daemon_dirs enospc
	if mount_tmpfs "$o/small" size=256k; then
		streams_row "ENOSPC mid-stream" --code 1048 \
			--log "No space left on device" small/full:4194304 ok:4194304
	else
		row "ENOSPC mid-stream" - - - "skipped: cannot mount a tmpfs"
	fi
	daemon_dirs enospc-uring
	if mount_tmpfs "$o/small" size=256k; then
		streams_row "ENOSPC mid-stream, --io uring" --code 1048 \
			--arg --io=uring \
			--log "No space left on device" small/full:4194304 ok:4194304
	else
		row "ENOSPC mid-stream, --io uring" - - - "skipped: cannot mount a tmpfs"
	fi
	daemon_dirs enospc-create
	if mount_tmpfs "$o/noinode" size=1m,nr_inodes=1; then
		streams_row "ENOSPC at file creation" --code 1048 \
			--log "No space left on device" noinode/f:1048576 ok:1048576
	else
		row "ENOSPC at file creation" - - - "skipped: cannot mount a tmpfs"
	fi
}

# Why the device-mapper error target cannot be used here (for the row).
why_no_dm() {
	command -v dmsetup >/dev/null || { echo "no dmsetup"; return; }
	dmsetup version >/dev/null 2>&1 ||
		{ echo "no device-mapper in this kernel"; return; }
	dmsetup targets 2>/dev/null | grep -q '^error' || echo "no error target"
}

# row_eio [CONSUMER-ARG]
row_eio() {
	local name why_skip nodm i arg=${1:-} dirname=eio${1:+-uring}
	nodm=$(why_no_dm)
	name="EIO (FUSE${nodm:+; dm: $nodm})${arg:+, ${arg/=/ }}"
	why_skip=$(why_no_root)
	[ -z "$why_skip" ] || { row "$name" - - - "skipped: $why_skip (mount)"; return; }
	[ -n "$FUSE" ] || { row "$name" - - - "skipped: built without libfuse3"; return; }
	[ -c /dev/fuse ] || { row "$name" - - - "skipped: no /dev/fuse"; return; }
	daemon_dirs "$dirname"
	mkdir -p "$o/eio" "$work/$dirname/backing"
	"$FUSE" "$work/$dirname/backing" 131072 "$o/eio" >"$w/fuse.log" 2>&1 &
	local fusepid=$!
	bg+=($fusepid)
	for (( i = 0; i < 500; i++ )); do
		mountpoint -q "$o/eio" && break
		sleep 0.01
	done
	if ! mountpoint -q "$o/eio"; then
		row "$name" - - - "skipped: cannot mount FUSE: $(tail -1 "$w/fuse.log")"
		return
	fi
	mounts+=("$o/eio")
	streams_row "$name" --code 1048 --log "Input/output error" \
		${arg:+--arg "$arg"} eio/bad:4194304 ok:4194304
	umount "$o/eio" && wait "$fusepid"
}

# What became of the exit code, from the last code left on the socket.
exit_code_fate() {
	case $1 in
	KCONSUMERD_EXIT_*) echo "the exit code last" ;;
	*) echo "the exit code never sent (nobody read)" ;;
	esac
}

row_deaf() {
	local name="error socket never read" line rc
	daemon_dirs deaf
	line=$("$PEER" deaf "$KC" "$w" "$o" 200000 2>"$w/peer.err")
	rc=$?
	if [ $rc -ne 0 ]; then
		row "$name" - - - "FAIL: $(grep -m1 FAIL "$w/peer.err" || tail -1 "$w/peer.err")"
		return
	fi
	row "$name (200000 codes owed)" \
		"stream whole ($(kv kept "$line") B), log $(kv log_bytes "$line") B" \
		"0 B; $(kv codes_queued "$line") codes left unread (repeats coalesced), $(exit_code_fate "$(kv last_code "$line")")" \
		"served $(kv recover_ms "$line") ms after; exit 0 $(kv exit_ms "$line") ms after STOP" ok
}

row_cycles() {
	local name="10000 connect/disconnect" line rc
	daemon_dirs cycles
	line=$("$PEER" cycles "$KC" "$w" "$o" 10000 2>"$w/peer.err")
	rc=$?
	if [ $rc -ne 0 ]; then
		row "$name" - - - "FAIL: $(grep -m1 FAIL "$w/peer.err" || tail -1 "$w/peer.err")"
		return
	fi
	row "$name" "stream whole ($(kv kept "$line") B); fds $(kv fds "$line")" \
		"0 B" "served $(kv recover_ms "$line") ms after the cycles" ok
}

row_kill_consumer
row_kill_session
row_sigstop
row_enospc
row_eio
row_eio --io=uring
row_deaf
row_cycles

printf '%s\n' "fault|data kept|data lost|time to recover|result" "${rows[@]}" |
	column -t -s '|' -o ' | '
exit $status
