#!/usr/bin/env bats
# bms-decode: frames records to readings, everything else byte for byte,
# bad input rejected with its reason and never turned into a reading.

load helper

setup() {
	FRAMES=$(cat "$FIX/frames-16s.ndjson")
}

# frames_with ELEMENTS-JSON-ARRAY: the worked frames record with other frames.
frames_with() {
	jq -c --argjson f "$1" '.frames = $f' "$FIX/frames-16s.ndjson"
}

@test "the worked 16-cell A5 poll decodes to the documented reading" {
	run --separate-stderr bms-decode "$FIX/frames-16s.ndjson"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") "$FIX/reading-16s.ndjson"
}

@test "the worked D2 Modbus reply decodes to the same pack" {
	run --separate-stderr bms-decode < "$FIX/frames-d2.ndjson"
	[ "$status" -eq 0 ]
	diff <(echo "$output") "$FIX/reading-d2.ndjson"
}

@test "the reading has the documented values" {
	run bms-decode "$FIX/frames-16s.ndjson"
	[ "$(jq -c '[.pack_voltage, .pack_current, .pack_power, .soc_percent, .temperatures, .cell_voltages[11], .balancing_status.cells_balancing, .cycles, .remaining_capacity_ah, .nominal_capacity_ah, .cell_count]' <<<"$output")" = '[53.4,12.5,667.5,78.5,[27,25],3.352,[12],42,219.8,280,16]' ]
	# SOH is not reported by the A5 protocol: left out, not zero.
	[ "$(jq 'has("soh_percent")' <<<"$output")" = false ]
}

@test "records of other types pass through byte for byte" {
	run bms-decode "$FIX/passthrough.ndjson"
	[ "$status" -eq 0 ]
	diff <(echo "$output") "$FIX/passthrough.ndjson"
}

@test "tenant, bms_id and timestamp are carried over verbatim" {
	line=$(jq -c '.tenant = "acme" | .bms_id = "shed\u00e9"' "$FIX/frames-16s.ndjson")
	run bms-decode <<<"$line"
	[ "$(jq -c '[.type, .bms_id, .timestamp, .tenant]' <<<"$output")" = '["reading","shedé","2026-11-27T14:29:11.123Z","acme"]' ]
}

@test "a corrupted checksum is never decoded: the line is rejected on stderr" {
	# 0x90 reply with its checksum changed from 91 to 92.
	line=$(frames_with '["a50194081002010002002a0081","a50190080216000074b3031192"]')
	run --separate-stderr bms-decode <<<"$line"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-decode: <stdin>:1: no reply to 0x90" ]
}

@test "rejects go to the --rejects file with reason, position and the line" {
	printf '%s\nnot json\n%s\n' '{"type":"frames","bms_id":"x","timestamp":"t","proto":"victron","frames":[]}' "$FRAMES" >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr bms-decode --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") "$FIX/reading-16s.ndjson"
	cat >"$BATS_TEST_TMPDIR/want" <<-'END'
	{"type":"reject","reason":"unknown proto \"victron\"","file":"BATS","lineno":1,"line":"{\"type\":\"frames\",\"bms_id\":\"x\",\"timestamp\":\"t\",\"proto\":\"victron\",\"frames\":[]}"}
	{"type":"reject","reason":"not a JSON object: expected an object at byte 1","file":"BATS","lineno":2,"line":"not json"}
	END
	sed -i "s|BATS|$BATS_TEST_TMPDIR/in|" "$BATS_TEST_TMPDIR/want"
	diff "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/want"
}

@test "--strict stops at the first rejected line with exit 3" {
	printf '%s\n{"type":"frames"}\n%s\n' "$FRAMES" "$FRAMES" >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr bms-decode --strict "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 3 ]
	diff <(echo "$output") "$FIX/reading-16s.ndjson"
	[ "$stderr" = "bms-decode: $BATS_TEST_TMPDIR/in:2: frames record without a \"bms_id\" string" ]
}

