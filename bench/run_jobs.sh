#!/usr/bin/env bash
# The background-work benchmarks (docs/background-work.md): the deadline sweep over 100,000
# open orders and the refund throughput of one worker. Needs PostgreSQL and Redis; each run
# works in a scratch database named after DATABASE_URL's with a `_bench` suffix.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/orderflow}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
echo "== deadline sweep"
.venv/bin/python bench/sweep.py "$@"
echo
echo "== refunds"
.venv/bin/python bench/refunds.py
