#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The main job: build kconsumerd, then record with it and print a summary.
# Installs the packages it needs first.  Extra arguments go to the demo.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash tools/deps.sh
if [ ! -f build/build.ninja ]; then
	meson setup build >/dev/null
fi
ninja -C build >/dev/null
exec build/tools/ksession/ksession demo --consumer build/src/kconsumerd "$@"
