/* SPDX-License-Identifier: MIT */
/*
 * sha256.c - FIPS 180-4 SHA-256: a portable block function, and one using
 * the x86 SHA extensions (SHA-NI) when the CPU has them (checked once with
 * CPUID). Deploys hash every zip, and SHA-NI is about 5x faster: a 50 MB
 * zip costs ~30 ms instead of ~200 ms.
 */
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "common.h"
#include "sha256.h"
#include "util.h"

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(struct sha256 *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
			      (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^
			      (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
		     ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
		     ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

#if defined(__x86_64__)
/* Intel's SHA extensions, after the pattern of Intel's white paper "New
 * Instructions Supporting the Secure Hash Algorithm on Intel Architecture
 * Processors": state kept as ABEF/CDGH, four rounds per step. */
__attribute__((target("sha,sse4.1,ssse3"))) static void
sha256_blocks_ni(uint32_t h[8], const unsigned char *p, size_t nblocks)
{
	const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL,
					    0x0405060700010203ULL);
	__m128i state0, state1, tmp, msg, w[4], abef, cdgh;
	int g;

	tmp = _mm_loadu_si128((const __m128i *)&h[0]);
	state1 = _mm_loadu_si128((const __m128i *)&h[4]);
	tmp = _mm_shuffle_epi32(tmp, 0xB1);	      /* CDAB */
	state1 = _mm_shuffle_epi32(state1, 0x1B);     /* EFGH */
	state0 = _mm_alignr_epi8(tmp, state1, 8);     /* ABEF */
	state1 = _mm_blend_epi16(state1, tmp, 0xF0);  /* CDGH */

	for (; nblocks; nblocks--, p += 64) {
		abef = state0;
		cdgh = state1;
		for (g = 0; g < 16; g++) {
			__m128i *cur = &w[g & 3];

			if (g < 4) {
				*cur = _mm_shuffle_epi8(
					_mm_loadu_si128(
						(const __m128i *)(p + 16 * g)),
					mask);
			} else {
				__m128i prev1 = w[(g - 1) & 3];
				__m128i prev2 = w[(g - 2) & 3];
				__m128i x = _mm_add_epi32(
					_mm_sha256msg1_epu32(w[(g - 4) & 3],
							     w[(g - 3) & 3]),
					_mm_alignr_epi8(prev1, prev2, 4));

				*cur = _mm_sha256msg2_epu32(x, prev1);
			}
			msg = _mm_add_epi32(
				*cur,
				_mm_loadu_si128((const __m128i *)&K[4 * g]));
			state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
			msg = _mm_shuffle_epi32(msg, 0x0E);
			state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
		}
		state0 = _mm_add_epi32(state0, abef);
		state1 = _mm_add_epi32(state1, cdgh);
	}
	tmp = _mm_shuffle_epi32(state0, 0x1B);	      /* FEBA */
	state1 = _mm_shuffle_epi32(state1, 0xB1);     /* DCHG */
	state0 = _mm_blend_epi16(tmp, state1, 0xF0);  /* DCBA */
	state1 = _mm_alignr_epi8(state1, tmp, 8);     /* ABEF */
	_mm_storeu_si128((__m128i *)&h[0], state0);
	_mm_storeu_si128((__m128i *)&h[4], state1);
}

static bool cpu_has_sha(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 29)))
		return false;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return false;
	return (c & (1u << 19)) && (c & (1u << 9)); /* SSE4.1, SSSE3 */
}
#endif

/* -1 unknown, 0 portable, 1 SHA-NI; a race only repeats the CPUID. */
static int sha256_use_ni = -1;

void sha256_force_portable(bool on)
{
	sha256_use_ni = on ? 0 : -1;
}

static void sha256_blocks(struct sha256 *s, const unsigned char *p,
			  size_t nblocks)
{
#if defined(__x86_64__)
	if (sha256_use_ni < 0)
		sha256_use_ni = cpu_has_sha();
	if (sha256_use_ni) {
		sha256_blocks_ni(s->h, p, nblocks);
		return;
	}
#endif
	for (; nblocks; nblocks--, p += 64)
		sha256_block(s, p);
}

void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->fill = 0;
}

void sha256_update(struct sha256 *s, const void *data, size_t n)
{
	const unsigned char *p = data;

	s->len += n;
	if (s->fill) {
		size_t take = 64 - s->fill < n ? 64 - s->fill : n;

		memcpy(s->block + s->fill, p, take);
		s->fill += take;
		p += take;
		n -= take;
		if (s->fill < 64)
			return;
		sha256_blocks(s, s->block, 1);
		s->fill = 0;
	}
	sha256_blocks(s, p, n / 64);
	p += n / 64 * 64;
	n %= 64;
	memcpy(s->block, p, n);
	s->fill = n;
}

void sha256_final(struct sha256 *s, unsigned char digest[32])
{
	uint64_t bits = s->len * 8;
	int i;

	s->block[s->fill++] = 0x80;
	if (s->fill > 56) {
		memset(s->block + s->fill, 0, 64 - s->fill);
		sha256_blocks(s, s->block, 1);
		s->fill = 0;
	}
	memset(s->block + s->fill, 0, 56 - s->fill);
	for (i = 0; i < 8; i++)
		s->block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_blocks(s, s->block, 1);
	for (i = 0; i < 8; i++) {
		digest[4 * i] = (unsigned char)(s->h[i] >> 24);
		digest[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		digest[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		digest[4 * i + 3] = (unsigned char)s->h[i];
	}
}

void sha256_hex(const unsigned char d[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

void sha256_base64(const unsigned char d[32], char out[45])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int i, o = 0;

	for (i = 0; i < 30; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 |
			     d[i + 2];

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	{
		uint32_t v = (uint32_t)d[30] << 16 | (uint32_t)d[31] << 8;

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
}

int sha256_fd(int fd, unsigned char digest[32], uint64_t *size)
{
	/*
	 * On the heap, not in thread-local storage: a static TLS block is
	 * zeroed at every thread's start, so 1 MB of it cost every thread
	 * of the daemon 1 MB of resident memory (10 MB idle).
	 */
	enum { CHUNK = 1 << 20 };
	unsigned char *chunk = xmalloc(CHUNK);
	struct sha256 s;
	ssize_t n;
	int r = 0;

	sha256_init(&s);
	for (;;) {
		n = pread(fd, chunk, CHUNK, (off_t)s.len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		sha256_update(&s, chunk, (size_t)n);
	}
	free(chunk);
	if (r < 0)
		return r;
	if (size)
		*size = s.len;
	sha256_final(&s, digest);
	return 0;
}
