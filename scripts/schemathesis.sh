#!/usr/bin/env bash
# Property-based API check: start the embedded platform on a scratch data directory
# (migrate + bootstrap with the demo data), give the admin an API token, and let
# schemathesis call every operation of our OpenAPI schema. It fails on any 5xx.
#   scripts/schemathesis.sh            (MAX_EXAMPLES=N to change the bound; default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SCHEMATHESIS=${SCHEMATHESIS:-.venv/bin/schemathesis}
MAX_EXAMPLES=${MAX_EXAMPLES:-15}
VAR=$(mktemp -d /tmp/adplatform-schemathesis-XXXXXX)
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ADPLATFORM_VAR_DIR=$VAR CLICKHOUSE_URL=chdb://$VAR/clickhouse CLICKHOUSE_DATABASE=adplatform
# the built-in sandbox platform the demo accounts fetch from is this server's /sandbox/
export PUBLIC_URL=http://127.0.0.1:$PORT
unset DATABASE_URL CELERY_BROKER_URL REDIS_URL
# Fetches are rate-limited per organization; schemathesis would mostly see 429s.
export FETCH_RATE=100000/min
$PY manage.py migrate --no-input -v 0
$PY manage.py bootstrap >/dev/null
TOKEN=$($PY manage.py drf_create_token admin | awk '{print $3}')
$PY manage.py runplatform --port "$PORT" >"$VAR/runplatform.log" 2>&1 &
PID=$!
# TERM: a background job of a script ignores SIGINT, so runplatform would never stop
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$VAR"' EXIT
$PY - "$PORT" <<'WAIT'
import sys, time, urllib.request
for _ in range(240):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=5); sys.exit(0)
    except Exception:
        time.sleep(0.5)
sys.exit("runplatform did not come up")
WAIT
set +e
$SCHEMATHESIS run "http://127.0.0.1:$PORT/api/schema/" \
  --checks not_a_server_error \
  --header "Authorization: Token $TOKEN" \
  --max-examples "$MAX_EXAMPLES" \
  --seed 7 \
  --request-timeout 30 \
  --suppress-health-check all
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  # The server's side of each 5xx (schemathesis shows only the response).
  echo "=== server errors logged by runplatform ==="
  grep -n -A 40 "ERROR django.request" "$VAR/runplatform.log" | tail -n 200 || true
fi
exit "$rc"
