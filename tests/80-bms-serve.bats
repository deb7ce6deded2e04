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

# serve_start ARGS...: bms-serve on a free loopback port in the
# background; URL is where it answers, SERVE_PID its pid.
serve_start() {
	: >"$T/serve.err"
	bms-serve --db "$STORE" --listen 127.0.0.1:0 "$@" 2>"$T/serve.err" &
	SERVE_PID=$!
	bg+=("$SERVE_PID")
	wait_line "$T/serve.err" '^bms-serve: listening on http://127\.0\.0\.1:[0-9]+$'
	URL=$(sed -n 's/^bms-serve: listening on //p' "$T/serve.err")
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
	serve_start
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
	serve_start
	run curl -sS -o "$T/body" -w '%{http_code}' "$URL/api/v1/health"
	[ "$output" = 503 ]
	[[ "$(cat "$T/body")" == '{"status":"unhealthy",'*'"connected_devices":0}' ]]
	! grep -q "$STORE" "$T/body"
}

@test "every answer carries the security headers; errors are JSON, never a file" {
	store_new home
	serve_start
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
	serve_start --cors-origin https://dash.example
	curl -sS -D "$T/h" -o /dev/null "$URL/api/v1/health"
	grep -qF 'Access-Control-Allow-Origin: https://dash.example' "$T/h"
}

@test "oversized headers are refused, and the server goes on" {
	store_new home
	serve_start
	big=$(head -c 20000 /dev/zero | tr '\0' a)
	run curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$URL/api/v1/health"
	[ "$output" != 200 ]
	run curl -sS -o /dev/null -w '%{http_code}' "$URL/api/v1/health"
	[ "$output" = 200 ]
}

@test "it listens on loopback unless told otherwise, and stops cleanly on SIGTERM" {
	store_new home
	serve_start
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
