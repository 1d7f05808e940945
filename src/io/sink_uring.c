/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <liburing.h>

#include "io-priv.h"
#include "sink_file.h"

/*
 * The io_uring sink: trace files written without the loop ever entering
 * the file system.  Measured on ext4 mounted with discard, a pwrite or a
 * splice into the trace file blocked the loop for 88-267 ms on the block
 * mapping lock while writeback discarded, sync_file_range for up to 43
 * ms; at storm rates a 1 MiB ftrace buffer fills in ~4 ms.  Here the loop
 * only copies the bytes into memory of its own and queues the writes; the
 * kernel's io-wq threads take the file system's locks.
 *
 * The bytes taken from memory spans are copied into a staging ring of
 * inflight_max bytes (64 MiB by default): "taken" means "the source may
 * reuse it", as with the sync sink, so a source puts its sub-buffer (an
 * LTTng or shm sub-buffer, the ftrace staging page) at once and the
 * producer never waits for the disk.  Rejected: writing from the source's
 * memory and calling bytes taken only once written (a sub-buffer held per
 * write, so a stall of the disk stalls the producer again).
 *
 * Bytes in a pipe whose pages their producer gave away (spliced ftrace
 * pages: io_sink.pipe_given) are not copied: the loop moves them (page
 * references, splice between pipes) into one
 * of two staging pipes of the sink's own, and io-wq splices that pipe
 * into the file at its offset (IORING_OP_SPLICE): one copy, as the sync
 * sink's splice makes, instead of two.  A splice in flight holds its
 * pipe's lock while the file system blocks, so the loop only ever fills
 * a pipe that is not in flight; with both in flight, splice_from is full.
 * Other pipe bytes (a shm memfd's pages, which the producer rewrites once
 * they are put), and all of them where the kernel lacks IORING_OP_SPLICE,
 * the pipes cannot be made or KCONSUMERD_URING_NO_SPLICE is set (tests),
 * are read into the staging ring as memory ones.  Writes at
 * explicit offsets need no order among themselves; they are submitted in
 * the file's order, so that they retire in it.
 *
 * Writes: the bytes not yet submitted form one contiguous span of the
 * ring; it is submitted (IORING_OP_WRITE at its file offset, always run
 * by io-wq) at each sub-buffer boundary, at the end of the ring and every
 * 4 MiB: never held back for a bigger batch, since a stream that goes
 * quiet would leave its last bytes out of the file until it ends.  A
 * short write is resubmitted for the rest; an error is kept and returned
 * by the next call (the stream ends).  Completions are reaped at every
 * call, without a system call.
 *
 * Full: no room in the ring (or no free write slot) and write and
 * splice_from say -EAGAIN, taking nothing; wait_fd is an eventfd the ring
 * signals at each completion, waited on readable; the driver holds its
 * sub-buffer meanwhile.  begin says -EAGAIN too before a rotation while
 * anything is in flight, and flush until everything is: the next file
 * opens, the stream ends, only once the previous file is complete.
 *
 * Opening, rotation (PATH_0, PATH_1, ...), counting and the page-cache
 * decisions are the file sink's (sink_file.c), which this sink keeps
 * inside; its hygiene calls come here and are queued as well: the
 * writeback kick as IORING_OP_SYNC_FILE_RANGE, the drop as
 * IORING_OP_FADVISE (after a linked SYNC_FILE_RANGE wait when the file
 * sink would have waited), in order of the file's offsets as writes
 * complete.  Nothing waits in the loop, so counters.sync_wait_ns stays 0.
 *
 * The ring, its eventfd and the staging memory are set up at the first
 * sub-buffer, so that an idle stream costs no fd or memory beyond the
 * file sink's.  Fallback: where io_uring cannot be had (no io_uring in
 * the kernel, io_uring_disabled, a seccomp filter refusing it, a missing
 * operation: probed once per process) io_sink_uring_wrap fails and the
 * stream keeps the file sink; a ring that cannot be set up later (out of
 * fds or memory) leaves this sink passing every call to the file sink.
 * Close waits for what is in flight (flush has emptied it on every normal
 * end): the ring's memory and the file must outlive their writes.
 */

