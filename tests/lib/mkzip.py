#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mkzip.py - deterministic test zips for lambdafs (python3 stdlib only).

Usage: python3 tests/lib/mkzip.py KIND OUT.zip [KIND OUT.zip ...]
       python3 tests/lib/mkzip.py --list

Several pairs in one call save the interpreter's start-up per zip.

Used by tests/unit/test_bundle.c, the integration tests and the benchmarks.
Unix modes are written the way Info-ZIP does it: create_system = 3 and
external_attr = (st_mode << 16), so symlinks, devices and fifos can be
expressed (libarchive reads the S_IFMT bits from there). Every entry has a
fixed timestamp so the same KIND always gives the same bytes (except the
random payload of big:N).

Zip has no way to express a hard link (Info-ZIP and libarchive's zip writer
have no such extension): KIND "hardlink" exits 77 (skip) without writing.
"""

import io
import random
import stat
import struct
import sys
import zipfile

DATE = (2024, 1, 2, 3, 4, 6)
MIB = 1024 * 1024

HANDLER_PY = (
    "import json\n"
    "\n"
    "\n"
    "def lambda_handler(event, context):\n"
    "    return {'statusCode': 200, 'body': json.dumps(event)}\n"
)
HELPER_PY = "def helper():\n    return 42\n"
BOOTSTRAP_SH = (
    "#!/bin/sh\n"
    "set -eu\n"
    "api=\"http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation\"\n"
    "hdrs=$(mktemp)\n"
    "while :; do\n"
    "\tbody=$(curl -sS -D \"$hdrs\" \"$api/next\")\n"
    "\tid=$(sed -n 's/^Lambda-Runtime-Aws-Request-Id: *//ip' \"$hdrs\""
    " | tr -d '\\r')\n"
    "\tcurl -sS -X POST -d \"$body\" \"$api/$id/response\" >/dev/null\n"
    "done\n"
)
INDEX_MJS = (
    "export const handler = async (event) => {\n"
    "  return { statusCode: 200, body: JSON.stringify(event) };\n"
    "};\n"
)


def info(name, mode, system=3):
    """A ZipInfo for name with Unix mode (S_IFMT bits included)."""
    zi = zipfile.ZipInfo(name, DATE)
    zi.create_system = system
    zi.external_attr = (mode & 0xFFFF) << 16
    if stat.S_ISDIR(mode):
        zi.external_attr |= 0x10  # MS-DOS directory flag
    zi.compress_type = zipfile.ZIP_DEFLATED
    return zi


def add_file(zf, name, data, mode=0o644, stored=False):
    zi = info(name, stat.S_IFREG | mode)
    if stored:
        zi.compress_type = zipfile.ZIP_STORED
    zf.writestr(zi, data)


def add_dir(zf, name, mode=0o755):
    zi = info(name.rstrip("/") + "/", stat.S_IFDIR | mode)
    zi.compress_type = zipfile.ZIP_STORED
    zf.writestr(zi, b"")


def add_symlink(zf, name, target):
    zi = info(name, stat.S_IFLNK | 0o777)
    zi.compress_type = zipfile.ZIP_STORED
    zf.writestr(zi, target)


def add_special(zf, name, mode):
    zi = info(name, mode)
    zi.compress_type = zipfile.ZIP_STORED
    zf.writestr(zi, b"")


def k_good(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_file(zf, "pkg/__init__.py", "")  # implicit directory pkg/
    add_file(zf, "pkg/helper.py", HELPER_PY)
    add_dir(zf, "data/")
    add_file(zf, "data/config.json", '{"answer": 42}\n')


def k_bootstrap(zf):
    add_file(zf, "bootstrap", BOOTSTRAP_SH, 0o755)


def k_bootstrap_noexec(zf):
    add_file(zf, "bootstrap", BOOTSTRAP_SH, 0o644)


def k_slip(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_file(zf, "../evil.txt", "evil\n")


def k_slip_deep(zf):
    # climbs out from a subdirectory: a/../../evil.txt
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_file(zf, "a/../../evil.txt", "evil\n")


def k_abs(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_file(zf, "/tmp/evil.txt", "evil\n")


def k_symlink_out(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_symlink(zf, "link", "../../etc/passwd")


def k_symlink_abs(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_symlink(zf, "link", "/etc/passwd")


def k_symlink_in(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_file(zf, "lib/util.py", HELPER_PY)
    add_symlink(zf, "link", "lambda_function.py")
    add_symlink(zf, "lib/up", "../lambda_function.py")


def k_symlink_chain(zf):
    # each link is harmless on its own; up/.. resolves to the parent of the
    # package because "up" is the package root itself
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_symlink(zf, "up", ".")
    add_symlink(zf, "esc", "up/..")


def k_symlink_parent(zf):
    # a symlink used as a directory by a later entry: must not be followed
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_symlink(zf, "a", ".")
    add_file(zf, "a/b.txt", "through the link\n")


def k_device(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_special(zf, "dev", stat.S_IFCHR | 0o644)


def k_fifo(zf):
    # libarchive turns a fifo entry into a regular file (Info-ZIP's zip -FI
    # stores what came through a pipe with the pipe's mode)
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_special(zf, "fifo", stat.S_IFIFO | 0o644)


def k_socket(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_special(zf, "sock", stat.S_IFSOCK | 0o644)


def k_dup(zf):
    import warnings

    add_file(zf, "lambda_function.py", HANDLER_PY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        add_file(zf, "lambda_function.py", "print('second')\n")


def k_modes(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_file(zf, "suid", "x\n", 0o4755)  # setuid is dropped: 0755
    add_file(zf, "private", "x\n", 0o600)
    add_file(zf, "groupw", "x\n", 0o666)  # group/other write dropped: 0644
    # DOS entries carry no Unix mode: attribute 0x01 read-only, 0x10 dir
    for name, attr in (("dosfile", 0x20), ("dosro", 0x21), ("dosdir/", 0x10)):
        zi = zipfile.ZipInfo(name, DATE)
        zi.create_system = 0
        zi.external_attr = attr
        zf.writestr(zi, "" if name.endswith("/") else "x\n")
    add_dir(zf, "ro/", 0o555)  # read-only dir with a file inside
    add_file(zf, "ro/f.txt", "read only\n", 0o444)
    add_dir(zf, "ro/sub/", 0o500)
    add_file(zf, "ro/sub/g.txt", "deeper\n", 0o400)


def k_utf8(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_file(zf, "donn\u00e9es/caf\u00e9.txt", "caf\u00e9\n")


def k_dotslash(zf):
    add_dir(zf, "./")
    add_file(zf, "./lambda_function.py", HANDLER_PY)
    add_file(zf, "a//./b/c.txt", "c\n")


def k_file_parent(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_file(zf, "lambda_function.py/x", "x\n")


def k_ctrlname(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_file(zf, "a\nb/../../x", "x\n")


def k_badcrc(zf):
    add_file(zf, "lambda_function.py", HANDLER_PY)
    add_file(zf, "data.txt", "the quick brown fox\n", stored=True)


def k_bomb(zf):
    zi = info("zeros.bin", stat.S_IFREG | 0o644)
    chunk = bytes(MIB)
    with zf.open(zi, "w") as f:
        for _ in range(300):
            f.write(chunk)


def k_many(zf):
    for i in range(100000):
        zi = info("f%06d" % i, stat.S_IFREG | 0o644)
        zi.compress_type = zipfile.ZIP_STORED
        zf.writestr(zi, b"x")


def k_node(zf):
    add_file(zf, "index.mjs", INDEX_MJS)
    add_file(zf, "package.json", '{"type": "module"}\n')


def k_ambiguous(zf):
    add_file(zf, "app.py", HANDLER_PY)
    add_file(zf, "other.py", HELPER_PY)


def k_layer_python(zf):
    add_file(zf, "python/mylib.py", HELPER_PY)


def write_big(path, mib, seed=None):
    rnd = random.Random(mib if seed is None else seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        add_file(zf, "lambda_function.py", HANDLER_PY)
        zi = info("data.bin", stat.S_IFREG | 0o644)
        zi.compress_type = zipfile.ZIP_STORED
        zi.file_size = mib * MIB  # known size: no data descriptor
        with zf.open(zi, "w") as f:
            for _ in range(mib):
                f.write(rnd.randbytes(MIB))


def patch_sizes(data, name, size):
    """Rewrites the declared uncompressed size of entry name (local header
    and central directory) to size: a zip that lies about its contents."""
    b = bytearray(data)
    nm = name.encode()
    pos = 0
    while True:
        pos = b.find(b"PK\x03\x04", pos)
        if pos < 0:
            break
        nlen = struct.unpack_from("<H", b, pos + 26)[0]
        if bytes(b[pos + 30:pos + 30 + nlen]) == nm:
            struct.pack_into("<I", b, pos + 22, size)
        pos += 4
    pos = 0
    while True:
        pos = b.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        nlen = struct.unpack_from("<H", b, pos + 28)[0]
        if bytes(b[pos + 46:pos + 46 + nlen]) == nm:
            struct.pack_into("<I", b, pos + 24, size)
        pos += 4
    return bytes(b)


def build(fn):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as zf:
        fn(zf)
    return bio.getvalue()


KINDS = {
    "good": k_good,
    "bootstrap": k_bootstrap,
    "bootstrap-noexec": k_bootstrap_noexec,
    "slip": k_slip,
    "slip-deep": k_slip_deep,
    "abs": k_abs,
    "symlink-out": k_symlink_out,
    "symlink-abs": k_symlink_abs,
    "symlink-in": k_symlink_in,
    "symlink-chain": k_symlink_chain,
    "symlink-parent": k_symlink_parent,
    "device": k_device,
    "fifo": k_fifo,
    "socket": k_socket,
    "dup": k_dup,
    "modes": k_modes,
    "utf8": k_utf8,
    "dotslash": k_dotslash,
    "file-parent": k_file_parent,
    "ctrlname": k_ctrlname,
    "many": k_many,
    "node": k_node,
    "ambiguous": k_ambiguous,
    "layer-python": k_layer_python,
}
SPECIAL = ["badcrc", "badutf8", "bomb", "bomb-lie", "truncated", "notzip",
           "empty", "big:N"]


MADE = {}  # kind -> path, to reuse the slow bomb within one run


def make(kind, out):
    """Writes the zip of kind to out. Returns 0, 2 for an unknown kind or
    77 for one zip cannot express."""
    if kind == "hardlink":
        sys.stderr.write("mkzip.py: zip cannot express hard links\n")
        return 77
    if kind.startswith("big:"):
        # big:N or big:N:SEED (a different seed gives different bytes)
        parts = kind.split(":")
        write_big(out, int(parts[1]), int(parts[2]) if len(parts) > 2 else None)
        return 0
    if kind in ("bomb", "bomb-lie"):
        src = MADE.get("bomb")
        if not src:
            # streamed to the file: 300 MiB of zeros never sit in memory
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
                k_bomb(zf)
            src = out
        if kind == "bomb-lie":
            with open(src, "rb") as f:
                data = f.read()
            with open(out, "wb") as f:
                f.write(patch_sizes(data, "zeros.bin", 1000))
        if kind == "bomb":
            MADE["bomb"] = out
        return 0
    if kind in KINDS:
        data = build(KINDS[kind])
    elif kind == "badcrc":
        # one flipped byte in stored data: only the CRC can tell
        data = build(k_badcrc).replace(b"quick", b"quack")
    elif kind == "badutf8":
        # the UTF-8 flag is set (non-ASCII name) but the bytes are not UTF-8
        name = "caf\u00e9.txt".encode()
        data = build(k_utf8).replace(name, b"caf\xff\xfe.txt")
    elif kind == "truncated":
        data = build(k_good)
        data = data[: len(data) // 2]
    elif kind == "notzip":
        rnd = random.Random(42)
        words = ["lorem", "ipsum", "dolor", "sit", "amet", "zip", "not"]
        data = " ".join(rnd.choice(words) for _ in range(500)).encode()
    elif kind == "empty":
        data = b""
    else:
        sys.stderr.write("mkzip.py: unknown kind '%s'\n" % kind)
        return 2
    with open(out, "wb") as f:
        f.write(data)
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(sorted(KINDS) + SPECIAL))
        return 0
    if len(argv) < 3 or len(argv) % 2 == 0:
        sys.stderr.write("usage: mkzip.py KIND OUT.zip [KIND OUT.zip ...]"
                         " (--list for kinds)\n")
        return 2
    for i in range(1, len(argv), 2):
        r = make(argv[i], argv[i + 1])
        if r:
            return r
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
