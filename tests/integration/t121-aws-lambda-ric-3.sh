#!/usr/bin/env bash
# The real npm aws-lambda-ric 3.3.0, unmodified, as a provided.al2023
# function whose bootstrap execs it (cases in tests/lib/ric.sh), including
# a callback-style handler, which 3.x still runs.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/lib/ric.sh"
require_fuse
ric_cases 3.3.0 works
done_testing
