#!/usr/bin/env bash
# Every bad upload gets a clear error and the previous code stays in force.
. "$(dirname "$0")/lib.sh"
require_fuse
mount_fs
F=$MNT/functions/f
mkdir "$F"
$MKZIP good "$WORK/good.zip"
cp "$WORK/good.zip" "$F/code.zip"
sha=$(json_get "$F/config.json" CodeSha256)

bad() { # kind errno-regex reason-regex
	local kind=$1 re=$2 reason=$3
	$MKZIP "$kind" "$WORK/$kind.zip" || { not_ok "mkzip $kind"; return; }
	assert_fails_with "$re" "$kind: cp fails ($re)" cp "$WORK/$kind.zip" "$F/code.zip"
	assert_eq "$(json_get "$F/config.json" CodeSha256)" "$sha" "$kind: old code still deployed"
	assert_eq "$(json_get "$F/config.json" LastUpdateStatus)" "Failed" "$kind: LastUpdateStatus Failed"
	assert_match "$(json_get "$F/config.json" LastUpdateStatusReason)" "$reason" "$kind: reason says why"
	assert_true "$kind: code.zip still byte-exact" cmp "$WORK/good.zip" "$F/code.zip"
}
bad notzip 'Invalid argument' 'not a zip|zip'
bad truncated 'Invalid argument' 'truncated|corrupt|zip'
bad slip 'Invalid argument' '\.\.'
bad abs 'Invalid argument' 'absolute'
bad symlink-out 'Invalid argument' 'symlink|outside'
bad symlink-abs 'Invalid argument' 'symlink|outside'
bad device 'Invalid argument' 'device'
# libarchive reads a fifo entry as a regular file (zip -FI); it must never
# become a fifo on disk
mkdir "$MNT/functions/fifo"
$MKZIP fifo "$WORK/fifo.zip"
cp "$WORK/fifo.zip" "$MNT/functions/fifo/code.zip" 2>/dev/null
assert_eq "$(find "$MNT/functions/fifo/code" -type p | wc -l)" "0" "fifo entry never becomes a fifo"
bad bomb 'File too large' 'unpacked size|exceeds'
bad many 'File too large' 'entries'
assert_true "nothing escaped the tree" test ! -e "$WORK/evil.txt" -a ! -e /tmp/evil.txt

# a good deploy clears the failure
cp "$WORK/good.zip" "$F/code.zip"
assert_eq "$(json_get "$F/config.json" LastUpdateStatus)" "Successful" "good deploy: Successful again"

# an empty write deploys nothing
: > "$F/code.zip"
assert_true "': > code.zip' keeps the code" cmp "$WORK/good.zip" "$F/code.zip"

# ambiguous zip into a function without Runtime/Handler
mkdir "$MNT/functions/amb"
$MKZIP ambiguous "$WORK/amb.zip"
assert_fails_with 'Invalid argument' "ambiguous zip is refused" cp "$WORK/amb.zip" "$MNT/functions/amb/code.zip"
assert_match "$(json_get "$MNT/functions/amb/config.json" LastUpdateStatusReason)" 'Handler' "reason says what to set"
echo '{"Runtime":"python3.11","Handler":"a.handler"}' > "$MNT/functions/amb/config.json"
assert_true "with Runtime and Handler set it deploys" cp "$WORK/amb.zip" "$MNT/functions/amb/code.zip"

# bootstrap without x bit deploys (fails at invoke, like AWS)
mkdir "$MNT/functions/nox"
$MKZIP bootstrap-noexec "$WORK/nox.zip"
assert_true "bootstrap without x bit deploys" cp "$WORK/nox.zip" "$MNT/functions/nox/code.zip"
assert_eq "$(json_get "$MNT/functions/nox/config.json" Runtime)" "provided.al2023" "bootstrap -> provided.al2023"
assert_eq "$(stat -c %a "$MNT/functions/nox/code/bootstrap")" "444" "mode kept (no x bit), read-only"
mkdir "$MNT/functions/bx"
$MKZIP bootstrap "$WORK/bx.zip"
cp "$WORK/bx.zip" "$MNT/functions/bx/code.zip"
assert_eq "$(stat -c %a "$MNT/functions/bx/code/bootstrap")" "555" "executable bootstrap keeps its x bits"

# names
assert_fails_with 'Invalid argument' "bad function name" mkdir "$MNT/functions/bad.name"
assert_fails_with 'Invalid argument' "65-char function name" mkdir "$MNT/functions/$(printf 'a%.0s' $(seq 65))"
assert_true "64-char function name" mkdir "$MNT/functions/$(printf 'a%.0s' $(seq 64))"
assert_fails_with 'Invalid argument' "bad layer name" mkdir "$MNT/layers/bad name"
assert_fails_with 'Operation not permitted' "no stray files in a function" touch "$F/other"
assert_fails_with 'Permission denied|Read-only' "status is read-only" bash -c "echo x > '$MNT/status'"

# config.json validation
cfgbad() { # json reason-regex what
	assert_fails_with 'Invalid argument' "$3: write fails" sh -c "printf '%s' '$1' | dd of='$F/config.json' status=none"
	assert_eq "$(json_get "$F/config.json" LastUpdateStatus)" "Failed" "$3: LastUpdateStatus Failed"
	assert_match "$(json_get "$F/config.json" LastUpdateStatusReason)" "$2" "$3: reason"
	assert_eq "$(json_get "$F/config.json" Timeout)" "3" "$3: previous config in force"
}
cfgbad '{"Timeout": 0}' 'Timeout' "Timeout 0"
cfgbad '{"Timeout": 901}' 'Timeout' "Timeout 901"
cfgbad '{"MemorySize": 64}' 'MemorySize' "MemorySize 64"
cfgbad '{"Bogus": 1}' 'Bogus' "unknown key"
cfgbad '{"Timeout": 5' 'JSON|incomplete|invalid' "incomplete JSON"
cfgbad 'not json' 'JSON|invalid' "invalid JSON"
cfgbad '{"Runtime": "cobol1"}' 'Runtime' "unknown runtime"
cfgbad '{"Environment": {"Variables": {"AWS_REGION": "x"}}}' 'reserved' "reserved env var"
cfgbad '{"Layers": ["nope"]}' 'nope' "layer that does not exist"
for i in 1 2 3 4 5 6; do mkdir "$MNT/layers/l$i"; cp "$WORK/good.zip" "$MNT/layers/l$i/layer.zip"; done
cfgbad '{"Layers": ["l1","l2","l3","l4","l5","l6"]}' 'Layers|5' "6 layers"
# the builtin echo sees the error too: the write itself fails
out=$( (echo '{"Timeout": 0}' > "$F/config.json") 2>&1 ); rc=$?
assert_eq "$rc" "1" "echo > config.json with a bad value exits 1"
assert_match "$out" 'Invalid argument' "and says Invalid argument"
done_testing
