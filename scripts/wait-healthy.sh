#!/usr/bin/env bash
# Waits until the Stance Station service answers on /healthz: any HTTP status. A 503
# (a dead load cell, no amplifier powered, disk low) still serves the kiosk page, which
# says what is wrong; only "nothing answers" is worth waiting for.
# Usage: wait-healthy.sh [URL] [TIMEOUT_S]
#   URL        the station page (default $KIOSK_URL or http://127.0.0.1:8000/)
#   TIMEOUT_S  give up after this many seconds (default $KIOSK_WAIT_S or 120)
# Exit 0 when it answers (the status is printed), 1 on timeout (the kiosk unit then shows
# the page anyway), 2 on bad usage.
set -euo pipefail

url=${1:-${KIOSK_URL:-http://127.0.0.1:8000/}}
timeout_s=${2:-${KIOSK_WAIT_S:-120}}
if ! [[ $timeout_s =~ ^[0-9]+$ ]]; then
    echo "error: TIMEOUT_S must be a whole number of seconds, got '$timeout_s'" >&2
    exit 2
fi
health=${url%/}/healthz

# HTTP status of one request, 000 when nothing answers. curl when present, else Python.
status_of() {
    if command -v curl >/dev/null 2>&1; then
        curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true
    else
        python3 - "$1" <<'PY' || echo 000
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
PY
    fi
}

start=$SECONDS
last_report=-10
while :; do
    code=$(status_of "$health")
    if [ "$code" = 200 ]; then
        echo "station service is healthy ($health answered 200 after $((SECONDS - start)) s)"
        exit 0
    fi
    if [[ $code =~ ^[1-5][0-9][0-9]$ ]]; then
        echo "station service answers ($health: $code after $((SECONDS - start)) s); its page says what is wrong"
        exit 0
    fi
    waited=$((SECONDS - start))
    if [ "$waited" -ge "$timeout_s" ]; then
        echo "the station service did not answer within $timeout_s s ($health: $code)." >&2
        echo "See what is wrong with: journalctl -u station -n 50" >&2
        exit 1
    fi
    if [ $((waited - last_report)) -ge 10 ]; then
        case $code in
            000) what="no answer yet" ;;
            *) what="answers $code" ;;
        esac
        echo "waiting for the station service at $health ($what; ${waited} s of ${timeout_s} s)"
        last_report=$waited
    fi
    sleep 1
done
