#!/usr/bin/env bats
# bms-sim: the Daly simulator.  Replies are compared byte for byte with the
# worked examples of the Daly protocol notes (A5 section 4.1, D2 section
# 4.2), which the defaults reproduce with --speed 0.

load helper

# ---- helpers ----------------------------------------------------------

# a5req ID [HOST]: an A5 read request (zero payload) as hex.
a5req() {
	local id=$((16#$1)) host=$((16#${2:-40}))
	printf 'a5%02x%02x080000000000000000%02x' "$host" "$id" $(((0xa5 + host + id + 8) & 255))
}

# a5frame ADDR ID PAYLOAD: a 13-byte frame with its checksum, as hex.
a5frame() {
	local f="a5$1$2""08$3" sum=0 i
	for ((i = 0; i < 24; i += 2)); do sum=$((sum + 16#${f:i:2})); done
	printf '%s%02x' "$f" $((sum & 255))
}

# crc16 HEX: CRC-16/MODBUS of the bytes, low byte first, as hex.
crc16() {
	local hex=$1 crc=0xffff i b
	for ((i = 0; i < ${#hex}; i += 2)); do
		crc=$((crc ^ 16#${hex:i:2}))
		for ((b = 0; b < 8; b++)); do
			if ((crc & 1)); then crc=$(((crc >> 1) ^ 0xa001)); else crc=$((crc >> 1)); fi
		done
	done
	printf '%02x%02x' $((crc & 255)) $((crc >> 8))
}

# d2req FUNC REG VALUE: a D2 request (read: VALUE = count) as hex.
d2req() {
	local f
	f=$(printf 'd2%02x%04x%04x' $((16#$1)) $((16#$2)) $((16#$3)))
	printf '%s%s' "$f" "$(crc16 "$f")"
}

# sim HEX ARGS...: bms-sim --stdio fed the bytes HEX; prints the reply as
# one line of hex.  Use with run --separate-stderr.
sim() {
	local hex=$1
	shift
	set -o pipefail
	printf '%s' "$hex" | xxd -r -p | bms-sim --stdio "$@" | xxd -p | tr -d '\n'
}

# ms_since T0: milliseconds since $EPOCHREALTIME was T0.
ms_since() {
	local now=$EPOCHREALTIME
	echo $(((${now/./} - ${1/./}) / 1000))
}

# No test depends on how fast anything runs: a test waits for an event
# (output, a reply, an exit), and the 10 s limits below only keep a
# broken simulator from hanging the suite.

# wait_for CMD...: until CMD succeeds; fails after 10 s.
wait_for() {
	local end=$((SECONDS + 11))
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.02
	done
}

# has_lines FILE N: FILE has at least N lines.
has_lines() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

# reply FD N: the next N bytes from descriptor FD as hex (10 s at most).
reply() {
	timeout 10 head -c "$2" <&"$1" | xxd -p | tr -d '\n'
}

# wait_exit PID: wait for background job PID to end and return its exit
# status; after 10 s it is killed (status 137).
wait_exit() {
	local end=$((SECONDS + 11))
	while kill -0 "$1" 2>/dev/null && ((SECONDS < end)); do
		sleep 0.02
	done
	kill -0 "$1" 2>/dev/null && kill -KILL "$1"
	wait "$1"
}

# sim_stop_by SIG: send SIG to the simulator of sim_start; succeeds if it
# then exits 0 (within the 10 s of wait_exit).
sim_stop_by() {
	local rc=0
	kill -"$1" "$SIM_PID"
	wait_exit "$SIM_PID" || rc=$?
	SIM_PID=
	[ "$rc" -eq 0 ] || { echo "exit status $rc after SIG$1"; false; }
}

# poll N [bms-read options]: N polls of the simulator of sim_start by
# bms-read, back to back, decoded by bms-decode; prints the reading
# records, one a line, compact.  The raw frames records go to
# $BATS_TEST_TMPDIR/frames.ndjson.
poll() {
	local n=$1
	shift
	set -o pipefail
	bms-read "$@" --count "$n" --interval 0 --timeout 2000 "$SIM_TTY" \
		>"$BATS_TEST_TMPDIR/frames.ndjson" &&
		bms-decode <"$BATS_TEST_TMPDIR/frames.ndjson" | jq -c 'select(.type == "reading")'
}

# field JQ: one line per reading of $output, the value of jq filter JQ.
field() {
	jq -c "$1" <<<"$output"
}

# The frames of section 4.1, by request ID.
declare -gA DOC=(
	[90]=a50190080216000074b3031191
	[91]=a50191080d180c0d050d00008f
	[92]=a50192084301410200000000c7
	[93]=a50193080101015a00035a9893
	[94]=a50194081002010002002a0081
	[95]=a5019508010d0a0d0d0d08008aa5019508020d0f0d070d0c008ea5019508030d0e0d100d090094a5019508040d0d0d0b0d18009ea5019508050d050d0c0d0e008ea5019508060d0d000000000063
	[96]=a50196080143410000000000c9
	[97]=a501970800080000000000004d
	[98]=a5019808000000000000000046
	[50]=a5015008000445c000000c8093
)

# The 129-byte reply of section 4.2 to a read of 62 registers from 0.
D2_LIVE=$(tr -d ' \n' <<'EOF' | tr A-F a-f
D2 03 7C 0D 0A 0D 0D 0D 08 0D 0F 0D 07 0D 0C 0D
0E 0D 10 0D 09 0D 0D 0D 0B 0D 18 0D 05 0D 0C 0D
0E 0D 0D 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 43 00 41 00 00 00 00 00 00 00 00 00
00 00 00 02 16 75 AD 03 11 0D 18 0D 05 00 43 00
41 00 01 08 96 00 10 00 02 00 2A 00 01 00 01 00
01 0D 0C 00 13 02 9C 00 00 00 00 00 00 00 00 23
18
EOF
)

teardown() {
	sim_stop
}

# ---- A5 replies -------------------------------------------------------

@test "A5: each request of the worked poll gets the documented frames" {
	for id in 90 91 92 93 94 95 96 97 98 50; do
		run --separate-stderr sim "$(a5req $id)" --speed 0
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[ "$output" = "${DOC[$id]}" ] || { echo "0x$id: $output"; false; }
	done
}

@test "A5: the defaults hold at --speed 1: model time starts at the first request" {
	# However late the simulator gets to it, the first request is answered
	# at model time 0; the second a moment later, too soon to show.
	run --separate-stderr sim "$(a5req 90)$(a5req 95)"
	[ "$status" -eq 0 ]
	[ "$output" = "${DOC[90]}${DOC[95]}" ]
}

@test "A5: concatenated requests among garbage are answered in order" {
	run --separate-stderr sim "ff00a5$(a5req 94)1234$(a5req 90)a5a5$(a5req 98)" --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "${DOC[94]}${DOC[90]}${DOC[98]}" ]
}

@test "A5: a request split over two writes is answered once complete" {
	local r
	r=$(a5req 93)
	set -o pipefail
	# The pause makes two reads likely; the answer is the same with one.
	run --separate-stderr bash -c "set -o pipefail
		{ printf '${r:0:10}' | xxd -r -p; sleep 0.1; printf '${r:10}' | xxd -r -p; } |
		bms-sim --stdio --speed 0 | xxd -p | tr -d '\n'"
	[ "$status" -eq 0 ]
	[ "$output" = "${DOC[93]}" ]
}

@test "A5: a bad checksum and an unknown ID get no answer" {
	run --separate-stderr sim "a540900800000000000000007e$(a5req 77)$(a5req 91)" --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "${DOC[91]}" ]
}

@test "A5: host 0x80 (Bluetooth dongle) reaches board 1; 0x62 and 0x63 send two frames" {
	run --separate-stderr sim "$(a5req 90 80)$(a5req 62)$(a5req 63)" --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "${DOC[90]}$(a5frame 01 62 01626d732d73696d)$(a5frame 01 62 0220302e312e3000)$(a5frame 01 63 01444c2d424d532d)$(a5frame 01 63 0253494d00000000)" ]
}

@test "A5: switching the charge MOSFET off stops the charge" {
	run --separate-stderr sim "$(a5frame 40 da 0000000000000000)$(a5req 90)$(a5req 93)$(a5frame 40 da 0100000000000000)$(a5req 93)" --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "$(a5frame 01 da 0000000000000000)$(a5frame 01 90 0216000075300311)$(a5frame 01 93 0000015a00035a98)$(a5frame 01 da 0100000000000000)${DOC[93]}" ]
}

@test "A5: the discharge MOSFET switch is echoed and reported" {
	run --separate-stderr sim "$(a5frame 40 d9 0000000000000000)$(a5req 93)" --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "$(a5frame 01 d9 0000000000000000)$(a5frame 01 93 0101005a00035a98)" ]
}

@test "A5: --boards 2: board 2 answers 0x41 with address 02, board 1 stays silent" {
	run --separate-stderr sim "$(a5req 90 41)" --boards 2 --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = a50290080216000074b3030788 ]
	run --separate-stderr sim "$(a5req 91 41)$(a5req 91 40)$(a5req 91 42)" --boards 2 --speed 0
	[ "$output" = "$(a5frame 02 91 0d170c0d040d0000)${DOC[91]}" ]
}

# ---- the model --------------------------------------------------------

@test "model: a discharge profile reads as a discharge" {
	run --separate-stderr sim "$(a5req 90)$(a5req 93)$(a5req 94)" --profile -50:10,20:5 --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "$(a5frame 01 90 0215000077240311)$(a5frame 01 93 0201015a00035a98)$(a5frame 01 94 1002000102002a00)" ]
}

@test "model: a full pack stops charging; nothing balances" {
	run --separate-stderr sim "$(a5req 90)$(a5req 93)$(a5req 97)" --soc 100 --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "$(a5frame 01 90 02290000753003e8)$(a5frame 01 93 0001015a000445c0)$(a5frame 01 97 0000000000000000)" ]
}

@test "model: time runs with --speed; an emptied pack counts a cycle and raises alarms" {
	local empty r soc last=1000 end=$((SECONDS + 11))
	sim_start --soc 100 --current -280 --cycles 7 --speed 360000
	exec 5<>"$SIM_TTY"
	# Model time 0 is the first request: a full pack, 280 A flowing out.
	a5req 90 | xxd -r -p >&5
	[ "$(reply 5 13)" = "$(a5frame 01 90 02210000802003e8)" ]
	# An hour of model time is 10 ms here; ask until the pack reads empty
	# and idle, however long that takes, and the SOC never rises meanwhile.
	empty=$(a5frame 01 90 0191000075300000)
	while :; do
		a5req 90 | xxd -r -p >&5
		r=$(reply 5 13)
		soc=$((16#${r:20:4}))
		[ "$soc" -le "$last" ] || { echo "SOC rose from $last to $soc: $r"; false; }
		last=$soc
		[ "$r" != "$empty" ] || break
		((SECONDS < end)) || { echo "still not empty: $r"; false; }
	done
	# Once empty the pack stands still: a cycle counted, alarms raised.
	a5req 94 | xxd -r -p >&5
	[ "$(reply 5 13)" = "$(a5frame 01 94 1002000102000800)" ]
	a5req 98 | xxd -r -p >&5
	[ "$(reply 5 13)" = "$(a5frame 01 98 4400c00000000000)" ]
	exec 5<&-
}

@test "model: other chemistries and sizes follow their curves" {
	# NMC at 78.5 %: 3968 mV open-circuit, + 10 A * 0.2 mOhm, + the spread.
	run --separate-stderr sim "$(a5req 94)$(a5req 90)$(a5req 91)$(a5req 95)$(a5req 96)" \
		--chemistry nmc --cells 4 --temps 8 --current 10 --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "$(a5frame 01 94 0408010002002a00)$(a5frame 01 90 009f000074cc0311)$(a5frame 01 91 0f8e040f87030000)$(a5frame 01 95 010f890f8c0f8700)$(a5frame 01 95 020f8e0000000000)$(a5frame 01 96 0143414240444241)$(a5frame 01 96 0243000000000000)" ]
}

# ---- model time by polls, weak and drifting cells, dead probes --------

@test "--tick: model time advances by exactly S at every poll, not with the clock" {
	# The BMS life byte counts model seconds: 0x5a, then +1 per poll, and
	# 12.5 A adds 3.47 mAh a second to 219800 mAh.
	run --separate-stderr sim "$(a5req 93)$(a5req 90)$(a5req 93)$(a5req 93)" --tick 1
	[ "$status" -eq 0 ]
	[ "$output" = "${DOC[93]}${DOC[90]}$(a5frame 01 93 0101015b00035a9b)$(a5frame 01 93 0101015c00035a9f)" ]
	run --separate-stderr bms-sim --tick 1 --speed 1
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-sim: give only one of --speed and --tick" ]
}

@test "--tick: the n-th reading of bms-read shows model time n times S" {
	# 12.5 A into 280 Ah for an hour a poll: 4.46 % and 12.5 Ah per reading.
	sim_start --tick 3600
	run --separate-stderr poll 4
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field '.remaining_capacity_ah' | tr '\n' ' ')" = "219.8 232.3 244.8 257.3 " ]
}

@test "--drift-cell: from START the cell departs by the rate times the model hours since" {
	# No current: the model stands, so only the drift moves; -60 mV an
	# hour from model hour 2, an hour a poll.
	sim_start --tick 3600 --current 0 --drift-cell 2:-60@7200
	run --separate-stderr poll 7
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field '.cell_voltages[1]' | tr '\n' ' ')" = "3.339 3.339 3.339 3.279 3.219 3.159 3.099 " ]
	# The other cells stay where they are; the pack sums what is measured
	# (53412 mV, less 60 mV a poll, in 0.1 V).
	[ "$(field '.cell_voltages | del(.[1])' | sort -u | wc -l)" -eq 1 ]
	[ "$(field '[.cell_voltages[0], .cell_voltages[15]]' | sort -u)" = "[3.336,3.339]" ]
	[ "$(field '.pack_voltage' | tr '\n' ' ')" = "53.4 53.4 53.4 53.4 53.3 53.2 53.2 " ]
}

@test "--drift-cell: an upward drift is measured: the cell balances, raises alarms, stops the charge" {
	# +100 mV an hour from 0 while charging at 12.5 A, cell 5, an hour a
	# poll: at hour 1, SOC 82.96 %, 3332.96 mV + 2.5 mV IR + 4 mV + 100 mV.
	sim_start --tick 3600 --drift-cell 5:100
	run --separate-stderr poll 5
	[ "$status" -eq 0 ]
	[ "$(field '.cell_voltages[4]' | sed -n 1,4p | tr '\n' ' ')" = "3.335 3.439 3.544 3.65 " ]
	[ "$(field '.balancing_status.cells_balancing' | sed -n 1,4p | tr '\n' ' ')" = "[12] [5,12] [5,12] [5,12] " ]
	[ "$(field '.warning_codes' | sed -n 1,4p | tr '\n' ' ')" = '[] [] [] ["cell_voltage_high","cell_voltage_diff"] ' ]
	[ "$(field '.fault_codes' | sed -n 1,4p | tr '\n' ' ')" = '[] [] [] ["cell_voltage_high"] ' ]
	# Once its open-circuit voltage passes 3650 mV the charge stops.
	[ "$(field '.pack_current' | tr '\n' ' ')" = "12.5 12.5 12.5 12.5 0 " ]
}

@test "--weak-cell: the weak cell's SOC runs ahead; it is full first, and sets the pack's SOC" {
	# 100 Ah, cell 3 holds 50 Ah; 25 A for a fifth of an hour a poll: the
	# other cells gain 5 %, cell 3 (and so the pack) 10 %.
	sim_start --tick 720 --capacity 100 --weak-cell 3:50 --soc 50 --current 25
	run --separate-stderr poll 7
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field '[.soc_percent, .pack_current, .remaining_capacity_ah]' | tr '\n' ' ')" = "[50,25,25] [60,25,30] [70,25,35] [80,25,40] [90,25,45] [100,0,50] [100,0,50] " ]
	# OCV at the cell's SOC + 25 A * 0.56 mOhm + its spread; full: the top knee.
	[ "$(field '.cell_voltages[2]' | tr '\n' ' ')" = "3.314 3.324 3.339 3.349 3.359 3.455 3.455 " ]
	# Cell 1 is at 75 % when cell 3 is full.
	[ "$(field '.cell_voltages[0]' | tr '\n' ' ')" = "3.316 3.321 3.326 3.334 3.341 3.332 3.332 " ]
	# Climbing ahead, cell 3 balances like any high cell.
	[ "$(field '.balancing_status.cells_balancing' | tr '\n' ' ')" = "[12] [12] [3,12] [3,12] [3,12] [] [] " ]
	[ "$(field '.nominal_capacity_ah' | head -1)" = 100 ]
}

@test "--weak-cell: discharging, the weak cell sags to the bottom knee first and the discharge stops" {
	sim_start --tick 720 --capacity 100 --weak-cell 3:50 --soc 50 --current -25
	run --separate-stderr poll 7
	[ "$status" -eq 0 ]
	[ "$(field '[.soc_percent, .pack_current]' | tr '\n' ' ')" = "[50,-25] [40,-25] [30,-25] [20,-25] [10,-25] [0,0] [0,0] " ]
	[ "$(field '.cell_voltages[2]' | tr '\n' ' ')" = "3.286 3.271 3.251 3.221 3.141 2.505 2.505 " ]
	# The others are at 25 % and read on the flat of the curve.
	[ "$(field '.cell_voltages | del(.[2]) | min' | tail -1)" = 3.247 ]
	[ "$(field '.warning_codes' | tail -1)" = '["cell_voltage_low","soc_low","cell_voltage_diff"]' ]
}

@test "--soh: a full discharge at --capacity 100 --soh 80 delivers 80 Ah, then stops at the knee" {
	# 40 A out, a tenth of an hour a poll: each reading's current flows
	# for 0.1 h until the next.
	sim_start --tick 360 --capacity 100 --soh 80 --soc 100 --current -40
	run --separate-stderr poll 24
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	local ah
	ah=$(field '.pack_current' | awk '{ ah -= $1 * 0.1 } END { printf "%.3f", ah }')
	awk -v ah="$ah" 'BEGIN { exit !(ah >= 79.5 && ah <= 80.5) }' || { echo "delivered $ah Ah"; false; }
	[ "$ah" = 80.000 ]
	# Full: 80 Ah remaining of a nominal 100; empty at reading 20 exactly.
	[ "$(field '[.soc_percent, .remaining_capacity_ah, .nominal_capacity_ah]' | head -1)" = "[100,80,100]" ]
	[ "$(field '.pack_current' | grep -c '^-40$')" -eq 20 ]
	[ "$(field '[.soc_percent, .pack_current, .remaining_capacity_ah]' | sed -n 20,24p | sort -u | tr '\n' ' ')" = "[0,0,0] [5,-40,4] " ]
	# Every cell at the bottom knee (2500 mV + its spread), a cycle counted.
	[ "$(field '[(.cell_voltages | min), (.cell_voltages | max), .cycles]' | sed -n 21p)" = "[2.502,2.521,43]" ]
	[ "$(field '.cycles' | head -1)" = 42 ]
}

@test "--profile: full cycles, charged until full and discharged until empty" {
	# 140 A on 280 Ah: 25 % a half-hour poll; each step of 2.5 h outlasts
	# the 2 h a full charge or discharge takes.
	sim_start --tick 1800 --profile 140:9000,-140:9000 --soc 50
	run --separate-stderr poll 21
	[ "$status" -eq 0 ]
	[ "$(field '.soc_percent' | tr '\n' ' ')" = "50 75 100 100 100 100 75 50 25 0 0 25 50 75 100 100 75 50 25 0 0 " ]
	[ "$(field '.pack_current' | tr '\n' ' ')" = "140 140 0 0 0 -140 -140 -140 -140 0 140 140 140 140 0 -140 -140 -140 -140 0 140 " ]
	[ "$(field '.cycles' | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" = "42:9 43:10 44:2 " ]
	# At full the top knee leads, at empty the bottom one.
	[ "$(field '.cell_voltages | max' | sed -n 3p)" = 3.471 ]
	[ "$(field '.cell_voltages | min' | sed -n 10p)" = 2.502 ]
}

@test "--dead-probe: from START the probe reads as a failed sensor (A5 0xFF, D2 0x00FF)" {
	run --separate-stderr sim "$(a5req 96)$(a5req 92)" --dead-probe 1 --speed 0
	[ "$status" -eq 0 ]
	# Probe 1 reads 0xff and the extremes are those of probe 2.
	[ "$output" = "$(a5frame 01 96 01ff410000000000)$(a5frame 01 92 4102410200000000)" ]
	run --separate-stderr sim "$(d2req 03 20 2)" -p daly-modbus --dead-probe 2 --speed 0
	[ "$output" = "d20304004300ff$(crc16 d20304004300ff)" ]
	# Every probe dead: the extremes read 0xff, probe 0.
	run --separate-stderr sim "$(a5req 92)" --dead-probe 1 --dead-probe 2 --speed 0
	[ "$output" = "$(a5frame 01 92 ff00ff0000000000)" ]
}

@test "--dead-probe: the warning and the missing temperature come at START, not before" {
	sim_start --tick 1000 --current 0 --dead-probe 2@3000
	run --separate-stderr poll 5
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field '[.temperatures, .warning_codes, .temp_count]' | tr '\n' ' ')" = '[[27,25],[],2] [[27,25],[],2] [[27,25],[],2] [[27],["temperature_sensor_2_fault"],1] [[27],["temperature_sensor_2_fault"],1] ' ]
	sim_stop
	sim_start -p daly-modbus --tick 1000 --current 0 --temps 3 --dead-probe 1@2000
	run --separate-stderr poll 4 -p daly-modbus
	[ "$status" -eq 0 ]
	[ "$(field '[.temperatures, .warning_codes]' | tr '\n' ' ')" = '[[27,25,26],[]] [[27,25,26],[]] [[25,26],["temperature_sensor_1_fault"]] [[25,26],["temperature_sensor_1_fault"]] ' ]
}

@test "--dead-probe with --speed: START is model time; once failed, the probe stays failed" {
	local live dead r n end=$((SECONDS + 11))
	live=$(a5frame 01 96 0143410000000000)
	dead=$(a5frame 01 96 0143ff0000000000)
	sim_start --speed 1000000 --current 0 --dead-probe 2@3600
	exec 5<>"$SIM_TTY"
	# The first request is model time 0, before START however slow we are.
	a5req 96 | xxd -r -p >&5
	[ "$(reply 5 13)" = "$live" ]
	# An hour of model time is 3.6 ms: ask until the probe fails.
	while :; do
		a5req 96 | xxd -r -p >&5
		r=$(reply 5 13)
		[ "$r" != "$dead" ] || break
		[ "$r" = "$live" ] || { echo "unexpected $r"; false; }
		((SECONDS < end)) || { echo "probe 2 still alive"; false; }
	done
	for ((n = 0; n < 20; n++)); do
		a5req 96 | xxd -r -p >&5
		[ "$(reply 5 13)" = "$dead" ]
	done
	exec 5<&-
}

@test "--freeze-after: from that model time every answer is the last one, bit for bit" {
	# Without a freeze the second answer shows an hour later: BMS life
	# byte 0x6a, 12.5 Ah more.  With one, the first answer again.
	run --separate-stderr sim "$(a5req 93)$(a5req 93)" --tick 3600
	[ "$output" = "${DOC[93]}$(a5frame 01 93 0101016a00038b6c)" ]
	run --separate-stderr sim "$(a5req 93)$(a5req 93)$(a5req 91)" --tick 3600 --freeze-after 1 -v
	[ "$status" -eq 0 ]
	# 0x91 was never answered: it is answered live (at model hour 1).
	[ "$output" = "${DOC[93]}${DOC[93]}$(a5frame 01 91 0d1c0c0d090d0000)" ]
	[ "${stderr_lines[1]}" = "bms-sim: rx $(a5req 93) tx ${DOC[93]} [replay]" ]
	[ "${stderr_lines[2]}" = "bms-sim: rx $(a5req 91) tx $(a5frame 01 91 0d1c0c0d090d0000)" ]
}

@test "--freeze-after: readings are identical but for the timestamp after the freeze, not before" {
	sim_start --tick 1000 --freeze-after 3000
	run --separate-stderr poll 6
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	local -a r
	mapfile -t r < <(field 'del(.timestamp)')
	[ "${#r[@]}" -eq 6 ]
	# Polls 0, 1, 2 differ (the pack charges); 3, 4, 5 replay poll 2.
	[ "${r[0]}" != "${r[1]}" ] && [ "${r[1]}" != "${r[2]}" ]
	[ "${r[3]}" = "${r[2]}" ] && [ "${r[4]}" = "${r[2]}" ] && [ "${r[5]}" = "${r[2]}" ]
	[ "$(field '.soc_percent' | tr '\n' ' ')" = "78.5 79.7 81 81 81 81 " ]
	# The frames themselves are the same bytes; the timestamps move on.
	[ "$(jq -c 'select(.type == "frames") | .frames' "$BATS_TEST_TMPDIR/frames.ndjson" | sed -n '3,6p' | sort -u | wc -l)" -eq 1 ]
	[ "$(jq -r 'select(.type == "frames") | .timestamp' "$BATS_TEST_TMPDIR/frames.ndjson" | uniq | wc -l)" -ge 2 ]
}

# ---- D2 Modbus --------------------------------------------------------

@test "D2: a read of 62 registers from 0 is the documented 129-byte reply" {
	[ "$(d2req 03 0 3e)" = d2030000003ed7b9 ]
	run --separate-stderr sim d2030000003ed7b9 -p daly-modbus --speed 0
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "$D2_LIVE" ]
}

