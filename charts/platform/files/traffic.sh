#!/bin/sh
# A gentle, realistic mix of the seed's calls through the gateway, so that the dashboards, the traces and
# the audit log fill up: `make traffic` runs it against `make dev`, Compose's `load-generator` (profile
# traffic) and the chart's (loadGenerator.enabled) run it in a container with sh and curl.
# Each cycle an analyst lists cases and creates one (with an Idempotency-Key, and a replay of it every
# fifth time), reads it back and sometimes closes it, a viewer pages through the cases, an admin reads the
# case's audit trail; every tenth cycle also sends a call without a token (401) and a bad create (400).
# It logs in again before the tokens expire, prints one line every 20 cycles (and the first answers that
# were not the expected ones), and stops after TRAFFIC_DURATION_S (0: never) or on SIGTERM / Ctrl-C.
#   GATEWAY_URL            e.g. http://localhost:8080
#   TRAFFIC_RATE           cycles per second, about 8 calls each (default 1)
#   TRAFFIC_DURATION_S     how long to run, 0 for ever (default 0)
#   ADMIN_EMAIL ADMIN_PASSWORD, ANALYST_EMAIL ANALYST_PASSWORD, VIEWER_EMAIL VIEWER_PASSWORD
#                          the users it acts as (default: the development seed users)
set -u
gw="${GATEWAY_URL:?GATEWAY_URL is not set}"
rate="${TRAFFIC_RATE:-1}"
duration="${TRAFFIC_DURATION_S:-0}"
work="$(mktemp -d)"
body="$work/body"
run="$(date +%s)-$$"
trap 'rm -rf "$work"; exit 0' INT TERM
trap 'rm -rf "$work"' EXIT

case "$rate" in '' | *[!0-9.]* | .* | *.*.*) echo "traffic: TRAFFIC_RATE must be a number, not '$rate'" >&2; exit 2 ;; esac
case "$duration" in '' | *[!0-9]*) echo "traffic: TRAFFIC_DURATION_S must be whole seconds, not '$duration'" >&2; exit 2 ;; esac
pause="$(awk -v rate="$rate" 'BEGIN { if (rate <= 0) exit 1; printf "%.3f", 1 / rate }')" ||
  { echo "traffic: TRAFFIC_RATE must be above 0" >&2; exit 2; }

call() { # curl arguments; prints the status code and keeps the body
  curl -sS --max-time 15 ${CURL_INSECURE:+--insecure} -o "$body" -w '%{http_code}' "$@" 2>/dev/null || echo 000
}
field() { grep -o "\"$1\":\"[^\"]*\"" "$body" | head -n 1 | cut -d '"' -f 4; }
login() { # email password: prints an access token, or nothing
  code="$(call -X POST "$gw/v1/auth/login" --data-urlencode "username=$1" --data-urlencode "password=$2")"
  [ "$code" = 200 ] && field access_token
}

admin_email="${ADMIN_EMAIL:-admin@example.com}" admin_password="${ADMIN_PASSWORD:-admin123}"
analyst_email="${ANALYST_EMAIL:-analyst@example.com}" analyst_password="${ANALYST_PASSWORD:-analyst123}"
viewer_email="${VIEWER_EMAIL:-viewer@example.com}" viewer_password="${VIEWER_PASSWORD:-viewer123}"

logins=0
login_all() {
  until admin="$(login "$admin_email" "$admin_password")" && [ -n "$admin" ] &&
    analyst="$(login "$analyst_email" "$analyst_password")" && [ -n "$analyst" ] &&
    viewer="$(login "$viewer_email" "$viewer_password")" && [ -n "$viewer" ]; do
    echo "traffic: cannot log in at $gw yet (HTTP $code); retrying in 5 s"
    sleep 5
  done
  logins=$((logins + 1))
  logged_in_at="$(date +%s)"
}
login_all

