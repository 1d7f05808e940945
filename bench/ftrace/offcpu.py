#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""offcpu: where a consumer was off its CPU, from `perf script` output of
`perf record -e sched:sched_switch -g -a`.

For every thread whose comm is COMM (default kconsumerd): each interval
between being switched out and being switched back in, with the state it
left in (D: blocked in the kernel, typically on I/O or a lock; S: asleep,
e.g. waiting in epoll for data; R: preempted with work to do), the system
call it was in and the deepest kernel frames that say why.  Prints the
longest intervals (for the three longest, who ran on the CPU it left and,
for a D one, which other threads were blocked in the kernel meanwhile:
the likely holder of what it waited for) and, per (state, system call), how many lasted longer
than --limit ms (default 4: a 1 MiB buffer fills in about that long under
the sustained storm) and their total.  epoll/poll sleeps are the loop
waiting for data: listed apart, they are not stalls.

Usage: perf script -i perf.data -F comm,tid,cpu,time,event,trace,ip,sym |
       offcpu.py [--comm NAME] [--limit MS] [--top N]
"""
import argparse
import collections
import re
import sys

SWITCH = re.compile(r"^\s*(\S.*?)\s+(\d+)\s+\[(\d+)\]\s+([0-9.]+):\s+sched:sched_switch:\s+"
                    r"prev_comm=(.*?) prev_pid=(\d+) .*?prev_state=(\S+) ==> "
                    r"next_comm=(.*?) next_pid=(\d+)")
FRAME = re.compile(r"^\s+[0-9a-f]+\s+(\S+)")
SYSCALL = re.compile(r"^(?:__x64_sys_|__do_sys_|ksys_)(\w+)$")
IDLE = {"epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select",
        "pselect6"}
WHY = ("folio_wait", "wait_on_page", "balance_dirty_pages", "io_schedule",
       "rwsem", "mutex", "filemap", "writeback", "jbd2", "ext4", "blk_",
       "sync_file_range", "fadvise", "invalidate", "ring_buffer", "splice",
       "pipe", "alloc_pages", "handle_mm_fault", "exc_page_fault",
       "schedule_timeout", "wait_for", "mempool", "__cond_resched")


def parse_events(lines):
    """Yield (time, prev_pid, prev_state, next_pid, prev_comm, frames,
    cpu, next_comm)."""
    ev = None
    for line in lines:
        m = SWITCH.match(line)
        if m:
            if ev:
                yield ev
            ev = (float(m.group(4)), int(m.group(6)), m.group(7),
                  int(m.group(9)), m.group(5), [], int(m.group(3)), m.group(8))
            continue
        f = FRAME.match(line)
        if f and ev:
            ev[5].append(f.group(1))
    if ev:
        yield ev


def label(frames):
    """(system call, short why) from a switch-out stack."""
    call = "?"
    for fr in frames:
        m = SYSCALL.match(fr)
        if m:
            call = m.group(1)
    why = [fr for fr in frames[1:8] if any(w in fr for w in WHY)]
    return call, " < ".join(why[:3]) if why else " < ".join(frames[1:3])


def intervals(events, comm, timeline, blocked):
    """Off-CPU intervals (length s, state, call, why, time, cpu) of
    threads COMM; timeline[cpu] gets every (time, comm now running),
    blocked every other thread's D interval (t0, t1, comm, why)."""
    out_at, other = {}, {}
    for t, prev, state, nxt, pcomm, frames, cpu, ncomm in events:
        timeline[cpu].append((t, ncomm))
        if pcomm == comm:
            out_at[prev] = (t, state, frames, cpu)
        elif state.startswith("D"):
            other[prev] = (t, pcomm, frames)
        if nxt in other:
            t0, oc, fr = other.pop(nxt)
            blocked.append((t0, t, oc, label(fr)[1]))
        if nxt in out_at:
            t0, st, fr, c0 = out_at.pop(nxt)
            call, why = label(fr)
            yield t - t0, st[0], call, why, t0, c0


def held_by(blocked, t0, t1, least):
    """Other threads blocked (D) for at least least s during [t0, t1]."""
    hits = [(min(b, t1) - max(a, t0), c, w) for a, b, c, w in blocked
            if min(b, t1) - max(a, t0) >= least]
    hits.sort(reverse=True)
    return "; ".join(f"{c} {d*1e3:.1f} ms ({w})" for d, c, w in hits[:3]) or "none"


def ran(timeline, cpu, t0, t1):
    """Who ran on cpu between t0 and t1, longest first, as 'comm ms'."""
    use = collections.Counter()
    line = timeline[cpu]
    for i, (t, c) in enumerate(line):
        end = line[i + 1][0] if i + 1 < len(line) else t1
        lo, hi = max(t, t0), min(end, t1)
        if hi > lo:
            use[c] += hi - lo
    return ", ".join(f"{c} {d*1e3:.1f}" for c, d in use.most_common(3))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--comm", default="kconsumerd")
    p.add_argument("--limit", type=float, default=4.0)
    p.add_argument("--top", type=int, default=6)
    a = p.parse_args()
    timeline, blocked = collections.defaultdict(list), []
    iv = list(intervals(parse_events(sys.stdin), a.comm, timeline, blocked))
    if not iv:
        print(f"    offcpu: no switch of {a.comm} seen")
        return
    busy = [x for x in iv if x[2] not in IDLE]
    idle = [x for x in iv if x[2] in IDLE]
    busy.sort(reverse=True)
    print(f"    offcpu {a.comm}: {len(iv)} switches; longest outside epoll/poll: " +
          "; ".join(f"{d*1e3:.1f} ms {s} in {c} ({w})" for d, s, c, w, _, _ in busy[:a.top]))
    for d, s, c, w, t0, cpu in busy[:3]:
        print(f"      {d*1e3:.1f} ms {s} in {c}: cpu{cpu} ran {ran(timeline, cpu, t0, t0 + d)}")
        if s == "D":
            print(f"        also blocked then: {held_by(blocked, t0, t0 + d, d / 4)}")
    per = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for d, s, c, _, _, _ in busy:
        k = per[(s, c)]
        k[2] = max(k[2], d)
        if d * 1e3 > a.limit:
            k[0] += 1
            k[1] += d
    print(f"      > {a.limit:g} ms: " + "; ".join(
        f"{s} {c}: {n} ({tot*1e3:.0f} ms, max {mx*1e3:.1f})"
        for (s, c), (n, tot, mx) in sorted(per.items(), key=lambda kv: -kv[1][1]) if n)
        + (f"; idle in epoll/poll: max {max(x[0] for x in idle)*1e3:.1f} ms" if idle else ""))


if __name__ == "__main__":
    main()
