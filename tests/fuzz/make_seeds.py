#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Writes the hand-made seeds of every fuzz target into corpus/<target>/
# (deterministic).  The files named cov-* beside them are inputs that a
# campaign (tests/fuzz/run.sh) found, minimized with libFuzzer's -merge=1
# and kept for the coverage they add (command-stream inputs under 4 KiB
# only, to keep the tree small).
# Usage: python3 tests/fuzz/make_seeds.py
import os
import struct

top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
PAGE = 4096
ADD, UPDATE, STOP = 0, 1, 2
ACTIVE, PAUSE, DELETE = 0, 1, 2


def put(target, name, data):
    d = os.path.join(top, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- protocol: chunks of (u8 flags, u8 len, bytes) ----
def chunks(buf, flags=0):
    out = b""
    first = True
    while buf or first:
        part, buf = buf[:255], buf[255:]
        out += bytes([flags if first else 0, len(part)]) + part
        first = False
    return out


def header(n, cmd, extra=0, flags=0):
    return chunks(struct.pack("=II", n * 4120 + extra, cmd), flags)


def msg(path, key, state=ACTIVE, sb=PAGE, output=0, fds=1):
    raw = path.encode().ljust(4096, b"\0")
    raw += struct.pack("=iIQI", key, state, sb, output) + b"\0" * 4
    return chunks(raw, fds)


def protocol():
    put("protocol", "pipe-stop", header(1, ADD) + msg("p0", 1) + header(0, STOP))
    put("protocol", "two-pipes-pause-delete",
        header(2, ADD) + msg("a/p1", 1) + msg("a/p2", 2, fds=1) +
        header(2, UPDATE) + msg("", 1, PAUSE, fds=0) + msg("", 2, DELETE, fds=0))
    put("protocol", "shm-splice", header(1, ADD) + msg("shm0", 7, fds=3))
    put("protocol", "shm-mmap", header(1, ADD) + msg("shm1", 8, output=1, fds=3))
    put("protocol", "shm-missing-eventfd", header(1, ADD) + msg("shm2", 9, fds=4))
    put("protocol", "ftrace-splice", header(1, ADD) + msg("cpu0", 3, fds=5))
    put("protocol", "ftrace-mmap", header(1, ADD) + msg("cpu0m", 4, output=1, fds=5))
    put("protocol", "eventfd-refused", header(1, ADD) + msg("ev", 5, fds=6))
    put("protocol", "held-pipe-paused",
        header(1, ADD) + msg("held", 6, fds=7) +
        header(1, UPDATE) + msg("", 6, PAUSE, fds=0) +
        header(1, UPDATE) + msg("", 6, ACTIVE, fds=0))
    put("protocol", "escaping-path", header(1, ADD) + msg("../out", 1))
    put("protocol", "two-fds-pipe", header(1, ADD) + msg("x", 1, fds=2))
    put("protocol", "bad-payload", header(1, ADD, 3) + chunks(b"\0" * 64))
    put("protocol", "unknown-cmd", header(0, 9) + header(1, 7))
    put("protocol", "huge-header", chunks(struct.pack("=II", 0xffffffff, ADD)))
    put("protocol", "partial-header", chunks(b"\x01\x00\x00"))
    put("protocol", "errsock-pipe", header(1, ADD, flags=8) + msg("e0", 1) + header(0, STOP))
    put("protocol", "errsock-full-coalesce",
        chunks(struct.pack("=II", 0, 9) * 400, 24) + chunks(struct.pack("=II", 4120, 0) + b"\0" * 200))
    put("protocol", "listener-pipe-stop", header(1, ADD, flags=32) + msg("l0", 1) + header(0, STOP))
    put("protocol", "listener-session-leaves", header(1, ADD, flags=40) + msg("l1", 1, fds=7))
    put("protocol", "listener-probe", b"\x20")
    put("protocol", "listener-should-exit", header(1, ADD, flags=96) + msg("q0", 1, fds=7))
    put("protocol", "listener-2011-threads", header(1, ADD, flags=160) + msg("t0", 1) + header(0, STOP))
    put("protocol", "listener-partial-header", bytes([32, 5]) + b"\0" * 5)
    put("protocol", "dup-key", header(2, ADD) + msg("k1", 1) + msg("k2", 1))


# ---- shm_ring: geometry bytes, then operations ----
def shm_hdr(nsb, sb=PAGE, magic=0x4853434B, major=1, flags=0, hsize=PAGE):
    return struct.pack("=IHHIIQII", magic, major, 0, hsize, PAGE, sb, nsb, flags) + b"\0" * 32


def poke(off, data):
    return bytes([0]) + struct.pack("<H", off) + bytes([len(data)]) + data


def shm_ring():
    ev = lambda n, flush=0: bytes([1 | (flush << 3), n])
    consume = lambda n: bytes([2 | ((n - 1) << 3)])
    put("shm_ring", "commit-consume", b"\x02\x02" + ev(40, 1) + consume(2) + ev(200, 1) + consume(4) + b"\x04" + consume(1))
    put("shm_ring", "mmap-wrap", b"\x00\x02" + (ev(250, 1) + consume(1)) * 6 + b"\x03")
    put("shm_ring", "bad-produced", b"\x01\x00" + ev(10, 1) + poke(64, struct.pack("=Q", 99)) + consume(3))
    put("shm_ring", "bad-desc-seq", b"\x01\x00" + ev(10, 1) + poke(192, struct.pack("=Q", 5)) + consume(1))
    put("shm_ring", "desc-too-big", b"\x01\x00" + ev(10, 1) + poke(200, struct.pack("=QQ", 1 << 20, 1 << 20)) + consume(1))
    put("shm_ring", "discard-backwards", b"\x01\x00" + ev(10, 1) + poke(216, struct.pack("=Q", 7)) + consume(1) + ev(10, 1) + poke(248, struct.pack("=Q", 1)) + consume(1))
    put("shm_ring", "bad-magic", b"\x00\x00" + poke(0, b"XXXX") + consume(1))
    put("shm_ring", "bad-geometry", b"\x00\x00" + poke(8, struct.pack("=I", 12345)) + consume(1))
    put("shm_ring", "wrong-max-sb", b"\x00\x04" + consume(1))
    put("shm_ring", "geometry-only", shm_hdr(8) + b"\x02")
    put("shm_ring", "geometry-huge", shm_hdr(4096, sb=64 << 20, hsize=PAGE * 17))


# ---- ftrace_page: u16 page size, u16 cut, u64 ts, page ----
def ev_word(type_len, delta):
    return struct.pack("<I", (delta << 5) | type_len)


def ftrace_pages():
    data = ev_word(2, 10) + b"\x11" * 8 + ev_word(30, 5) + struct.pack("<I", 3) + \
        ev_word(1, 7) + b"\x22" * 4 + ev_word(31, 1) + struct.pack("<I", 1 << 20) + \
        ev_word(0, 4) + struct.pack("<I", 12) + b"\x33" * 8 + ev_word(29, 0) + struct.pack("<I", 8)
    hdr = lambda ln, flags=0: struct.pack("<QQ", 1000, ln | flags)
    pre = lambda cut: struct.pack("<HHQ", PAGE - 16, cut, 77)
    put("ftrace_page", "events", pre(16) + hdr(len(data)) + data)
    put("ftrace_page", "cut-mid", pre(20) + hdr(len(data)) + data)
    put("ftrace_page", "missed-stored", pre(0) + hdr(len(data), 3 << 30) + data + struct.pack("<Q", 42))
    put("ftrace_page", "missed-flag", pre(0) + hdr(len(data), 1 << 31) + data)
    put("ftrace_page", "commit-too-big", pre(8) + hdr(1 << 26) + data)
    put("ftrace_page", "small-page", struct.pack("<HHQ", 48, 8, 0) + hdr(len(data)) + data)


# ---- ksession: selector, page shift, rest ----
STATS = b"""entries: 12
overrun: 0
commit overrun: 0
bytes: 4096
oldest event ts:  1234.000001
now ts:  1235.000002
dropped events: 0
read events: 3
"""
HEADER_PAGE = b"""\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;
\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;
\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;
\tfield: char data;\toffset:16;\tsize:4080;\tsigned:1;
"""
HEADER_EVENT = b"# compressed entry header\n\ttype_len    :    5 bits\n\ttime_delta  :   27 bits\n\tarray       :   32 bits\n"
FORMAT = b"""name: sched_switch
ID: 316
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;

print fmt: "prev_comm=%s", REC->prev_comm
"""


def ksession():
    put("ksession", "stats", b"\x00\x00" + STATS)
    put("ksession", "stats-partial", b"\x00\x00" + STATS[:40])
    page = struct.pack("<QQ", 5, 24) + ev_word(2, 1) + b"\x01" * 8 + ev_word(29, 0) + struct.pack("<I", 4)
    page += b"\0" * (4096 - len(page))
    put("ksession", "pages", b"\x01\x06" + page + struct.pack("<QQ", 6, (1 << 31) | 3))
    files = [HEADER_PAGE, HEADER_EVENT, FORMAT.replace(b"sched_switch", b"function"),
             FORMAT, b"0xffff : \"hello\"\n", b"1 init\n2 kthreadd\n", STATS,
             b"[local] global counter\n", page, page[:100]]
    put("ksession", "tracedat", b"\x02\x06" + b"\0".join(files))
    put("ksession", "tracedat-2cpu", b"\x06\x06" + b"\0".join(files))
    put("ksession", "tracedat-no-header", b"\x02\x00")


# ---- options: NUL-separated argv ----
def options():
    for name, args in {
        "sockets": ["-c", "/run/k/cmd", "-e", "/run/k/err", "-o", "/tmp"],
        "long": ["--kconsumerd-cmd-sock=/a", "--error-socket", "/b", "--output-dir=/c", "-vv"],
        "help": ["--help"],
        "version": ["-V"],
        "quiet-daemon": ["-q", "-d"],
        "bad": ["--no-such", "x"],
        "missing-arg": ["-c"],
        "numbers": ["18446744073709551615", "007", "1x", "-1"],
    }.items():
        put("options", name, b"\0".join(a.encode() for a in args))


protocol()
shm_ring()
ftrace_pages()
ksession()
options()
