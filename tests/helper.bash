# Shared set-up for the bats suites: the programs under test come first on
# PATH (tests/run-suites puts $O/bin there), output is pinned to C/UTC.
bats_require_minimum_version 1.5.0
export LC_ALL=C TZ=UTC
FIX="$BATS_TEST_DIRNAME/fixtures"

# sim_start ARGS...: run bms-sim on a fresh pty reached through the link
# $SIM_TTY, in the background; SIM_PID is its pid.
sim_start() {
	SIM_TTY="$BATS_TEST_TMPDIR/bms.tty"
	bms-sim --pty --link "$SIM_TTY" "$@" >"$BATS_TEST_TMPDIR/sim.out" 2>"$BATS_TEST_TMPDIR/sim.err" &
	SIM_PID=$!
	for _ in $(seq 400); do
		[ -e "$SIM_TTY" ] && return 0
		sleep 0.05
	done
	echo "bms-sim did not create $SIM_TTY" >&2
	cat "$BATS_TEST_TMPDIR/sim.err" >&2
	return 1
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