@test "D2: registers 0x3e-0x3f hold the balance bits; out-of-range reads get no reply" {
	run --separate-stderr sim "$(d2req 03 3c 4)$(d2req 03 4f 2)$(d2req 03 3e 2)" -p daly-modbus --speed 0
	[ "$status" -eq 0 ]
	# Cell 12 balances: bit 11 of register 0x3e.
	[ "$output" = "d2030800000000080000003030d20304080000001a9e" ]
	[ "$(crc16 d203080000000008000000)" = 3030 ]
}

@test "D2: MOSFET writes are echoed and switch the MOSFET" {
	local w r
	w=$(d2req 06 a6 0)
	r=$(d2req 03 35 2)
	run --separate-stderr sim "$w$r" -p daly-modbus --speed 0
	[ "$status" -eq 0 ]
	[ "$w" = d20600a600007a4a ]
	[ "$output" = "${w}d2030400010000$(crc16 d2030400010000)" ]
}

@test "D2: the settings block starts with rated capacity and nominal voltage" {
	run --separate-stderr sim "$(d2req 03 80 2)" -p daly-modbus --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "d203040af00c80$(crc16 d203040af00c80)" ]
}

# ---- faults -----------------------------------------------------------

@test "fault checksum: the checksum byte is inverted, on every EVERY-th frame" {
	run --separate-stderr sim "$(a5req 90)" --fault checksum --speed 0
	[ "$output" = a50190080216000074b303116e ]
	run --separate-stderr sim "$(a5req 90)$(a5req 91)" --fault checksum:2 --speed 0
	[ "$output" = "${DOC[90]}a50191080d180c0d050d000070" ]
}

