#!/usr/bin/env bats
# bms-read: poll cycles against bms-sim on a real pty (and over TCP),
# the records they produce, every injected fault survived and reported,
# reconnection, signals and usage errors.
#
# No assertion depends on how fast the machine is: timeouts that are not
# meant to run out are generous (a try ends the moment its reply is in,
# so they cost nothing), frames are matched by content rather than by
# position where a slow reply could add a retry, and background readers
# are stopped once the record waited for has come.  Timings belong in
# make bench.

load helper

teardown() {
	# A reader a failed test left running.
	if [ -n "${pid:-}" ]; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	sim_stop
}

# The records of a run with timestamps, poll_ms and the pty path blanked.
norm() {
	strip_ts | sed "s|$SIM_TTY|TTY|g"
}

# One line per record: type, and state/reason for status records.
kinds() {
	jq -r 'if .type == "status" then "status \(.state) \(.reason)" else .type end'
}

# The frames arrays of the frames records, one per line.
frames_of() {
	jq -c 'select(.type == "frames") | .frames'
}

# wait_for FILE REGEX [N]: wait_line (helper.bash): N complete lines
# (default 1) of FILE match REGEX.
wait_for() {
	wait_line "$@"
}

# stop_pid PID: SIGTERM PID and wait for it; rc is its exit status and
# ms how long it took to end.  One still running 10 s later is killed
# and the test fails.
stop_pid() {
	local t0
	t0=$(date +%s%N)
	kill -TERM "$1"
	for _ in $(seq 200); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1"
		wait "$1" || true
		echo "pid $1 still ran 10 s after SIGTERM" >&2
		return 1
	fi
	rc=0
	wait "$1" || rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	if [ "$1" = "${pid:-}" ]; then
		pid=
	fi
}

# flood_start ADDRESS: instead of bms-sim, socat feeds what the socat
# ADDRESS gives into a fresh pty at $SIM_TTY, as fast as it is read.
flood_start() {
	command -v socat >/dev/null || skip "socat not installed"
	SIM_TTY="$BATS_TEST_TMPDIR/bms.tty"
	socat "$1" "PTY,link=$SIM_TTY,rawer" 2>"$BATS_TEST_TMPDIR/sim.err" 3>&- &
	SIM_PID=$!
	for _ in $(seq 100); do
		[ -e "$SIM_TTY" ] && return 0
		sleep 0.05
	done
	echo "socat did not create $SIM_TTY" >&2
	return 1
}

DEFAULT_FRAMES='["a50194081002010002002a0081","a50190080216000074b3031191","a50191080d180c0d050d00008f","a50192084301410200000000c7","a50193080101015a00035a9893","a5019508010d0a0d0d0d08008aa5019508020d0f0d070d0c008ea5019508030d0e0d100d090094a5019508040d0d0d0b0d18009ea5019508050d050d0c0d0e008ea5019508060d0d000000000063","a50196080143410000000000c9","a501970800080000000000004d","a5019808000000000000000046","a5015008000445c000000c8093"]'
CELLS_REPLY=a5019508010d0a0d0d0d08008aa5019508020d0f0d070d0c008ea5019508030d0e0d100d090094a5019508040d0d0d0b0d18009ea5019508050d050d0c0d0e008ea5019508060d0d000000000063

# The first frames record of the fixture without its 0x50 reply: later
# cycles do not ask 0x50.
no_rated() {
	sed -n 1p "$FIX/read-default.ndjson" | sed 's/,"a5015008000445c000000c8093"\]/]/'
}

# ==== Normal polls ====

@test "one poll of the default simulator gives the worked example frames" {
	sim_start --speed 0
	run --separate-stderr bms-read --count 1 "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(norm <<<"$output") "$FIX/read-default.ndjson"
	# The fixture holds the reply frames of daly.md 4.1 and the 0x50 reply.
	[ "$(frames_of <<<"$output")" = "$DEFAULT_FRAMES" ]
}

