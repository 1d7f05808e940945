#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The man pages and bash completions against the programs: every long
# option that `--help` prints is in the man page and in the completion,
# and the completion offers the subcommands (when bash-completion is
# installed; else that part is skipped, saying why).
set -euo pipefail
top=$1 ksession=$2 kconsumerd=$3 kctf=$4
fail=0

# Long options in a program's --help.
longopts() { "$@" --help | grep -o -- '--[a-z][a-z-]*' | sort -u; }

check() {	# what file: each option in the file
	local what=$1 file=$2; shift 2
	for o in "$@"; do
		grep -q -- "${o//-/\\-}" "$file" && continue
		grep -qF -- "$o" "$file" && continue
		echo "FAIL: $what: $o is not in $file"; fail=1
	done
}

check "ksession record" "$top/doc/ksession.1.scd" $(longopts "$ksession" record)
check "ksession record" "$top/completion/ksession" $(longopts "$ksession" record)
check "kconsumerd" "$top/doc/kconsumerd.8.scd" $(longopts "$kconsumerd")
check "kconsumerd" "$top/completion/kconsumerd" $(longopts "$kconsumerd")
check "kctf" "$top/doc/kctf.1.scd" $(longopts "$kctf")
for f in "$top"/doc/*.scd; do
	grep -q '^# EXIT STATUS' "$f" || { echo "FAIL: $f has no EXIT STATUS"; fail=1; }
done
for p in "$ksession record" "$ksession" "$kconsumerd" "$kctf"; do
	$p --help | grep -q 'Exit status' || { echo "FAIL: $p --help: no exit status"; fail=1; }
done

if [ -f /usr/share/bash-completion/bash_completion ]; then
	got=$(bash -c '. /usr/share/bash-completion/bash_completion
		. "$1"/completion/ksession
		COMP_WORDS=(ksession rec); COMP_CWORD=1; COMP_LINE="ksession rec"
		COMP_POINT=${#COMP_LINE}; _ksession; echo "${COMPREPLY[*]}"
		COMP_WORDS=(ksession record --mo); COMP_CWORD=2
		COMP_LINE="ksession record --mo"; COMP_POINT=${#COMP_LINE}
		_ksession; echo "${COMPREPLY[*]}"
		COMP_WORDS=(ksession record --mode s); COMP_CWORD=3
		COMP_LINE="ksession record --mode s"; COMP_POINT=${#COMP_LINE}
		_ksession; echo "${COMPREPLY[*]}"' _ "$top")
	[ "$got" = $'record recover\n--mode\nsplice' ] ||
		{ echo "FAIL: completion gave: $got"; fail=1; }
else
	echo "completion not exercised: bash-completion is not installed"
fi
[ $fail -eq 0 ] && echo "docs: 1 passed, 0 failed" || echo "docs: 0 passed, 1 failed"
exit $fail
