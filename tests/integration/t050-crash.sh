#!/usr/bin/env bash
# A writer killed halfway, and SIGKILL of the daemon during a deploy,
# never leave half a deploy: old or new code, byte-exact, after restart.
. "$(dirname "$0")/lib.sh"
require_fuse
mount_fs
F=$MNT/functions/f
mkdir "$F"
$MKZIP good "$WORK/old.zip"
$MKZIP big:20 "$WORK/new.zip"
cp "$WORK/old.zip" "$F/code.zip"

# writer killed halfway: python writes half the bytes then SIGKILLs itself
( python3 - "$WORK/new.zip" "$F/code.zip" <<'PY'
import os, signal, sys
data = open(sys.argv[1], "rb").read()
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_TRUNC)
os.write(fd, data[: len(data) // 2])
os.kill(os.getpid(), signal.SIGKILL)
PY
true
) 2>/dev/null
assert_true "killed writer: old code still deployed" cmp "$WORK/old.zip" "$F/code.zip"
assert_true "killed writer: code/ intact" test -f "$F/code/lambda_function.py"

# SIGKILL the daemon in the middle of big deploys, many times
for i in 1 2 3 4 5; do
	cp "$WORK/new.zip" "$F/code.zip" 2>/dev/null &
	cpid=$!
	sleep "0.0$((i * 2))"
	kill_fs
	wait "$cpid" 2>/dev/null
	mount_fs
	if cmp -s "$WORK/old.zip" "$F/code.zip"; then
		ok "kill $i: old code, byte-exact"
	elif cmp -s "$WORK/new.zip" "$F/code.zip"; then
		ok "kill $i: new code, byte-exact"
		cp "$WORK/old.zip" "$F/code.zip"
	else
		not_ok "kill $i: code.zip is neither old nor new"
	fi
	assert_eq "$(json_get "$F/config.json" CodeSize)" "$(stat -c %s "$F/code.zip")" "kill $i: CodeSize matches code.zip"
	assert_true "kill $i: code/ present" test -f "$F/code/lambda_function.py"
done
# garbage from interrupted deploys is gone after a restart
assert_eq "$(ls "$STATE/tmp" | wc -l)" "0" "no staging files left"
assert_eq "$(ls "$STATE/blobs" | wc -l)" "1" "only the live blob is kept"
assert_eq "$(ls "$STATE/tree" | wc -l)" "1" "only the live tree is kept"
done_testing
