/* SPDX-License-Identifier: MIT */
/* SHA-256 (FIPS 180-4), for digests in the audit log. Any thread. */
#ifndef NR_SHA256_H
#define NR_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define NR_SHA256_LEN 32

/* Writes the digest of @len bytes at @data into @out. */
void nr_sha256(const void *data, size_t len, uint8_t out[NR_SHA256_LEN]);

#endif