#define UR_ENTRIES	64		/* submission queue */
#define UR_CQ_ENTRIES	512		/* completion queue */
#define UR_OPS		256		/* data writes in flight */
#define UR_HYG_MAX	64		/* hygiene requests in flight */
#define UR_OP_MAX	(4UL << 20)	/* submitted at once from here */
#define UR_PIPE_BYTES	(1UL << 20)	/* staging pipe capacity asked for */

#define UR_TAG_SHIFT	56
#define UR_TAG_DATA	1ULL
#define UR_TAG_HYG	2ULL
#define UR_TAG_GATE	3ULL
#define UR_TAG_LINKED	4ULL	/* hygiene after a wait: its file resolved late */

#define UR_WAIT_FLAGS	(SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | \
			 SYNC_FILE_RANGE_WAIT_AFTER)

/*
 * One write in flight: ring bytes [pos, pos + len), or the len bytes of
 * staging pipe pipe (>= 0), at file offset off.
 */
struct ur_op {
	uint64_t pos;
	size_t len;
	size_t done;
	off_t off;
	int pipe;
	bool complete;
};

/* A staging pipe: filled by the loop, or in flight (never both). */
struct ur_pipe {
	int fd[2];
	size_t cap;		/* its capacity */
	size_t len;		/* bytes in it */
	off_t off;		/* the file offset of its first byte */
	bool inflight;
};

struct sink_uring {
	struct io_sink k;	/* first; fd and off mirror the file sink's */
	struct io_sink *file;	/* opening, rotation, hygiene decisions */
	int state;		/* 0: no ring yet, 1: up, -errno: none, the
				   file sink writes */
	uint64_t inflight_max;
	struct io_uring ring;
	bool ring_ok;
	int efd;		/* signalled at each completion */
	int gate;		/* tests: writes wait for it readable, or -1 */
	unsigned char *buf;	/* the staging ring */
	size_t size;
	uint64_t head;		/* bytes copied in */
	uint64_t tail;		/* bytes whose write completed (freed) */
	uint64_t pend;		/* head of the bytes not yet submitted */
	off_t pend_off;		/* their file offset */
	struct ur_op ops[UR_OPS];
	uint64_t op_head, op_tail; /* ops in flight: [op_head, op_tail) */
	int pipes_state;	/* 0: not made yet, 1: made, -1: copy instead */
	struct ur_pipe pipe[2];
	int fill;		/* the pipe being filled, or -1 */
	unsigned int nhyg;	/* hygiene requests in flight */
	unsigned int nlinked;	/* of which linked (the fd must stay open) */
	int err;		/* a write failed: -errno, returned from now on */
	off_t err_at;		/* where the first failed write stopped, or -1:
				   the file is cut there once nothing is in
				   flight (later writes may have landed) */
};

/* IORING_OP_SPLICE is there (probed with the other operations). */
static bool ur_splice_supported;

static struct sink_uring *ur_of(struct io_sink *k)
{
	return (struct sink_uring *)k;
}

static unsigned int ur_inflight(const struct sink_uring *u)
{
	return (unsigned int)(u->op_tail - u->op_head);
}

/*
 * Anything in flight that needs the current fd open?  Writes and linked
 * hygiene requests get their file when they run; an unlinked hygiene
 * request got it when submitted.
 */
static bool ur_busy(const struct sink_uring *u)
{
	return ur_inflight(u) > 0 || u->nlinked > 0 || u->pend != u->head ||
	       (u->fill >= 0 && u->pipe[u->fill].len > 0);
}

