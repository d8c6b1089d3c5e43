#!/usr/bin/env bash
# ric.sh - the cases every version of the npm aws-lambda-ric must pass,
# sourced by tests/integration/t12*-aws-lambda-ric*.sh after lib.sh:
#
#   ric_cases VERSION CALLBACK
#
# installs (cached) and runs the unmodified client as a provided.al2023
# function whose bootstrap execs it: success, thrown error, a callback
# handler, 100 warm invocations on one environment, init error.
# CALLBACK says what the callback-style handler must give: "works" (3.x)
# or an errorType the client refuses it with (4.x).

ric_cases() {
	local v=$1 callback=$2 fn=$WORK/ric-fn f out rc fails
	need_ric "$v"
	[ -n "$DAEMON_PID" ] || mount_fs
	mkdir -p "$fn"
	# the client ships inside the package, as on AWS: the function sees
	# only its code (/var/task), its layers (/opt) and the system
	# shellcheck disable=SC2016
	printf '#!/bin/sh\nexec "$LAMBDA_TASK_ROOT"/node_modules/.bin/aws-lambda-ric "$_HANDLER"\n' \
		> "$fn/bootstrap"
	chmod +x "$fn/bootstrap"
	cat > "$fn/index.mjs" <<'JS'
export const handler = async (event, context) => {
  if (event.fail) throw new RangeError("boom");
  console.log("hello from ric");
  return { ok: true, id: context.awsRequestId, name: context.functionName, event };
};
JS
	cat > "$fn/callback.js" <<'JS'
exports.handler = (event, context, callback) => {
  setTimeout(() => callback(null, { cb: event.n + 1 }), 5);
};
JS
	(cd "$fn" && zip -q ../ric.zip bootstrap index.mjs callback.js)
	(cd "$RIC" && zip -qry -1 "$WORK/ric.zip" node_modules)
	f=$MNT/functions/ric
	mkdir "$f"
	assert_true "$v: deploy" cp "$WORK/ric.zip" "$f/code.zip"
	assert_eq "$(json_get "$f/config.json" Runtime)" "provided.al2023" "$v: bootstrap makes it provided.al2023"
	assert_eq "$(json_get "$f/config.json" Handler)" "index.handler" "$v: handler inferred from index.mjs"

	echo '{"a": 1}' > "$f/invoke"; rc=$?
	assert_eq "$rc" 0 "$v: success"
	out=$(cat "$f/invoke")
	assert_eq "$(json_get "$out" name)" "ric" "$v: context.functionName"
	assert_eq "$(json_get "$out" event.a)" "1" "$v: event passed through"
	assert_match "$(json_get "$out" id)" '^[0-9a-f-]{36}$' "$v: context.awsRequestId"

	bash -c 'echo "{\"fail\": 1}" > "$1"' _ "$f/invoke" 2>/dev/null; rc=$?
	assert_eq "$rc" 1 "$v: thrown error fails the write (EREMOTEIO)"
	out=$(cat "$f/invoke")
	assert_eq "$(json_get "$out" errorType)" "RangeError" "$v: errorType from the client"
	assert_eq "$(json_get "$out" errorMessage)" "boom" "$v: errorMessage from the client"

	fails=0
	for _ in $(seq 100); do echo '{}' > "$f/invoke" || fails=$((fails + 1)); done
	assert_eq "$fails" 0 "$v: 100 warm invocations"
	assert_eq "$(grep -c 'Init Duration' "$f/logs")" "1" "$v: all on one environment"
	assert_match "$(cat "$f/logs")" $'\tINFO\thello from ric' "$v: console.log in the log"

	echo '{"Handler": "callback.handler"}' > "$f/config.json"
	bash -c 'echo "{\"n\": 41}" > "$1"' _ "$f/invoke" 2>/dev/null; rc=$?
	out=$(cat "$f/invoke")
	if [ "$callback" = works ]; then
		assert_eq "$rc" 0 "$v: callback handler succeeds"
		assert_eq "$(json_get "$out" cb)" "42" "$v: callback result"
	else
		assert_eq "$rc" 1 "$v: callback handler refused (EREMOTEIO)"
		assert_eq "$(json_get "$out" errorType)" "$callback" "$v: refused with $callback"
	fi

	# init error: a handler module that does not exist
	echo '{"Handler": "missing.handler"}' > "$f/config.json"
	bash -c 'echo "{}" > "$1"' _ "$f/invoke" 2>/dev/null; rc=$?
	assert_eq "$rc" 1 "$v: init error fails the write"
	assert_eq "$(json_get "$(cat "$f/invoke")" errorType)" "Runtime.ImportModuleError" \
		"$v: Runtime.ImportModuleError"
	echo '{"Handler": "index.handler"}' > "$f/config.json"
	echo '{"again": 1}' > "$f/invoke"; rc=$?
	assert_eq "$rc" 0 "$v: works again once the handler is fixed"
}
