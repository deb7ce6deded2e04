#!/usr/bin/env bats
# The dashboard end to end, in the system's Chromium (headless, driven by
# playwright-core from tests/e2e): the real pages served by bms-serve
# over a real store.  Tenant home has an admin, an operator and a viewer
# and a battery, house, on bms-sim through the whole pipeline, whose
# drifting cell 5 makes bms-agg report a cell deviation and bms-alert
# raise an alert within seconds; tenant shed has a battery of its own,
# barn.  Everything is started once for the file, and tests/e2e/
# dashboard.mjs runs its scenarios in one browser, a line per check,
# stopping at the first failure (with a screenshot of it); each test
# here is one scenario's lines, and what the store says after it.
#
# Skipped when node (20 or later) or Chromium is missing; the first run
# installs tests/e2e's node_modules with npm ci.  Screenshots go to
# $O/screenshots (build/screenshots), or to $BMS_SCREENSHOTS.

load helper

E2E=$BATS_TEST_DIRNAME/e2e
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

# tools: 0 when node and Chromium are there, else 1 and WHY says what
# is missing.
tools() {
	local v
	if ! command -v node >/dev/null; then
		WHY="no node: the dashboard's end-to-end suite runs in Node 20 or later (apt-get install nodejs npm)"
		return 1
	fi
	v=$(node -p 'process.versions.node.split(".")[0]')
	if [ "$v" -lt 20 ]; then
		WHY="node $(node --version) is too old: the dashboard's end-to-end suite wants Node 20 or later"
		return 1
	fi
	if [ ! -x "$CHROMIUM" ]; then
		WHY="no Chromium at $CHROMIUM: the dashboard's end-to-end suite needs it (apt-get install chromium, or CHROMIUM=path)"
		return 1
	fi
}

setup_file() {
	tools || return 0
	local F=$BATS_FILE_TMPDIR ROOT
	ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	if [ ! -d "$E2E/node_modules/playwright-core" ]; then
		if ! (cd "$E2E" && npm ci --no-audit --no-fund) >"$F/npm.log" 2>&1; then
			echo "npm ci in $E2E failed:" >&2
			cat "$F/npm.log" >&2
			return 1
		fi
	fi
	export SHOTS=${BMS_SCREENSHOTS:-$ROOT/${O:-build}/screenshots}
	rm -f "$SHOTS"/{signin,fleet,battery,alerts}-{phone,desktop}.png "$SHOTS"/failure-*.png

	# The store: two tenants, three users of home, a battery in each.
	BATS_TEST_TMPDIR=$F store_new home shed
	export STORE
	local u
	for u in ada:admin oscar:operator vera:viewer; do
		printf '%s-pass-e2e\n%s-pass-e2e\n' "${u%:*}" "${u%:*}" |
			bms-store -d "$STORE" -T home users add "${u%:*}" --role "${u#*:}" >/dev/null
	done
	bms-store -d "$STORE" -T home batteries add house --name 'House bank' --chemistry lifepo4 \
		--capacity 280 --cells 16 --bms-type daly --protocol daly --device "$F/bms.tty"
	bms-store -d "$STORE" -T shed batteries add barn --name 'Barn pack' --chemistry lifepo4
	printf '{"type":"reading","bms_id":"barn","timestamp":"%s","pack_voltage":48.123,"soc_percent":61.5}\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" | bms-store -d "$STORE" -T shed

	# The battery: cell 5 sinks 20 mV a minute, and bms-agg calls a cell
	# 30 mV off the pack's median for 2 s a deviation.
	bms-sim --pty --link "$F/bms.tty" --drift-cell 5:-20000 \
		</dev/null >"$F/sim.out" 2>"$F/sim.err" 3>&- &
	export SIM_PID=$!
	wait_line "$F/sim.out" '^/dev/pts/'
	printf '[anomaly]\ndev_min_mv = 30\ndev_sustain = 2s\n' >"$F/agg.conf"

	# The pipeline in a session of its own (its id is the pid of the
	# shell that setsid becomes), so that teardown ends all of it;
	# bms-store says each record it committed.
	setsid bash -c 'bms-read --id house "$1" | bms-decode | bms-validate --chemistry lfp |
		bms-agg -c "$2" | bms-alert --rules "$3" --chemistry lfp --db "$4" -T home |
		bms-store -p -d "$4" -T home' pipeline \
		"$F/bms.tty" "$F/agg.conf" "$ROOT/share/rules/lfp.rules" "$STORE" \
		</dev/null >"$F/stored.ndjson" 2>"$F/pipeline.err" 3>&- &
	export PIPE_SID=$!

	bg=()
	export URL SERVE_PID
	BATS_TEST_TMPDIR=$F serve_store --web "$ROOT/share/web/dist" 3>&-

	# A reading and the alert are in the store.
	wait_line "$F/stored.ndjson" '^\{"type":"reading","bms_id":"house",.*"cell_voltages":\['
	wait_line "$F/stored.ndjson" '^\{"type":"alert","bms_id":"house",.*"alert_id":"house/cell_deviation","rule":"cell_deviation","state":"raised"'

	# Every scenario, in one browser (its start costs more than most
	# scenarios); five minutes at most, though each wait in it is bounded.
	export DASH_OUT=$F/dashboard.out DASH_RC=0
	timeout -k 10 300 node "$E2E/dashboard.mjs" --url "$URL" --store "$STORE" \
		--bms-store "$(command -v bms-store)" \
		--admin ada:ada-pass-e2e --operator oscar:oscar-pass-e2e --viewer vera:vera-pass-e2e \
		--tenant home --battery house --other-tenant shed --other-battery barn \
		--chromium "$CHROMIUM" --shots "$SHOTS" >"$DASH_OUT" 2>&1 3>&- || DASH_RC=$?
}

