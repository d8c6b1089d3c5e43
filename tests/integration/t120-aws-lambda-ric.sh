#!/usr/bin/env bash
# The real npm aws-lambda-ric 4.0.2, unmodified, as a provided.al2023
# function whose bootstrap execs it: success, thrown error, init error,
# 100 warm invocations on one environment.
. "$(dirname "$0")/lib.sh"
require_fuse
command -v npm >/dev/null || skip_all "npm missing: cannot install aws-lambda-ric"
CLIENTS=${LAMBDAFS_CLIENTS_DIR:-/var/tmp/lambdafs-clients}
RIC=$CLIENTS/ric-4.0.2
if [ ! -x "$RIC/node_modules/.bin/aws-lambda-ric" ]; then
	diag "installing aws-lambda-ric@4.0.2 into $RIC (native build, a few minutes; cached)"
	rm -rf "$RIC.tmp" && mkdir -p "$RIC.tmp"
	if ! (cd "$RIC.tmp" && npm init -y >/dev/null &&
		npm_config_nodedir=/usr npm install aws-lambda-ric@4.0.2 \
			--foreground-scripts >"$WORK/npm.log" 2>&1); then
		tail -20 "$WORK/npm.log" | sed 's/^/# npm: /'
		skip_all "npm install aws-lambda-ric@4.0.2 failed (registry unreachable or build tools missing)"
	fi
	rm -rf "$RIC" && mv "$RIC.tmp" "$RIC"
fi
mount_fs
mkdir -p "$WORK/fn"
# the client ships inside the package, as on AWS: the function only sees
# its code (/var/task), its layers (/opt) and the system
printf '#!/bin/sh\nexec "$LAMBDA_TASK_ROOT"/node_modules/.bin/aws-lambda-ric "$_HANDLER"\n' > "$WORK/fn/bootstrap"
chmod +x "$WORK/fn/bootstrap"
cat > "$WORK/fn/index.mjs" <<'JS'
export const handler = async (event, context) => {
  if (event.fail) throw new RangeError("boom");
  console.log("hello from ric");
  return { ok: true, id: context.awsRequestId, name: context.functionName, event };
};
JS
(cd "$WORK/fn" && zip -q ../ric.zip bootstrap index.mjs)
(cd "$RIC" && zip -qry -1 "$WORK/ric.zip" node_modules)
F=$MNT/functions/ric
mkdir "$F"
assert_true "deploy" cp "$WORK/ric.zip" "$F/code.zip"
assert_eq "$(json_get "$F/config.json" Runtime)" "provided.al2023" "bootstrap makes it provided.al2023"
assert_eq "$(json_get "$F/config.json" Handler)" "index.handler" "handler inferred from index.mjs"
echo '{"a": 1}' > "$F/invoke"; rc=$?
assert_eq "$rc" 0 "success"
out=$(cat "$F/invoke")
assert_eq "$(json_get "$out" name)" "ric" "context.functionName"
assert_eq "$(json_get "$out" event.a)" "1" "event passed through"
bash -c 'echo "{\"fail\": 1}" > "$1"' _ "$F/invoke" 2>/dev/null; rc=$?
assert_eq "$rc" 1 "thrown error fails the write (EREMOTEIO)"
assert_eq "$(json_get "$(cat "$F/invoke")" errorType)" "RangeError" "errorType from the client"
fails=0
for _ in $(seq 100); do echo '{}' > "$F/invoke" || fails=$((fails + 1)); done
assert_eq "$fails" 0 "100 warm invocations"
assert_eq "$(grep -c 'Init Duration' "$F/logs")" "1" "all on one environment"
assert_match "$(cat "$F/logs")" $'\tINFO\thello from ric' "console.log in the log"
# init error: a handler module that does not exist
echo '{"Handler": "missing.handler"}' > "$F/config.json"
bash -c 'echo "{}" > "$1"' _ "$F/invoke" 2>/dev/null; rc=$?
assert_eq "$rc" 1 "init error fails the write"
assert_match "$(cat "$F/invoke")" 'Runtime.ImportModuleError' "Runtime.ImportModuleError"
done_testing
