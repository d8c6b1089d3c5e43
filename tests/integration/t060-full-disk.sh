#!/usr/bin/env bash
# A full state disk: the deploy fails with ENOSPC, the old code stays.
. "$(dirname "$0")/lib.sh"
require_fuse
[ "$(id -u)" = 0 ] || skip_all "needs root to mount a small tmpfs"
mkdir -p "$STATE"
mount -t tmpfs -o size=6m tmpfs "$STATE" || skip_all "cannot mount tmpfs"
# shellcheck disable=SC2034 # run by lib.sh's cleanup
CLEANUP_HOOK='umount -l "$STATE" 2>/dev/null'
mount_fs
F=$MNT/functions/f
mkdir "$F"
$MKZIP good "$WORK/old.zip"
$MKZIP big:8 "$WORK/big.zip"
cp "$WORK/old.zip" "$F/code.zip"
assert_fails_with 'No space left on device' "deploy on a full disk fails with ENOSPC" cp "$WORK/big.zip" "$F/code.zip"
assert_true "old code still deployed" cmp "$WORK/old.zip" "$F/code.zip"
assert_true "old tree intact" test -f "$F/code/lambda_function.py"
# fill the disk completely: config writes fail cleanly too
dd if=/dev/zero of="$STATE/filler" bs=64k status=none 2>/dev/null
out=$( (echo '{"Timeout": 9}' > "$F/config.json") 2>&1 ); rc=$?
assert_eq "$(json_get "$F/config.json" Timeout)" "$([ $rc = 0 ] && echo 9 || echo 3)" "config write either applied or not, never half ($out)"
rm -f "$STATE/filler"
assert_true "deploy works again once there is space" cp "$WORK/old.zip" "$F/code.zip"
umount_fs
mount_fs
assert_true "state intact after remount" cmp "$WORK/old.zip" "$F/code.zip"
umount_fs
done_testing
