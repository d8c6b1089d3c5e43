#!/usr/bin/env bash
# The real npm aws-lambda-ric 4.0.2, unmodified, as a provided.al2023
# function whose bootstrap execs it (cases in tests/lib/ric.sh). 4.x
# refuses callback-style handlers with Runtime.CallbackHandlerDeprecated.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/lib/ric.sh"
require_fuse
ric_cases 4.0.2 Runtime.CallbackHandlerDeprecated
done_testing
