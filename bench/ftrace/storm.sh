# SPDX-License-Identifier: GPL-2.0-only
# The sustained syscall storm of the ftrace benchmarks (sourced by
# bench/ftrace/run.sh and bench/listen/run.sh): one `dd bs=1` from
# /dev/zero to /dev/null pinned on each CPU, as a command a recorder can
# run.  Needs $tmp (a scratch directory) and $count (dd bytes per CPU).

# Write $tmp/storm.sh: the storm, then its own CPU time (the shell's and
# its children's, from `times`) into $tmp/storm-times.
write_storm() {
	cat > "$tmp/storm.sh" <<EOF
#!/usr/bin/env bash
pids=()
for c in \$(seq 0 \$((\$(nproc) - 1))); do
	taskset -c "\$c" dd if=/dev/zero of=/dev/null bs=1 count=$count 2>/dev/null &
	pids+=(\$!)
done
wait "\${pids[@]}"
times > "$tmp/storm-times"
EOF
	chmod +x "$tmp/storm.sh"
}

# CPU seconds in `times` output (both lines: the shell and its children).
storm_cpu() {
	tr ' ' '\n' < "$tmp/storm-times" | awk -F'[ms]' 'NF { t += $1 * 60 + $2 }
		END { printf "%.3f", t }'
}
