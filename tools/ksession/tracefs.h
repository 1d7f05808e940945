/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tracefs for a recorder of ftrace events: mounting it, a private
 * instance (instances/NAME) with its settings and events, its per-CPU
 * statistics and trace_pipe_raw files, and reading whole tracefs files.
 *
 * Only event files are touched: the function-tracer files are never
 * opened.  Every call returns 0 (or a documented non-negative value) or a
 * negative errno; nothing is printed.
 */
#ifndef KSESSION_TRACEFS_H
#define KSESSION_TRACEFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACEFS_ROOT "/sys/kernel/tracing"

/* Most CPUs a recorder handles (ids 0 .. TRACEFS_MAX_CPUS - 1). */
#define TRACEFS_MAX_CPUS 1024

struct tracefs_instance;

/* One CPU's line of numbers from per_cpu/cpuN/stats. */
struct tracefs_cpu_stats {
	uint64_t entries;	/* events in the buffer, not read yet */
	uint64_t overrun;	/* events overwritten before being read */
	uint64_t commit_overrun; /* events lost to nested writes */
	uint64_t bytes;		/* bytes in the buffer, not read yet */
	uint64_t dropped;	/* events dropped (buffer full, no overwrite) */
	uint64_t read;		/* events the readers consumed */
};

/*
 * Make sure tracefs is mounted at TRACEFS_ROOT; mount it there if not.
 * *mounted tells whether this call mounted it.
 */
int tracefs_mount(bool *mounted);

/*
 * Create the instance TRACEFS_ROOT/instances/name.  -EEXIST if it exists
 * (left alone).  The instance starts with tracing off.
 */
int tracefs_instance_create(const char *name, struct tracefs_instance **out);

/*
 * Turn tracing off, close the instance's directory and remove it (every
 * fd on its files must be closed first, the kernel refuses with EBUSY
 * otherwise).  Frees ti, whatever the result.  Accepts NULL.
 */
int tracefs_instance_remove(struct tracefs_instance *ti);

/* The instance's directory (O_PATH-like, for the *_at calls), and the root's. */
int tracefs_instance_dirfd(const struct tracefs_instance *ti);
int tracefs_root_dirfd(const struct tracefs_instance *ti);
const char *tracefs_instance_name(const struct tracefs_instance *ti);

/* Write str to the file rel (relative to dirfd), as `echo -n str > rel`. */
int tracefs_write_at(int dirfd, const char *rel, const char *str);

/*
 * Read the whole file rel (relative to dirfd) into a malloc'd buffer,
 * NUL-terminated (the NUL is not counted in *len).  Returns 0 or -errno.
 */
int tracefs_read_at(int dirfd, const char *rel, char **buf, size_t *len);

/* Write a decimal number to an instance file. */
int tracefs_write_u64(struct tracefs_instance *ti, const char *rel,
		uint64_t v);

/*
 * Enable an event: "SYSTEM:EVENT" (events/SYSTEM/EVENT/enable) or
 * "SYSTEM" / "SYSTEM:*" (events/SYSTEM/enable).  -ENOENT when there is no
 * such event or system, -EINVAL for a malformed name.
 */
int tracefs_enable_event(struct tracefs_instance *ti, const char *spec);

/*
 * Call cb for every event (in name order) that spec names, with its
 * system and name: "SYSTEM:EVENT" where either part may be a glob
 * ("sched:sched_wak*", "*:*_exit"), "SYSTEM" or "SYSTEM:" for a whole
 * system, a bare "EVENT" (or glob) of any system, "all" for every event.
 * dirfd is an instance's (or the root's) directory.  Stops at the first
 * negative return of cb.  Returns the number of events matched (0: none)
 * or -errno.
 */
int tracefs_events_match(int dirfd, const char *spec,
		int (*cb)(const char *sys, const char *ev, void *priv), void *priv);

/*
 * Set the filter of events/sys/ev.  When the kernel refuses it (EINVAL),
 * *why (if not NULL) gets its explanation, read back from the filter
 * file (malloc'd, or NULL).  0 or -errno.
 */
int tracefs_set_filter(int dirfd, const char *sys, const char *ev,
		const char *filter, char **why);

/*
 * Does an event of spec (as for tracefs_enable_event) print a kernel
 * symbol (%ps, %pS, %pB, %pf, %pF in its print fmt)?  A reader then needs
 * kallsyms to show names.  False when the formats cannot be read.
 */
bool tracefs_event_prints_symbols(struct tracefs_instance *ti, const char *spec);

/*
 * The system part of an event spec ("sched" for "sched:sched_switch"),
 * malloc'd, or NULL on allocation failure.
 */
char *tracefs_event_system(const char *spec);

/*
 * Sub-buffer (page) size of the instance from its own events/header_page:
 * the data field's offset + size.  Returns the size (> 0) or -errno.
 */
long tracefs_subbuf_size(struct tracefs_instance *ti);

/* Parse the text of a per_cpu/cpuN/stats file. -EINVAL if a field is missing. */
int tracefs_parse_stats(const char *text, struct tracefs_cpu_stats *st);

/* Read and parse per_cpu/cpuN/stats; *text (if not NULL) gets the malloc'd text. */
int tracefs_cpu_stats(struct tracefs_instance *ti, unsigned int cpu,
		struct tracefs_cpu_stats *st, char **text);

/* Open per_cpu/cpuN/trace_pipe_raw O_RDONLY|O_NONBLOCK|O_CLOEXEC: the fd or -errno. */
int tracefs_open_pipe_raw(struct tracefs_instance *ti, unsigned int cpu);

/*
 * The online CPUs (from /sys/devices/system/cpu/online): online[i] is set
 * for each online CPU i < TRACEFS_MAX_CPUS.  Returns the highest online
 * id + 1 (the number of CPU slots a trace needs) or -errno.
 */
int tracefs_online_cpus(bool online[TRACEFS_MAX_CPUS]);

#endif /* KSESSION_TRACEFS_H */
