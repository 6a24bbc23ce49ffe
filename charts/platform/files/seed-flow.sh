#!/bin/sh
# The seed's curl flow through the gateway, as a user types it, run by `helm test`: log in, refuse a call
# without a token, create a user and a case (then replay it), and find the case in the audit log.
# Each step prints PASS or FAIL; the exit code is 1 when any step failed.
#   GATEWAY_URL               e.g. http://mrp-gateway:8080
#   ADMIN_EMAIL ADMIN_PASSWORD an admin's credentials (the dev admin, or the bootstrap admin)
set -u
gw="${GATEWAY_URL:?GATEWAY_URL is not set}"
body=/tmp/body
headers=/tmp/headers
failed=0
run="$(date +%s)-$$"

check() { # name expected actual
  if [ "$3" = "$2" ]; then echo "PASS $1 ($3)"; else echo "FAIL $1: expected $2, got $3 $(head -c 300 "$body" 2>/dev/null)"; failed=1; fi
}
call() { # curl arguments; prints the status code, keeps the body and headers
  curl -sS --max-time 15 ${CURL_INSECURE:+--insecure} -o "$body" -D "$headers" -w '%{http_code}' "$@" || echo 000
}
first_id() { grep -o '"id":"[^"]*"' "$body" | head -n 1 | cut -d '"' -f 4; }

check "GET /healthz" 200 "$(call "$gw/healthz")"

check "POST /v1/auth/login" 200 "$(call -X POST "$gw/v1/auth/login" \
  --data-urlencode "username=$ADMIN_EMAIL" --data-urlencode "password=$ADMIN_PASSWORD")"
token="$(grep -o '"access_token":"[^"]*"' "$body" | cut -d '"' -f 4)"
[ -n "$token" ] || { echo "FAIL no access_token in the login answer"; exit 1; }

check "GET /v1/users without a token is refused" 401 "$(call "$gw/v1/users")"

check "POST /v1/users" 201 "$(call -X POST "$gw/v1/users" -H "Authorization: Bearer $token" \
  -H "Content-Type: application/json" \
  -d "{\"email\":\"helm-test-$run@example.com\",\"role\":\"viewer\",\"full_name\":\"Helm Test\"}")"
user_id="$(first_id)"

case_body="{\"title\":\"Investigate\",\"owner_id\":\"$user_id\",\"priority\":\"high\"}"
check "POST /v1/cases" 201 "$(call -X POST "$gw/v1/cases" -H "Authorization: Bearer $token" \
  -H "Idempotency-Key: helm-test-$run" -H "Content-Type: application/json" -d "$case_body")"
case_id="$(first_id)"

check "POST /v1/cases again replays it" 201 "$(call -X POST "$gw/v1/cases" -H "Authorization: Bearer $token" \
  -H "Idempotency-Key: helm-test-$run" -H "Content-Type: application/json" -d "$case_body")"
check "the replay is the same case" "$case_id" "$(first_id)"
check "the replay says so" 1 "$(grep -ci '^idempotent-replayed: true' "$headers")"

# The audit log is fed by events, so the case shows up shortly after it is stored.
found=0
for _ in $(seq 1 30); do
  code="$(call "$gw/v1/audit?case_id=$case_id" -H "Authorization: Bearer $token")"
  if [ "$code" = 200 ] && grep -q '"case_created"' "$body"; then found=1; break; fi
  sleep 1
done
check "GET /v1/audit lists case_created" 1 "$found"

exit "$failed"