@test "fault drop: the last 4 bytes of a frame are lost" {
	run --separate-stderr sim "$(a5req 90)$(a5req 98)" --fault drop:2 --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "${DOC[90]}a50198080000000000" ]
}

@test "fault garbage: 1 to 8 random bytes precede the reply, the same for one seed" {
	run --separate-stderr sim "$(a5req 90)" --fault garbage --seed 7 --speed 0
	[ "$status" -eq 0 ]
	local first=$output junk=$((${#output} - 26))
	[ "${output:junk}" = "${DOC[90]}" ]
	[ "$junk" -ge 2 ] && [ "$junk" -le 16 ]
	run --separate-stderr sim "$(a5req 90)" --fault garbage --seed 7 --speed 0
	[ "$output" = "$first" ]
}

@test "fault split: the reply goes out in pieces, bytes unchanged" {
	run --separate-stderr sim "$(a5req 90)" --fault split --speed 0 -v
	[ "$status" -eq 0 ]
	[ "$output" = "${DOC[90]}" ]
	[ "$stderr" = "bms-sim: rx $(a5req 90) tx ${DOC[90]} [split]" ]
}

@test "fault concat: a reply is held back and sent with the next one" {
	run --separate-stderr sim "$(a5req 90)$(a5req 91)$(a5req 92)" --fault concat --speed 0 -v
	[ "$status" -eq 0 ]
	# The third reply is held when stdin ends, and never sent.
	[ "$output" = "${DOC[90]}${DOC[91]}" ]
	[ "${stderr_lines[0]}" = "bms-sim: rx $(a5req 90) tx none [concat]" ]
	[ "${stderr_lines[1]}" = "bms-sim: rx $(a5req 91) tx ${DOC[90]}${DOC[91]}" ]
	[ "${stderr_lines[2]}" = "bms-sim: rx $(a5req 92) tx none [concat]" ]
}

@test "fault delay: the reply waits --delay ms; --latency adds to every reply" {
	# Lower bounds only: a loaded machine makes the waits longer, not shorter.
	local t0=$EPOCHREALTIME
	run --separate-stderr sim "$(a5req 90)" --fault delay --delay 300 --latency 100 --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "${DOC[90]}" ]
	[ "$(ms_since "$t0")" -ge 400 ]
}

@test "--pace: a request is answered at wire speed" {
	local t0=$EPOCHREALTIME
	# 2400 baud: 13 request bytes, then 78 reply bytes, 4.17 ms each.
	run --separate-stderr sim "$(a5req 95)" --pace --baud 2400 --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "${DOC[95]}" ]
	[ "$(ms_since "$t0")" -ge 370 ]
}

@test "fault sleep: every request is echoed unchanged, nothing else is sent" {
	local poll
	poll=$(a5req 94)$(a5req 90)$(a5req 95)
	run --separate-stderr sim "$poll" --fault sleep --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "$poll" ]
	run --separate-stderr sim "$(d2req 03 0 3e)" --fault sleep -p daly-modbus --speed 0
	[ "$output" = d2030000003ed7b9 ]
}

