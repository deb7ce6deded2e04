# Shared set-up for the bats suites: the programs under test come first on
# PATH (tests/run-suites puts $O/bin there), output is pinned to C/UTC.
bats_require_minimum_version 1.5.0
export LC_ALL=C TZ=UTC
FIX="$BATS_TEST_DIRNAME/fixtures"

# wait_line FILE REGEX [N]: wait (at most 30 s) until FILE holds N
# (default 1) complete lines, ended by a newline, that match the extended
# regular expression REGEX.  This is how a test waits for a process it
# started: for the line that process prints, never for a file to be
# non-empty (it may hold an earlier process's output, or half a line)
# and never for a fixed time.  A background job's output file is opened
# by the job, after the test has gone on: empty it before the job starts
# (: >FILE), or give each job a file of its own.
wait_line() {
	local want=${3:-1} n l
	for _ in $(seq 1500); do
		n=0
		if [ -r "$1" ]; then
			while IFS= read -r l; do
				if [[ $l =~ $2 ]]; then
					n=$((n + 1))
					if [ "$n" -ge "$want" ]; then
						return 0
					fi
				fi
			done <"$1"
		fi
		sleep 0.02
	done
	echo "waited in vain for $want lines matching '$2' in $1:" >&2
	cat "$1" >&2 2>/dev/null || true
	return 1
}

# sim_start ARGS...: run bms-sim on a fresh pty reached through the link
# $SIM_TTY, in the background; SIM_PID is its pid.  Returns once the
# simulator has printed the pty's path (it links it first).
sim_start() {
	SIM_TTY="$BATS_TEST_TMPDIR/bms.tty"
	: >"$BATS_TEST_TMPDIR/sim.out"
	: >"$BATS_TEST_TMPDIR/sim.err"
	bms-sim --pty --link "$SIM_TTY" "$@" >"$BATS_TEST_TMPDIR/sim.out" 2>"$BATS_TEST_TMPDIR/sim.err" &
	SIM_PID=$!
	if ! wait_line "$BATS_TEST_TMPDIR/sim.out" '^/dev/pts/' || [ ! -e "$SIM_TTY" ]; then
		echo "bms-sim did not create $SIM_TTY" >&2
		cat "$BATS_TEST_TMPDIR/sim.err" >&2
		return 1
	fi
}

# sim_stop: end the simulator started by sim_start, if it still runs.
sim_stop() {
	if [ -n "${SIM_PID:-}" ]; then
		kill "$SIM_PID" 2>/dev/null || true
		wait "$SIM_PID" 2>/dev/null || true
		SIM_PID=
	fi
}

# strip_ts: replace every RFC 3339 timestamp and poll_ms figure so that
# records from a live run can be diffed against a fixture.
strip_ts() {
	sed -E 's/"timestamp":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z"/"timestamp":"T"/g; s/"poll_ms":[0-9]+/"poll_ms":N/g'
}

# ==== bms-store ====

# store_new TENANT...: a fresh store at $STORE holding these tenants.  They
# keep everything (retention 0 = forever), so records with fixed dates in
# the fixtures are never expired by the day the suite happens to run.
store_new() {
	STORE="$BATS_TEST_TMPDIR/store"
	bms-store --db "$STORE" init || return
	local t
	for t; do
		bms-store --db "$STORE" tenants add "$t" --raw-days 0 --minute-days 0 || return
	done
}

# mask_created: blank every "created" RFC 3339 value (and only those).
mask_created() {
	sed -E 's/"created":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z"/"created":"T"/g'
}

# wait_lines FILE N: wait (at most 60 s) until FILE holds N complete lines.
wait_lines() {
	local n
	for _ in $(seq 1200); do
		n=$(wc -l <"$1" 2>/dev/null || echo 0)
		[ "$n" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "waited in vain for $2 lines in $1 (it has ${n:-0})" >&2
	return 1
}

# producer_start FILE N FIFO: copy FILE into FIFO in the background,
# pausing 20 ms after every N lines: a producer that keeps its consumer
# busy for a while without racing it.  PRODUCER_PID is its pid.
producer_start() {
	awk -v n="$2" '{ print } NR % n == 0 { fflush(); system("sleep 0.02") }' "$1" >"$3" &
	PRODUCER_PID=$!
}

# stop_bg PID...: end background processes a test started (by pid).
stop_bg() {
	local p
	for p; do
		[ -n "$p" ] || continue
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# ==== Generated readings ====

# agen ID N STEP_MS BODY: N readings of a 16-cell battery ID from
# 2026-11-27T00:00:00Z, one every STEP_MS; BODY (awk) sets, for reading k
# at t seconds, I (pack_current, default 0), cell[1..16] (V, default 3.3),
# V (pack_voltage, default the cells' sum) and, when np is set, np
# probes p[1..np] (degC), and X, raw JSON members (",\"soc_percent\":10")
# put after the cells.  Cells are written with 4 decimals, probes 1.
agen() {
	awk -v id="$1" -v n="$2" -v step="$3" 'BEGIN {
		for (k = 0; k < n; k++) {
			ms = k * step; t = ms / 1000
			I = 0; V = ""; np = 0; X = ""
			for (c = 1; c <= 16; c++) cell[c] = 3.3
			'"$4"'
			sum = 0; cs = ""
			for (c = 1; c <= 16; c++) { x = sprintf("%.4f", cell[c]) + 0; sum += x; cs = cs (c > 1 ? "," : "") x }
			if (V == "") V = sprintf("%.3f", sum) + 0
			ps = ""
			for (j = 1; j <= np; j++) ps = ps (j > 1 ? "," : "") (sprintf("%.1f", p[j]) + 0)
			d = int(ms / 86400000); r = ms - d * 86400000
			printf "{\"type\":\"reading\",\"bms_id\":\"%s\",\"timestamp\":\"2026-11-%02dT%02d:%02d:%02d.%03dZ\",\"pack_voltage\":%s,\"pack_current\":%s,\"pack_power\":%s%s,\"cell_voltages\":[%s]%s}\n",
				id, 27 + d, int(r / 3600000), int(r / 60000) % 60, int(r / 1000) % 60, r % 1000,
				V, I, sprintf("%.2f", V * I) + 0, np ? ",\"temperatures\":[" ps "]" : "", cs, X
		}
	}'
}

# ==== bms-serve ====

# serve_start ARGS...: bms-serve ARGS in the background; returns once it
# says where it listens.  URL is that address (http or https), WS its
# live endpoint, SERVE_PID its pid, which is added to bg (for stop_bg in
# teardown); its stderr is in $BATS_TEST_TMPDIR/serve.err.
serve_start() {
	local err="$BATS_TEST_TMPDIR/serve.err"
	: >"$err"
	bms-serve "$@" 2>"$err" &
	SERVE_PID=$!
	bg+=("$SERVE_PID")
	wait_line "$err" '^bms-serve: listening on https?://127\.0\.0\.1:[0-9]+$' || return
	URL=$(sed -n 's/^bms-serve: listening on //p' "$err")
	WS="ws${URL#http}/api/v1/live"
}

# serve_store ARGS...: serve_start on the store $STORE at a free loopback
# port, with ARGS besides.
serve_store() {
	serve_start --db "$STORE" --listen 127.0.0.1:0 "$@"
}
