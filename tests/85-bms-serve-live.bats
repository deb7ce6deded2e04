#!/usr/bin/env bats
# bms-serve's live updates: a real server on a loopback port over a real
# store that bms-store writes, and a WebSocket client (tests/tools/wsclient)
# subscribed to it.

load helper

setup() {
	T=$BATS_TEST_TMPDIR
	bg=()
	store_new home shed
	printf 'pass-of-alice\npass-of-alice\n' |
		bms-store -d "$STORE" -T home users add alice --role viewer >/dev/null
	printf 'pass-of-bob\npass-of-bob\n' |
		bms-store -d "$STORE" -T shed users add bob --role viewer >/dev/null
	# One battery in each tenant, known before anyone follows them.
	reading house 0 52.0 | bms-store -d "$STORE" -T home
	reading cabin 0 26.0 | bms-store -d "$STORE" -T home
	reading barn 0 48.0 | bms-store -d "$STORE" -T shed
}

teardown() {
	stop_bg "${bg[@]}"
}

# reading ID SECOND VOLTS: a reading of battery ID at that second.
reading() {
	printf '{"type":"reading","bms_id":"%s","timestamp":"2026-12-07T10:00:%02d.000Z","pack_voltage":%s}\n' \
		"$1" "$2" "$3"
}

# token TENANT USER PASSWORD: an access token.
token() {
	curl -sS -X POST "$URL/api/v1/auth/login" \
		-d "{\"tenant\":\"$1\",\"username\":\"$2\",\"password\":\"$3\"}" | jq -r .access_token
}

# live NAME ARGS...: wsclient in the background, its messages in
# $T/NAME.out and its words in $T/NAME.err; waits until it is connected.
live() {
	local name=$1
	shift
	: >"$T/$name.out"
	: >"$T/$name.err"
	wsclient "$@" "$WS" >"$T/$name.out" 2>"$T/$name.err" &
	bg+=($!)
	eval "${name}_pid=$!"
	wait_line "$T/$name.err" '^wsclient: ready 1$'
}

