#!/usr/bin/env bats
# make run (share/bms-up), the whole system in one command, started as a
# user starts it: in a session of its own, as a terminal would, with its
# data in the test's folder and bms-serve on a free port.  It says where
# to sign in; the API takes those credentials, live readings of the
# battery come over the WebSocket, and Ctrl-C (SIGINT to the process
# group, as a terminal sends it) stops every process it started.

load helper

setup() {
	T=$BATS_TEST_TMPDIR
	ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	DATA=$T/data
	bg=()
	runs=()
}

teardown() {
	local s p
	# A run still there is asked to stop as by Ctrl-C, then whatever is
	# left of its session (its processes only) is killed.
	for s in "${runs[@]}"; do
		kill -INT -- "-$s" 2>/dev/null || true
		gone "$s" || true
		for p in $(ps -o pid= -s "$s"); do
			kill -KILL "$p" 2>/dev/null || true
		done
		wait "$s" 2>/dev/null || true
	done
	stop_bg "${bg[@]}"
}

# gone PID: wait (at most 20 s) until PID has ended.
gone() {
	for _ in $(seq 1000); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.02
	done
	echo "$1 still runs after 20 s" >&2
	return 1
}

LINE='^TrackingBMS is running: open (http://127\.0\.0\.1:[0-9]+) and sign in as admin of tenant home, password ([a-z2-7]{16}) \(in ([^ ]+)/admin-password\)\. Ctrl-C stops it\.$'

# up NAME [VAR=VALUE...]: make run in a session of its own, with the
# settings given besides DATA and LISTEN; its output in $T/NAME.out and
# $T/NAME.err.  Returns once it said where to sign in: RUN is its pid
# (and its session's), URL, WS and PW what it said.  (A job of a shell
# without job control starts with SIGINT ignored: env gives it back.)
# The suite runs the programs built already: make builds nothing here
# (-o all), whatever changed in the tree since.
up() {
	local name=$1
	shift
	: >"$T/$name.out"
	: >"$T/$name.err"
	setsid env --default-signal=INT "$@" \
		make --no-print-directory -o all -C "$ROOT" run DATA="$DATA" LISTEN=127.0.0.1:0 \
		>"$T/$name.out" 2>"$T/$name.err" &
	RUN=$!
	runs+=("$RUN")
	wait_line "$T/$name.out" "$LINE" || return
	[[ $(grep -E "$LINE" "$T/$name.out") =~ $LINE ]]
	URL=${BASH_REMATCH[1]}
	PW=${BASH_REMATCH[2]}
	[ "${BASH_REMATCH[3]}" = "$DATA" ]
	WS="ws${URL#http}/api/v1/live"
}

# ctrl_c: SIGINT to the run's process group at time SENT (epoch
# seconds); wait until it has ended and say how it ended in STATUS.
# Nothing of its session is left.
ctrl_c() {
	SENT=$(date +%s.%N)
	kill -INT -- "-$RUN"
	gone "$RUN"
	STATUS=0
	wait "$RUN" || STATUS=$?
	[ -z "$(ps -o pid= -s "$RUN")" ]
}

# stopped NAME: the run's last word is that it stopped everything; on
# stderr nothing, or at most make's note that it was interrupted (when
# its recipe runs bms-up through a shell, which the SIGINT ends too).
stopped() {
	[ "$(tail -n 1 "$T/$1.out")" = "TrackingBMS stopped." ]
	run cat "$T/$1.err"
	[[ $output == '' || $output =~ ^make:\ \*\*\*\ \[Makefile:[0-9]+:\ run\]\ Interrupt$ ]]
}

# token: an access token of admin with the password said.
token() {
	curl -sS -X POST "$URL/api/v1/auth/login" \
		-d "{\"tenant\":\"home\",\"username\":\"admin\",\"password\":\"$PW\"}" | jq -r .access_token
}

# live NAME: wsclient subscribed to every battery, in the background,
# its messages in $T/NAME.ws; waits until it is subscribed.
live() {
	: >"$T/$1.ws"
	: >"$T/$1.wserr"
	wsclient -p bms-live.v1 -p "bearer.$(token)" -s '{"type":"subscribe"}' "$WS" \
		>"$T/$1.ws" 2>"$T/$1.wserr" &
	bg+=($!)
	wait_line "$T/$1.ws" '^\{"type":"subscribed","all":true,'
}

# readings: the readings of house in the store.
readings() {
	bms-store -d "$DATA/store" -T home query --type readings --battery house --tier raw --since -1d
}

# said NAME: what the run said before it stopped: the battery and the
# folders, a note when there is no dashboard, where to sign in.
said() {
	run cat "$T/$1.out"
	if [ -d "$ROOT/share/web/dist" ]; then
		[ "${#lines[@]}" -eq 2 ]
	else
		[ "${lines[1]}" = "TrackingBMS: no dashboard built in share/web/dist: the API alone is served" ]
		[ "${#lines[@]}" -eq 3 ]
	fi
	[ "${lines[-1]}" = "TrackingBMS is running: open $URL and sign in as admin of tenant home, password $PW (in $DATA/admin-password). Ctrl-C stops it." ]
}