@test "--count 3 gives three frames records and one connected status after the first" {
	sim_start --speed 0
	run --separate-stderr bms-read --count 3 --interval 0.05 --timeout 2000 "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(norm <<<"$output") <(cat "$FIX/read-default.ndjson"; no_rated; no_rated)
}

@test "0x50 is asked in the first complete cycle and then in every 60th" {
	sim_start --speed 0
	run --separate-stderr bms-read --count 62 --interval 0 --timeout 2000 "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# Cycles 1 and 61 have ten exchanges ending with 0x50, the rest nine.
	[ "$(jq -r 'select(.type == "frames") | "\(.frames | length) \(.frames[-1][0:6])"' <<<"$output" | uniq -c | awk '{ printf "%s %s %s,", $1, $2, $3 }')" = "1 10 a50150,59 9 a50198,1 10 a50150,1 9 a50198," ]
}

@test "--tenant adds a tenant after the timestamp of every record; --id names them" {
	sim_start --speed 0
	run --separate-stderr bms-read --count 1 --tenant acme --id pack "$SIM_TTY"
	[ "$status" -eq 0 ]
	diff <(norm <<<"$output") <(sed 's/"bms_id":"bms.tty","timestamp":"T"/"bms_id":"pack","timestamp":"T","tenant":"acme"/' "$FIX/read-default.ndjson")
}