/* A free submission entry (submitting what is queued when none is). */
static struct io_uring_sqe *ur_sqe(struct sink_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

/* Queue the rest of write op i (after the gate's poll, in tests). */
static int ur_queue_op(struct sink_uring *u, uint64_t i)
{
	struct ur_op *op = &u->ops[i % UR_OPS];
	struct io_uring_sqe *sqe;

	if (u->gate >= 0) {
		sqe = ur_sqe(u);
		if (!sqe)
			return -EBUSY;
		io_uring_prep_poll_add(sqe, u->gate, POLLIN);
		sqe->flags |= IOSQE_IO_LINK;
		io_uring_sqe_set_data64(sqe, UR_TAG_GATE << UR_TAG_SHIFT);
	}
	sqe = ur_sqe(u);
	if (!sqe)
		return -EBUSY;
	if (op->pipe >= 0)
		io_uring_prep_splice(sqe, u->pipe[op->pipe].fd[0], -1,
				     u->file->fd, op->off + (off_t)op->done,
				     (unsigned int)(op->len - op->done), 0);
	else
		io_uring_prep_write(sqe, u->file->fd,
				    u->buf + (op->pos + op->done) % u->size,
				    (unsigned int)(op->len - op->done),
				    (uint64_t)(op->off + (off_t)op->done));
	sqe->flags |= IOSQE_ASYNC;	/* never into the file system here */
	io_uring_sqe_set_data64(sqe, UR_TAG_DATA << UR_TAG_SHIFT | i % UR_OPS);
	return 0;
}

/* Submit the ring's bytes not yet submitted as one write. */
static void ur_submit_ring(struct sink_uring *u)
{
	struct ur_op *op;
	size_t len = (size_t)(u->head - u->pend);

	if (len == 0 || ur_inflight(u) >= UR_OPS)
		return;
	op = &u->ops[u->op_tail % UR_OPS];
	*op = (struct ur_op){ .pos = u->pend, .len = len, .off = u->pend_off,
			      .pipe = -1 };
	if (ur_queue_op(u, u->op_tail) < 0) {
		u->err = -EBUSY;
		return;
	}
	u->op_tail++;
	u->pend = u->head;
	u->pend_off += (off_t)len;
	io_uring_submit(&u->ring);
}

/* Submit the pipe being filled as one splice; the other fills next. */
static void ur_submit_pipe(struct sink_uring *u)
{
	struct ur_pipe *p = u->fill >= 0 ? &u->pipe[u->fill] : NULL;
	struct ur_op *op;

	if (!p || p->len == 0 || ur_inflight(u) >= UR_OPS)
		return;
	op = &u->ops[u->op_tail % UR_OPS];
	*op = (struct ur_op){ .len = p->len, .off = p->off, .pipe = u->fill };
	if (ur_queue_op(u, u->op_tail) < 0) {
		u->err = -EBUSY;
		return;
	}
	u->op_tail++;
	p->inflight = true;
	u->fill = u->pipe[!u->fill].inflight ? -1 : !u->fill;
	io_uring_submit(&u->ring);
}

/*
 * Submit everything not yet submitted, the ring's and the pipe's, the
 * one earlier in the file first: writes retire in the order they were
 * submitted, which must be the file's for its hygiene.
 */
static void ur_submit_pending(struct sink_uring *u)
{
	bool pipe_first = u->fill >= 0 && u->pipe[u->fill].len > 0 &&
		(u->pend == u->head || u->pipe[u->fill].off < u->pend_off);

	if (u->err)
		return;		/* nothing lands past a failed write */
	if (pipe_first)
		ur_submit_pipe(u);
	ur_submit_ring(u);
	if (!pipe_first)
		ur_submit_pipe(u);
}

/*
 * A write failed with its bytes from at on missing.  Writes run side by
 * side in io-wq, so one further on may still land (a full disk freeing
 * no room for the earlier one): the file would hold a hole before data.
 * It is cut at the lowest such point once everything has completed, so
 * that, as with the sync sink, it is a byte-exact prefix of the stream.
 */
static void ur_failed_at(struct sink_uring *u, off_t at)
{
	if (u->err_at < 0 || at < u->err_at)
		u->err_at = at;
}

/* Everything has completed: cut the file where the first write failed. */
static void ur_cut(struct sink_uring *u)
{
	struct stat sb;

	if (u->err_at < 0 || u->file->fd < 0 ||
	    fstat(u->file->fd, &sb) < 0 || sb.st_size <= u->err_at)
		return;
	if (ftruncate(u->file->fd, u->err_at) < 0)
		u->err_at = -1;	/* nothing better: the hole stays */
}

/* A write's completion: done, resubmitted for the rest, or failed. */
static bool ur_complete_op(struct sink_uring *u, uint64_t idx, int res)
{
	struct ur_op *op = &u->ops[idx % UR_OPS];

	if (res <= 0) {
		if (!u->err)
			u->err = res < 0 ? res : -ENOSPC;
		ur_failed_at(u, op->off + (off_t)op->done);
		op->complete = true;
		return false;
	}
	op->done += (size_t)res;
	if (op->done >= op->len) {
		op->complete = true;
		return false;
	}
	if (ur_queue_op(u, idx) < 0) {	/* short: the rest, at its offset */
		u->err = -EIO;
		ur_failed_at(u, op->off + (off_t)op->done);
		op->complete = true;
		return false;
	}
	return true;
}

/* Free the ring in order as the oldest writes complete; their hygiene. */
static void ur_retire(struct sink_uring *u)
{
	while (u->op_head < u->op_tail) {
		struct ur_op *op = &u->ops[u->op_head % UR_OPS];

		if (!op->complete)
			break;
		if (!u->err)
			io_sink_file_written(u->file, op->off, op->len);
		if (op->pipe >= 0) {
			u->pipe[op->pipe].inflight = false;
			u->pipe[op->pipe].len = 0;
			if (u->fill < 0)
				u->fill = op->pipe;
		} else {
			u->tail = op->pos + op->len;
		}
		u->op_head++;
	}
}

/* Take every completion there is (no system call unless resubmitting). */
static void ur_reap(struct sink_uring *u)
{
	struct io_uring_cqe *cqe;
	bool resubmit = false;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uint64_t data = io_uring_cqe_get_data64(cqe);
		uint64_t tag = data >> UR_TAG_SHIFT;
		int res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		if (tag == UR_TAG_DATA)
			resubmit |= ur_complete_op(u, data & 0xffff, res);
		else if (tag == UR_TAG_HYG || tag == UR_TAG_LINKED)
			u->nhyg -= u->nhyg > 0;
		if (tag == UR_TAG_LINKED)
			u->nlinked -= u->nlinked > 0;
	}
	if (resubmit)
		io_uring_submit(&u->ring);
	ur_retire(u);
	if (ur_inflight(u) == 0)
		ur_submit_pending(u);
}