teardown_file() {
	local p
	if [ -n "${PIPE_SID:-}" ]; then
		# The whole pipeline (bms-store commits what it has), then
		# whatever of its session is left.
		kill -TERM -- "-$PIPE_SID" 2>/dev/null || true
		for _ in $(seq 250); do
			[ -n "$(ps -o pid= -s "$PIPE_SID")" ] || break
			sleep 0.02
		done
		for p in $(ps -o pid= -s "$PIPE_SID"); do
			kill -KILL "$p" 2>/dev/null || true
		done
	fi
	stop_bg "${SERVE_PID:-}" "${SIM_PID:-}"
}

setup() {
	tools || skip "$WHY"
}

# scenario NAME: that scenario's lines of the run; it ran to its end
# (the next scenario, or the plan), and every check in it passed.
scenario() {
	local out=$BATS_TEST_TMPDIR/$1.out whole=0
	awk -v head="# scenario: $1" '
		$0 == head { on = 1; print; next }
		on && (/^# scenario: / || /^1\.\.[0-9]+$/) { whole = 1; exit }
		on { print }
		END { exit !whole }' "$DASH_OUT" >"$out" || whole=1
	if [ ! -s "$out" ]; then
		echo "scenario $1 did not run: dashboard.mjs ended with status $DASH_RC before it; its last words:"
		tail -n 15 "$DASH_OUT"
		return 1
	fi
	cat "$out"
	if grep -q '^not ok ' "$out"; then
		return 1
	fi
	if [ "$whole" -ne 0 ]; then
		echo "dashboard.mjs ended with status $DASH_RC in the middle of scenario $1"
		return 1
	fi
}

@test "dashboard: a wrong password is refused; the admin signs in to the fleet, where house's card shows a stored reading" {
	scenario signin
}

@test "dashboard: a reading bms-store commits is on the card within 2 s" {
	scenario live
}

@test "dashboard: the battery's page: cells (the drifting cell lowest), temperatures, link, history charts" {
	scenario detail
}

@test "dashboard: the operator acknowledges the alert with a note; the row and the store say by whom" {
	scenario ack
	run bms-store -d "$STORE" -T home query --type alerts --battery house
	[ "$(jq -r 'select(.alert_id == "house/cell_deviation") | .ack_by' <<<"$output" | sort -u)" = oscar ]
}

@test "dashboard: registering a battery: the page's own check and the API's 400 on their fields, then registered and renamed" {
	scenario register
	run bms-store -d "$STORE" -T home batteries list
	[ "$(jq -r 'select(.bms_id | startswith("garage-")) | .name' <<<"$output")" = 'Garage bank' ]
}

@test "dashboard: a viewer has no admin pages: no link to them, the forbidden page at their address" {
	scenario viewer
}

@test "dashboard: the other tenant's battery is nowhere: not on the fleet, live or searched, and not found at its address" {
	scenario tenants
}

@test "dashboard: screenshots of sign-in, fleet, battery and alerts at phone and desktop sizes, dark and with data" {
	scenario screenshots
	[ "$DASH_RC" -eq 0 ]
	local f
	for f in signin fleet battery alerts; do
		[ -s "$SHOTS/$f-phone.png" ]
		[ -s "$SHOTS/$f-desktop.png" ]
	done
}