@test "--board 1,2 polls both boards of a bus, each under its own bms_id" {
	sim_start --speed 0 --boards 2
	run --separate-stderr bms-read --count 1 --board 1,2 --id pack "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ "$(kinds <<<"$output" | tr '\n' ,)" = "frames,status connected ok,frames,status connected ok," ]
	[ "$(jq -r '"\(.bms_id) \(.board // "")"' <<<"$output" | tr '\n' ,)" = "pack-1 1,pack-1 ,pack-2 2,pack-2 ," ]
	# Board N answers with address N: every element starts a5 01 / a5 02.
	[ "$(jq -r 'select(.type == "frames") | "\(.board) \(.frames | length) \(.frames | map(.[0:4]) | unique | join(" "))"' <<<"$output" | tr '\n' ,)" = "1 10 a501,2 10 a502," ]
	[ "$(jq -c 'select(.bms_id == "pack-1" and .type == "frames") | .frames' <<<"$output")" = "$DEFAULT_FRAMES" ]
}

@test "--host-address 0x80 polls a Bluetooth-dongle style board" {
	sim_start --speed 0
	run --separate-stderr bms-read --count 1 --host-address 0x80 "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ "$(frames_of <<<"$output")" = "$DEFAULT_FRAMES" ]
}

@test "--proto daly-modbus reads the 62 live registers of a D2 board" {
	sim_start --speed 0 -p daly-modbus
	run --separate-stderr bms-read --count 1 -p daly-modbus "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(norm <<<"$output") "$FIX/read-d2.ndjson"
}

@test "tcp://HOST:PORT reads through a TCP serial bridge" {
	: >"$BATS_TEST_TMPDIR/sim.out"
	bms-sim --tcp 0 --speed 0 >"$BATS_TEST_TMPDIR/sim.out" 2>"$BATS_TEST_TMPDIR/sim.err" &
	SIM_PID=$!
	wait_line "$BATS_TEST_TMPDIR/sim.out" '^tcp://'
	url=$(head -n 1 "$BATS_TEST_TMPDIR/sim.out")
	[[ "$url" == tcp://127.0.0.1:* ]]
	run --separate-stderr bms-read --count 1 "$url"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	hostport=${url#tcp://}
	diff <(strip_ts <<<"$output") <(sed "s|\"bms.tty\"|\"$hostport\"|; s|\"uart\"|\"tcp\"|; s|'TTY'|'$url'|" "$FIX/read-default.ndjson")
}

@test "cycles keep a fixed schedule: 4 cycles at 0.25 s take about 0.75 s" {
	sim_start --speed 0
	t0=$(date +%s%N)
	run --separate-stderr bms-read --count 4 --interval 0.25 "$SIM_TTY"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$status" -eq 0 ]
	[ "$(kinds <<<"$output" | grep -c frames)" -eq 4 ]
	# The schedule cannot be beaten; the upper bound only catches a hang.
	[ "$ms" -ge 740 ] && [ "$ms" -lt 10000 ] || { echo "took $ms ms"; false; }
}

@test "bms-read | bms-decode turns a live poll into a reading" {
	command -v bms-decode >/dev/null || skip "bms-decode not built"
	sim_start --speed 0 --fault garbage --fault split
	run --separate-stderr bash -c 'bms-read --count 1 --timeout 2000 "$0" | bms-decode' "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ "$(jq -r 'select(.type == "reading") | [.pack_voltage, .soc_percent, .cell_voltages[11]] | @csv' <<<"$output")" = "53.4,78.5,3.352" ]
}

# ==== Faults ====

@test "fault checksum on every frame: status error garbled, no frames record, exit 1" {
	sim_start --speed 0 --fault checksum
	run --separate-stderr bms-read --count 1 --timeout 1000 --retries 0 "$SIM_TTY"
	[ "$status" -eq 1 ]
	diff <(norm <<<"$output") - <<'EOF'
{"type":"status","bms_id":"bms.tty","timestamp":"T","state":"error","reason":"garbled","quality":0,"message":"board 1 on 'TTY' sends no valid frame: check baud rate and wiring"}
EOF
	[ "$stderr" = "bms-read: board 1 on '$SIM_TTY' sends no valid frame: check baud rate and wiring" ]
}

@test "fault checksum:12: the corrupted 0x96 reply is asked again and the cycle is complete" {
	sim_start --speed 0 --fault checksum:12
	run --separate-stderr bms-read --count 1 --timeout 1000 "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(kinds <<<"$output" | tr '\n' ,)" = "frames,status connected ok," ]
	# The 12th reply frame (0x96) came corrupted and the retry got it
	# whole; without the corrupted try the record is the default one.
	[ "$(frames_of <<<"$output" | jq -c --argjson d "$DEFAULT_FRAMES" '
		first(range(length) as $i | select(.[$i] == "a5019608014341000000000036") | $i) as $i
		| [.[$i + 1], (del(.[$i]) == $d)]')" = '["a50196080143410000000000c9",true]' ]
}

@test "fault drop:4: cut frames are asked again, 0x95 is pieced together from two tries, 0x97 is asked once" {
	command -v bms-decode >/dev/null || skip "bms-decode not built"
	sim_start --speed 0 --fault drop:4
	run --separate-stderr bms-read --count 1 --timeout 500 "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(kinds <<<"$output" | tr '\n' ,)" = "frames,status connected ok," ]
	rec=$(frames_of <<<"$output")
	# Every 4th reply frame loses its last 4 bytes: 0x92, so it is asked
	# again; frames 2 and 6 of the first 0x95 burst and frame 4 of the
	# second, which together hold all six; and 0x97, which is optional.
	[ "$(jq -r 'first(range(length) as $i | select(.[$i] == "a50192084301410200") | .[$i + 1])' <<<"$rec")" = a50192084301410200000000c7 ]
	[ "$(jq -r 'map(select(startswith("a50195"))) | length' <<<"$rec")" = 2 ]
	[ "$(jq -r 'map(select(startswith("a50197"))) | join(" ")' <<<"$rec")" = a50197080008000000 ]
	[ "$(bms-decode <<<"$output" | jq -r 'select(.type == "reading") | .cell_voltages | length')" = 16 ]
}

@test "a needed reply incomplete: status error incomplete, exit 1, the frames record is still written" {
	sim_start --speed 0 --fault checksum:10
	run --separate-stderr bms-read --count 1 --timeout 1000 --retries 0 "$SIM_TTY"
	[ "$status" -eq 1 ]
	[ "$stderr" = "bms-read: board 1 on '$SIM_TTY': no complete reply to 0x95" ]
	[ "$(kinds <<<"$output" | tr '\n' ,)" = "frames,status error incomplete," ]
	diff <(norm <<<"$output" | sed -n 2p) - <<'EOF'
{"type":"status","bms_id":"bms.tty","timestamp":"T","state":"error","reason":"incomplete","quality":0,"message":"board 1 on 'TTY': no complete reply to 0x95"}
EOF
	# Frame 5 of the 0x95 burst came corrupted; all else is there.
	[ "$(frames_of <<<"$output")" = "$(sed 's/0d0e008e/0d0e0071/' <<<"$DEFAULT_FRAMES")" ]
}

@test "fault sleep: only echoes come back, status error asleep" {
	sim_start --speed 0 --fault sleep
	run --separate-stderr bms-read --count 1 --timeout 1000 --retries 0 "$SIM_TTY"
	[ "$status" -eq 1 ]
	diff <(norm <<<"$output") - <<'EOF'
{"type":"status","bms_id":"bms.tty","timestamp":"T","state":"error","reason":"asleep","quality":0,"message":"board 1 on 'TTY' echoes requests: the BMS is asleep"}
EOF
	[ "$stderr" = "bms-read: board 1 on '$SIM_TTY' echoes requests: the BMS is asleep" ]
}

@test "fault sleep at wire speed: an echo that arrives in pieces is still an echo" {
	sim_start --pace --fault sleep
	run --separate-stderr bms-read --count 1 --timeout 1000 --retries 1 "$SIM_TTY"
	[ "$status" -eq 1 ]
	diff <(norm <<<"$output") - <<'EOF'
{"type":"status","bms_id":"bms.tty","timestamp":"T","state":"error","reason":"asleep","quality":0,"message":"board 1 on 'TTY' echoes requests: the BMS is asleep"}
EOF
	[ "$stderr" = "bms-read: board 1 on '$SIM_TTY' echoes requests: the BMS is asleep" ]
}

@test "a silent line: status error no_reply" {
	sim_start --speed 0 --boards 1
	run --separate-stderr bms-read --count 1 --board 5 --timeout 50 --retries 1 "$SIM_TTY"
	[ "$status" -eq 1 ]
	diff <(norm <<<"$output") - <<'EOF'
{"type":"status","bms_id":"bms.tty","timestamp":"T","state":"error","reason":"no_reply","quality":0,"message":"board 5 on 'TTY' does not answer within 50 ms: check wiring, board number and host address"}
EOF
}

@test "fault delay: the try times out, the retry gets the reply" {
	sim_start --speed 0 --fault delay:6 --delay 1500
	run --separate-stderr bms-read --count 1 --timeout 1000 "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(kinds <<<"$output" | tr '\n' ,)" = "frames,status connected ok," ]
	rec=$(frames_of <<<"$output")
	# The 6th reply (0x95) is held 1.5 s: the first try is empty, the
	# second gets it.  The simulator then answers the retry too; those
	# bytes land in whichever exchange is open when they come, so only
	# their order is fixed.
	[ "$(jq -r 'map(select(. == "")) | length' <<<"$rec")" = 1 ]
	[ "$(jq -r 'first(range(length) as $i | select(.[$i] == "") | "\(.[$i - 1]) \(.[$i + 1][0:156])")' <<<"$rec")" = "a50193080101015a00035a9893 $CELLS_REPLY" ]
	[ "$(jq -r 'join("")' <<<"$rec")" = "$(jq -r '.[0:6] + [.[5]] + .[6:] | join("")' <<<"$DEFAULT_FRAMES")" ]
}

@test "fault concat: a reply held back comes with the next one" {
	sim_start --speed 0 --fault concat
	run --separate-stderr bms-read --count 1 --timeout 500 "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(kinds <<<"$output" | tr '\n' ,)" = "frames,status connected ok," ]
	rec=$(frames_of <<<"$output")
	# 0x94's first try gets nothing, its retry both replies.
	[ "$(jq -r '.[0:2] | join(" ")' <<<"$rec")" = " a50194081002010002002a0081a50194081002010002002a0081" ]
	# 0x93 is optional and not asked again: its reply comes with 0x95's.
	[ "$(jq -r 'map(select(startswith("a50193"))) | join(" ")' <<<"$rec")" = "a50193080101015a00035a9893$CELLS_REPLY" ]
}

@test "faults garbage, split, extra-temps, cells-16, stale: complete cycles all the same" {
	for f in garbage split extra-temps cells-16 stale; do
		sim_start --speed 0 --fault "$f"
		run --separate-stderr bms-read --count 2 --interval 0 --timeout 2000 "$SIM_TTY"
		sim_stop
		[ "$status" -eq 0 ] || { echo "$f: status $status $stderr"; false; }
		[ -z "$stderr" ]
		[ "$(kinds <<<"$output" | tr '\n' ,)" = "frames,status connected ok,frames," ] ||
			{ echo "$f: $output"; false; }
		rec=$(frames_of <<<"$output" | head -n 1)
		case $f in
		split)		[ "$rec" = "$DEFAULT_FRAMES" ] ;;
		garbage)	[ "$rec" != "$DEFAULT_FRAMES" ]
				[[ "$(jq -r '.[0]' <<<"$rec")" == *a50194081002010002002a0081 ]] ;;
		extra-temps)	[[ "$rec" == *a50196080143410000000000c9a5019608020000000000000046* ]] ;;
		cells-16)	[[ "$rec" == *a5019508100000000000000053* ]] ;;
		stale)		[ "$(jq -r 'map(select(startswith("a50191"))) | join(" ")' <<<"$rec")" != a50191080d180c0d050d00008f ] ;;
		esac || { echo "$f: $rec"; false; }
	done
}

