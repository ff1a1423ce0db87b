/* SPDX-License-Identifier: MIT */
/*
 * Inner calls: the daemon calling its own methods on behalf of a client's
 * call (nvme.plan reads the device, nvme.apply runs its operations). Each
 * inner call is a request dispatched on a private session whose peer is the
 * client's, so it goes the whole way a client's request goes: schema
 * validation, class and policy, the device name, confirm, the handler, the
 * device FIFO and the audit line of a write. One inner call is in flight at
 * a time. Loop thread.
 */
#ifndef NR_INNER_H
#define NR_INNER_H

#include <jansson.h>

#include "rpc/call.h"

struct nr_inner;

/* The answer of an inner call: @result (borrowed) when it succeeded, else
 * @error (borrowed, a JSON-RPC error object). The callback may start the next
 * inner call or free the inner session. */
typedef void (*nr_inner_done_fn)(void *opaque, json_t *result, json_t *error);

/* Returns a new inner session acting for @peer, or NULL when out of memory. */
struct nr_inner *nr_inner_new(struct nr_service *svc, const struct nr_peer *peer);

/*
 * Calls @method with @params (stolen) and reports its answer to @done, later
 * or before this returns. Returns 0, or -EBUSY when a call is already in
 * flight, or -ENOMEM (then @done is not called).
 */
int nr_inner_call(struct nr_inner *inner, const char *method, json_t *params, nr_inner_done_fn done,
		  void *opaque);

/* Whether an inner call is in flight (its answer not yet reported). */
bool nr_inner_busy(const struct nr_inner *inner);

/* Frees @inner, which must not be busy. NULL is allowed. */
void nr_inner_free(struct nr_inner *inner);

#endif
