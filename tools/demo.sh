#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The main job: build kconsumerd, then record with it and print a summary.
# Installs the packages it needs first.
#
# Runs as root (through sudo when started by a user).  With tracefs:
# records real kernel events (sched_switch and raw_syscalls) of a few
# seconds of a sample workload, and of that workload only (`ksession
# record -F -c`: the workload and its children), into
# build/demo/trace.dat, prints the summary and how to read it.  Otherwise: a CTF trace recorded from userspace (kctf: threads
# writing into shm ring buffers that kconsumerd drains), to read with
# babeltrace2.  The pipe demo (`ksession demo`: pipe streams fed by
# producers, every byte checked) stays available.  DEMO=ftrace|ctf|pipe
# forces one; extra arguments go to the demo chosen (e.g. --mode mmap).
# BUILD=DIR builds in DIR instead of build.
set -euo pipefail

# Root is needed (packages, tracefs): re-run through sudo, or say how.
. "$(dirname "$0")/as-root.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bdir=${BUILD:-build}
ksession=$bdir/tools/ksession/ksession
consumer=$bdir/src/kconsumerd

# A few seconds of syscalls, file-system walks and context switches.
workload='for i in 1 2 3 4 5 6; do
	dd if=/dev/zero of=/dev/null bs=4k count=20000 2>/dev/null
	ls -R /usr/lib >/dev/null 2>&1
	sleep 0.3
done'

can_trace() {
	[ "$(id -u)" -eq 0 ] && [ -d /sys/kernel/tracing ] &&
		grep -qw tracefs /proc/filesystems
}

build() {
	bash tools/deps.sh "$@"
	if [ ! -f "$bdir/build.ninja" ]; then
		meson setup "$bdir" >/dev/null
	fi
	ninja -C "$bdir" >/dev/null
}

demo_ftrace() {
	build trace-cmd
	mkdir -p "$bdir/demo"
	echo "recording sched:sched_switch and raw_syscalls of a sample workload (and only it)..."
	"$ksession" record --consumer "$consumer" -o "$bdir/demo/trace.dat" \
		-F -c -e sched:sched_switch -e raw_syscalls "$@" -- sh -c "$workload"
	echo
	echo "first events:"
	trace-cmd report "$bdir/demo/trace.dat" 2>/dev/null | sed -n '2,6p'
}

demo_pipe() {
	build
	exec "$ksession" demo --consumer "$consumer" "$@"
}

demo_ctf() {
	if [ "$(id -u)" -eq 0 ]; then build babeltrace2; else build; fi
	"$bdir/tools/ctf/kctf" --consumer "$consumer" "$@"
	command -v babeltrace2 >/dev/null ||
		echo "babeltrace2 is not installed: sudo apt-get install -y babeltrace2"
}

case ${DEMO:-auto} in
ftrace) demo_ftrace "$@" ;;
pipe) demo_pipe "$@" ;;
ctf) demo_ctf "$@" ;;
auto) if can_trace; then demo_ftrace "$@"; else demo_ctf "$@"; fi ;;
*) echo "demo.sh: DEMO must be ftrace, ctf, pipe or auto" >&2; exit 2 ;;
esac
