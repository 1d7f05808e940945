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


# ---- protocol: a settings byte (and its bytes), then chunks of
# (u8 flags, u8 len, bytes) ----
RELAY, LIVE, URING, ROTATE, PIPE_BYTES, WALK, LTTNG, CB2011 = 1, 2, 4, 8, 16, 32, 64, 128


def settings(bits=0, rotate=None, pipe=None, script=None, lttng=None):
    out = bytes([bits | (ROTATE if rotate else 0) | (PIPE_BYTES if pipe is not None else 0) |
                 (RELAY if script is not None else 0) | (LTTNG if lttng is not None else 0)])
    if rotate:
        out += bytes(rotate)
    if pipe is not None:
        out += bytes([len(pipe)]) + pipe
    if lttng is not None:
        out += bytes([lttng])
    if script is not None:
        out += bytes([len(script)]) + bytes(script)
    return out


def pput(name, data, s=b"\0"):
    put("protocol", name, s + data)


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
    pput("pipe-stop", header(1, ADD) + msg("p0", 1) + header(0, STOP))
    pput("two-pipes-pause-delete",
        header(2, ADD) + msg("a/p1", 1) + msg("a/p2", 2, fds=1) +
        header(2, UPDATE) + msg("", 1, PAUSE, fds=0) + msg("", 2, DELETE, fds=0))
    pput("shm-splice", header(1, ADD) + msg("shm0", 7, fds=3))
    pput("shm-mmap", header(1, ADD) + msg("shm1", 8, output=1, fds=3))
    pput("shm-missing-eventfd", header(1, ADD) + msg("shm2", 9, fds=4))
    pput("ftrace-splice", header(1, ADD) + msg("cpu0", 3, fds=5))
    pput("ftrace-mmap", header(1, ADD) + msg("cpu0m", 4, output=1, fds=5))
    pput("eventfd-refused", header(1, ADD) + msg("ev", 5, fds=6))
    pput("held-pipe-paused",
        header(1, ADD) + msg("held", 6, fds=7) +
        header(1, UPDATE) + msg("", 6, PAUSE, fds=0) +
        header(1, UPDATE) + msg("", 6, ACTIVE, fds=0))
    pput("escaping-path", header(1, ADD) + msg("../out", 1))
    pput("two-fds-pipe", header(1, ADD) + msg("x", 1, fds=2))
    pput("bad-payload", header(1, ADD, 3) + chunks(b"\0" * 64))
    pput("unknown-cmd", header(0, 9) + header(1, 7))
    pput("huge-header", chunks(struct.pack("=II", 0xffffffff, ADD)))
    pput("partial-header", chunks(b"\x01\x00\x00"))
    pput("errsock-pipe", header(1, ADD, flags=8) + msg("e0", 1) + header(0, STOP))
    pput("errsock-full-coalesce",
        chunks(struct.pack("=II", 0, 9) * 400, 24) + chunks(struct.pack("=II", 4120, 0) + b"\0" * 200))
    pput("listener-pipe-stop", header(1, ADD, flags=32) + msg("l0", 1) + header(0, STOP))
    pput("listener-session-leaves", header(1, ADD, flags=40) + msg("l1", 1, fds=7))
    pput("listener-probe", b"\x20")
    pput("listener-should-exit", header(1, ADD, flags=96) + msg("q0", 1, fds=7))
    pput("listener-2011-threads", header(1, ADD, flags=160) + msg("t0", 1) + header(0, STOP))
    pput("listener-partial-header", bytes([32, 5]) + b"\0" * 5)
    pput("dup-key", header(2, ADD) + msg("k1", 1) + msg("k2", 1))
    relay_seeds()
    io_seeds()
    lttng_seeds()


def lttng_seeds():
    """fd kind 6 as LTTng streams of the double (L: see fuzz_protocol.c)."""
    stop = header(0, STOP)
    ev = b"e" * 100
    for name, (bits, l, output) in {
        "lttng-splice": (0, 2 | 4, 0),
        "lttng-mmap": (0, 2 | 4, 1),
        "lttng-put-eio": (0, 1 | 8, 0),
        "lttng-splice-eagain": (0, 3 | 16 | 4, 0),
        "lttng-enodata": (0, 32, 0),
        "lttng-disabled": (0, 1 | 64, 1),
        "lttng-one-page-splices": (0, 3 | 128, 0),
        "lttng-held": (0, 2, 1),
        "lttng-2011-splice": (CB2011, 2 | 4, 0),
        "lttng-2011-mmap": (CB2011, 3 | 4, 1),
        "lttng-2011-put-eio": (CB2011, 1 | 8, 1),
    }.items():
        pput(name, header(1, ADD) + msg("lt" + name[6:], 1, output=output, fds=6) + stop,
             settings(bits, pipe=ev, lttng=l))
    pput("lttng-rotate-relay", header(2, ADD) + msg("k/lt0", 1, fds=6) + msg("k/lt1", 2, output=1, fds=6) + stop,
         settings(rotate=[1, 1], pipe=ev, lttng=2 | 4, script=[]))
    pput("pipe-2011", header(2, ADD) + msg("p2011", 1) + msg("s2011", 2, output=1, fds=3) + stop,
         settings(CB2011))
    pput("pipe-2011-mmap", header(1, ADD) + msg("p2011m", 1, output=1) + stop, settings(CB2011))


