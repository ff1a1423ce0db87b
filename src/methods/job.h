/* SPDX-License-Identifier: MIT */
/*
 * The one way a method runs device commands and answers once: a job holds
 * the command (or a work function that sends several on the worker thread),
 * the handler's typed state, an optional continuation instead of an answer,
 * and the topology refresh that follows a lifecycle change. A namespace
 * reached through a controller that vanished is tried again through another
 * path (multipath fail-over). Loop thread unless said otherwise.
 */
#ifndef NR_JOB_H
#define NR_JOB_H

#include "methods/handlers.h"

struct nr_job;

/* Worker thread: sends the job's commands; returns 0 or -errno. A command
 * that completes with an error status stops it, left in job->cmd. */
typedef int (*nr_job_work_fn)(struct nr_call *call, struct nr_job *job);
/* Loop thread: the result (new reference) from the completed job, or NULL
 * after answering the call itself (nr_call_result_text); NULL without an
 * answer means it failed. */
typedef json_t *(*nr_job_encode_fn)(struct nr_call *call, struct nr_job *job);
/* Loop thread: continues the call after a successful job (it must end the
 * call or submit again). */
typedef void (*nr_job_next_fn)(struct nr_call *call, struct nr_job *job);

struct nr_job {
	struct nr_cmd cmd;
	nr_job_work_fn work;	 /* NULL: send cmd */
	nr_job_encode_fn encode; /* the answer, unless next is set */
	nr_job_next_fn next;
	const char *what;   /* names the command in errors */
	bool refresh;	    /* re-learn the topology before answering */
	bool failed_over;   /* sent again through another path after ENODEV */
	unsigned delivered; /* commands a device took in this submission */
	uint8_t *extra;	    /* a second buffer, malloc'd, freed with the job */
	/* The handler's own struct: nr_job_new's @state_size zeroed bytes in
	 * the job's allocation; or one it sets itself, freed by state_free. */
	void *state;
	void (*state_free)(void *state);
	size_t buf_len;
	_Alignas(8) unsigned char buf[]; /* NVMe structures are read in place */
};

/* Returns the job (owned by the call) with a zeroed @buf_len-byte buffer
 * and @state_size bytes of zeroed handler state at job->state (NULL when
 * 0), or NULL after ending the call. */
struct nr_job *nr_job_new(struct nr_call *call, size_t buf_len, size_t state_size,
			  nr_job_encode_fn encode, const char *what);
/* Queues the job on the call's controller FIFO; ends the call on failure. */
void nr_job_submit(struct nr_call *call);
/* Worker thread: sends @cmd through the call's backend. Returns 0, -errno,
 * or 1 when it completed with an error status (the work should stop). */
int nr_job_send(struct nr_call *call, struct nr_cmd *cmd);

/*
 * Multipath fail-over. @call's controller returned ENODEV (its device
 * vanished): marks it gone and, when @call addresses a namespace that
 * another live controller also reaches, moves the call to that path, once
 * (*@failed_over records it). Returns true when the caller should send its
 * command again (now on call->dev.ctrl). Jobs do this themselves when no
 * command of the submission reached a device; streams call it for a chunk.
 */
bool nr_call_failover(struct nr_call *call, bool *failed_over);

/*
 * Re-learns the topology after a lifecycle change on the call's controller,
 * then answers with @result (stolen): through the backend's relearn op when
 * it has one (a host rescan, an NVMe-MI endpoint's scan); otherwise, for a
 * backend without release (the simulator), every controller of the same
 * subsystem is rebuilt by Identify commands queued on its own FIFO, in line
 * with the device's other work, and swapped in sharing that FIFO.
 */
void nr_refresh_answer(struct nr_call *call, json_t *result);

/* Parameter helpers; the schema has range-checked every value. */
uint64_t nr_param_u64(const struct nr_call *call, const char *key, uint64_t fallback);
bool nr_param_bool(const struct nr_call *call, const char *key);
/* Get Log Page's Retain Asynchronous Event: true unless params.rae is false.
 * A read-class call never clears an event; rae: false makes it write-class. */
bool nr_param_rae(const struct nr_call *call);
/* The params' nsid, else the namespace's own, else @fallback. */
uint32_t nr_param_nsid(const struct nr_call *call, uint32_t fallback);
/* Index of @key's string value in @names (@count entries, NULL holes
 * allowed), or @fallback when absent or unknown. */
int nr_param_enum(const struct nr_call *call, const char *key, const char *const *names,
		  size_t count, int fallback);

/* Ends the call with NotSupported naming @what and the Identify field that
 * says so. */
void nr_call_unsupported(struct nr_call *call, const char *what, const char *because);

/* Largest data transfer for the call's controller in bytes (MDTS with a
 * 4 KiB minimum page; @cap when MDTS is 0, no limit). */
uint32_t nr_ctrl_max_xfer(const struct nr_ctrl *ctrl, uint32_t cap);
/* The same for data sent to the controller, also bounded by what the
 * transport carries in one message (NVMe-MI: 4 KiB). */
uint32_t nr_ctrl_max_write(const struct nr_ctrl *ctrl, uint32_t cap);

#endif
