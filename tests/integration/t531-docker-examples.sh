#!/usr/bin/env bash
# t110 (the examples: python, a python layer, event fixtures) again with
# --executor docker.
EXECUTOR=docker exec "$(dirname "$0")/t110-examples.sh"