@test "fault vanish: status disconnected device_gone, then connected again" {
	sim_start --speed 0 --fault vanish:15 --vanish-time 600
	bms-read --interval 0.1 --timeout 2000 --backoff-max 0.5 "$SIM_TTY" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	wait_for "$BATS_TEST_TMPDIR/out" '"state":"connected"' 2
	stop_pid "$pid"
	[ "$rc" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	# The 15th request (0x93 of the second cycle) takes the device away.
	[ "$(kinds <"$BATS_TEST_TMPDIR/out" | grep status | head -n 3 | tr '\n' ,)" = "status connected ok,status disconnected device_gone,status connected ok," ]
	[ "$(norm <"$BATS_TEST_TMPDIR/out" | grep device_gone | head -n 1 | jq -r .message)" = "lost 'TTY': device hung up" ]
}

# ==== Start, stop and usage ====

@test "a device that does not exist: status open_failed, exit 1 after the count" {
	run --separate-stderr bms-read --count 1 "$BATS_TEST_TMPDIR/nope"
	[ "$status" -eq 1 ]
	diff <(strip_ts <<<"$output") - <<EOF
{"type":"status","bms_id":"nope","timestamp":"T","state":"disconnected","reason":"open_failed","quality":0,"message":"cannot open '$BATS_TEST_TMPDIR/nope': No such file or directory"}
EOF
	[ "$stderr" = "bms-read: cannot open '$BATS_TEST_TMPDIR/nope': No such file or directory" ]
}

@test "a device that appears later is picked up: open_failed, then connected" {
	SIM_TTY="$BATS_TEST_TMPDIR/bms.tty"
	bms-read --backoff-max 0.3 --interval 0.1 --timeout 2000 "$SIM_TTY" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	wait_for "$BATS_TEST_TMPDIR/out" open_failed
	sim_start --speed 0
	wait_for "$BATS_TEST_TMPDIR/out" '"state":"connected"'
	stop_pid "$pid"
	[ "$rc" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	[ "$(kinds <"$BATS_TEST_TMPDIR/out" | grep status | tr '\n' ,)" = "status disconnected open_failed,status connected ok," ]
}

@test "SIGTERM ends bms-read with exit 0 and whole records" {
	sim_start --speed 0
	bms-read --interval 0.2 --timeout 2000 "$SIM_TTY" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	wait_for "$BATS_TEST_TMPDIR/out" '"type":"frames"' 2
	stop_pid "$pid"
	[ "$rc" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	jq -e . "$BATS_TEST_TMPDIR/out" >/dev/null
	[ "$(kinds <"$BATS_TEST_TMPDIR/out" | grep -c frames)" -ge 2 ]
}

@test "SIGTERM during a long wait for a sleeping BMS cuts the wait short" {
	sim_start --speed 0 --fault sleep -v
	bms-read --timeout 60000 "$SIM_TTY" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	# The simulator logs the request it echoed: bms-read waits for more.
	wait_for "$BATS_TEST_TMPDIR/sim.err" '^bms-sim: rx '
	stop_pid "$pid"
	[ "$rc" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	# Far less than the 60 s the try would have waited.
	[ "$ms" -lt 10000 ] || { echo "took $ms ms"; false; }
	[ "$(kinds <"$BATS_TEST_TMPDIR/out")" = "status error asleep" ]
}

@test "a line that never falls quiet: cycles are capped, reported garbled, and SIGTERM still ends bms-read" {
	flood_start OPEN:/dev/zero
	bms-read --interval 0 "$SIM_TTY" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	wait_for "$BATS_TEST_TMPDIR/out" garbled
	stop_pid "$pid"
	[ "$rc" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	diff <(norm <"$BATS_TEST_TMPDIR/out") - <<'EOF'
{"type":"status","bms_id":"bms.tty","timestamp":"T","state":"error","reason":"garbled","quality":0,"message":"board 1 on 'TTY' sends more than one poll can hold (65536 bytes, 128 exchanges): check baud rate and wiring"}
EOF
}

@test "a board that floods the line with frames: the record stays within what bms-decode takes" {
	command -v bms-decode >/dev/null || skip "bms-decode not built"
	# 10000 0x94 replies: 130000 bytes, twice what a cycle can hold.
	printf '\xa5\x01\x94\x08\x10\x02\x01\x00\x02\x00\x2a\x00\x81%.0s' $(seq 10000) >"$BATS_TEST_TMPDIR/flood"
	flood_start "OPEN:$BATS_TEST_TMPDIR/flood"
	run --separate-stderr timeout 20 bms-read --count 1 --timeout 2000 "$SIM_TTY"
	[ "$status" -eq 1 ]
	[ "$stderr" = "bms-read: board 1 on '$SIM_TTY' sends more than one poll can hold (65536 bytes, 128 exchanges): check baud rate and wiring" ]
	[ "$(kinds <<<"$output" | tr '\n' ,)" = "frames,status error garbled," ]
	# 0x94 was answered (many times); then the cycle was full.
	[ "$(jq -r 'select(.type == "frames") | [(.frames | length) <= 128, ([.frames[] | length] | add / 2)] | @tsv' <<<"$output")" = "true	65536" ]
	run --separate-stderr bms-decode <<<"$output"
	[ "$status" -eq 0 ]
	[ "$(kinds <<<"$output")" = "status error garbled" ]
	[[ "$stderr" == *"no reply to 0x90"* ]]
}

@test "a reader that goes away ends bms-read quietly with exit 0" {
	sim_start --speed 0
	run --separate-stderr bash -c 'bms-read --interval 0 "$0" | head -n 1; echo "rc=${PIPESTATUS[0]}"' "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${lines[1]}" = "rc=0" ]
	[ "$(kinds <<<"${lines[0]}")" = frames ]
}

@test "--help: usage on stdout, exit 0, empty stderr" {
	run --separate-stderr bms-read --help
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${lines[0]}" = "usage: bms-read [options] DEVICE" ]
	[ "${lines[1]}" = "       bms-read --list-ports" ]
}

@test "usage errors exit 2 with one message and the usage" {
	run --separate-stderr bms-read --bogus /dev/null
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "bms-read: unknown option '--bogus'" ]
	[ "${stderr_lines[1]}" = "usage: bms-read [options] DEVICE" ]
	[ "${stderr_lines[2]}" = "Try 'bms-read --help' for more information." ]
	[ "${#stderr_lines[@]}" -eq 3 ]

	run --separate-stderr bms-read
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-read: missing DEVICE" ]

	run --separate-stderr bms-read --board 1,17 /dev/null
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-read: --board: '1,17' is not a list of boards 1 to 16 such as 1,2,3" ]

	run --separate-stderr bms-read --baud 1234 /dev/null
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-read: --baud: 1234 is not a standard rate from 1200 to 921600" ]

	run --separate-stderr bms-read -p daly-modbus --board 2 /dev/null
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-read: --board: daly-modbus boards answer at one address; poll board 1" ]

	run --separate-stderr bms-read --interval -1 /dev/null
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-read: --interval: '-1' is not a number from 0 to 86400" ]
}

@test "--list-ports lists serial ports and exits 0" {
	run --separate-stderr bms-read --list-ports
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# Each line: path, transport, VID:PID, manufacturer, product.
	for l in "${lines[@]}"; do
		[[ "$l" =~ ^/[^$'\t']+$'\t'(usb|native|bluetooth|unknown)$'\t'([0-9a-f]{4}:[0-9a-f]{4}|-)$'\t'[^$'\t']+$'\t'[^$'\t']+$ ]] ||
			{ echo "bad line: $l"; false; }
	done
}

# issue 7: tcp://HOST:PORT follows the one host:port rule of bms-sim --tcp
# (an IPv6 address only in brackets, a port from 1 to 65535), checked at
# start: a malformed bridge address is a usage error, not a device to retry.
@test "a malformed tcp:// address exits 2 at once, naming what is wrong" {
	local -a cases=(
		"tcp://::1:4001|bms-read: '::1:4001': an IPv6 address goes in brackets, as in [::1]:4001"
		"tcp://[bridge]:4001|bms-read: '[bridge]:4001': only an IPv6 address goes in brackets"
		"tcp://bridge|bms-read: 'bridge' is not HOST:PORT"
		"tcp://:4001|bms-read: ':4001' is not HOST:PORT"
		"tcp://bridge:0|bms-read: 'bridge:0' is not HOST:PORT with a port from 1 to 65535"
		"tcp://bridge:65536|bms-read: 'bridge:65536' is not HOST:PORT with a port from 1 to 65535"
		"tcp://bridge:telnet|bms-read: 'bridge:telnet' is not HOST:PORT with a port from 1 to 65535"
	)
	local c
	for c in "${cases[@]}"; do
		run --separate-stderr timeout 10 bms-read --count 1 "${c%%|*}"
		[ "$status" -eq 2 ] || { echo "${c%%|*}: status $status"; false; }
		[ -z "$output" ]
		[ "$stderr" = "${c#*|}" ] || { echo "${c%%|*}: $stderr"; false; }
	done
}

# issue 7: the protocol names come from one table; --proto says them all.
@test "--proto names every protocol when given another" {
	run --separate-stderr bms-read -p foxbms /dev/null
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-read: --proto: 'foxbms' is not daly or daly-modbus" ]
}

# issue 7: an id or tenant that is not printable UTF-8 would make every
# record invalid downstream; bms-read refuses it at start, before opening
# anything, with exit 2 and one line.
@test "--id and --tenant must be printable UTF-8 within the envelope's limits (exit 2)" {
	while IFS='|' read -r args want; do
		eval "set -- $args"
		run --separate-stderr bms-read --count 1 "$@" /nonexistent
		[ "$status" -eq 2 ] || { echo "$args: status $status"; false; }
		[ -z "$output" ]
		[ "$stderr" = "bms-read: $want" ] || { echo "$args: got: $stderr"; echo "want: bms-read: $want"; false; }
	done <<-'END'
	--id $'pack\x01'|--id: control character at byte 5
	--id $'pack\nA'|--id: control character at byte 5
	--id $'caf\xe9'|--id: not UTF-8
	--id $'a\x7f'|--id: control character at byte 2
	--id "$(printf '%0128d' 0)"|--id: longer than 127 bytes
	--board 1,16 --id "$(printf '%0125d' 0)"|--id: longer than 127 bytes with "-16"
	--tenant $'lab\x1b[31m'|--tenant: control character at byte 4
	--tenant $'\xff'|--tenant: not UTF-8
	--tenant "$(printf '%064d' 0)"|--tenant: longer than 63 bytes
	--tenant ''|--tenant: empty
	END
}

# issue 7: the id derived from the device (or link) name is held to the
# same rule; --id is the way out.
@test "an id derived from an odd device or link name is refused; --id makes the run go" {
	odd="$BATS_TEST_TMPDIR/bms"$'\x1b'"[31m.tty"
	sim_start --speed 0
	ln -s "$SIM_TTY" "$odd"
	run --separate-stderr bms-read --count 1 "$odd"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-read: the id derived from the device name: control character at byte 4; give one with --id" ]
	run --separate-stderr bms-read --count 1 "$BATS_TEST_TMPDIR/caf"$'\xe9'
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-read: the id derived from the device name: not UTF-8; give one with --id" ]
	run --separate-stderr bms-read --count 1 --id bms.tty "$odd"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(kinds <<<"$output")" = "$(printf 'frames\nstatus connected ok')" ]
	[ "$(frames_of <<<"$output")" = "$DEFAULT_FRAMES" ]
	[ "$(jq -r .bms_id <<<"$output" | sort -u)" = bms.tty ]
	# A printable name with spaces and non-ASCII letters is an id as it is.
	ln -s "$SIM_TTY" "$BATS_TEST_TMPDIR/Shed pack é"
	run --separate-stderr bms-read --count 1 "$BATS_TEST_TMPDIR/Shed pack é"
	[ "$status" -eq 0 ]
	[ "$(jq -r .bms_id <<<"$output" | sort -u)" = "Shed pack é" ]
}

# issue 7: a line that cuts every reply short is garbled, not silent, and
# the message points at the line rather than at the board number.
@test "fault drop on every frame: status error garbled, replies cut short, exit 1" {
	sim_start --speed 0 --fault drop
	run --separate-stderr bms-read --count 1 --timeout 1000 --retries 1 "$SIM_TTY"
	[ "$status" -eq 1 ]
	diff <(norm <<<"$output") - <<'EOF2'
{"type":"status","bms_id":"bms.tty","timestamp":"T","state":"error","reason":"garbled","quality":0,"message":"board 1 on 'TTY' sends replies cut short: check baud rate, cabling and noise on the line"}
EOF2
	[ "$stderr" = "bms-read: board 1 on '$SIM_TTY' sends replies cut short: check baud rate, cabling and noise on the line" ]
	sim_stop

	sim_start --speed 0 --fault drop -p daly-modbus
	run --separate-stderr bms-read --count 1 --timeout 1000 --retries 0 -p daly-modbus "$SIM_TTY"
	[ "$status" -eq 1 ]
	diff <(norm <<<"$output") - <<'EOF2'
{"type":"status","bms_id":"bms.tty","timestamp":"T","state":"error","reason":"garbled","quality":0,"message":"board 1 on 'TTY' sends replies cut short: check baud rate, cabling and noise on the line"}
EOF2
}