@test "make run: where to sign in, the API and live readings of the simulated battery, Ctrl-C stops everything" {
	up a
	said a
	[ "${lines[0]}" = "TrackingBMS: battery house on the simulator ($DATA/sim.tty, a day in 24 minutes); data in $DATA, messages in $DATA/pipeline.log and $DATA/serve.log" ]
	[ ! -s "$T/a.err" ]
	# The password is kept, and everything is private.
	[ "$(cat "$DATA/admin-password")" = "$PW" ]
	[ "$(stat -c %a "$DATA")" = 700 ]
	[ "$(stat -c %a "$DATA/admin-password")" = 600 ]
	[ "$(stat -c %a "$DATA/pipeline.log")" = 600 ]
	[ -L "$DATA/sim.tty" ]
	# The API takes the credentials; live readings of house arrive.
	live a
	grep -q '^{"type":"hello","user":"admin","tenant":"home","role":"admin",' "$T/a.ws"
	wait_line "$T/a.ws" '^\{"type":"reading","bms_id":"house","data":\{"bms_id":"house",' 2
	tok=$(token)
	[ "$(curl -sS -H "Authorization: Bearer $tok" "$URL/api/v1/bms/data/house" | jq -r .bms_id)" = house ]
	# Registered with where it is read from.
	run curl -sS -H "Authorization: Bearer $tok" "$URL/api/v1/bms"
	[ "$(jq -c '[.[] | [.bms_id, .bms_type, .connection_config.protocol, .connection_config.device_path]]' <<<"$output")" = "[[\"house\",\"daly\",\"daly\",\"$DATA/sim.tty\"]]" ]
	# The dashboard is served, when it is built.
	if [ -d "$ROOT/share/web/dist" ]; then
		[ "$(curl -sS -o /dev/null -w '%{http_code}' "$URL/")" = 200 ]
	fi
	ctrl_c
	# make ends by the SIGINT it got too, once bms-up has stopped
	# everything and said so.
	[ "$STATUS" -eq 130 ]
	stopped a
	# bms-store committed the readings up to the end: the last one
	# stored is of the last seconds before the Ctrl-C (one a second).
	last=$(date -d "$(readings | tail -n 1 | jq -r .timestamp)" +%s.%N)
	awk -v l="$last" -v s="$SENT" 'BEGIN { exit !(l <= s && l > s - 3) }'
	# The stages said nothing but the start.
	run cat "$DATA/pipeline.log"
	[[ "${lines[0]}" =~ ^====\ [0-9-]{10}T[0-9:]{8}Z\ bms-up\ started$ ]]
	[ "${#lines[@]}" -eq 1 ]
	[ ! -e "$DATA/sim.tty" ]
}

@test "make run again: the same store, password and state; the readings go on" {
	up a
	pw=$PW
	live a
	wait_line "$T/a.ws" '"type":"reading","bms_id":"house"'
	ctrl_c
	[ "$STATUS" -eq 130 ]
	stopped a
	n=$(readings | wc -l)
	first=$(readings | sed 1q)
	[ "$n" -ge 1 ]
	[ -s "$DATA/agg.state" ]
	[ -s "$DATA/alert.state" ]
	[ -s "$DATA/validate.state" ]
	up b
	[ "$PW" = "$pw" ]
	[ "$(cat "$DATA/admin-password")" = "$pw" ]
	live b
	wait_line "$T/b.ws" '"type":"reading","bms_id":"house"' 2
	ctrl_c
	[ "$STATUS" -eq 130 ]
	stopped b
	[ "$(readings | wc -l)" -ge $((n + 2)) ]
	[ "$(readings | sed 1q)" = "$first" ]
	# One admin, one tenant.
	[ "$(bms-store -d "$DATA/store" -T home users list | jq -r .name)" = admin ]
	[ "$(bms-store -d "$DATA/store" tenants list | jq -r .name)" = home ]
	[ "$(grep -c '^==== .* bms-up started$' "$DATA/pipeline.log")" -eq 2 ]
}

@test "make run DEVICE=tcp://...: the same pipeline on that device, no simulator" {
	: >"$T/sim.out"
	bms-sim --tcp 0 >"$T/sim.out" 2>"$T/sim.err" &
	bg+=($!)
	wait_line "$T/sim.out" '^tcp://127\.0\.0\.1:[0-9]+$'
	dev=$(cat "$T/sim.out")
	up a DEVICE="$dev"
	said a
	[ "${lines[0]}" = "TrackingBMS: battery house on $dev; data in $DATA, messages in $DATA/pipeline.log and $DATA/serve.log" ]
	# bms-up started no simulator of its own: bms-read reads $dev.
	[ "$(ps -o args= -s "$RUN" | grep -c '^bms-sim')" -eq 0 ]
	[ "$(ps -o args= -s "$RUN" | grep -c "^bms-read --id house $dev\$")" -eq 1 ]
	live a
	wait_line "$T/a.ws" '^\{"type":"reading","bms_id":"house","data":\{"bms_id":"house",' 2
	ctrl_c
	[ "$STATUS" -eq 130 ]
	stopped a
}
