#!/usr/bin/env bash
# Serving under load (docs/operations/serving.md), one command, every baseline in the same run:
#   1. bench/serving.py: the server choice (daphne, granian, gunicorn), then the production
#      topology with wrk (constant JSON view, naive DRF retrieve, lean status 200 and 304, the
#      database path) and locust's mixed scenario;
#   2. bench/sweep.py: deadline cancellations per second, one per transaction (the baseline)
#      against batched transactions;
#   3. bench/websocket_fanout.py on the production topology: failed handshakes with every socket
#      opened at once, fan-out latency and losses, idle sockets and their memory.
# Needs PostgreSQL and Redis; wrk and nginx are installed by scripts/_system_packages.sh. Each
# part stops every server it started. Arguments: SWEEP_ORDERS/SWEEP_OVERDUE, FANOUT_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
source scripts/_system_packages.sh
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/orderflow}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
echo "== serving: server choice, production topology, mixed scenario"
python bench/serving.py
echo
echo "== deadline sweep"
python bench/sweep.py --orders "${SWEEP_ORDERS:-20000}" --overdue "${SWEEP_OVERDUE:-6000}" --baseline 1000 --repeat 5
echo
echo "== WebSocket fan-out on the production topology"
# shellcheck disable=SC2086
python bench/websocket_fanout.py ${FANOUT_ARGS:-}