/* About to say "wait": reset the eventfd, then look once more. */
static void ur_rearm(struct sink_uring *u)
{
	uint64_t v;

	if (read(u->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	ur_reap(u);
}

/*
 * The driver moved the offset (a 2011 callback): bytes go there now, once
 * those bound for the old one are submitted.  false: not yet possible.
 */
static bool ur_sync_in(struct sink_uring *u)
{
	off_t at = u->pend_off + (off_t)(u->head - u->pend);

	if (u->k.off != at) {
		ur_submit_pending(u);
		if (u->pend != u->head ||
		    (u->fill >= 0 && u->pipe[u->fill].len > 0))
			return false;
		u->pend_off = u->k.off;
	}
	u->file->off = u->k.off;
	return true;
}

static void ur_sync_out(struct sink_uring *u)
{
	u->k.fd = u->file->fd;
	u->k.off = u->file->off;
}

/* Contiguous room for up to len bytes at the head, 0 when full. */
static size_t ur_room(const struct sink_uring *u, size_t len)
{
	size_t used = (size_t)(u->head - u->tail);
	size_t contig = u->size - (size_t)(u->head % u->size);
	size_t n = u->size - used;

	if (ur_inflight(u) + 2 > UR_OPS)
		return 0;
	if (u->head % u->size == 0 && u->pend != u->head)
		return 0;	/* the bytes up to the end go first */
	if (n > contig)
		n = contig;
	return n < len ? n : len;
}

/* Where the next n bytes go, or NULL (full: nothing taken). */
static unsigned char *ur_reserve(struct sink_uring *u, size_t *len)
{
	size_t n;

	ur_reap(u);
	if (u->err)
		return NULL;
	n = ur_sync_in(u) ? ur_room(u, *len) : 0;
	if (n == 0) {
		ur_rearm(u);
		n = ur_sync_in(u) ? ur_room(u, *len) : 0;
	}
	if (n == 0) {
		ur_submit_pending(u);	/* so that a completion will come */
		return NULL;
	}
	*len = n;
	return u->buf + u->head % u->size;
}

/* n bytes were copied at the head. */
static void ur_commit(struct sink_uring *u, size_t n)
{
	u->head += n;
	io_sink_file_take(u->file, n);
	ur_sync_out(u);
	if (u->head % u->size == 0 || u->head - u->pend >= UR_OP_MAX)
		ur_submit_pending(u);
}

/* ---- hygiene, queued ---------------------------------------------------- */

static int ur_kick(void *arg, int fd, off_t off, off_t len)
{
	struct sink_uring *u = arg;
	struct io_uring_sqe *sqe;

	if (u->nhyg + 1 > UR_HYG_MAX || !(sqe = ur_sqe(u)))
		return -EAGAIN;	/* kicked with the next range */
	io_uring_prep_sync_file_range(sqe, fd, (unsigned int)len, (uint64_t)off,
				      SYNC_FILE_RANGE_WRITE);
	io_uring_sqe_set_data64(sqe, UR_TAG_HYG << UR_TAG_SHIFT);
	u->nhyg++;
	io_uring_submit(&u->ring);
	return 0;
}

static void ur_settle(void *arg, int fd, off_t off, off_t len, bool wait)
{
	struct sink_uring *u = arg;
	struct io_uring_sqe *sqe;

	if (u->nhyg + 2 > UR_HYG_MAX)
		return;	/* the kernel reclaims clean pages anyway */
	if (wait && (sqe = ur_sqe(u))) {
		io_uring_prep_sync_file_range(sqe, fd, (unsigned int)len,
					      (uint64_t)off, UR_WAIT_FLAGS);
		sqe->flags |= IOSQE_IO_LINK;
		io_uring_sqe_set_data64(sqe, UR_TAG_LINKED << UR_TAG_SHIFT);
		u->nhyg++;
		u->nlinked++;
	} else {
		wait = false;
	}
	sqe = ur_sqe(u);
	if (sqe) {
		io_uring_prep_fadvise(sqe, fd, (uint64_t)off, len,
				      POSIX_FADV_DONTNEED);
		io_uring_sqe_set_data64(sqe, (wait ? UR_TAG_LINKED : UR_TAG_HYG)
					<< UR_TAG_SHIFT);
		u->nhyg++;
		u->nlinked += wait;
	}
	io_uring_submit(&u->ring);
}

static const struct sink_file_hyg ur_hyg = {
	.kick = ur_kick,
	.settle = ur_settle,
};

/* ---- without a ring: the file sink writes ------------------------------- */

/* The ring, its eventfd and staging memory, set up at the first begin. */
static int ur_setup(struct sink_uring *u);
static void ur_teardown(struct sink_uring *u);

/* Is the ring up (set up now if not tried yet)? */
static bool ur_live(struct sink_uring *u)
{
	if (u->state == 0) {
		u->state = ur_setup(u);
		if (u->state < 0)
			ur_teardown(u);
		else
			io_sink_file_set_hyg(u->file, &ur_hyg, u);
	}
	return u->state > 0;
}

static int ur_pass_begin(struct sink_uring *u, size_t len)
{
	int ret;

	u->file->off = u->k.off;
	ret = u->file->ops->begin(u->file, len);
	ur_sync_out(u);
	return ret;
}

static ssize_t ur_pass_write(struct sink_uring *u, const void *buf,
		size_t len, int pipe_r)
{
	ssize_t n;

	u->file->off = u->k.off;
	n = pipe_r < 0 ? u->file->ops->write(u->file, buf, len) :
			 u->file->ops->splice_from(u->file, pipe_r, len);
	ur_sync_out(u);
	return n;
}

/* ---- the ops ----------------------------------------------------------- */

/* Wait for everything in flight (not a byte of it pending): 0, -EAGAIN. */
static int ur_quiesce(struct sink_uring *u)
{
	ur_submit_pending(u);
	if (!ur_busy(u))
		return 0;
	ur_rearm(u);
	return ur_busy(u) ? -EAGAIN : 0;
}

static int ur_begin(struct io_sink *k, size_t len)
{
	struct sink_uring *u = ur_of(k);
	int ret;

	if (!ur_live(u))
		return ur_pass_begin(u, len);
	ur_reap(u);
	if (u->err)
		return u->err;
	if (!ur_sync_in(u))
		return -EAGAIN;	/* writes in flight: a completion will come */
	if (io_sink_file_rotates(u->file, len)) {
		ret = ur_quiesce(u);
		if (ret < 0 || u->err)
			return u->err ? u->err : ret;
	}
	ret = u->file->ops->begin(u->file, len);
	ur_sync_out(u);
	return ret;
}

static ssize_t ur_write(struct io_sink *k, const void *buf, size_t len)
{
	struct sink_uring *u = ur_of(k);
	unsigned char *dst;

	if (u->state <= 0)
		return ur_pass_write(u, buf, len, -1);
	dst = ur_reserve(u, &len);
	if (!dst)
		return u->err ? u->err : -EAGAIN;
	memcpy(dst, buf, len);
	ur_commit(u, len);
	return (ssize_t)len;
}

/* The two staging pipes, made at the first pipe bytes; false: copy. */
static bool ur_pipes(struct sink_uring *u)
{
	struct ur_pipe *p;
	int size;

	if (u->pipes_state)
		return u->pipes_state > 0;
	u->pipes_state = -1;
	if (!ur_splice_supported)
		return false;
	for (int i = 0; i < 2; i++) {
		p = &u->pipe[i];
		if (pipe2(p->fd, O_CLOEXEC | O_NONBLOCK) < 0) {
			p->fd[0] = p->fd[1] = -1;
			return false;
		}
		fcntl(p->fd[1], F_SETPIPE_SZ, (int)UR_PIPE_BYTES);
		size = fcntl(p->fd[1], F_GETPIPE_SZ);
		if (size <= 0)
			return false;
		p->cap = (size_t)size;
	}
	u->pipes_state = 1;
	u->fill = 0;
	return true;
}

/*
 * Move up to len bytes from pipe_r into the pipe being filled: bytes,
 * 0 when no pipe can take them now (both in flight, or the one filling
 * is full or at another offset: it is submitted), or -errno.
 */
static ssize_t ur_splice_move(struct sink_uring *u, int pipe_r, size_t len)
{
	struct ur_pipe *p;
	ssize_t n;

	if (u->fill >= 0 && u->pipe[u->fill].len > 0 &&
	    (u->pipe[u->fill].off + (off_t)u->pipe[u->fill].len != u->k.off ||
	     u->pipe[u->fill].len >= u->pipe[u->fill].cap))
		ur_submit_pending(u);
	if (u->fill < 0)
		return 0;
	p = &u->pipe[u->fill];
	if (p->len == 0) {
		if (u->pend != u->head && !ur_sync_in(u))
			return 0;
		p->off = u->k.off;
	}
	if (len > p->cap - p->len)
		len = p->cap - p->len;
	do {
		n = splice(pipe_r, NULL, p->fd[1], NULL, len,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0)	/* the source said these bytes are in the pipe */
		return -EIO;
	p->len += (size_t)n;
	io_sink_file_take(u->file, (size_t)n);
	ur_sync_out(u);
	if (p->len >= p->cap)
		ur_submit_pending(u);
	return n;
}

static ssize_t ur_splice_from(struct io_sink *k, int pipe_r, size_t len)
{
	struct sink_uring *u = ur_of(k);
	unsigned char *dst;
	ssize_t n;

	if (u->state <= 0)
		return ur_pass_write(u, NULL, len, pipe_r);
	if (u->k.pipe_given && ur_pipes(u)) {
		ur_reap(u);
		if (u->err)
			return u->err;
		u->file->off = u->k.off;
		n = ur_splice_move(u, pipe_r, len);
		if (n == 0) {
			ur_rearm(u);
			n = ur_splice_move(u, pipe_r, len);
		}
		return n == 0 ? (u->err ? u->err : -EAGAIN) : n;
	}
	dst = ur_reserve(u, &len);
	if (!dst)
		return u->err ? u->err : -EAGAIN;
	do {
		n = read(pipe_r, dst, len);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)	/* the source said these bytes are in the pipe */
		return n < 0 && errno != EAGAIN ? -errno : -EIO;
	ur_commit(u, (size_t)n);
	return n;
}

static int ur_boundary(struct io_sink *k, unsigned int units)
{
	struct sink_uring *u = ur_of(k);

	if (u->state <= 0)
		return u->file->ops->boundary(u->file, units);
	ur_reap(u);
	ur_submit_pending(u);
	if (u->err)
		return u->err;
	return u->file->ops->boundary(u->file, units);
}

static size_t ur_room_left(const struct io_sink *k)
{
	const struct sink_uring *u = (const struct sink_uring *)k;

	u->file->off = k->off;
	return u->file->ops->room(u->file);
}

static int ur_wait_fd(const struct io_sink *k)
{
	const struct sink_uring *u = (const struct sink_uring *)k;

	return u->state > 0 ? u->efd : u->file->ops->wait_fd(u->file);
}

static bool ur_wait_readable(const struct io_sink *k)
{
	return ((const struct sink_uring *)k)->state > 0;
}

/* A write failed and the driver hears of it at flush: count it there. */
static int ur_flush_error(struct sink_uring *u)
{
	u->k.c->errors++;
	return u->err;
}

static int ur_flush(struct io_sink *k)
{
	struct sink_uring *u = ur_of(k);
	int ret;

	if (u->state <= 0)
		return u->file->ops->flush(u->file);
	ur_reap(u);
	if (u->err)
		return ur_flush_error(u);
	ret = ur_quiesce(u);
	if (u->err)
		return ur_flush_error(u);
	if (ret < 0)
		return ret;
	ret = u->file->ops->flush(u->file);	/* the tail, queued */
	ur_sync_out(u);
	return ret;
}

/* Close: wait for what is in flight; its memory and file must outlive it. */
static void ur_drain(struct sink_uring *u)
{
	struct io_uring_cqe *cqe;

	ur_submit_pending(u);
	while (ur_inflight(u) > 0 || u->nlinked > 0) {
		if (io_uring_wait_cqe(&u->ring, &cqe) < 0)
			break;
		ur_reap(u);
	}
}

static void ur_close(struct io_sink *k)
{
	struct sink_uring *u = ur_of(k);

	if (!u)
		return;
	if (u->state > 0) {
		ur_drain(u);
		ur_cut(u);
		u->file->ops->flush(u->file);	/* the tail, queued */
	}
	if (u->file)
		io_sink_file_set_hyg(u->file, NULL, NULL);
	ur_teardown(u);
	if (u->file)
		u->file->ops->close(u->file);
	free(u);
}

/* A write failed (reaped now, without waiting): its -errno, else 0. */
static int ur_error(struct io_sink *k)
{
	struct sink_uring *u = ur_of(k);

	if (u->state <= 0)
		return 0;
	ur_reap(u);
	return u->err;
}

static const struct io_sink_ops sink_uring_ops = {
	.begin = ur_begin,
	.write = ur_write,
	.splice_from = ur_splice_from,
	.boundary = ur_boundary,
	.room = ur_room_left,
	.wait_fd = ur_wait_fd,
	.wait_readable = ur_wait_readable,
	.flush = ur_flush,
	.close = ur_close,
	.error = ur_error,
};

/* ---- set-up ------------------------------------------------------------ */

/* Does the kernel have every operation this sink queues? */
static bool ur_ops_supported(struct io_uring *ring)
{
	static const int needed[] = { IORING_OP_WRITE, IORING_OP_POLL_ADD,
		IORING_OP_SYNC_FILE_RANGE, IORING_OP_FADVISE };
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	bool ok = p != NULL;

	for (size_t i = 0; ok && i < sizeof(needed) / sizeof(needed[0]); i++)
		ok = io_uring_opcode_supported(p, needed[i]);
	if (ok)
		ur_splice_supported = io_uring_opcode_supported(p,
						IORING_OP_SPLICE) &&
				      !getenv("KCONSUMERD_URING_NO_SPLICE");
	io_uring_free_probe(p);
	return ok;
}

static int ur_ring_init(struct sink_uring *u)
{
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE,
				     .cq_entries = UR_CQ_ENTRIES };
	int ret = io_uring_queue_init_params(UR_ENTRIES, &u->ring, &p);

	if (ret < 0)
		return ret;
	u->ring_ok = true;
	if (!(p.features & IORING_FEAT_NODROP) || !ur_ops_supported(&u->ring))
		return -ENOSYS;
	return io_uring_register_eventfd(&u->ring, u->efd);
}

static int ur_setup(struct sink_uring *u)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t want = u->inflight_max ? u->inflight_max : IO_URING_INFLIGHT;
	int ret;

	u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->efd < 0)
		return -errno;
	ret = ur_ring_init(u);
	if (ret < 0)
		return ret;
	if (want > IO_MAX_CHUNK * 16)
		want = IO_MAX_CHUNK * 16;
	u->size = ((size_t)want + (size_t)page - 1) & ~((size_t)page - 1);
	u->buf = mmap(NULL, u->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (u->buf == MAP_FAILED) {
		u->buf = NULL;
		return -ENOMEM;
	}
	return 1;
}

static void ur_teardown(struct sink_uring *u)
{
	if (u->ring_ok)
		io_uring_queue_exit(&u->ring);
	u->ring_ok = false;
	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 2; j++) {
			if (u->pipe[i].fd[j] >= 0)
				close(u->pipe[i].fd[j]);
			u->pipe[i].fd[j] = -1;
		}
	}
	if (u->efd >= 0)
		close(u->efd);
	u->efd = -1;
	if (u->buf)
		munmap(u->buf, u->size);
	u->buf = NULL;
}

