#!/usr/bin/env bash
# Mount, create a function, deploy with cp, read everything back,
# unmount, remount and find it all as it was.
. "$(dirname "$0")/lib.sh"
require_fuse
mount_fs

assert_match "$(cat "$MNT/status")" '"version"' "status is JSON with a version"
assert_eq "$(ls "$MNT")" "$(printf 'functions\nlayers\nstatus')" "root lists functions, layers, status"

assert_true "mkdir functions/hello" mkdir "$MNT/functions/hello"
assert_fails_with 'File exists' "second mkdir fails with EEXIST" mkdir "$MNT/functions/hello"
assert_eq "$(json_get "$MNT/functions/hello/config.json" State)" "Pending" "new function is Pending"
assert_eq "$(json_get "$MNT/functions/hello/config.json" Timeout)" "3" "default Timeout 3"
assert_eq "$(json_get "$MNT/functions/hello/config.json" MemorySize)" "128" "default MemorySize 128"
assert_eq "$(json_get "$MNT/functions/hello/config.json" FunctionArn)" \
	"arn:aws:lambda:us-east-1:000000000000:function:hello" "FunctionArn"
[ -e "$MNT/functions/hello/code.zip" ] && not_ok "no code.zip before deploy" || ok "no code.zip before deploy"

$MKZIP good "$WORK/good.zip"
assert_true "cp deploys" cp "$WORK/good.zip" "$MNT/functions/hello/code.zip"
assert_true "code.zip reads back byte-exact" cmp "$WORK/good.zip" "$MNT/functions/hello/code.zip"
size=$(stat -c %s "$WORK/good.zip")
assert_eq "$(stat -c %s "$MNT/functions/hello/code.zip")" "$size" "code.zip size is real"
assert_eq "$(json_get "$MNT/functions/hello/config.json" CodeSize)" "$size" "CodeSize"
sha=$(python3 -c 'import hashlib,base64,sys;print(base64.b64encode(hashlib.sha256(open(sys.argv[1],"rb").read()).digest()).decode())' "$WORK/good.zip")
assert_eq "$(json_get "$MNT/functions/hello/config.json" CodeSha256)" "$sha" "CodeSha256 is base64 sha256"
assert_eq "$(json_get "$MNT/functions/hello/config.json" Runtime)" \
	"$(python3 -c 'import sys;print("python%d.%d"%sys.version_info[:2])')" "Runtime inferred from lambda_function.py"
assert_eq "$(json_get "$MNT/functions/hello/config.json" Handler)" "lambda_function.lambda_handler" "Handler inferred"
assert_eq "$(json_get "$MNT/functions/hello/config.json" State)" "Active" "Active after deploy"
assert_eq "$(json_get "$MNT/functions/hello/config.json" LastUpdateStatus)" "Successful" "LastUpdateStatus Successful"
assert_true "code/lambda_function.py is visible" test -f "$MNT/functions/hello/code/lambda_function.py"
assert_eq "$(cd "$WORK" && mkdir -p x && cd x && unzip -qo ../good.zip && cat lambda_function.py | md5sum)" \
	"$(md5sum < "$MNT/functions/hello/code/lambda_function.py")" "code/ content matches the zip"
assert_fails_with 'Read-only file system|Permission denied' "writing into code/ fails" \
	sh -c "echo x > '$MNT/functions/hello/code/lambda_function.py'"
assert_fails_with 'Read-only file system|Permission denied' "creating in code/ fails" \
	touch "$MNT/functions/hello/code/new"
assert_fails_with 'Read-only file system|Permission denied' "mkdir in code/ fails" \
	mkdir "$MNT/functions/hello/code/d"

# config.json merge-write
echo '{"Timeout": 30, "Environment": {"Variables": {"GREETING": "hi"}}}' > "$MNT/functions/hello/config.json"
assert_eq "$(json_get "$MNT/functions/hello/config.json" Timeout)" "30" "Timeout updated by echo >"
assert_eq "$(json_get "$MNT/functions/hello/config.json" Environment.Variables.GREETING)" "hi" "Environment updated"
assert_eq "$(json_get "$MNT/functions/hello/config.json" MemorySize)" "128" "other keys untouched"

# the jq round trip: read, edit, write back everything
python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));d["MemorySize"]=256;json.dump(d,open(sys.argv[2],"w"),indent=2)' \
	"$MNT/functions/hello/config.json" "$WORK/c.json"
assert_true "writing back the whole config works" cp "$WORK/c.json" "$MNT/functions/hello/config.json"
assert_eq "$(json_get "$MNT/functions/hello/config.json" MemorySize)" "256" "MemorySize from round trip"
assert_eq "$(json_get "$MNT/functions/hello/config.json" Timeout)" "30" "Timeout kept in round trip"

# ls -l of functions/
mkdir "$MNT/functions/second"
assert_eq "$(ls "$MNT/functions" | tr '\n' ' ')" "hello second " "ls functions/"
assert_match "$(ls -l "$MNT/functions/hello")" 'config.json' "ls -l of a function"

# unmount, remount, everything is still there
umount_fs
mount_fs
assert_true "code.zip persists byte-exact" cmp "$WORK/good.zip" "$MNT/functions/hello/code.zip"
assert_eq "$(json_get "$MNT/functions/hello/config.json" Timeout)" "30" "config persists"
assert_eq "$(json_get "$MNT/functions/hello/config.json" CodeSha256)" "$sha" "CodeSha256 persists"
assert_true "second function persists" test -d "$MNT/functions/second"
assert_true "code/ persists" test -f "$MNT/functions/hello/code/lambda_function.py"

# deletion
assert_true "rmdir deletes a function" rmdir "$MNT/functions/second"
assert_true "rm -r deletes a function" rm -r "$MNT/functions/hello"
assert_eq "$(ls "$MNT/functions" | wc -l)" "0" "functions/ is empty"
done_testing