@test "bad records are rejected with a precise reason" {
	while IFS='|' read -r line reason; do
		run --separate-stderr bms-decode <<<"$line"
		[ "$status" -eq 0 ] && [ -z "$output" ] || { echo "$line: $output"; false; }
		[ "$stderr" = "bms-decode: <stdin>:1: $reason" ] || { echo "got: $stderr"; echo "want: $reason"; false; }
	done <<-'END'
	{"type":"frames","bms_id":"x","timestamp":"t","proto":"daly","frames":["a5zz"]}|"frames" element 1 is not hex
	{"type":"frames","bms_id":"x","timestamp":"t","proto":"daly","frames":"a501"}|"frames" is not an array
	{"type":"frames","bms_id":"x","timestamp":"t","proto":"daly"}|frames record without "frames"
	{"type":"frames","bms_id":"x","timestamp":"t","frames":[]}|frames record without a "proto" string
	{"type":"frames","bms_id":"x","proto":"daly","frames":[]}|frames record without a "timestamp" string
	{"type":"frames","bms_id":"x","timestamp":"t","proto":"daly","board":17,"frames":[]}|"board" is not a number from 1 to 16
	{"type":"frames","bms_id":"x","timestamp":"t","proto":"daly","frames":[]}|no reply to 0x94
	{"bms_id":"x"}|no "type" string
	{"type":"frames",}|not a JSON object: expected a key at byte 18
	{"type":"frames","bms_id":"x","timestamp":"t","proto":"da\nly","frames":[]}|unknown proto "da\nly"
	END
}

@test "a sleeping BMS (echoes only) never becomes a reading" {
	line=$(frames_with '["a5409408000000000000000081","a540900800000000000000007d"]')
	run --separate-stderr bms-decode <<<"$line"
	[ -z "$output" ]
	[ "$stderr" = "bms-decode: <stdin>:1: no reply to 0x94" ]
}

@test "a missing 0x95 frame rejects the poll" {
	line=$(jq -c '.frames[5] = .frames[5][0:130]' "$FIX/frames-16s.ndjson")
	run --separate-stderr bms-decode <<<"$line"
	[ -z "$output" ]
	[ "$stderr" = "bms-decode: <stdin>:1: 0x95 frame 6 of 6 missing" ]
}

@test "--invert-current flips the sign only where the BMS gives no state" {
	# Without the 0x93 answer the A5 convention applies: raw 29875 is +12.5 A.
	line=$(jq -c 'del(.frames[4])' "$FIX/frames-16s.ndjson")
	[ "$(bms-decode <<<"$line" | jq .pack_current)" = 12.5 ]
	[ "$(bms-decode --invert-current <<<"$line" | jq .pack_current)" = -12.5 ]
	# With the state byte (charging) the sign follows the BMS.
	[ "$(bms-decode --invert-current "$FIX/frames-16s.ndjson" | jq .pack_current)" = 12.5 ]
}

@test "several files and - are read in order; a missing file is an error" {
	run --separate-stderr bms-decode "$FIX/passthrough.ndjson" /nonexistent - <"$FIX/frames-16s.ndjson"
	[ "$status" -eq 1 ]
	diff <(echo "$output") <(cat "$FIX/passthrough.ndjson" "$FIX/reading-16s.ndjson")
	[ "$stderr" = "bms-decode: cannot open '/nonexistent': No such file or directory" ]
}

@test "a line over 1 MiB is rejected and the next line still decodes" {
	{ head -c 1100000 /dev/zero | tr '\0' x; echo; cat "$FIX/frames-16s.ndjson"; } >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr bms-decode "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	diff <(echo "$output") "$FIX/reading-16s.ndjson"
	[ "$stderr" = "bms-decode: $BATS_TEST_TMPDIR/in:1: line of 1100000 bytes is over the 1048576-byte limit" ]
}

@test "each record comes out as soon as it is read in a live pipeline" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	bms-decode <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	echo "$FRAMES" >&7
	wait_line "$BATS_TEST_TMPDIR/out" '^\{"type":"reading"'
	diff "$BATS_TEST_TMPDIR/out" "$FIX/reading-16s.ndjson"
	exec 7>&-
	wait $pid
}

