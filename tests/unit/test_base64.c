/* SPDX-License-Identifier: MIT */
/*
 * test_base64.c - RFC 4648 §10 test vectors both ways, round trips of
 * every length around the internal block size, and refused input.
 */
#include "common.h"
#include "base64.h"
#include "buf.h"
#include "tap.h"

static const char *const vectors[][2] = {
	{ "", "" },	      { "f", "Zg==" },	     { "fo", "Zm8=" },
	{ "foo", "Zm9v" },    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

int main(void)
{
	static unsigned char data[2000];
	struct buf e, d;
	size_t i, n;
	int bad = 0;

	plan_no_plan();
	buf_init(&e, 1 << 20);
	buf_init(&d, 1 << 20);
	for (i = 0; i < ARRAY_SIZE(vectors); i++) {
		buf_reset(&e);
		buf_reset(&d);
		is_int(base64_encode(vectors[i][0], strlen(vectors[i][0]), &e),
		       0, "encode returns 0");
		is_str(e.data ? e.data : "", vectors[i][1], "RFC 4648 encode");
		is_int(base64_decode(vectors[i][1], strlen(vectors[i][1]), &d),
		       0, "decode returns 0");
		is_str(d.data ? d.data : "", vectors[i][0], "RFC 4648 decode");
	}
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 131 + (i >> 3));
	for (n = 0; n <= sizeof(data); n++) {
		buf_reset(&e);
		buf_reset(&d);
		if (base64_encode(data, n, &e) < 0 ||
		    base64_decode(e.data ? e.data : "", e.len, &d) < 0 ||
		    d.len != n || (n && memcmp(d.data, data, n)))
			bad++;
	}
	is_int(bad, 0, "round trip of 0..2000 bytes");

	buf_reset(&d);
	is_int(base64_decode("Zm9v\nYmFy\n", 10, &d), 0, "line breaks ignored");
	is_str(d.data ? d.data : "", "foobar", "... and the bytes are right");
	buf_reset(&d);
	is_int(base64_decode("_-8", 3, &d), 0, "URL-safe alphabet");
	is_int(d.len, 2, "... two bytes");
	buf_reset(&d);
	is_int(base64_decode("Zm9v!", 5, &d), -EINVAL, "bad character");
	is_int(base64_decode("Zm9vY", 5, &d), -EINVAL, "dangling sextet");
	is_int(base64_decode("Zg==Zg==", 8, &d), -EINVAL, "data after padding");
	{
		struct buf small;

		buf_init(&small, 2);
		is_int(base64_decode("Zm9v", 4, &small), -EFBIG,
		       "capped buffer: -EFBIG");
		buf_release(&small);
	}
	buf_release(&e);
	buf_release(&d);
	return done_testing();
}