@test "fault extra-temps: 0x96 gets a second, all-zero frame" {
	run --separate-stderr sim "$(a5req 96)" --fault extra-temps --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "${DOC[96]}a5019608020000000000000046" ]
}

@test "fault cells-16: 0x95 gets all 16 frames, the surplus ones zero" {
	local want=${DOC[95]} k
	for k in 07 08 09 0a 0b 0c 0d 0e 0f 10; do
		want+=$(a5frame 01 95 "${k}00000000000000")
	done
	run --separate-stderr sim "$(a5req 95)" --fault cells-16 --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
}

@test "fault stale: unused bytes and padding slots hold the previous frame's" {
	run --separate-stderr sim "$(a5req 90)$(a5req 91)$(a5req 92)$(a5req 93)$(a5req 94)$(a5req 95)" --fault stale --speed 0
	[ "$status" -eq 0 ]
	[ "$output" = "${DOC[90]}$(a5frame 01 91 0d180c0d050d0311)$(a5frame 01 92 43014102050d0311)${DOC[93]}$(a5frame 01 94 1002010002002a98)$(a5frame 01 95 010d0a0d0d0d0898)$(a5frame 01 95 020d0f0d070d0c98)$(a5frame 01 95 030d0e0d100d0998)$(a5frame 01 95 040d0d0d0b0d1898)$(a5frame 01 95 050d050d0c0d0e98)$(a5frame 01 95 060d0d0d0c0d0e98)" ]
}

