#!/usr/bin/env bash
# t100 (the bash custom runtime: results, errno table, logs, warm reuse,
# timeouts, drain on deploy) again with --executor docker.
EXECUTOR=docker exec "$(dirname "$0")/t100-invoke-provided.sh"
