#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian packages kconsumerd needs to build, test and demo.
# As root it runs apt-get; otherwise it prints the line to run.
set -euo pipefail

pkgs=(gcc pkg-config meson ninja-build libevent-dev liburcu-dev libcmocka-dev
	libzstd-dev scdoc liburing-dev)
# the fault matrix's EIO file system (tests/faults/fault_fuse.c)
pkgs+=(libfuse3-dev)
# the peers the benchmarks measure against (bench/ust/lttng_peer.sh):
# lttng-consumerd, lttng-relayd and lttng-ust's libc wrapper
pkgs+=(lttng-tools liblttng-ust1)
pkgs+=("$@")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages: ${missing[*]}" >&2
	echo "run: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