@test "fault NAME:EVERY counts per fault" {
	run --separate-stderr sim "$(a5req 90)$(a5req 90)$(a5req 90)$(a5req 90)" --fault sleep:2 --fault checksum:3 --speed 0
	[ "$status" -eq 0 ]
	# Requests 2 and 4 are echoed; reply frames 1 and 2 (requests 1, 3) pass.
	[ "$output" = "${DOC[90]}$(a5req 90)${DOC[90]}$(a5req 90)" ]
}

# ---- transports -------------------------------------------------------

@test "pty: prints the slave path, links it, answers on it; SIGTERM removes the link" {
	sim_start --speed 0
	wait_line "$BATS_TEST_TMPDIR/sim.out" '^/dev/pts/'
	local path
	path=$(cat "$BATS_TEST_TMPDIR/sim.out")
	[[ "$path" == /dev/pts/* ]]
	[ "$(readlink "$SIM_TTY")" = "$path" ]
	exec 5<>"$SIM_TTY"
	a5req 90 | xxd -r -p >&5
	[ "$(reply 5 13)" = "${DOC[90]}" ]
	exec 5<&-
	sim_stop_by TERM
	[ ! -L "$SIM_TTY" ]
	[ ! -s "$BATS_TEST_TMPDIR/sim.err" ]
}

@test "pty: an existing symlink is replaced, anything else refused" {
	ln -s /nonexistent "$BATS_TEST_TMPDIR/bms.tty"
	sim_start --speed 0
	wait_line "$BATS_TEST_TMPDIR/sim.out" '^/dev/pts/'
	[ "$(readlink "$SIM_TTY")" = "$(cat "$BATS_TEST_TMPDIR/sim.out")" ]
	sim_stop
	touch "$BATS_TEST_TMPDIR/file"
	run --separate-stderr bms-sim --link "$BATS_TEST_TMPDIR/file"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-sim: cannot link '$BATS_TEST_TMPDIR/file': it exists and is not a symbolic link" ]
}

@test "pty: fault vanish removes the device and brings it back on a new pty" {
	local out=$BATS_TEST_TMPDIR/sim.out first rc=0
	sim_start --speed 0 --fault vanish:2 --vanish-time 300
	wait_line "$out" '^/dev/pts/'
	first=$(cat "$out")
	exec 5<>"$SIM_TTY"
	a5req 90 | xxd -r -p >&5
	[ "$(reply 5 13)" = "${DOC[90]}" ]
	# The second request makes the device vanish: the reader is hung up
	# (its read ends without data at once), then a new pty is announced.
	a5req 90 | xxd -r -p >&5
	timeout 10 head -c 1 <&5 >"$BATS_TEST_TMPDIR/rest" 2>/dev/null || rc=$?
	[ "$rc" -ne 124 ]
	[ ! -s "$BATS_TEST_TMPDIR/rest" ]
	wait_line "$out" '^/dev/pts/' 2
	# Still open here, the old pty keeps its number: the new one differs.
	exec 5<&-
	[ "$(wc -l <"$out")" -eq 2 ]
	[ "$(sed -n 2p "$out")" != "$first" ]
	[ "$(readlink "$SIM_TTY")" = "$(sed -n 2p "$out")" ]
	exec 5<>"$SIM_TTY"
	a5req 91 | xxd -r -p >&5
	[ "$(reply 5 13)" = "${DOC[91]}" ]
	exec 5<&-
	[ "$(cat "$BATS_TEST_TMPDIR/sim.err")" = "bms-sim: the device vanishes for 300 ms" ]
}

@test "pty: while the device is away its link is gone; SIGTERM ends the wait" {
	local rc=0
	sim_start --speed 0 --fault vanish --vanish-time 600000
	wait_line "$BATS_TEST_TMPDIR/sim.out" '^/dev/pts/'
	exec 5<>"$SIM_TTY"
	a5req 90 | xxd -r -p >&5
	# Hung up: the link went before the pty closed.
	timeout 10 head -c 1 <&5 >/dev/null 2>&1 || rc=$?
	[ "$rc" -ne 124 ]
	exec 5<&-
	[ ! -L "$SIM_TTY" ]
	sim_stop_by TERM
	[ ! -L "$SIM_TTY" ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/sim.out")" -eq 1 ]
}

@test "pty: SIGTERM stops the simulator when nobody reads its replies" {
	local req n
	# 400 requests of 208-byte replies: far more than a pty holds unread.
	sim_start --speed 0 --cells 48 -v
	req=$(a5req 95)
	exec 5<>"$SIM_TTY"
	for ((n = 0; n < 400; n++)); do printf '%s' "$req"; done | xxd -r -p >&5
	# 20 replies fit in any pty; the simulator then waits for room.
	wait_line "$BATS_TEST_TMPDIR/sim.err" '^bms-sim: rx ' 20
	sim_stop_by TERM
	exec 5<&-
}

@test "tcp: port 0 prints the real port and answers one client after another" {
	bms-sim --tcp 0 --speed 0 >"$BATS_TEST_TMPDIR/sim.out" 2>"$BATS_TEST_TMPDIR/sim.err" &
	SIM_PID=$!
	wait_line "$BATS_TEST_TMPDIR/sim.out" '^tcp://'
	local url port
	url=$(cat "$BATS_TEST_TMPDIR/sim.out")
	[[ "$url" =~ ^tcp://127\.0\.0\.1:[1-9][0-9]*$ ]]
	port=${url##*:}
	for id in 90 98; do
		exec 5<>"/dev/tcp/127.0.0.1/$port"
		a5req $id | xxd -r -p >&5
		[ "$(reply 5 13)" = "${DOC[$id]}" ]
		exec 5<&-
	done
	sim_stop_by INT
	[ ! -s "$BATS_TEST_TMPDIR/sim.err" ]
}

@test "tcp: SIGTERM while waiting for a client, or for a client's request, exits 0" {
	local port
	bms-sim --tcp 0 --speed 0 >"$BATS_TEST_TMPDIR/sim.out" 2>"$BATS_TEST_TMPDIR/sim.err" &
	SIM_PID=$!
	# Printed once listening: from then on the simulator waits in accept.
	wait_line "$BATS_TEST_TMPDIR/sim.out" '^tcp://'
	sim_stop_by TERM
	[ ! -s "$BATS_TEST_TMPDIR/sim.err" ]

	# issue 7: a second simulator writes files of its own, so the wait is
	# for its address, not the first one's.
	bms-sim --tcp 0 --speed 0 >"$BATS_TEST_TMPDIR/sim2.out" 2>"$BATS_TEST_TMPDIR/sim2.err" &
	SIM_PID=$!
	wait_line "$BATS_TEST_TMPDIR/sim2.out" '^tcp://127\.0\.0\.1:[0-9]+$'
	port=$(sed 's/.*://' "$BATS_TEST_TMPDIR/sim2.out")
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	a5req 90 | xxd -r -p >&5
	[ "$(reply 5 13)" = "${DOC[90]}" ]
	# The client stays connected and silent.
	sim_stop_by TERM
	exec 5<&-
	[ ! -s "$BATS_TEST_TMPDIR/sim2.err" ]
}

@test "stdio: SIGTERM while waiting for a request, or in a delay, exits 0" {
	local fifo=$BATS_TEST_TMPDIR/in out=$BATS_TEST_TMPDIR/out
	mkfifo "$fifo" "$out"
	bms-sim --stdio --speed 0 -v <"$fifo" >"$out" 2>"$BATS_TEST_TMPDIR/sim.err" &
	SIM_PID=$!
	exec 6>"$fifo" 7<"$out"
	# Answered: the simulator runs, and waits on an open, silent stdin.
	a5req 90 | xxd -r -p >&6
	[ "$(reply 7 13)" = "${DOC[90]}" ]
	sim_stop_by TERM
	exec 6>&- 7<&-

	# issue 7: the second simulator logs to a file of its own, so the
	# wait is for its request, not the first one's.
	bms-sim --stdio --speed 0 -v --fault delay --delay 600000 <"$fifo" \
		>"$BATS_TEST_TMPDIR/sim2.out" 2>"$BATS_TEST_TMPDIR/sim2.err" &
	SIM_PID=$!
	exec 6>"$fifo"
	a5req 90 | xxd -r -p >&6
	# -v logs a request before its reply is sent: now it waits 10 minutes.
	wait_line "$BATS_TEST_TMPDIR/sim2.err" '^bms-sim: rx '
	sim_stop_by TERM
	exec 6>&-
	[ ! -s "$BATS_TEST_TMPDIR/sim2.out" ]
}

# ---- command line -----------------------------------------------------

@test "--help: usage on stdout, exit 0, empty stderr" {
	run --separate-stderr bms-sim --help
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${lines[0]}" = "usage: bms-sim [--pty [--link path] | --tcp [host:]port | --stdio] [options]" ]
}

@test "a bad option is a usage error with the usage line" {
	run --separate-stderr bms-sim --nosuch
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-sim: unknown option '--nosuch'
usage: bms-sim [--pty [--link path] | --tcp [host:]port | --stdio] [options]
Try 'bms-sim --help' for more information." ]
}

@test "bad values exit 2 with a one-line message" {
	local -a cases=(
		"--cells 0|bms-sim: --cells: '0' is not a whole number from 1 to 48"
		"--temps 17|bms-sim: --temps: '17' is not a whole number from 1 to 16"
		"--soc 101|bms-sim: --soc: '101' is not a number from 0 to 100"
		"--fault nosuch|bms-sim: --fault: 'nosuch' is not a fault (checksum, drop, garbage, split, concat, delay, sleep, extra-temps, cells-16, stale, vanish)"
		"--fault drop:0|bms-sim: --fault: 'drop:0': EVERY must be a whole number from 1 to 1000000000"
		"--chemistry lead|bms-sim: --chemistry: 'lead' is not lfp, nmc or lto"
		"-p foxbms|bms-sim: --proto: 'foxbms' is not daly or daly-modbus"
		"--profile 10:5,x|bms-sim: --profile: '10:5,x': step 2: expected AMPS:SECONDS"
		"--tcp 70000|bms-sim: --tcp: '70000' is not [HOST:]PORT with a port from 0 to 65535"
		"--stdio --link x|bms-sim: --link goes with --pty only"
		"--stdio --tcp 0|bms-sim: give only one of --pty, --tcp and --stdio"
		"--boards 2 -p daly-modbus|bms-sim: --boards: a daly-modbus bus has one board"
		"--soh 0|bms-sim: --soh: '0' is not a number from 1 to 100"
		"--tick 0|bms-sim: --tick: '0' is not a number from 0.001 to 1e+09"
		"--weak-cell 3|bms-sim: --weak-cell: '3': expected CELL:PCT"
		"--weak-cell 3:0.5|bms-sim: --weak-cell: '3:0.5': PCT must be a number from 1 to 100"
		"--weak-cell 17:50|bms-sim: --weak-cell: cell 17 of 16"
		"--drift-cell 2|bms-sim: --drift-cell: '2': expected CELL:MV_PER_HOUR[@START]"
		"--drift-cell 2:x|bms-sim: --drift-cell: '2:x': MV_PER_HOUR must be a number from -1000000 to 1000000"
		"--drift-cell 2:5@-1|bms-sim: --drift-cell: '2:5@-1': START must be model seconds from 0 to 1e9"
		"--cells 4 --drift-cell 5:5|bms-sim: --drift-cell: cell 5 of 4"
		"--dead-probe 0|bms-sim: --dead-probe: '0': expected PROBE[@START]"
		"--dead-probe 1@2h|bms-sim: --dead-probe: '1@2h': START must be model seconds from 0 to 1e9"
		"--dead-probe 3|bms-sim: --dead-probe: probe 3 of 2"
		"--freeze-after soon|bms-sim: --freeze-after: 'soon' is not model seconds from 0 to 1e9"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086
		run --separate-stderr bms-sim ${c%%|*}
		[ "$status" -eq 2 ] || { echo "${c%%|*}: status $status"; false; }
		[ -z "$output" ]
		[ "$stderr" = "${c#*|}" ] || { echo "${c%%|*}: $stderr"; false; }
	done
}

# issue 7: --tcp follows the one host:port rule of bms-read's tcp://
# (an IPv6 address only in brackets, nothing but IPv6 in them).
@test "--tcp refuses an IPv6 address outside brackets and a name in them" {
	local -a cases=(
		"--tcp ::1:0|bms-sim: --tcp: '::1:0': an IPv6 address goes in brackets, as in [::1]:4001"
		"--tcp [localhost]:0|bms-sim: --tcp: '[localhost]:0': only an IPv6 address goes in brackets"
		"--tcp :0|bms-sim: --tcp: ':0' is not [HOST:]PORT"
		"--tcp 127.0.0.1:|bms-sim: --tcp: '127.0.0.1:' is not [HOST:]PORT with a port from 0 to 65535"
		"--boards 2 -p daly-modbus --tcp 0|bms-sim: --boards: a daly-modbus bus has one board"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086
		run --separate-stderr timeout 10 bms-sim ${c%%|*}
		[ "$status" -eq 2 ] || { echo "${c%%|*}: status $status"; false; }
		[ -z "$output" ]
		[ "$stderr" = "${c#*|}" ] || { echo "${c%%|*}: $stderr"; false; }
	done
}

# issue 7: an explicit IPv4 host is listened on and named as bound.
@test "--tcp HOST:0 listens on that host and prints the real port" {
	bms-sim --tcp 127.0.0.1:0 --speed 0 >"$BATS_TEST_TMPDIR/tcp.out" 2>"$BATS_TEST_TMPDIR/tcp.err" &
	SIM_PID=$!
	wait_for grep -q '^tcp://' "$BATS_TEST_TMPDIR/tcp.out"
	local url port
	url=$(cat "$BATS_TEST_TMPDIR/tcp.out")
	[[ "$url" =~ ^tcp://127\.0\.0\.1:[1-9][0-9]*$ ]]
	port=${url##*:}
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	a5req 90 | xxd -r -p >&5
	[ "$(reply 5 13)" = "${DOC[90]}" ]
	exec 5<&-
	sim_stop_by INT
	[ ! -s "$BATS_TEST_TMPDIR/tcp.err" ]
}
