/* SPDX-License-Identifier: MIT */
/*
 * sha256.h - SHA-256 (FIPS 180-4) for content addressing and CodeSha256.
 * A self-contained implementation: none of our six libraries exports one.
 */
#ifndef LAMBDAFS_SHA256_H
#define LAMBDAFS_SHA256_H

#include "common.h"

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char block[64];
	size_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *p, size_t n);
void sha256_final(struct sha256 *s, unsigned char digest[32]);
/* Tests only: use the portable code even where SHA-NI exists. */
void sha256_force_portable(bool on);
/* Lower-case hex, 64 chars + NUL. */
void sha256_hex(const unsigned char digest[32], char out[65]);
/* Standard base64 with padding, 44 chars + NUL (AWS CodeSha256). */
void sha256_base64(const unsigned char digest[32], char out[45]);
/* Hashes fd's file from offset 0 with pread (the file offset is left
 * alone, so another thread may read it meanwhile). 0 or -errno */
int sha256_fd(int fd, unsigned char digest[32], uint64_t *size);

#endif
