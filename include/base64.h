/* SPDX-License-Identifier: MIT */
/*
 * base64.h - standard base64 (RFC 4648 §4) for the HTTP API: ZipFile
 * uploads, X-Amz-Client-Context, X-Amz-Log-Result. Output goes through a
 * capped struct buf, so an outsider's input never allocates without
 * bound.
 */
#ifndef LAMBDAFS_BASE64_H
#define LAMBDAFS_BASE64_H

#include "common.h"

struct buf;

/* Appends the padded base64 of p[0..n) to out. 0, or -EFBIG/-ENOMEM
 * from buf_append. */
int base64_encode(const void *p, size_t n, struct buf *out);

/*
 * Appends the bytes that s[0..n) encodes to out. Accepts the standard
 * and the URL-safe alphabet, padding optional, whitespace (line breaks of
 * MIME-style encoders) ignored. Returns 0, -EINVAL for anything else, or
 * -EFBIG/-ENOMEM from buf_append (out then holds a prefix).
 */
int base64_decode(const char *s, size_t n, struct buf *out);

#endif