@test "rejects reach the --rejects file as soon as the input drains" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	bms-decode --rejects "$BATS_TEST_TMPDIR/rej" <"$BATS_TEST_TMPDIR/in" >/dev/null &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	echo 'not json' >&7
	wait_line "$BATS_TEST_TMPDIR/rej" '^\{"type":"reject"'
	[ "$(cat "$BATS_TEST_TMPDIR/rej")" = '{"type":"reject","reason":"not a JSON object: expected an object at byte 1","file":"<stdin>","lineno":1,"line":"not json"}' ]
	exec 7>&-
	wait $pid
}

@test "SIGTERM ends bms-decode cleanly with exit 0" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	bms-decode <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	echo "$FRAMES" >&7
	wait_line "$BATS_TEST_TMPDIR/out" '^\{"type":"reading"'
	kill -TERM $pid
	st=0
	wait $pid || st=$?
	exec 7>&-
	[ "$st" -eq 0 ]
	diff "$BATS_TEST_TMPDIR/out" "$FIX/reading-16s.ndjson"
}

@test "a reader that goes away ends bms-decode quietly" {
	yes "$FRAMES" | head -n 20000 >"$BATS_TEST_TMPDIR/in"
	run bash -c 'bms-decode "$1" 2>"$1.err" | head -n 1 >/dev/null; echo "${PIPESTATUS[0]}"' _ "$BATS_TEST_TMPDIR/in"
	[ "$output" = 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/in.err" ]
}

# issue 7: the envelope is checked once for every stage (bms(7),
# ENVELOPE): an impossible timestamp is not copied into a reading.
@test "a frames record with an impossible timestamp is rejected, not decoded" {
	while IFS='|' read -r ts reason; do
		line=$(jq -c --arg ts "$ts" '.timestamp = $ts' "$FIX/frames-16s.ndjson")
		run --separate-stderr bms-decode <<<"$line"
		[ "$status" -eq 0 ] && [ -z "$output" ] || { echo "$ts: $status $output"; false; }
		[ "$stderr" = "bms-decode: <stdin>:1: $reason" ] || { echo "$ts: got: $stderr"; false; }
	done <<-'END'
	99999-11-27T14:29:11.123Z|bad timestamp
	2026-13-27T14:29:11.123Z|bad timestamp
	2026-02-30T14:29:11.123Z|bad timestamp
	2026-11-27T24:29:11.123Z|bad timestamp
	yesterday|bad timestamp
	END
	# A real time in another zone is a time, and passes as it was written.
	line=$(jq -c '.timestamp = "2026-11-27T16:29:11.123+02:00"' "$FIX/frames-16s.ndjson")
	run --separate-stderr bms-decode <<<"$line"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") <(sed 's/"timestamp":"[^"]*"/"timestamp":"2026-11-27T16:29:11.123+02:00"/' "$FIX/reading-16s.ndjson")
}

# issue 7: a key of the envelope twice is a reject, so that no stage
# reads another record than the line shows.
@test "a record with an envelope key twice is rejected" {
	while IFS='|' read -r from to reason; do
		line=$(sed "s/$from/$to/" "$FIX/frames-16s.ndjson")
		run --separate-stderr bms-decode --strict <<<"$line"
		[ "$status" -eq 3 ] && [ -z "$output" ] || { echo "$to: $status $output"; false; }
		[ "$stderr" = "bms-decode: <stdin>:1: $reason" ] || { echo "$to: got: $stderr"; false; }
	done <<-'END'
	"proto"|"tenant":"lab2","tenant":"lab","proto"|tenant: more than once
	"proto"|"tenant":"lab2","t\\u0065nant":"lab","proto"|tenant: more than once
	"proto"|"bms_id":"p2","proto"|bms_id: more than once
	"proto"|"timestamp":"2026-11-27T14:29:12.000Z","proto"|timestamp: more than once
	"proto"|"type":"status","proto"|type: more than once
	END
	# Records of other types pass as they are, a key inside a value is
	# no envelope key.
	printf '%s\n' '{"type":"status","bms_id":"p1","timestamp":"t","x":{"tenant":1,"tenant":2}}' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr bms-decode "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") "$BATS_TEST_TMPDIR/in"
}

# issue 7: a failed temperature probe (raw 0xFF on A5, 0x00FF on D2, read
# as 215 degC) no longer rejects the poll: the probe is left out of
# temperatures and temp_count, and its warning names it.
@test "a dead temperature probe: the reading goes out without it, with temperature_sensor_2_fault" {
	run --separate-stderr bms-decode --strict "$FIX/frames-dead-probe.ndjson"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") "$FIX/reading-dead-probe.ndjson"
	# The readings are ones bms-store takes as they are.
	store_new t
	run --separate-stderr bms-store --db "$STORE" -T t --strict <<<"$output"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# Any other impossible temperature still rejects the poll.
	run --separate-stderr bms-decode <<<"$(sed -n 1p "$FIX/frames-dead-probe.ndjson" | sed 's/a50196080143ff4100000000c8/a50196080143fe4100000000c7/')"
	[ -z "$output" ]
	[ "$stderr" = "bms-decode: <stdin>:1: temperature 2 at 214 degC out of range" ]
}

# issue 7: a line over the limit is rejected whatever its type, and its
# reject record keeps its first 4 KiB (cut to whole characters), its length
# and its digest, so nothing is silently lost.
@test "a line over 1 MiB becomes a reject with its head, length and SHA-256" {
	{ printf '{"type":"status","message":"'; head -c 4067 /dev/zero | tr '\0' x; printf '\303\251'; head -c 1100000 /dev/zero | tr '\0' y; printf '"}'; } >"$BATS_TEST_TMPDIR/long"
	{ cat "$BATS_TEST_TMPDIR/long"; echo; cat "$FIX/frames-16s.ndjson"; } >"$BATS_TEST_TMPDIR/in"
	bytes=$(wc -c <"$BATS_TEST_TMPDIR/long")
	sum=$(sha256sum <"$BATS_TEST_TMPDIR/long" | cut -c1-64)
	run --separate-stderr bms-decode --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") "$FIX/reading-16s.ndjson"
	# The head stops before the 2-byte character that straddles 4096.
	head=$(head -c 4095 "$BATS_TEST_TMPDIR/long" | jq -Rs .)
	echo "{\"type\":\"reject\",\"reason\":\"line of $bytes bytes is over the 1048576-byte limit\",\"file\":\"$BATS_TEST_TMPDIR/in\",\"lineno\":1,\"line_head\":$head,\"line_bytes\":$bytes,\"line_sha256\":\"$sum\"}" >"$BATS_TEST_TMPDIR/want"
	diff "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/want"
	# Under --strict it is fatal like any rejected line.
	run --separate-stderr bms-decode --strict "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-decode: $BATS_TEST_TMPDIR/in:1: line of $bytes bytes is over the 1048576-byte limit" ]
}

