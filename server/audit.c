/* SPDX-License-Identifier: MIT */
#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "util/log.h"
#include "rpc/rpc_error.h"
#include "util/sha256.h"

/* Parameters whose values are payloads: digested as their length only. */
static const char *const payload_keys[] = {"data", "image"};

void nr_audit_params_digest(const json_t *params, char out[80])
{
	json_t *copy = json_is_object(params) ? json_copy((json_t *)params) : json_object();
	uint8_t digest[NR_SHA256_LEN];
	char *text;
	int n;

	for (size_t i = 0; copy && i < sizeof(payload_keys) / sizeof(payload_keys[0]); i++) {
		json_t *payload = json_object_get(copy, payload_keys[i]);
		if (payload)
			json_object_set_new(copy, payload_keys[i],
					    json_integer((json_int_t)json_string_length(payload)));
	}
	text = copy ? json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(copy);
	if (!text) {
		snprintf(out, 80, "sha256:unavailable");
		return;
	}
	nr_sha256(text, strlen(text), digest);
	free(text);
	n = snprintf(out, 80, "sha256:");
	for (int i = 0; i < NR_SHA256_LEN; i++)
		n += snprintf(out + n, 80 - (size_t)n, "%02x", digest[i]);
}

void nr_audit_log(const struct nr_peer *peer, const char *method, const json_t *params, int code,
		  uint64_t duration_us)
{
	const char *device = json_string_value(json_object_get(params, "device"));
	const char *outcome = code ? nr_rpc_code_name(code) : "ok";
	char digest[80];
	char line[512];

	nr_audit_params_digest(params, digest);
	snprintf(line, sizeof(line),
		 "audit: uid=%d pid=%d gid=%d params=%s duration_ms=%llu.%03u method=%s device=%s "
		 "outcome=%s",
		 (int)peer->uid, (int)peer->pid, (int)peer->gid, digest,
		 (unsigned long long)(duration_us / 1000), (unsigned)(duration_us % 1000), method,
		 device ? device : "-", outcome);
	syslog(LOG_NOTICE, "%s (%d)", line, code);
	nr_log(NR_LOG_INFO, "%s", line);
}
