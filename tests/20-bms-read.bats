#!/usr/bin/env bats
# bms-read: poll cycles against bms-sim on a real pty (and over TCP),
# the records they produce, every injected fault survived and reported,
# reconnection, signals and usage errors.

load helper

teardown() {
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

DEFAULT_FRAMES='["a50194081002010002002a0081","a50190080216000074b3031191","a50191080d180c0d050d00008f","a50192084301410200000000c7","a50193080101015a00035a9893","a5019508010d0a0d0d0d08008aa5019508020d0f0d070d0c008ea5019508030d0e0d100d090094a5019508040d0d0d0b0d18009ea5019508050d050d0c0d0e008ea5019508060d0d000000000063","a50196080143410000000000c9","a501970800080000000000004d","a5019808000000000000000046","a5015008000445c000000c8093"]'

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
	run --separate-stderr bms-read --count 3 --interval 0.05 "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(norm <<<"$output") <(cat "$FIX/read-default.ndjson"; sed -n 1p "$FIX/read-default.ndjson"; sed -n 1p "$FIX/read-default.ndjson")
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
	bms-sim --tcp 0 --speed 0 >"$BATS_TEST_TMPDIR/sim.out" 2>"$BATS_TEST_TMPDIR/sim.err" &
	SIM_PID=$!
	for _ in $(seq 100); do
		[ -s "$BATS_TEST_TMPDIR/sim.out" ] && break
		sleep 0.05
	done
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
	[ "$ms" -ge 740 ] && [ "$ms" -lt 1500 ] || { echo "took $ms ms"; false; }
}

@test "bms-read | bms-decode turns a live poll into a reading" {
	command -v bms-decode >/dev/null || skip "bms-decode not built"
	sim_start --speed 0 --fault garbage --fault split
	run --separate-stderr bash -c 'bms-read --count 1 "$0" | bms-decode' "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ "$(jq -r 'select(.type == "reading") | [.pack_voltage, .soc_percent, .cell_voltages[11]] | @csv' <<<"$output")" = "53.4,78.5,3.352" ]
}

# ==== Faults ====

@test "fault checksum on every frame: status error garbled, no frames record, exit 1" {
	sim_start --speed 0 --fault checksum
	run --separate-stderr bms-read --count 1 --timeout 100 "$SIM_TTY"
	[ "$status" -eq 1 ]
	diff <(norm <<<"$output") - <<'EOF'
{"type":"status","bms_id":"bms.tty","timestamp":"T","state":"error","reason":"garbled","quality":0,"message":"board 1 on 'TTY' sends no valid frame: check baud rate and wiring"}
EOF
	[ "$stderr" = "bms-read: board 1 on '$SIM_TTY' sends no valid frame: check baud rate and wiring" ]
}

@test "fault checksum:5: the retries succeed and frames records still come" {
	sim_start --speed 0 --fault checksum:5
	run --separate-stderr bms-read --count 2 --interval 0 --timeout 100 "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ "$(kinds <<<"$output" | tr '\n' ,)" = "frames,status connected ok,frames," ]
	# The fifth reply frame (0x93) came corrupted; its retry is the next element.
	[ "$(frames_of <<<"$output" | head -n 1 | jq -r '.[4:6] | join(" ")')" = "a50193080101015a00035a986c a50193080101015a00035a9893" ]
}

@test "fault sleep: only echoes come back, status error asleep" {
	sim_start --speed 0 --fault sleep
	run --separate-stderr bms-read --count 1 --timeout 100 "$SIM_TTY"
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
	sim_start --speed 0 --fault delay:10 --delay 300
	run --separate-stderr bms-read --count 1 --timeout 200 "$SIM_TTY"
	[ "$status" -eq 0 ]
	# The 10th reply (0x50) is late: its first try is empty, the second
	# holds it (the reply to the retry may follow in the same element).
	[ "$(frames_of <<<"$output" | jq -r 'length, .[9], .[10][0:26]')" = "11

a5015008000445c000000c8093" ]
	[ "$(frames_of <<<"$output" | jq -c '.[0:9]')" = "$(jq -c '.[0:9]' <<<"$DEFAULT_FRAMES")" ]
}

@test "faults drop, garbage, split, concat, extra-temps, cells-16, stale: frames records still come" {
	for f in drop:3 garbage split concat extra-temps cells-16 stale; do
		sim_start --speed 0 --fault "$f"
		run --separate-stderr bms-read --count 2 --interval 0 --timeout 100 "$SIM_TTY"
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
		concat)		[ "$(jq -r '.[0]' <<<"$rec")" = "" ]
				[ "$(jq -r '.[1]' <<<"$rec")" = a50194081002010002002a0081a50194081002010002002a0081 ] ;;
		extra-temps)	[[ "$rec" == *a50196080143410000000000c9a5019608020000000000000046* ]] ;;
		cells-16)	[[ "$rec" == *a5019508100000000000000053* ]] ;;
		stale)		[ "$(jq -r '.[2]' <<<"$rec")" != a50191080d180c0d050d00008f ] ;;
		drop:3)		[[ "$(jq -r '.[2]' <<<"$rec")" == a50191080d180c0d05 ]] ;;
		esac || { echo "$f: $rec"; false; }
	done
}

@test "fault vanish: status disconnected device_gone, then connected again" {
	sim_start --speed 0 --fault vanish:15 --vanish-time 600
	run --separate-stderr bms-read --count 6 --interval 0.1 --timeout 200 --backoff-max 0.5 "$SIM_TTY"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(kinds <<<"$output" | grep status | head -n 3 | tr '\n' ,)" = "status connected ok,status disconnected device_gone,status connected ok," ]
	[ "$(norm <<<"$output" | grep device_gone | head -n 1 | jq -r .message)" = "lost 'TTY': device hung up" ]
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
	bms-read --count 6 --backoff-max 0.3 --interval 0.1 "$SIM_TTY" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 0.3
	sim_start --speed 0
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	[ "$(kinds <"$BATS_TEST_TMPDIR/out" | grep status | tr '\n' ,)" = "status disconnected open_failed,status connected ok," ]
}

@test "SIGTERM ends bms-read promptly with exit 0 and whole records" {
	sim_start --speed 0
	bms-read --interval 0.2 "$SIM_TTY" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 0.5
	t0=$(date +%s%N)
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$rc" -eq 0 ]
	[ "$ms" -lt 500 ] || { echo "took $ms ms"; false; }
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	jq -e . "$BATS_TEST_TMPDIR/out" >/dev/null
	[ "$(kinds <"$BATS_TEST_TMPDIR/out" | grep -c frames)" -ge 2 ]
}

@test "SIGTERM during a long wait for a sleeping BMS ends it promptly" {
	sim_start --speed 0 --fault sleep
	bms-read --timeout 5000 "$SIM_TTY" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 0.3
	t0=$(date +%s%N)
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$rc" -eq 0 ]
	[ "$ms" -lt 600 ] || { echo "took $ms ms"; false; }
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
	[ "${stderr_lines[3]}" = "Try 'bms-read --help' for more information." ]

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