/* A new sink around nothing yet; the ring comes at the first begin. */
static struct sink_uring *ur_new(uint64_t inflight_max)
{
	struct sink_uring *u = calloc(1, sizeof(*u));

	if (u) {
		u->efd = -1;
		u->gate = -1;
		u->inflight_max = inflight_max;
		u->err_at = -1;
		u->fill = -1;
		for (int i = 0; i < 2; i++)
			u->pipe[i].fd[0] = u->pipe[i].fd[1] = -1;
	}
	return u;
}

int io_sink_uring_wrap(const struct io_sink_spec *spec, struct io_sink **k)
{
	struct sink_uring *u;
	int ret;

	if (!k || !*k || !io_sink_file_owned(*k))
		return -EINVAL;
	ret = io_uring_usable(NULL);
	if (ret < 0)
		return ret;
	u = ur_new(spec->inflight_max);
	if (!u)
		return -ENOMEM;
	u->k.ops = &sink_uring_ops;
	u->k.c = (*k)->c;
	u->k.subbuf = (*k)->subbuf;
	u->file = *k;
	ur_sync_out(u);
	u->pend_off = u->k.off;
	*k = &u->k;
	return 0;
}

bool io_sink_is_uring(const struct io_sink *k)
{
	return k && k->ops == &sink_uring_ops;
}