@test "live: a reading bms-store commits reaches a subscribed client within a second" {
	serve_store
	tok=$(token home alice pass-of-alice)
	live a -T -p bms-live.v1 -p "bearer.$tok" -s '{"type":"subscribe","batteries":["house"]}'
	wait_line "$T/a.out" '"type":"subscribed"'
	before=$(date +%s.%N)
	reading house 1 52.5 | bms-store -d "$STORE" -T home
	stored=$(date +%s.%N)
	wait_line "$T/a.out" '"type":"reading"'
	run cut -d' ' -f2- "$T/a.out"
	[[ "${lines[0]}" =~ ^\{\"type\":\"hello\",\"user\":\"alice\",\"tenant\":\"home\",\"role\":\"viewer\",\"expires_at\":\"[0-9-]{10}T[0-9:.]{12}Z\"\}$ ]]
	[ "${lines[1]}" = '{"type":"subscribed","all":false,"batteries":["house"]}' ]
	[ "${lines[2]}" = '{"type":"reading","bms_id":"house","data":{"bms_id":"house","timestamp":"2026-12-07T10:00:01.000Z","pack_voltage":52.5}}' ]
	[ "${#lines[@]}" -eq 3 ]
	# Received after the store began and within a second of its commit.
	got=$(sed -n 3p "$T/a.out" | cut -d' ' -f1)
	awk -v b="$before" -v s="$stored" -v g="$got" 'BEGIN { exit !(g > b && g - s < 1.0) }'
	grep -q '^wsclient: protocol bms-live.v1$' "$T/a.err"
}

@test "live: signed in by a first message; subscribed to all, status, alerts and acknowledgements arrive, other tenants' never" {
	serve_store
	tok=$(token home alice pass-of-alice)
	live a -s "{\"type\":\"auth\",\"token\":\"$tok\"}" -s '{"type":"subscribe"}'
	live b -H "Authorization: Bearer $(token shed bob pass-of-bob)" -s '{"type":"subscribe"}'
	wait_line "$T/a.out" '"type":"subscribed","all":true'
	wait_line "$T/b.out" '"type":"subscribed","all":true'
	{
		reading barn 1 48.5
	} | bms-store -d "$STORE" -T shed
	{
		reading cabin 1 26.1
		printf '{"type":"status","bms_id":"cabin","timestamp":"2026-12-07T10:00:01.000Z","state":"asleep","reason":"no_reply","quality":0}\n'
		printf '{"type":"alert","bms_id":"cabin","timestamp":"2026-12-07T10:00:01.000Z","alert_id":"cabin/low_soc","rule":"low_soc","state":"raised","severity":"warning","message":"SOC 9%%"}\n'
		reading newpack 1 12.8
	} | bms-store -d "$STORE" -T home
	wait_line "$T/a.out" '"type":"alert"'
	wait_line "$T/b.out" '"type":"reading"'
	id=$(bms-store -d "$STORE" -T home query --type alerts | jq -r .id)
	bms-store -d "$STORE" -T home ack "$id" --by alice
	wait_line "$T/a.out" '"ack_by":"alice"'
	run cat "$T/a.out"
	[ "${lines[2]}" = '{"type":"reading","bms_id":"cabin","data":{"bms_id":"cabin","timestamp":"2026-12-07T10:00:01.000Z","pack_voltage":26.1}}' ]
	[ "${lines[3]}" = '{"type":"reading","bms_id":"newpack","data":{"bms_id":"newpack","timestamp":"2026-12-07T10:00:01.000Z","pack_voltage":12.8}}' ]
	[ "${lines[4]}" = '{"type":"status","bms_id":"cabin","data":{"bms_id":"cabin","timestamp":"2026-12-07T10:00:01.000Z","state":"asleep","reason":"no_reply","quality":0}}' ]
	[ "${lines[5]}" = '{"type":"alert","bms_id":"cabin","data":{"bms_id":"cabin","timestamp":"2026-12-07T10:00:01.000Z","alert_id":"cabin/low_soc","rule":"low_soc","state":"raised","severity":"warning","message":"SOC 9%","id":'"$id"'}}' ]
	[[ "${lines[6]}" == '{"type":"alert","bms_id":"cabin","data":{'*',"id":'"$id"',"ack_by":"alice","ack_at":"'*'"}}' ]]
	[ "${#lines[@]}" -eq 7 ]
	# The other tenant's client saw its own battery only.
	run cat "$T/b.out"
	[ "${lines[2]}" = '{"type":"reading","bms_id":"barn","data":{"bms_id":"barn","timestamp":"2026-12-07T10:00:01.000Z","pack_voltage":48.5}}' ]
	[ "${#lines[@]}" -eq 3 ]
}

@test "live: subscriptions by bms_id or UUID; another tenant's battery, an unknown one and bad messages are errors that keep the connection" {
	serve_store
	tok=$(token home alice pass-of-alice)
	uuid=$(bms-store -d "$STORE" -T home batteries list | jq -r 'select(.bms_id == "cabin").uuid')
	live a -p bms-live.v1 -p "bearer.$tok" \
		-s '{"type":"subscribe","batteries":["barn","nope","house"]}' \
		-s "{\"type\":\"subscribe\",\"batteries\":[\"$uuid\"]}" \
		-s '{"type":"unsubscribe","batteries":["house"]}' \
		-s 'not json' -s '{"type":"dance"}' -s '{"type":"subscribe","batteries":"house"}' \
		-s '{"type":"ping"}'
	wait_line "$T/a.out" '"type":"pong"'
	run cat "$T/a.out"
	[ "${lines[1]}" = '{"type":"error","error":"not_found","message":"no such battery","details":{"bms_id":"barn"}}' ]
	[ "${lines[2]}" = '{"type":"error","error":"not_found","message":"no such battery","details":{"bms_id":"nope"}}' ]
	[ "${lines[3]}" = '{"type":"subscribed","all":false,"batteries":["house"]}' ]
	[ "${lines[4]}" = '{"type":"subscribed","all":false,"batteries":["house","cabin"]}' ]
	[ "${lines[5]}" = '{"type":"subscribed","all":false,"batteries":["cabin"]}' ]
	[ "${lines[6]}" = '{"type":"error","error":"bad_request","message":"a message is a JSON object with a \"type\""}' ]
	[ "${lines[7]}" = '{"type":"error","error":"bad_request","message":"type: one of auth, subscribe, unsubscribe, ping"}' ]
	[ "${lines[8]}" = '{"type":"error","error":"bad_request","message":"batteries: give an array of bms_id or UUID"}' ]
	[ "${lines[9]}" = '{"type":"pong"}' ]
	# Only the battery still followed.
	{ reading house 2 52.6; reading cabin 2 26.2; } | bms-store -d "$STORE" -T home
	wait_line "$T/a.out" '"type":"reading"'
	run grep -c '"type":"reading","bms_id":"cabin"' "$T/a.out"
	[ "$output" = 1 ]
	! grep -q '"bms_id":"house","data"' "$T/a.out"
}

@test "live: tokens that are bad, expired or another user's are refused, and so is a first message that is not a sign-in" {
	serve_store --access-ttl 3s
	# Refused at the upgrade, with the API's JSON error.
	run --separate-stderr wsclient -p bms-live.v1 -p bearer.not.a.token "$WS"
	[ "$status" -eq 1 ]
	[ "$stderr" = 'wsclient: refused: HTTP/1.1 401 Unauthorized' ]
	[ "$output" = '{"error":"unauthorized","message":"the token is not valid: sign in again"}' ]
	# A message other than auth first.
	run --separate-stderr wsclient -s '{"type":"subscribe"}' -t 10 "$WS"
	[ "$status" -eq 0 ]
	[ "${stderr_lines[1]}" = 'wsclient: closed 4401 sign in first: {"type":"auth","token":"..."}' ]
	# A fresh token of another user on a signed-in connection.
	printf 'pass-of-ann1\npass-of-ann1\n' | bms-store -d "$STORE" -T home users add ann --role viewer >/dev/null
	# (Each token fresh: they live 3 s here.)
	other=$(token home ann pass-of-ann1)
	tok=$(token home alice pass-of-alice)
	run --separate-stderr wsclient -p bms-live.v1 -p "bearer.$tok" \
		-s "{\"type\":\"auth\",\"token\":\"$other\"}" -t 10 "$WS"
	[ "${stderr_lines[-1]}" = "wsclient: closed 4401 the token is another user's" ]
	# The token's life ends: closed, unless a fresh one came.
	tok=$(token home alice pass-of-alice)
	run --separate-stderr wsclient -p bms-live.v1 -p "bearer.$tok" -t 10 "$WS"
	[ "$status" -eq 0 ]
	[ "${stderr_lines[-1]}" = 'wsclient: closed 4401 the token expired: sign in again' ]
}

@test "live: a client that stops reading is dropped after its backlog while the others keep up" {
	serve_store --live-backlog 500
	tok=$(token home alice pass-of-alice)
	live slow -p bms-live.v1 -p "bearer.$tok" -s '{"type":"subscribe"}' --no-read --rcvbuf 2048
	live good -p bms-live.v1 -p "bearer.$tok" -s '{"type":"subscribe"}'
	wait_line "$T/good.out" '"type":"subscribed"'
	# Six rounds of 100 readings of 16 cells and a 4 KB note for each of
	# four batteries: some 10 MB, more than the slow client's socket
	# buffers and its backlog hold.
	pad=$(head -c 4000 /dev/zero | tr '\0' n)
	for i in 1 2 3 4; do agen "p$i" 600 1000 "X = \",\\\"note\\\":\\\"$pad\\\"\""; done >"$T/all.ndjson"
	# The batteries are known first: a battery first seen gives only
	# its newest reading.
	for i in 1 2 3 4; do reading "p$i" 0 52; done | sed 's/2026-12-07/2026-11-26/' |
		bms-store -d "$STORE" -T home
	wait_line "$T/good.out" '"bms_id":"p4","timestamp":"2026-11-26T10:00:00.000Z"'
	for r in 0 1 2 3 4 5; do
		awk -v r=$r 'int((NR - 1) % 600 / 100) == r' "$T/all.ndjson" | bms-store -d "$STORE" -T home
		last=$(date -u -d "@$((1795737600 + r * 100 + 99))" +%Y-%m-%dT%H:%M:%S)
		wait_line "$T/good.out" "\"bms_id\":\"p4\",\"timestamp\":\"$last.000Z\""
	done
	wait_line "$T/serve.err" '^bms-serve: live: dropped 127\.0\.0\.1 \(alice\): too slow: more than 500 messages behind$'
	[ "$(grep -c '^bms-serve: live: dropped' "$T/serve.err")" -eq 1 ]
	# The good client got every reading, each battery's in order.
	run grep -c '"type":"reading"' "$T/good.out"
	[ "$output" -eq 2404 ]
	for i in 1 2 3 4; do
		grep -o "\"bms_id\":\"p$i\",\"timestamp\":\"[^\"]*\"" "$T/good.out" | sort -c
	done
}

@test "live: SIGTERM closes every connection with 1001 and bms-serve exits 0; past --live-max, 503" {
	serve_store --live-max 2
	tok=$(token home alice pass-of-alice)
	live a -p bms-live.v1 -p "bearer.$tok"
	live b -p bms-live.v1 -p "bearer.$tok"
	wait_line "$T/b.out" '"type":"hello"'
	run --separate-stderr wsclient -p bms-live.v1 -p "bearer.$tok" "$WS"
	[ "$status" -eq 1 ]
	[ "$stderr" = 'wsclient: refused: HTTP/1.1 503 Service Unavailable' ]
	[ "$output" = '{"error":"unavailable","message":"too many live connections: try again later"}' ]
	kill -TERM "$SERVE_PID"
	wait_line "$T/a.err" '^wsclient: closed 1001 the server is stopping$'
	wait_line "$T/b.err" '^wsclient: closed 1001 the server is stopping$'
	wait "$SERVE_PID"
}
