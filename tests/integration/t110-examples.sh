#!/usr/bin/env bash
# Every example in examples/ runs: python, node (ESM), a python layer,
# and the event fixtures through a python function.
. "$(dirname "$0")/lib.sh"
require_fuse
command -v python3 >/dev/null || skip_all "python3 missing"
mount_fs
EX=$TOP/examples

# python
F=$MNT/functions/hello
mkdir "$F"
(cd "$EX/python-hello" && zip -q "$WORK/hello.zip" lambda_function.py)
cp "$WORK/hello.zip" "$F/code.zip"
echo '{"name": "world"}' > "$F/invoke"; rc=$?
assert_eq "$rc" 0 "python: invoke succeeds"
out=$(cat "$F/invoke")
assert_eq "$(json_get "$out" greeting)" "hello world" "python: response"
assert_eq "$(json_get "$out" function)" "hello" "python: context.function_name"
assert_eq "$(json_get "$out" memory)" "128" "python: context.memory_limit_in_mb"
assert_match "$(json_get "$out" request_id)" '^[0-9a-f-]{36}$' "python: context.aws_request_id"
assert_match "$(cat "$F/logs")" $'\\[INFO\\]\t[0-9T:.-]+Z\t[0-9a-f-]{36}\tgreeting world' "python: logging line like AWS"
assert_match "$(cat "$F/logs")" 'remaining [0-9]+ ms' "python: print() reaches the log"
bash -c 'echo "{\"name\": \"error\"}" > "$1"' _ "$F/invoke" 2>/dev/null; rc=$?
assert_eq "$rc" 1 "python: a raised error fails the write"
err=$(cat "$F/invoke")
assert_eq "$(json_get "$err" errorType)" "ValueError" "python: errorType"
assert_eq "$(json_get "$err" errorMessage)" "no greeting for 'error'" "python: errorMessage"
assert_match "$(cat "$F/logs")" '\[ERROR\] ValueError: no greeting' "python: error logged like AWS"

# event fixtures, all at once as a stream
exec 3<>"$F/invoke"
cat "$EX"/events/*.json >&3
n=$(ls "$EX"/events/*.json | wc -l)
assert_eq "$(head -n "$n" <&3 2>/dev/null | grep -c '"greeting": "hello stranger"\|"greeting":"hello stranger"')" "$n" "every event fixture runs"
exec 3>&-

# node (ESM)
if [ "${EXECUTOR:-subprocess}" = docker ] &&
   ! docker image inspect public.ecr.aws/lambda/nodejs:20 >/dev/null 2>&1; then
	# the offline test images hold python only (no node in Debian here)
	diag "docker mode: no nodejs image (public.ecr.aws/lambda/nodejs:20): node example not run"
elif command -v node >/dev/null; then
	G=$MNT/functions/node
	mkdir "$G"
	(cd "$EX/node-esm" && zip -q "$WORK/node.zip" index.mjs)
	cp "$WORK/node.zip" "$G/code.zip"
	assert_match "$(json_get "$G/config.json" Runtime)" '^nodejs[0-9]+\.x$' "node: runtime inferred"
	echo '{"n": 41}' > "$G/invoke"
	assert_eq "$(json_get "$(cat "$G/invoke")" answer)" "42" "node: response"
	bash -c 'echo "{\"fail\": true}" > "$1"' _ "$G/invoke" 2>/dev/null; rc=$?
	assert_eq "$rc" 1 "node: a thrown error fails the write"
	assert_eq "$(json_get "$(cat "$G/invoke")" errorType)" "TypeError" "node: errorType"
	assert_match "$(cat "$G/logs")" $'[0-9a-f-]{36}\tINFO\tevent' "node: console.log like AWS"
else
	diag "node not installed: node example not run"
	not_ok "node example (node missing)"
fi

# python layer
mkdir "$MNT/layers/greetings"
(cd "$EX/python-layer" && zip -qr "$WORK/layer.zip" python && zip -q "$WORK/uses.zip" lambda_function.py)
cp "$WORK/layer.zip" "$MNT/layers/greetings/layer.zip"
U=$MNT/functions/uses-layer
mkdir "$U"
cp "$WORK/uses.zip" "$U/code.zip"
echo '{"Layers": ["greetings"]}' > "$U/config.json"
echo '{"name": "ana"}' > "$U/invoke"
assert_eq "$(json_get "$(cat "$U/invoke")" message)" "greetings, ana, from a layer" "python layer on sys.path"
done_testing
