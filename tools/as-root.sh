# SPDX-License-Identifier: GPL-2.0-only
# Sourced by tools/demo.sh and tools/test.sh: root is needed (packages,
# tracefs), so re-run the calling script through sudo, or say how.
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo DEMO="${DEMO:-}" BUILD="${BUILD:-}" bash "$0" "$@"
	fi
	echo "$(basename "$0"): needs root and there is no sudo here: run it as root" >&2
	echo "  (e.g. su -c 'bash tools/$(basename "$0")')" >&2
	exit 1
fi
