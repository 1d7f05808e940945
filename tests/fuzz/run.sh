#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A fuzzing campaign over every target of tests/fuzz, then the line
# coverage of src/ by the corpora.
#
#   [RUNS=N] tests/fuzz/run.sh SECONDS [TARGET...]
#
# Builds the libFuzzer binaries (build-fuzz: CC=clang, -Dfuzz=true), runs
# each target for SECONDS (or until it ran RUNS inputs, if RUNS is set
# and that comes first) in one process, starting from the seed corpus
# (tests/fuzz/corpus/<target>) and keeping what it finds in
# build-fuzz/campaign/corpus/<target>; prints per target the inputs run,
# inputs per second, libFuzzer's coverage counters and the crashes saved
# (build-fuzz/campaign/crashes/<target>/).  Then builds the replay binaries
# with clang's source-based coverage (build-cov), replays the seed corpus
# and the campaign's, and prints llvm-cov's report of src/; the annotated
# sources are in build-fuzz/campaign/coverage.txt.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

secs=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(protocol shm_ring ftrace_page ksession options)

bash tools/deps.sh clang llvm libclang-rt-dev

out=build-fuzz/campaign
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true >/dev/null
fi
ninja -C build-fuzz -j2 "${targets[@]/#/tests/fuzz/fuzz_}" >/dev/null
mkdir -p "$out"

printf '%-12s %12s %10s %8s %8s %8s\n' target execs execs/s cov ft crashes
for t in "${targets[@]}"; do
	corpus=$out/corpus/$t crashes=$out/crashes/$t
	mkdir -p "$corpus" "$crashes"
	cp -n tests/fuzz/corpus/$t/* "$corpus/"
	log=$out/$t.log
	# one process (-jobs would fork more): the machine is shared
	( cd "$out" && "$top/build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
		${RUNS:+-runs="$RUNS"} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$top/$crashes/" "$top/$corpus" ) >"$log" 2>&1 || true
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	nc=$(find "$crashes" -type f | wc -l)
	printf '%-12s %12s %10s %8s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" \
		"${cov:-?}" "${ft:-?}" "$nc"
done

# coverage of src/ by the corpora (seed + campaign), from replay binaries
if [ ! -f build-cov/build.ninja ]; then
	# meson runs a sanity-check binary: its profile goes nowhere
	LLVM_PROFILE_FILE=/dev/null CC=clang meson setup build-cov -Dwerror=false \
		-Dc_args='-fprofile-instr-generate -fcoverage-mapping' \
		-Dc_link_args='-fprofile-instr-generate' >/dev/null
fi
ninja -C build-cov -j2 "${targets[@]/#/tests/fuzz/replay_}" >/dev/null
rm -rf "$out/prof"
mkdir -p "$out/prof"
objs=()
for t in "${targets[@]}"; do
	LLVM_PROFILE_FILE="$top/$out/prof/$t.profraw" \
		build-cov/tests/fuzz/replay_$t tests/fuzz/corpus/$t "$out/corpus/$t" >/dev/null
	objs+=(-object "build-cov/tests/fuzz/replay_$t")
done
llvm-profdata merge -sparse "$out"/prof/*.profraw -o "$out/prof/all.profdata"
echo "== line coverage of src/ by the corpora (llvm-cov)"
# only src/: the targets, tools/ and the headers are left out
skip='(tests|tools|include)/|kc-config\.h|\.h$'
llvm-cov report "${objs[@]:1}" -instr-profile="$out/prof/all.profdata" \
	-ignore-filename-regex="$skip" | sed "s|$top/||" |
	awk 'NF >= 10 { printf "%-34s %7s %7s %8s\n", $1, $8, $9, $10 }' |
	sed '1s/.*/file                                 lines  missed    cover/' 
llvm-cov show "${objs[@]:1}" -instr-profile="$out/prof/all.profdata" \
	-ignore-filename-regex="$skip" -show-line-counts >"$out/coverage.txt"
echo "annotated sources: $out/coverage.txt"
