/* SPDX-License-Identifier: MIT */
/*
 * test_sha256.c - known answers (FIPS 180-4 examples) and agreement of
 * the SHA-NI and portable paths on every length around block edges.
 */
#include "common.h"
#include "sha256.h"
#include "tap.h"

static void hex_of(const void *p, size_t n, char out[65])
{
	struct sha256 s;
	unsigned char d[32];

	sha256_init(&s);
	sha256_update(&s, p, n);
	sha256_final(&s, d);
	sha256_hex(d, out);
}

int main(void)
{
	static unsigned char data[4096];
	char a[65], b[65], b64[45];
	unsigned char d[32];
	struct sha256 s;
	size_t i, n;
	int mismatches = 0;

	plan_no_plan();
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + (i >> 8));
	for (int pass = 0; pass < 2; pass++) {
		const char *which = pass ? "portable" : "default";

		sha256_force_portable(pass == 1);
		hex_of("", 0, a);
		is_str(a, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
			  "91b7852b855", which);
		hex_of("abc", 3, a);
		is_str(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410f"
			  "f61f20015ad", which);
		hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		       56, a);
		is_str(a, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd"
			  "419db06c1", which);
		sha256_init(&s);
		for (i = 0; i < 1000000 / 1000; i++) {
			char k[1000];

			memset(k, 'a', sizeof(k));
			sha256_update(&s, k, sizeof(k));
		}
		sha256_final(&s, d);
		sha256_hex(d, a);
		is_str(a, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39"
			  "ccc7112cd0", which);
	}
	sha256_force_portable(false);
	for (n = 0; n <= 300; n++) {
		hex_of(data, n, a);
		sha256_force_portable(true);
		hex_of(data, n, b);
		sha256_force_portable(false);
		if (strcmp(a, b))
			mismatches++;
	}
	hex_of(data, sizeof(data), a);
	sha256_force_portable(true);
	hex_of(data, sizeof(data), b);
	sha256_force_portable(false);
	is_int(mismatches, 0, "both paths agree on lengths 0..300");
	is_str(a, b, "both paths agree on 4096 bytes");
	sha256_init(&s);
	sha256_update(&s, "abc", 3);
	sha256_final(&s, d);
	sha256_base64(d, b64);
	is_str(b64, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", "base64");
	return done_testing();
}