# issue 7: rejects files hold users' data.
@test "a new rejects file is created 0600 whatever the umask; an existing one keeps its mode" {
	umask 022
	echo 'not json' | bms-decode --rejects "$BATS_TEST_TMPDIR/rej"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/rej")" = 600 ]
	: >"$BATS_TEST_TMPDIR/old"
	chmod 640 "$BATS_TEST_TMPDIR/old"
	echo 'not json' | bms-decode --rejects "$BATS_TEST_TMPDIR/old"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/old")" = 640 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/old")" -eq 1 ]
}

# issue 7: bms-decode ignored a failed write to the rejects file.
@test "a rejects file that cannot be written is fatal (exit 1)" {
	[ -w /dev/full ] || skip "no /dev/full"
	run --separate-stderr bms-decode --rejects /dev/full <<<'not json'
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-decode: cannot write the rejects file: No space left on device" ]
}

# issue 7: SIGHUP (a terminal hanging up) stops a program without a
# configuration, as SIGTERM does.
@test "SIGHUP ends bms-decode with exit 0 once it has written what it read" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	bms-decode <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	echo "$FRAMES" >&7
	wait_lines "$BATS_TEST_TMPDIR/out" 1
	kill -HUP $pid
	st=0
	wait $pid || st=$?
	exec 7>&-
	[ "$st" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	diff "$BATS_TEST_TMPDIR/out" "$FIX/reading-16s.ndjson"
}
