/* SPDX-License-Identifier: MIT */
/* The checks a request meets before it becomes a call (request.c). */
#ifndef NR_REQUEST_H
#define NR_REQUEST_H

#include <jansson.h>

#include "rpc/call.h"
#include "rpc/schema.h"

/* Returns NULL when @req is a well-formed request envelope, else why not. */
const char *nr_request_envelope_problem(const json_t *req);
/* Returns NULL if the params validate, else a new InvalidParams error. */
json_t *nr_request_params_problem(struct nr_service *svc, const struct nr_schema_method *sm,
				  const json_t *params);
/* A new ServerBusy error: the connection has limits.max_calls calls in flight. */
json_t *nr_request_too_many_calls(const struct nr_service *svc);
/* Returns NULL when @peer may make a call of class @cls, else a new
 * PermissionDenied error naming the class needed and the parameter of
 * @params that raised the method's class to it (@why, NULL when none did). */
json_t *nr_request_permission_problem(const struct nr_service *svc, const struct nr_peer *peer,
				      const struct nr_method *m, const json_t *params,
				      enum nr_class cls, const char *why);

#endif