int io_sink_uring_gate(struct io_sink *k, int fd)
{
	if (!io_sink_is_uring(k))
		return -EINVAL;
	ur_of(k)->gate = fd;
	return 0;
}

/* The last probe, by process (a child may have a seccomp filter more). */
static pid_t ur_probed_pid;
static int ur_probed;

int io_uring_usable(const char **why)
{
	pid_t pid = getpid();
	struct sink_uring *u;
	int ret;

	if (__atomic_load_n(&ur_probed_pid, __ATOMIC_ACQUIRE) == pid) {
		ret = __atomic_load_n(&ur_probed, __ATOMIC_RELAXED);
	} else {
		u = ur_new(1);
		ret = u ? ur_setup(u) : -ENOMEM;
		if (u)
			ur_teardown(u);
		free(u);
		ret = ret < 0 ? ret : 0;
		if (ret == 0 || ret == -ENOSYS || ret == -EPERM || ret == -EINVAL) {
			/* lasting answers only: no fd or memory may be passing */
			__atomic_store_n(&ur_probed, ret, __ATOMIC_RELAXED);
			__atomic_store_n(&ur_probed_pid, pid, __ATOMIC_RELEASE);
		}
	}
	if (ret < 0 && why)
		*why = ret == -ENOSYS ? "the kernel lacks an io_uring operation" :
		       ret == -EPERM ? "io_uring is not permitted here" :
		       "io_uring cannot be set up";
	return ret;
}
