#!/usr/bin/env bats
# bms-serve: a real server on a loopback port over a real store: the
# health of the batteries' links, JSON errors, the security headers,
# where it listens, and a clean stop.

load helper

setup() {
	T=$BATS_TEST_TMPDIR
	bg=()
}

teardown() {
	stop_bg "${bg[@]}"
}

# status ID STATE REASON: a status record of battery ID.
status_rec() {
	printf '{"type":"status","bms_id":"%s","timestamp":"2026-11-27T00:00:0%s.000Z","state":"%s","reason":"%s","quality":100}\n' \
		"$1" "$2" "$3" "$4"
}

@test "health: the batteries whose latest status is connected, over every tenant" {
	store_new home shed
	{ status_rec a 1 connected ok; status_rec b 1 disconnected no_reply; status_rec b 2 connected ok; } |
		bms-store -d "$STORE" -T home
	status_rec c 1 connected ok | bms-store -d "$STORE" -T shed
	serve_store
	run curl -sS -D "$T/h" "$URL/api/v1/health"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^\{\"status\":\"healthy\",\"timestamp\":\"[0-9-]{10}T[0-9:.]{12}Z\",\"version\":\"[0-9.]+\",\"connected_devices\":3\}$ ]]
	grep -q '^HTTP/1.1 200 OK' "$T/h"
	grep -q '^Content-Type: application/json' "$T/h"
	# One pack drops off the link: degraded.
	status_rec a 3 disconnected no_reply | bms-store -d "$STORE" -T home
	run curl -sS "$URL/api/v1/health"
	[[ "$output" == '{"status":"degraded",'*'"connected_devices":2}' ]]
}

@test "health: a store that cannot be read is unhealthy, and says no more" {
	store_new home
	rm -f "$STORE"/tenants/home.db*
	serve_store
	run curl -sS -o "$T/body" -w '%{http_code}' "$URL/api/v1/health"
	[ "$output" = 503 ]
	[[ "$(cat "$T/body")" == '{"status":"unhealthy",'*'"connected_devices":0}' ]]
	! grep -q "$STORE" "$T/body"
}

@test "every answer carries the security headers; errors are JSON, never a file" {
	store_new home
	serve_store
	curl -sS -D "$T/h" -o /dev/null "$URL/api/v1/health"
	for hdr in 'X-Content-Type-Options: nosniff' 'Referrer-Policy: no-referrer' \
		"Content-Security-Policy: default-src 'self'; frame-ancestors 'none'; base-uri 'none'" \
		'X-Frame-Options: DENY' 'Cache-Control: no-store'; do
		grep -qF "$hdr" "$T/h"
	done
	run curl -sS -D "$T/h" "$URL/api/v1/nothing"
	[ "$output" = '{"error":"not_found","message":"no such resource"}' ]
	grep -q '^HTTP/1.1 404' "$T/h"
	grep -qF 'X-Content-Type-Options: nosniff' "$T/h"
	run curl -sS --path-as-is "$URL/api/v1/../../../../etc/passwd"
	[ "$output" = '{"error":"not_found","message":"no such resource"}' ]
	run curl -sS --path-as-is "$URL/%2e%2e/%2e%2e/etc/passwd"
	[ "$output" = '{"error":"not_found","message":"no such resource"}' ]
	run curl -sS -X DELETE -D "$T/h" "$URL/api/v1/health"
	[ "$output" = '{"error":"method_not_allowed","message":"this method is not allowed here"}' ]
	grep -q '^HTTP/1.1 405' "$T/h"
}

@test "--cors-origin names the one origin allowed" {
	store_new home
	serve_store --cors-origin https://dash.example
	curl -sS -D "$T/h" -o /dev/null "$URL/api/v1/health"
	grep -qF 'Access-Control-Allow-Origin: https://dash.example' "$T/h"
}

@test "oversized headers are refused, and the server goes on" {
	store_new home
	serve_store
	big=$(head -c 20000 /dev/zero | tr '\0' a)
	run curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$URL/api/v1/health"
	[ "$output" != 200 ]
	run curl -sS -o /dev/null -w '%{http_code}' "$URL/api/v1/health"
	[ "$output" = 200 ]
}

@test "it listens on loopback unless told otherwise, and stops cleanly on SIGTERM" {
	store_new home
	serve_store
	[[ "$URL" =~ ^http://127\.0\.0\.1:[0-9]+$ ]]
	kill -TERM "$SERVE_PID"
	wait "$SERVE_PID"
	run curl -sS "$URL/api/v1/health"
	[ "$status" -ne 0 ]
}

@test "usage errors: no store, a bad address, an IPv6 address this build cannot serve" {
	run bms-serve
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "bms-serve: give the store with --db DIR" ]]
	store_new home
	run bms-serve --db "$STORE" --listen nowhere
	[ "$status" -eq 2 ]
	[ "$output" = "bms-serve: --listen: 'nowhere' is not [HOST:]PORT with a port from 0 to 65535" ]
	run bms-serve --db "$STORE" --listen '[::1]:0'
	[ "$status" -eq 2 ]
	[ "$output" = "bms-serve: --listen: '[::1]:0': give an IPv4 address (127.0.0.1, 0.0.0.0 for every interface)" ]
	run bms-serve --db "$T/none"
	[ "$status" -eq 1 ]
	[ "$output" = "bms-serve: cannot read the store '$T/none': No such file or directory" ]
}

# ==== Accounts and tokens ====

# login TENANT USER PASSWORD: POST the sign-in; the body in $T/login, the
# status code on stdout.
login() {
	curl -sS -o "$T/login" -w '%{http_code}' -X POST "$URL/api/v1/auth/login" \
		-d "{\"tenant\":\"$1\",\"username\":\"$2\",\"password\":\"$3\"}"
}

# b64url: standard input as unpadded base64url.
b64url() {
	base64 -w0 | tr '+/' '-_' | tr -d '='
}

# sign HEADER PAYLOAD [KEYHEX]: a JWT signed with HMAC-SHA256 by the
# server's secret (or KEYHEX).
sign() {
	local key=${3:-$(cat "$STORE/jwt.secret")} h p
	h=$(printf '%s' "$1" | b64url)
	p=$(printf '%s' "$2" | b64url)
	printf '%s.%s.%s' "$h" "$p" "$(printf '%s.%s' "$h" "$p" |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | b64url)"
}

users_new() {
	store_new home shed
	printf 'pass-of-alice\npass-of-alice\n' | bms-store -d "$STORE" -T home users add alice --role operator >/dev/null
	printf 'pass-of-bob\npass-of-bob\n' | bms-store -d "$STORE" -T shed users add bob --role viewer >/dev/null
}

@test "sign in: a token that says who, in which tenant, with which role; the secret made private" {
	users_new
	serve_store
	[ "$(stat -c %a "$STORE/jwt.secret")" = 600 ]
	[ "$(login home alice pass-of-alice)" = 200 ]
	run jq -c '[.token_type, .expires_in, .user, (.refresh_token | test("^home\\.[0-9a-f]{64}$"))]' "$T/login"
	[ "$output" = '["Bearer",900,{"name":"alice","tenant":"home","role":"operator"},true]' ]
	tok=$(jq -r .access_token "$T/login")
	run curl -sS "$URL/api/v1/auth/me" -H "Authorization: Bearer $tok"
	[[ "$output" =~ ^\{\"name\":\"alice\",\"tenant\":\"home\",\"role\":\"operator\",\"expires_at\":\"[0-9T:.-]+Z\"\}$ ]]
	# The same answer for every wrong guess.
	[ "$(login home alice wrong)" = 401 ]
	[ "$(cat "$T/login")" = '{"error":"unauthorized","message":"wrong tenant, user name or password"}' ]
	[ "$(login home nobody pass-of-alice)" = 401 ]
	[ "$(cat "$T/login")" = '{"error":"unauthorized","message":"wrong tenant, user name or password"}' ]
	[ "$(login shed alice pass-of-alice)" = 401 ]
	[ "$(login nowhere alice pass-of-alice)" = 401 ]
	[ "$(login "../../etc" alice pass-of-alice)" = 401 ]
}

@test "sign in: bad bodies are 400 naming the field" {
	users_new
	serve_store
	run curl -sS -X POST "$URL/api/v1/auth/login" -d '{"tenant":"home","username":"alice"}'
	[ "$output" = '{"error":"bad_request","message":"password: required","details":{"field":"password"}}' ]
	run curl -sS -X POST "$URL/api/v1/auth/login" -d '{"tenant":"home","username":7,"password":"x"}'
	[ "$output" = '{"error":"bad_request","message":"username: not a string","details":{"field":"username"}}' ]
	run curl -sS -X POST "$URL/api/v1/auth/login" -d '{"tenant":'
	[[ "$output" == '{"error":"bad_request","message":"the body is not a JSON object: '* ]]
	run curl -sS -o /dev/null -w '%{http_code}' -X POST "$URL/api/v1/auth/login" \
		--data-binary @<(head -c 70000 /dev/zero | tr '\0' ' ')
	[ "$output" = 413 ]
}

@test "a brute force meets 429 with Retry-After, for that address" {
	users_new
	serve_store
	for i in 1 2 3 4 5 6; do
		[ "$(login home alice guess$i)" = 401 ]
	done
	run curl -sS -D "$T/h" -X POST "$URL/api/v1/auth/login" \
		-d '{"tenant":"home","username":"alice","password":"pass-of-alice"}'
	[ "$output" = '{"error":"too_many_requests","message":"too many failed sign-ins: wait and try again"}' ]
	grep -q '^HTTP/1.1 429' "$T/h"
	grep -Eq '^Retry-After: [0-9]+' "$T/h"
}

@test "tokens that are refused: none, tampered, another algorithm, another key, expired, another tenant" {
	users_new
	serve_store --access-ttl 1s
	now=$(date +%s)
	claims="{\"sub\":\"alice\",\"tenant\":\"home\",\"role\":\"admin\",\"iat\":$now,\"exp\":$((now + 600)),\"jti\":\"00112233445566778899aabbccddeeff\"}"
	me() {
		curl -sS -o /dev/null -w '%{http_code}' "$URL/api/v1/auth/me" ${1:+-H "Authorization: Bearer $1"}
	}
	# A token the test signs with the server's key is good...
	[ "$(me "$(sign '{"alg":"HS256","typ":"JWT"}' "$claims")")" = 200 ]
	# ...and every variation is not.
	[ "$(me)" = 401 ]
	[ "$(me "$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(printf '%s' "$claims" | b64url).")" = 401 ]
	[ "$(me "$(sign '{"alg":"HS512","typ":"JWT"}' "$claims")")" = 401 ]
	[ "$(me "$(sign '{"alg":"HS256","typ":"JWT"}' "$claims" 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff)")" = 401 ]
	tok=$(sign '{"alg":"HS256","typ":"JWT"}' "$claims")
	sig=${tok##*.}
	[ "$(me "${tok%.*}.${sig:0:10}$([ "${sig:10:1}" = A ] && echo B || echo A)${sig:11}")" = 401 ]
	[ "$(me "$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64url).$(printf '%s' "${claims/alice/mallory}" | b64url).${tok##*.}")" = 401 ]
	[ "$(me "$(sign '{"alg":"HS256","typ":"JWT"}' "${claims/\"home\"/\"nowhere\"}")")" = 401 ]
	[ "$(me "$(sign '{"alg":"HS256","typ":"JWT"}' "${claims/alice/ghost}")")" = 401 ]
	[ "$(me "$(sign '{"alg":"HS256","typ":"JWT"}' "${claims/\"home\"/\"shed\"}")")" = 401 ]
	[ "$(me "$(sign '{"alg":"HS256","typ":"JWT"}' "${claims/$((now + 600))/$((now - 1))}")")" = 401 ]
	# The server's own tokens live --access-ttl (an expired one is refused
	# above): a second here, in the answer and in the token's claims.
	[ "$(login home alice pass-of-alice)" = 200 ]
	[ "$(jq -r .expires_in "$T/login")" = 1 ]
	payload=$(jq -r .access_token "$T/login" | cut -d. -f2 | tr -- '-_' '+/')
	while [ $((${#payload} % 4)) -ne 0 ]; do payload="$payload="; done
	[ "$(base64 -d <<<"$payload" | jq '.exp - .iat')" = 1 ]
}

@test "refresh tokens rotate on every use; a reused one ends its family; logout ends it too" {
	users_new
	serve_store
	refresh() {
		curl -sS -o "$T/refresh" -w '%{http_code}' -X POST "$URL/api/v1/auth/$2" \
			-d "{\"refresh_token\":\"$1\"}"
	}
	[ "$(login home alice pass-of-alice)" = 200 ]
	r1=$(jq -r .refresh_token "$T/login")
	[ "$(refresh "$r1" refresh)" = 200 ]
	r2=$(jq -r .refresh_token "$T/refresh")
	[ "$r2" != "$r1" ]
	[ "$(jq -c .user "$T/refresh")" = '{"name":"alice","tenant":"home","role":"operator"}' ]
	tok=$(jq -r .access_token "$T/refresh")
	[ "$(curl -sS -o /dev/null -w '%{http_code}' "$URL/api/v1/auth/me" -H "Authorization: Bearer $tok")" = 200 ]
	# r1 again: someone kept a copy.  The whole family ends, r2 with it.
	[ "$(refresh "$r1" refresh)" = 401 ]
	[ "$(cat "$T/refresh")" = '{"error":"unauthorized","message":"this refresh token was used before: every session it began is ended, sign in again"}' ]
	[ "$(refresh "$r2" refresh)" = 401 ]
	[ "$(cat "$T/refresh")" = '{"error":"unauthorized","message":"the refresh token is not valid: sign in again"}' ]
	[ "$(sqlite3 "$STORE/tenants/home.db" "SELECT user, action FROM audit")" = "alice|token_reused" ]
	# Logout: 204, and the token is done.
	[ "$(login home alice pass-of-alice)" = 200 ]
	r3=$(jq -r .refresh_token "$T/login")
	[ "$(refresh "$r3" logout)" = 204 ]
	[ "$(refresh "$r3" refresh)" = 401 ]
	# Garbage is refused the same way.
	[ "$(refresh "home.00" refresh)" = 401 ]
	[ "$(refresh "../x.00" refresh)" = 401 ]
}

# ==== Batteries: the contract's connection and data ====

# token TENANT USER PASSWORD: an access token.
token() {
	[ "$(login "$1" "$2" "$3")" = 200 ] && jq -r .access_token "$T/login"
}

# api METHOD PATH TOKEN [BODY]: the body on stdout, the status in $T/code.
api() {
	curl -sS -o "$T/body" -w '%{http_code}' -X "$1" "$URL$2" -H "Authorization: Bearer $3" \
		${4:+-d "$4"} >"$T/code"
	cat "$T/body"
}

@test "POST /bms/connect registers a battery: 201 with its UUID, 409 again, 400 naming the field, 403 for a viewer" {
	users_new
	printf 'pass-of-vic\npass-of-vic\n' | bms-store -d "$STORE" -T home users add vic --role viewer >/dev/null
	serve_store
	op=$(token home alice pass-of-alice)
	req='{"bms_id":"van","name":"Van bank","bms_type":"daly_bms","connection_config":{"protocol":"uart","device_path":"/dev/ttyUSB0","baud_rate":9600,"timeout":1.5}}'
	run api POST /api/v1/bms/connect "$op" "$req"
	[ "$(cat "$T/code")" = 201 ]
	run jq -c 'del(.id, .created_at)' <<<"$output"
	[ "$output" = '{"bms_id":"van","name":"Van bank","bms_type":"daly_bms","chemistry":null,"nominal_capacity_ah":null,"cell_count":null,"connection_config":{"protocol":"uart","device_path":"/dev/ttyUSB0","baud_rate":9600,"timeout":1.5},"status":"disconnected","last_data_received":null,"connection_quality":null,"notes":null}' ]
	uuid=$(jq -r .id "$T/body")
	[[ "$uuid" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
	# Kept in the registry with that UUID, and audited.
	bms-store -d "$STORE" -T home batteries list | grep -q "\"bms_id\":\"van\",\"uuid\":\"$uuid\""
	[ "$(sqlite3 "$STORE/tenants/home.db" "SELECT user, action, object FROM audit")" = "alice|battery_connect|van" ]
	run api POST /api/v1/bms/connect "$op" "$req"
	[ "$(cat "$T/code")" = 409 ]
	[ "$output" = '{"error":"conflict","message":"this battery is registered already","details":{"field":"bms_id"}}' ]
	run api POST /api/v1/bms/connect "$op" '{"bms_type":"daly_bms","connection_config":{"protocol":"bluetooth","mac_address":"AA:BB:CC:DD:EE"}}'
	[ "$(cat "$T/code")" = 400 ]
	[ "$output" = '{"error":"bad_request","message":"connection_config.mac_address: not a MAC address such as AA:BB:CC:DD:EE:FF","details":{"field":"connection_config.mac_address"}}' ]
	run api POST /api/v1/bms/connect "$op" '{"bms_type":"daly_bms","connection_config":{"protocol":"uart","device_path":"/dev/x","timeout":11}}'
	[ "$output" = '{"error":"bad_request","message":"connection_config.timeout: not from 0.1 to 10 (seconds)","details":{"field":"connection_config.timeout"}}' ]
	run api POST /api/v1/bms/connect "$op" 'not json'
	[ "$(cat "$T/code")" = 400 ]
	run api POST /api/v1/bms/connect "$(token home vic pass-of-vic)" "$req"
	[ "$(cat "$T/code")" = 403 ]
	[ "$output" = '{"error":"forbidden","message":"this needs an operator or an admin"}' ]
	run api POST /api/v1/bms/connect "" "$req"
	[ "$(cat "$T/code")" = 401 ]
}

@test "GET /bms/data/{id}: the latest reading by bms_id or UUID; another tenant's battery is 404, never its data" {
	users_new
	"$BATS_TEST_DIRNAME/gen-readings" 3 house | bms-store -d "$STORE" -T home
	"$BATS_TEST_DIRNAME/gen-readings" 2 shedpack | bms-store -d "$STORE" -T shed
	serve_store
	a=$(token home alice pass-of-alice)
	b=$(token shed bob pass-of-bob)
	want=$("$BATS_TEST_DIRNAME/gen-readings" 3 house | tail -n 1 | jq -c 'del(.type)')
	run api GET /api/v1/bms/data/house "$a"
	[ "$(cat "$T/code")" = 200 ]
	[ "$(jq -c . <<<"$output")" = "$want" ]
	uuid=$(api GET /api/v1/bms "$a" | jq -r '.[] | select(.bms_id == "house") | .id')
	run api GET "/api/v1/bms/data/$uuid" "$a"
	[ "$(jq -c . <<<"$output")" = "$want" ]
	run api GET /api/v1/bms "$a"
	[ "$(jq -r '[.[] | .bms_id] | join(",")' <<<"$output")" = house ]
	[ "$(jq -r '.[0].last_data_received' <<<"$output")" = 2026-11-27T00:00:02.250Z ]
	# The other tenant's battery, by name or UUID: not found.
	uuid_b=$(api GET /api/v1/bms "$b" | jq -r '.[0].id')
	for id in shedpack "$uuid_b" nothing; do
		run api GET "/api/v1/bms/data/$id" "$a"
		[ "$(cat "$T/code")" = 404 ]
		[ "$output" = '{"error":"not_found","message":"no such battery, or no reading of it yet"}' ]
	done
	# SQL in the path is a name like any other.
	for id in "x'%20OR%20'1'='1" "house'--" "%22%3B%20DROP%20TABLE%20readings%3B"; do
		run api GET "/api/v1/bms/data/$id" "$a"
		[ "$(cat "$T/code")" = 404 ]
	done
	run api GET /api/v1/bms/data/house "$a"
	[ "$(cat "$T/code")" = 200 ]
}

# ==== Alerts ====

@test "alerts: filtered by battery, severity, state and whether open; acknowledged with a note by an operator" {
	users_new
	printf 'pass-of-vic\npass-of-vic\n' | bms-store -d "$STORE" -T home users add vic --role viewer >/dev/null
	# Two alerts of bms-alert's default rules: one raised and cleared, one still open.
	{
		agen a1 40 5000 'if (t >= 20 && t < 60) cell[3] = 3.70'
		agen a2 40 5000 'if (t >= 20) cell[9] = 2.7'
	} | sort -s -t'"' -k12,12 | bms-alert -R "$BATS_TEST_DIRNAME/../share/rules/lfp.rules" |
		bms-store -d "$STORE" -T home
	serve_store
	a=$(token home alice pass-of-alice)
	v=$(token home vic pass-of-vic)
	q() {
		api GET "/api/v1/alerts?since=2026-11-27$1" "$v" |
			jq -r '.[] | "\(.bms_id) \(.rule) \(.state) \(.severity)"'
	}
	[ "$(q)" = "a1 cell_overvoltage raised warning
a1 cell_overvoltage cleared warning
a2 cell_undervoltage raised warning" ]
	[ "$(q '&open=true')" = "a2 cell_undervoltage raised warning" ]
	[ "$(q '&open=false')" = "a1 cell_overvoltage raised warning
a1 cell_overvoltage cleared warning" ]
	[ "$(q '&bms_id=a1&state=cleared')" = "a1 cell_overvoltage cleared warning" ]
	[ "$(q '&severity=critical')" = "" ]
	[ "$(q '&limit=1')" = "a1 cell_overvoltage raised warning" ]
	run api GET "/api/v1/alerts?severity=loud" "$v"
	[ "$output" = '{"error":"bad_request","message":"severity: not info, warning or critical","details":{"field":"severity"}}' ]
	run api GET "/api/v1/alerts?since=yesterday" "$v"
	[ "$output" = '{"error":"bad_request","message":"since: not a time (RFC 3339, YYYY-MM-DD, now, -24h, -7d)","details":{"field":"since"}}' ]
	# Acknowledge the open one: a viewer may not, an operator may, once.
	id=$(api GET "/api/v1/alerts?since=2026-11-27&open=true" "$v" | jq -r '.[0].id')
	run api POST "/api/v1/alerts/$id/ack" "$v" '{"note":"seen"}'
	[ "$(cat "$T/code")" = 403 ]
	run api POST "/api/v1/alerts/$id/ack" "$a" '{"note":"topping the cell up"}'
	[ "$(cat "$T/code")" = 200 ]
	[[ "$output" =~ ^\{\"id\":$id,\"ack_by\":\"alice\",\"ack_at\":\"[0-9T:.-]+Z\"\}$ ]]
	run api POST "/api/v1/alerts/$id/ack" "$a"
	[ "$(cat "$T/code")" = 409 ]
	[[ "$output" == *'"error":"conflict","message":"acknowledged already"}' ]]
	[ "$(api GET "/api/v1/alerts?since=2026-11-27&open=true" "$v" | jq -r '.[0].ack_by')" = alice ]
	[ "$(sqlite3 "$STORE/tenants/home.db" "SELECT user, action, detail FROM audit WHERE action = 'alert_ack'")" = "alice|alert_ack|topping the cell up" ]
	# Another tenant's alert, or none: 404.
	printf 'pass-of-carol\npass-of-carol\n' | bms-store -d "$STORE" -T shed users add carol --role operator >/dev/null
	c=$(token shed carol pass-of-carol)
	for x in "$((id - 1))" 999 abc "1%3BDROP"; do
		run api POST "/api/v1/alerts/$x/ack" "$c"
		[ "$(cat "$T/code")" = 404 ]
		[ "$output" = '{"error":"not_found","message":"no such alert"}' ]
	done
	run api GET "/api/v1/alerts?since=2026-11-27" "$c"
	[ "$output" = "[]" ]
}

# ==== Users, passwords, batteries edited and removed ====

@test "users: an admin lists, adds and edits them; nobody else may; a changed password signs in" {
	users_new
	printf 'pass-of-ada1\npass-of-ada1\n' | bms-store -d "$STORE" -T home users add ada --role admin >/dev/null
	serve_store
	ad=$(token home ada pass-of-ada1)
	op=$(token home alice pass-of-alice)
	run api GET /api/v1/users "$op"
	[ "$(cat "$T/code")" = 403 ]
	[ "$output" = '{"error":"forbidden","message":"this needs an admin of the tenant"}' ]
	run api GET /api/v1/users "$ad"
	[ "$(jq -r '[.[] | "\(.name):\(.role)"] | join(" ")' <<<"$output")" = "ada:admin alice:operator" ]
	run api POST /api/v1/users "$ad" '{"username":"dan","password":"dans-pass","role":"operator"}'
	[ "$(cat "$T/code")" = 201 ]
	[ "$(jq -c 'del(.created)' <<<"$output")" = '{"name":"dan","role":"operator","disabled":false}' ]
	run api POST /api/v1/users "$ad" '{"username":"dan","password":"dans-pass"}'
	[ "$(cat "$T/code")" = 409 ]
	run api POST /api/v1/users "$ad" '{"username":"Dan Smith","password":"dans-pass"}'
	[ "$output" = '{"error":"bad_request","message":"username: use a-z, 0-9, '"'"'_'"'"' and '"'"'-'"'"', starting with a letter or digit","details":{"field":"username"}}' ]
	run api POST /api/v1/users "$ad" '{"username":"eve","password":"short"}'
	[ "$output" = '{"error":"bad_request","message":"password: at least 8 characters","details":{"field":"password"}}' ]
	run api POST /api/v1/users "$ad" '{"username":"eve","password":"long enough","role":"root"}'
	[ "$output" = '{"error":"bad_request","message":"role: not viewer, operator or admin","details":{"field":"role"}}' ]
	dt=$(token home dan dans-pass)
	[ "$(api GET /api/v1/auth/me "$dt" | jq -r .role)" = operator ]
	run api PATCH /api/v1/users/dan "$ad" '{"role":"viewer"}'
	# A role taken away counts at once, not when the token expires...
	[ "$(api GET /api/v1/auth/me "$dt" | jq -r .role)" = viewer ]
	run api PATCH /api/v1/users/dan "$ad" '{"role":"viewer","disabled":true}'
	[ "$(jq -c 'del(.created)' <<<"$output")" = '{"name":"dan","role":"viewer","disabled":true}' ]
	[ "$(login home dan dans-pass)" = 401 ]
	# ...and so does a user disabled.
	run api GET /api/v1/auth/me "$dt"
	[ "$(cat "$T/code")" = 401 ]
	run api PATCH /api/v1/users/nobody "$ad" '{"disabled":true}'
	[ "$(cat "$T/code")" = 404 ]
	[ "$(sqlite3 "$STORE/tenants/home.db" "SELECT user || ' ' || action || ' ' || object FROM audit")" = "ada user_add dan
ada user_edit dan
ada user_edit dan" ]
	# Alice changes her own password.
	run api POST /api/v1/auth/password "$op" '{"current_password":"wrong one","new_password":"a new pass"}'
	[ "$(cat "$T/code")" = 403 ]
	run api POST /api/v1/auth/password "$op" '{"current_password":"pass-of-alice","new_password":"a new pass"}'
	[ "$(cat "$T/code")" = 204 ]
	[ "$(login home alice pass-of-alice)" = 401 ]
	[ "$(login home alice 'a new pass')" = 200 ]
}

@test "batteries: an operator edits one; removing one with records wants purge, and an admin for it" {
	users_new
	printf 'pass-of-ada1\npass-of-ada1\n' | bms-store -d "$STORE" -T home users add ada --role admin >/dev/null
	"$BATS_TEST_DIRNAME/gen-readings" 2 house | bms-store -d "$STORE" -T home
	serve_store
	op=$(token home alice pass-of-alice)
	ad=$(token home ada pass-of-ada1)
	run api PATCH /api/v1/bms/house "$op" '{"name":"House bank","chemistry":"LiFePO4","nominal_capacity_ah":280.5,"cell_count":16,"notes":"left of the door"}'
	[ "$(cat "$T/code")" = 200 ]
	[ "$(jq -c '[.bms_id, .name, .chemistry, .nominal_capacity_ah, .cell_count, .notes]' <<<"$output")" = '["house","House bank","lfp",280.5,16,"left of the door"]' ]
	bms-store -d "$STORE" -T home batteries list | grep '"bms_id":"house"' | grep -q '"chemistry":"lfp","nominal_capacity_ah":280.5,"cell_count":16'
	[ "$(api GET /api/v1/bms "$op" | jq -c '.[0] | [.name, .chemistry, .nominal_capacity_ah, .cell_count, .notes]')" = '["House bank","lfp",280.5,16,"left of the door"]' ]
	# null clears a text; the numbers stay as they are.
	run api PATCH /api/v1/bms/house "$op" '{"name":null,"notes":null,"chemistry":null}'
	[ "$(cat "$T/code")" = 200 ]
	[ "$(jq -c '[.name, .chemistry, .nominal_capacity_ah, .cell_count, .notes]' <<<"$output")" = '[null,null,280.5,16,null]' ]
	run api PATCH /api/v1/bms/house "$op" '{"cell_count":null}'
	[ "$output" = '{"error":"bad_request","message":"cell_count: not a whole number from 1 to 48","details":{"field":"cell_count"}}' ]
	run api PATCH /api/v1/bms/house "$op" '{"name":""}'
	[ "$output" = '{"error":"bad_request","message":"name: a string of 1 to a few hundred bytes","details":{"field":"name"}}' ]
	# A long name in several bytes a character comes back whole.
	long=$(printf 'é%.0s' $(seq 500))
	run api PATCH /api/v1/bms/house "$op" "{\"name\":\"$long\"}"
	[ "$(jq -r .name <<<"$output")" = "$long" ]
	run api PATCH /api/v1/bms/house "$op" '{"cell_count":99}'
	[ "$output" = '{"error":"bad_request","message":"cell_count: not a whole number from 1 to 48","details":{"field":"cell_count"}}' ]
	run api PATCH /api/v1/bms/nothing "$op" '{"name":"x"}'
	[ "$(cat "$T/code")" = 404 ]
	run api DELETE /api/v1/bms/house "$op"
	[ "$(cat "$T/code")" = 409 ]
	run api DELETE "/api/v1/bms/house?purge=true" "$op"
	[ "$(cat "$T/code")" = 403 ]
	run api DELETE "/api/v1/bms/house?purge=true" "$ad"
	[ "$(cat "$T/code")" = 204 ]
	run api GET /api/v1/bms/data/house "$ad"
	[ "$(cat "$T/code")" = 404 ]
}

# ==== Super-admins and tenants ====

# superadmin_new NAME PASSWORD: a super-admin of the store.
superadmin_new() {
	bms-store --db "$STORE" superadmins add "$1" <<<"$2"
}

# sa_login USER PASSWORD: a super-admin's sign-in, without a tenant; the
# body in $T/login, the status code on stdout.
sa_login() {
	curl -sS -o "$T/login" -w '%{http_code}' -X POST "$URL/api/v1/auth/login" \
		-d "{\"username\":\"$1\",\"password\":\"$2\"}"
}

# sa_token USER PASSWORD: a super-admin's access token.
sa_token() {
	[ "$(sa_login "$1" "$2")" = 200 ] && jq -r .access_token "$T/login"
}

@test "super-admin: signs in without a tenant, for an access token of no tenant and no refresh token; every tenant's route is 403" {
	users_new
	superadmin_new root 'root pass'
	serve_store
	[ "$(sa_login root 'root pass')" = 200 ]
	run jq -c 'del(.access_token)' "$T/login"
	[ "$output" = '{"token_type":"Bearer","expires_in":900,"user":{"name":"root","tenant":null,"role":"super-admin"}}' ]
	sa=$(jq -r .access_token "$T/login")
	run api GET /api/v1/auth/me "$sa"
	[[ "$output" =~ ^\{\"name\":\"root\",\"tenant\":null,\"role\":\"super-admin\",\"expires_at\":\"[0-9T:.-]+Z\"\}$ ]]
	# The same answer for every wrong guess; a tenant's user is no
	# super-admin, and a super-admin no user of a tenant.
	[ "$(sa_login root wrong)" = 401 ]
	[ "$(cat "$T/login")" = '{"error":"unauthorized","message":"wrong user name or password"}' ]
	[ "$(sa_login nobody 'root pass')" = 401 ]
	[ "$(cat "$T/login")" = '{"error":"unauthorized","message":"wrong user name or password"}' ]
	[ "$(sa_login alice pass-of-alice)" = 401 ]
	[ "$(login home root 'root pass')" = 401 ]
	# A super-admin manages the tenants, not what is in them.
	for r in "GET /api/v1/bms" "GET /api/v1/alerts" "GET /api/v1/users" "GET /api/v1/bms/data/house"; do
		run api ${r% *} "${r#* }" "$sa"
		[ "$(cat "$T/code")" = 403 ]
		[ "$output" = '{"error":"forbidden","message":"a super-admin manages the tenants, not what is in them: sign in as a user of the tenant"}' ]
	done
	run api POST /api/v1/auth/password "$sa" '{"current_password":"root pass","new_password":"another pass"}'
	[ "$(cat "$T/code")" = 403 ]
	[ "$output" = '{"error":"forbidden","message":"a super-admin'"'"'s password is changed with bms-store superadmins passwd"}' ]
	# Tokens the server never made: a super-admin's role with a tenant,
	# of a name that is no super-admin, or a user's role with no tenant.
	now=$(date +%s)
	claims() {
		printf '{"sub":"%s","tenant":"%s","role":"%s","iat":%s,"exp":%s,"jti":"00112233445566778899aabbccddeeff"}' \
			"$1" "$2" "$3" "$now" "$((now + 600))"
	}
	hdr='{"alg":"HS256","typ":"JWT"}'
	run api GET /api/v1/auth/me "$(sign "$hdr" "$(claims root '' super-admin)")"
	[ "$(cat "$T/code")" = 200 ]
	for c in "root home super-admin" "alice '' super-admin" "alice '' operator" "root '' admin"; do
		eval "set -- $c"
		run api GET /api/v1/auth/me "$(sign "$hdr" "$(claims "$1" "$2" "$3")")"
		[ "$(cat "$T/code")" = 401 ]
	done
	# Disabled: its token is refused at once, and it cannot sign in.
	bms-store --db "$STORE" superadmins disable root
	run api GET /api/v1/auth/me "$sa"
	[ "$(cat "$T/code")" = 401 ]
	[ "$output" = '{"error":"unauthorized","message":"the token is not valid: sign in again"}' ]
	run api GET /api/v1/tenants "$sa"
	[ "$(cat "$T/code")" = 401 ]
	[ "$(sa_login root 'root pass')" = 401 ]
	bms-store --db "$STORE" superadmins enable root
	run api GET /api/v1/tenants "$sa"
	[ "$(cat "$T/code")" = 200 ]
}

@test "tenants: a super-admin lists, adds and changes them and gives one its first admin, who signs in; nobody else may" {
	users_new
	printf 'pass-of-ada1\npass-of-ada1\n' | bms-store -d "$STORE" -T home users add ada --role admin >/dev/null
	superadmin_new root 'root pass'
	serve_store
	sa=$(sa_token root 'root pass')
	ad=$(token home ada pass-of-ada1)
	v=$(token shed bob pass-of-bob)
	run api GET /api/v1/tenants "$sa"
	[ "$(cat "$T/code")" = 200 ]
	[ "$(mask_created <<<"$output")" = '[{"name":"home","created":"T","raw_days":0,"minute_days":0,"hour_days":0},{"name":"shed","created":"T","raw_days":0,"minute_days":0,"hour_days":0}]' ]
	# An admin of a tenant, a viewer, no token: not theirs.
	for tok in "$ad" "$v"; do
		for r in "GET /api/v1/tenants" "POST /api/v1/tenants" "PATCH /api/v1/tenants/home" \
			"POST /api/v1/tenants/home/users"; do
			run api ${r% *} "${r#* }" "$tok" '{"name":"x","raw_days":1,"username":"x","password":"long enough"}'
			[ "$(cat "$T/code")" = 403 ]
			[ "$output" = '{"error":"forbidden","message":"this needs a super-admin"}' ]
		done
	done
	run api GET /api/v1/tenants ""
	[ "$(cat "$T/code")" = 401 ]
	# Add: 201 with its settings, the store's defaults where none is given.
	run api POST /api/v1/tenants "$sa" '{"name":"farm","raw_days":90}'
	[ "$(cat "$T/code")" = 201 ]
	[ "$(mask_created <<<"$output")" = '{"name":"farm","created":"T","raw_days":90,"minute_days":400,"hour_days":0}' ]
	[ "$(bms-store --db "$STORE" tenants list | mask_created | grep farm)" = '{"name":"farm","created":"T","raw_days":90,"minute_days":400,"hour_days":0}' ]
	run api POST /api/v1/tenants "$sa" '{"name":"farm"}'
	[ "$(cat "$T/code")" = 409 ]
	[ "$output" = '{"error":"conflict","message":"this tenant exists already","details":{"field":"name"}}' ]
	run api POST /api/v1/tenants "$sa" '{"name":"Big Farm"}'
	[ "$(cat "$T/code")" = 400 ]
	[ "$output" = '{"error":"bad_request","message":"name: use a-z, 0-9, '"'"'_'"'"' and '"'"'-'"'"', starting with a letter or digit","details":{"field":"name"}}' ]
	run api POST /api/v1/tenants "$sa" '{"raw_days":1}'
	[ "$output" = '{"error":"bad_request","message":"name: required","details":{"field":"name"}}' ]
	run api POST /api/v1/tenants "$sa" '{"name":"barn","raw_days":-1}'
	[ "$output" = '{"error":"bad_request","message":"raw_days: not a whole number of days from 0 (keep forever) to 1000000","details":{"field":"raw_days"}}' ]
	run api POST /api/v1/tenants "$sa" '{"name":"barn","hour_days":"7"}'
	[ "$output" = '{"error":"bad_request","message":"hour_days: not a whole number of days from 0 (keep forever) to 1000000","details":{"field":"hour_days"}}' ]
	# Change: the members given, the rest kept.
	run api PATCH /api/v1/tenants/farm "$sa" '{"raw_days":60,"hour_days":3650}'
	[ "$(cat "$T/code")" = 200 ]
	[ "$(mask_created <<<"$output")" = '{"name":"farm","created":"T","raw_days":60,"minute_days":400,"hour_days":3650}' ]
	run api PATCH /api/v1/tenants/farm "$sa" '{"minute_days":1.5}'
	[ "$output" = '{"error":"bad_request","message":"minute_days: not a whole number of days from 0 (keep forever) to 1000000","details":{"field":"minute_days"}}' ]
	for body in '{"raw_days":60}' '{}'; do
		run api PATCH /api/v1/tenants/nowhere "$sa" "$body"
		[ "$(cat "$T/code")" = 404 ]
		[ "$output" = '{"error":"not_found","message":"no such tenant"}' ]
	done
	# Its first admin, who signs in and runs the tenant.
	run api POST /api/v1/tenants/farm/users "$sa" '{"username":"fred","password":"pass-of-fred","role":"admin"}'
	[ "$(cat "$T/code")" = 201 ]
	[ "$(jq -c 'del(.created)' <<<"$output")" = '{"name":"fred","role":"admin","disabled":false}' ]
	run api POST /api/v1/tenants/farm/users "$sa" '{"username":"fred","password":"pass-of-fred"}'
	[ "$(cat "$T/code")" = 409 ]
	[ "$output" = '{"error":"conflict","message":"this user exists already","details":{"field":"username"}}' ]
	run api POST /api/v1/tenants/farm/users "$sa" '{"username":"gina","password":"short"}'
	[ "$output" = '{"error":"bad_request","message":"password: at least 8 characters","details":{"field":"password"}}' ]
	run api POST /api/v1/tenants/nowhere/users "$sa" '{"username":"gina","password":"long enough"}'
	[ "$(cat "$T/code")" = 404 ]
	[ "$output" = '{"error":"not_found","message":"no such tenant"}' ]
	f=$(token farm fred pass-of-fred)
	[ "$(api GET /api/v1/users "$f" | jq -r '[.[] | "\(.name):\(.role)"] | join(" ")')" = "fred:admin" ]
	[ "$(api GET /api/v1/auth/me "$f" | jq -c '[.name, .tenant, .role]')" = '["fred","farm","admin"]' ]
	# Each change in the audit log of the tenant it touched.
	[ "$(sqlite3 "$STORE/tenants/farm.db" "SELECT user || ' ' || action || ' ' || object || ' ' || detail FROM audit")" = "super-admin:root tenant_add farm 127.0.0.1
super-admin:root tenant_edit farm 127.0.0.1
super-admin:root user_add fred 127.0.0.1" ]
	[ "$(sqlite3 "$STORE/tenants/home.db" "SELECT count(*) FROM audit")" = 0 ]
}

# ==== The OpenAPI document ====

@test "openapi.json: every operation of the document answers on the server, with a status the document gives" {
	users_new
	printf 'pass-of-ada1\npass-of-ada1\n' | bms-store -d "$STORE" -T home users add ada --role admin >/dev/null
	"$BATS_TEST_DIRNAME/gen-readings" 2 house | bms-store -d "$STORE" -T home
	superadmin_new root 'root pass'
	serve_store
	ad=$(token home ada pass-of-ada1)
	sa=$(sa_token root 'root pass')
	run curl -sS -D "$T/h" "$URL/api/v1/openapi.json"
	[ "$status" -eq 0 ]
	cmp <(jq -S . <<<"$output") <(jq -S . "$BATS_TEST_DIRNAME/../share/openapi.json")
	jq -r '.paths | to_entries[] | .key as $p | .value | to_entries[] |
		select(.key | test("^(get|post|put|patch|delete)$")) |
		"\(.key) \($p) \(.value.responses | keys | join(","))"' <<<"$output" >"$T/ops"
	[ "$(wc -l <"$T/ops")" -ge 24 ]
	# As a tenant's admin, then as a super-admin.
	for tok in "$ad" "$sa"; do
		while read -r method path codes; do
			p=$(sed -e 's/{bms_id}/house/; s/{id}/1/; s/{name}/ada/' <<<"$path")
			code=$(curl -sS -o "$T/resp" -w '%{http_code}' -X "${method^^}" "$URL/api/v1$p" \
				-H "Authorization: Bearer $tok" -H 'Content-Type: application/json' -d '{}')
			if [ "$(cat "$T/resp")" = '{"error":"not_found","message":"no such resource"}' ] ||
				[ "$code" = 405 ] || [[ ",$codes," != *",$code,"* && ",$codes," != *",default,"* ]]; then
				echo "$method $path answered $code, the document says $codes: $(cat "$T/resp")" >&2
				false
			fi
		done <"$T/ops"
	done
}

@test "a battery's history by tier with a points limit, its analytics and its link's status" {
	users_new
	"$BATS_TEST_DIRNAME/gen-readings" 300 house 2026-11-27T00:00:00.250Z 10 | bms-agg --window 1h --health-interval 15m --chemistry lfp |
		bms-store -d "$STORE" -T home
	status_rec house 1 connected ok | bms-store -d "$STORE" -T home
	serve_store
	v=$(token shed bob pass-of-bob)
	a=$(token home alice pass-of-alice)
	h() {
		api GET "/api/v1/bms/house/history?since=2026-11-27T00:00:00Z&until=2026-11-27T01:00:00Z$1" "$a" |
			jq -c '[.tier, .truncated, (.points | length), .points[0].type]'
	}
	[ "$(h '')" = '["raw",false,300,"reading"]' ]
	[ "$(h '&limit=100')" = '["minute",false,50,"aggregate"]' ]
	[ "$(h '&limit=10')" = '["hour",false,1,"aggregate"]' ]
	[ "$(h '&tier=raw&limit=10')" = '["raw",true,10,"reading"]' ]
	run api GET "/api/v1/bms/house/history?tier=day" "$a"
	[ "$output" = '{"error":"bad_request","message":"tier: not auto, raw, minute or hour","details":{"field":"tier"}}' ]
	run api GET "/api/v1/bms/house/history?since=now&until=-1d" "$a"
	[ "$output" = '{"error":"bad_request","message":"since: not before until","details":{"field":"since"}}' ]
	run api GET /api/v1/bms/house/analytics "$a"
	[ "$(jq -c '[.bms_id, .health.type, .health.cell_count, (.anomalies | type)]' <<<"$output")" = '["house","health",16,"array"]' ]
	run api GET /api/v1/bms/house/status "$a"
	[ "$output" = '{"bms_id":"house","timestamp":"2026-11-27T00:00:01.000Z","state":"connected","reason":"ok","quality":100}' ]
	# Another tenant's battery: 404 on each.
	for r in history analytics status; do
		run api GET "/api/v1/bms/house/$r" "$v"
		[ "$(cat "$T/code")" = 404 ]
	done
}

@test "health over more tenants than a worker keeps open at once: each counted, again and again" {
	local t
	store_new
	for t in $(seq -w 1 20); do
		bms-store -d "$STORE" tenants add "t$t" --raw-days 0 --minute-days 0
		status_rec "b$t" 1 connected ok | bms-store -d "$STORE" -T "t$t"
	done
	serve_store --threads 1 --live-max 1
	for _ in 1 2 3; do
		run curl -sS "$URL/api/v1/health"
		[[ "$output" == '{"status":"healthy",'*'"connected_devices":20}' ]]
	done
}

@test "SQL's metacharacters in every path and query parameter of the document: refused or not found, never a failure, and the store intact" {
	users_new
	printf 'pass-of-ada1\npass-of-ada1\n' | bms-store -d "$STORE" -T home users add ada --role admin >/dev/null
	"$BATS_TEST_DIRNAME/gen-readings" 2 house | bms-store -d "$STORE" -T home
	serve_store
	ad=$(token home ada pass-of-ada1)
	before=$(bms-store -d "$STORE" -T home query | wc -l)
	jq -r '.paths | to_entries[] | .key as $p | .value | to_entries[] |
		select(.key | test("^(get|post|put|patch|delete)$")) |
		"\(.key) \($p) \([.value.parameters // [] | .[] | select(.in == "query") | .name] | join(","))"' \
		"$BATS_TEST_DIRNAME/../share/openapi.json" >"$T/ops"
	for x in "x'%20OR%20'1'='1" "house'--" "%22%3B%20DROP%20TABLE%20readings%3B--" "%25" "1%20UNION%20SELECT%20*%20FROM%20users"; do
		while read -r method path query; do
			p=$(sed -E "s/\{[a-z_]+\}/$x/g" <<<"$path")
			q=
			for n in ${query//,/ }; do q="$q&$n=$x"; done
			code=$(curl -sS -o "$T/resp" -w '%{http_code}' -X "${method^^}" "$URL/api/v1$p?${q#&}" \
				-H "Authorization: Bearer $ad" -H 'Content-Type: application/json' -d '{}')
			if [[ ! "$code" =~ ^(200|201|204|400|401|403|404|409|413|429)$ ]] ||
				grep -Eiq 'sqlite|syntax|select |/tmp|\.db' "$T/resp"; then
				echo "$method $p?${q#&} answered $code: $(cat "$T/resp")" >&2
				false
			fi
		done <"$T/ops"
	done
	[ "$(bms-store -d "$STORE" -T home query | wc -l)" -eq "$before" ]
	run curl -sS "$URL/api/v1/health"
	[[ "$output" == '{"status":"healthy",'* ]]
}