# The cases are owned by a user of the traffic's own, made once.
until [ "$(call -X POST "$gw/v1/users" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d "{\"email\":\"traffic-$run@example.com\",\"role\":\"analyst\",\"full_name\":\"Traffic Owner\"}")" = 201 ]; do
  echo "traffic: cannot create the cases' owner yet; retrying in 5 s"
  sleep 5
done
owner="$(field id)"
echo "traffic: $rate cycle(s) per second through $gw$([ "$duration" -gt 0 ] && echo " for $duration s"); Ctrl-C stops"

started="$(date +%s)"
cycle=0 calls=0 failures=0
tally() { # expected-status what status: counts the call, and a failure when the answer is not the expected one
  calls=$((calls + 1))
  if [ "$3" != "$1" ]; then
    failures=$((failures + 1))
    [ "$failures" -le 5 ] && echo "traffic: $2 answered $3, expected $1: $(head -c 200 "$body" 2>/dev/null)"
  fi
}
priorities="low medium high critical"
while :; do
  now="$(date +%s)"
  [ "$duration" -gt 0 ] && [ $((now - started)) -ge "$duration" ] && break
  # Tokens live 15 minutes: log in again after 10.
  [ $((now - logged_in_at)) -ge 600 ] && login_all
  cycle=$((cycle + 1))

  tally 200 'GET /v1/cases' "$(call "$gw/v1/cases?limit=10" -H "Authorization: Bearer $analyst")"
  priority="$(echo "$priorities" | cut -d ' ' -f $((cycle % 4 + 1)))"
  create="{\"title\":\"Traffic case $cycle\",\"owner_id\":\"$owner\",\"priority\":\"$priority\",\"features\":{\"amount\":$((cycle % 5000)),\"channel\":\"web\",\"repeat_customer\":$([ $((cycle % 3)) = 0 ] && echo true || echo false)}}"
  key="traffic-$run-$cycle"
  code="$(call -X POST "$gw/v2/cases" -H "Authorization: Bearer $analyst" -H "Idempotency-Key: $key" \
    -H 'Content-Type: application/json' -d "$create")"
  tally 201 'POST /v2/cases' "$code"
  case_id="$(field id)"
  if [ $((cycle % 5)) = 0 ]; then
    tally 201 'POST /v2/cases (replay)' "$(call -X POST "$gw/v2/cases" -H "Authorization: Bearer $analyst" \
      -H "Idempotency-Key: $key" -H 'Content-Type: application/json' -d "$create")"
  fi
  if [ "$code" = 201 ] && [ -n "$case_id" ]; then
    tally 200 'GET /v2/cases/{id}' "$(call "$gw/v2/cases/$case_id" -H "Authorization: Bearer $analyst")"
    if [ $((cycle % 4)) = 0 ]; then
      tally 200 'PATCH /v2/cases/{id}' "$(call -X PATCH "$gw/v2/cases/$case_id" -H "Authorization: Bearer $analyst" \
        -H 'Content-Type: application/json' -d '{"status":"CLOSED"}')"
    fi
    tally 200 'GET /v1/audit' "$(call "$gw/v1/audit?case_id=$case_id" -H "Authorization: Bearer $admin")"
  fi
  tally 200 'GET /v2/cases (viewer)' "$(call "$gw/v2/cases?limit=5&priority=$priority" -H "Authorization: Bearer $viewer")"
  if [ $((cycle % 10)) = 0 ]; then
    tally 401 'GET /v1/cases without a token' "$(call "$gw/v1/cases")"
    tally 400 'POST /v1/cases with a bad body' "$(call -X POST "$gw/v1/cases" -H "Authorization: Bearer $analyst" \
      -H 'Content-Type: application/json' -d '{"title":""}')"
  fi
  [ $((cycle % 20)) = 0 ] &&
    echo "traffic: $cycle cycles, $calls calls, $failures failed (not the expected answer), $logins logins"
  sleep "$pause"
done
echo "traffic: done: $cycle cycles, $calls calls, $failures failed (not the expected answer)"
