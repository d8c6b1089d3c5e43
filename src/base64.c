/* SPDX-License-Identifier: MIT */
/*
 * base64.c - base64 encoding and decoding (see base64.h). Both directions
 * work through a small stack block appended at once: a 50 MB ZipFile is
 * ~70 MB of text, and one buf_append per byte would dominate an upload.
 */
#include "common.h"
#include "base64.h"
#include "buf.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(const void *p, size_t n, struct buf *out)
{
	const unsigned char *s = p;
	char q[4 * 256];
	size_t i = 0, k = 0;
	int r;

	while (i < n) {
		uint32_t v = (uint32_t)s[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (uint32_t)s[i + 1] << 8;
		if (left > 2)
			v |= s[i + 2];
		q[k++] = b64_alphabet[v >> 18];
		q[k++] = b64_alphabet[(v >> 12) & 63];
		q[k++] = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
		q[k++] = left > 2 ? b64_alphabet[v & 63] : '=';
		i += left > 2 ? 3 : left;
		if (k == sizeof(q)) {
			r = buf_append(out, q, k);
			if (r < 0)
				return r;
			k = 0;
		}
	}
	return k ? buf_append(out, q, k) : 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static bool b64_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int base64_decode(const char *s, size_t n, struct buf *out)
{
	unsigned char q[3 * 256];
	uint32_t acc = 0;
	size_t i, k = 0;
	int bits = 0, v, r;

	for (i = 0; i < n && s[i] != '='; i++) {
		if (b64_is_space(s[i]))
			continue;
		v = b64_value((unsigned char)s[i]);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			q[k++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
			if (k == sizeof(q)) {
				r = buf_append(out, q, k);
				if (r < 0)
					return r;
				k = 0;
			}
		}
	}
	/* a lone trailing sextet cannot encode a byte */
	if (bits >= 6)
		return -EINVAL;
	for (; i < n; i++)
		if (s[i] != '=' && !b64_is_space(s[i]))
			return -EINVAL;
	return k ? buf_append(out, q, k) : 0;
}