def ctf_packet(payload=b"ev" * 20, sid=0, seq=0):
    """A CTF packet in the layout of LTTng's kernel streams (host order)."""
    size = 80 + len(payload)
    hdr = struct.pack("=I16sIQ", 0xC1FC1FC1, b"u" * 16, sid, 1)
    hdr += struct.pack("=QQQQQQ", 100, 200, size * 8, size * 8, seq, 0)
    return hdr + payload


def relay_seeds():
    one = header(1, ADD) + msg("k/chan0", 1)
    stop = header(0, STOP)
    pput("relay-pipe", one + stop, settings(script=[]))
    pput("relay-ctf-pipe", one + stop, settings(pipe=ctf_packet(), script=[]))
    pput("relay-ctf-live", one + header(1, ADD) + msg("k/metadata", 2) + stop,
         settings(LIVE, pipe=ctf_packet(), script=[]))
    pput("relay-metadata", header(1, ADD) + msg("k/metadata", 2, fds=7), settings(script=[]))
    pput("relay-shm-ftrace", header(3, ADD) + msg("k/shm", 1, fds=3) + msg("k/cpu0", 2, fds=5) +
         msg("nodir", 3) + stop, settings(script=[]))
    pput("relay-held-live", header(1, ADD) + msg("k/held", 1, fds=7), settings(LIVE, script=[]))
    for name, script in {
        "relay-version-2.11": [2 << 3],
        "relay-version-refused": [1],
        "relay-session-refused": [0, 1],
        "relay-chunk-refused": [0, 0, 1],
        "relay-add-refused": [0, 0, 0, 1],
        "relay-close-refused": [0, 0, 0, 0, 1],
        "relay-garbage": [0, 7],
        "relay-raw": [2, 3, 0x41, 0x42, 0x43],
        "relay-close-control": [0, 0, 0, 4],
        "relay-close-data": [0, 0, 0, 5],
        "relay-split": [6, 6, 6, 6, 6, 6],
        "relay-stall": [0, 0, 0, 3],
        "relay-session-path-huge": [0, 8 | (9 << 4)],
        "relay-session-path": [0, 8 | (1 << 4)],
    }.items():
        pput(name, one + stop, settings(script=script))
    pput("relay-dup-handle", header(2, ADD) + msg("k/a", 1) + msg("k/b", 2) + stop,
         settings(script=[0, 0, 0, 0, 8]))
    pput("relay-lost-rotate", header(1, ADD) + msg("k/r", 1, sb=64) + stop,
         settings(rotate=[0, 2], pipe=b"x" * 200, script=[0, 0, 0, 0, 4]))
    pput("relay-lost-metadata", header(2, ADD) + msg("k/metadata", 1) + msg("k/c", 2, fds=7),
         settings(pipe=b"m" * 100, script=[0, 0, 0, 0, 0, 4]))
    pput("relay-pause-delete", header(1, ADD) + msg("k/p", 1, fds=7) +
         header(1, UPDATE) + msg("", 1, PAUSE, fds=0) + header(1, UPDATE) + msg("", 1, DELETE, fds=0),
         settings(script=[]))


def io_seeds():
    stop = header(0, STOP)
    pput("rotate-pipe", header(1, ADD) + msg("r0", 1, sb=64) + stop,
         settings(rotate=[0, 2], pipe=b"r" * 250))
    pput("rotate-shm-ftrace", header(2, ADD) + msg("r1", 1, fds=3) + msg("r2", 2, fds=5) + stop,
         settings(rotate=[3, 0]))
    pput("rotate-mmap", header(1, ADD) + msg("r3", 1, output=1, fds=3) + stop,
         settings(rotate=[70, 1]))
    pput("uring-pipe", header(2, ADD) + msg("u0", 1, sb=64) + msg("u1", 2, fds=3) + stop,
         settings(URING, pipe=b"u" * 200))
    pput("uring-rotate", header(2, ADD) + msg("u2", 1, sb=64) + msg("u3", 2, fds=5) + stop,
         settings(URING, rotate=[0, 1], pipe=b"u" * 200))
    pput("walk-paths", header(4, ADD) + msg("w/a/b", 1) + msg("w/a/c", 2) + msg("../esc", 3) +
         msg("/abs", 4) + stop, settings(WALK))
    planted = header(7, ADD) + msg("fifo", 1) + msg("null", 2) + msg("sock", 3) + msg("d", 4) + \
        msg("up/etc/kc-fuzz", 5) + msg("in/x", 6) + msg("in", 7) + stop
    pput("planted", planted)
    pput("planted-walk", planted, settings(WALK))
    pput("planted-relay-lost", planted, settings(script=[0, 0, 0, 0, 4]))
    pput("walk-dup-path", header(2, ADD) + msg("w/d", 1, fds=7) + msg("w/d", 2, fds=7),
         settings(WALK))


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
        "relay": ["--relay", "net://127.0.0.1:1:2", "--session=s", "--hostname", "h", "--live=1000"],
        "relay-bad": ["--relay=tcp://x", "--live", "--session", ""],
        "rotation": ["--tracefile-size", "4096", "--tracefile-count=3", "--io", "uring"],
        "rotation-bad": ["--tracefile-count", "3", "--io=other", "--tracefile-size=x"],
        "count-alone": ["--tracefile-count=3"],
        "count-too-large": ["--tracefile-size=1", "--tracefile-count", "99999999999"],
        "size-not-number": ["--tracefile-size", "12k"],
        "live-zero": ["--relay", "net://127.0.0.1", "--live=0"],
        "session-alone": ["--session", "s"],
    }.items():
        put("options", name, b"\0".join(a.encode() for a in args))


protocol()
shm_ring()
ftrace_pages()
ksession()
options()
