#!/usr/bin/env bats
# bms-alert: each default rule raised and cleared at the right reading of
# a generated stream; delays, hysteresis, repeats and escalation by the
# records' time; a replay and a run cut in two with --state give the same
# records; --exec per event; rules files refused and reloaded; the
# records that pass through.

load helper

setup() {
	T=$BATS_TEST_TMPDIR
	LFP="$BATS_TEST_DIRNAME/../share/rules/lfp.rules"
	bg=()
}

teardown() {
	exec 7>&- 2>/dev/null || true
	stop_bg "${bg[@]}"
}

# ev: the alert records of stdin as "hh:mm:ss bms_id rule state severity".
ev() {
	jq -r 'select(.type == "alert") | "\(.timestamp[11:19]) \(.bms_id) \(.rule) \(.state) \(.severity)"'
}

# merge FILE...: the records of the files in the order of their timestamps.
merge() {
	sort -s -t'"' -k12,12 "$@"
}

# status ID HH:MM:SS STATE REASON: one status record.
status() {
	printf '{"type":"status","bms_id":"%s","timestamp":"2026-11-27T%s.000Z","state":"%s","reason":"%s","quality":0}\n' \
		"$1" "$2" "$3" "$4"
}

# prot T0 T1: protection_status members with overvoltage set for t in [T0, T1).
prot() {
	echo "X = \",\\\"protection_status\\\":{\\\"overvoltage\\\":\" (t >= $1 && t < $2 ? \"true\" : \"false\") \",\\\"undervoltage\\\":false,\\\"overcurrent_charge\\\":false,\\\"overcurrent_discharge\\\":false,\\\"overtemperature\\\":false,\\\"undertemperature\\\":false}\""
}

# ==== The default rules for LiFePO4 ====

@test "cell_overvoltage: raised after its 5 s delay, escalated, cleared 30 s below the hysteresis" {
	agen b1 40 5000 'if (t >= 20 && t < 60) cell[3] = 3.70; if (t >= 40 && t < 50) cell[3] = 3.8' >"$T/in"
	bms-alert -R "$LFP" "$T/in" >"$T/out"
	run ev <"$T/out"
	[ "$output" = "00:00:25 b1 cell_overvoltage raised warning
00:00:45 b1 cell_overvoltage escalated critical
00:01:30 b1 cell_overvoltage cleared critical" ]
	run grep -c '"type":"alert"' "$T/out"
	[ "$output" = 3 ]
	# The record, whole.
	run grep -m1 '"state":"raised"' "$T/out"
	[ "$output" = '{"type":"alert","bms_id":"b1","timestamp":"2026-11-27T00:00:25.000Z","alert_id":"b1/cell_overvoltage","rule":"cell_overvoltage","state":"raised","severity":"warning","since":"2026-11-27T00:00:25.000Z","count":1,"value":3.7,"threshold":3.65,"message":"cell 3 at 3.700 V, above 3.65 V"}' ]
}

@test "cell_undervoltage, low_soc and the pack's voltage limits" {
	agen b1 40 5000 'if (t >= 20 && t < 60) cell[9] = 2.7' | bms-alert -R "$LFP" >"$T/uv"
	run ev <"$T/uv"
	[ "$output" = "00:00:30 b1 cell_undervoltage raised warning
00:01:30 b1 cell_undervoltage cleared warning" ]
	agen b1 60 10000 'X = ",\"soc_percent\":" (t >= 100 && t < 300 ? 12 : 50)' |
		bms-alert -R "$LFP" >"$T/soc"
	run ev <"$T/soc"
	[ "$output" = "00:02:40 b1 low_soc raised warning
00:05:30 b1 low_soc cleared warning" ]
	agen b1 40 5000 'if (t >= 20 && t < 60) V = 59; X = ",\"cell_count\":16"' |
		bms-alert -R "$LFP" >"$T/pov"
	run ev <"$T/pov"
	[ "$output" = "00:00:30 b1 pack_overvoltage raised warning
00:01:30 b1 pack_overvoltage cleared warning" ]
	agen b1 40 5000 'if (t >= 20 && t < 60) V = 44; X = ",\"cell_count\":16"' |
		bms-alert -R "$LFP" >"$T/puv"
	run ev <"$T/puv"
	[ "$output" = "00:00:30 b1 pack_undervoltage raised warning
00:01:30 b1 pack_undervoltage cleared warning" ]
}

@test "temperatures: charging below freezing, too hot while charging and while discharging" {
	agen b1 30 5000 'I = 5; np = 2; p[1] = 10; p[2] = (t >= 20 && t < 60) ? -3 : 5' |
		bms-alert -R "$LFP" >"$T/frz"
	run ev <"$T/frz"
	[ "$output" = "00:00:20 b1 charging_below_freezing raised critical
00:01:30 b1 charging_below_freezing cleared critical" ]
	agen b1 40 5000 'I = 5; np = 2; p[1] = 20; p[2] = (t >= 20 && t < 80) ? 50 : 30' |
		bms-alert -R "$LFP" >"$T/chot"
	run ev <"$T/chot"
	[ "$output" = "00:00:30 b1 charge_overtemperature raised warning
00:01:50 b1 charge_overtemperature cleared warning" ]
	agen b1 40 5000 'I = -20; np = 2; p[1] = 20; p[2] = (t >= 20 && t < 80) ? 65 : 30' |
		bms-alert -R "$LFP" >"$T/dhot"
	run ev <"$T/dhot"
	[ "$output" = "00:00:30 b1 discharge_overtemperature raised warning
00:01:50 b1 discharge_overtemperature cleared warning" ]
	# Warm while discharging is no charging problem, and the reverse.
	agen b1 40 5000 'I = -20; np = 1; p[1] = 50' | bms-alert -R "$LFP" >"$T/none"
	run ev <"$T/none"
	[ "$output" = "" ]
}

@test "cell_imbalance waits five minutes either way" {
	agen b1 100 10000 'if (t >= 100 && t < 600) cell[4] = 3.15' | bms-alert -R "$LFP" >"$T/out"
	run ev <"$T/out"
	[ "$output" = "00:06:40 b1 cell_imbalance raised warning
00:15:00 b1 cell_imbalance cleared warning" ]
	run jq -r 'select(.type == "alert") | .message' "$T/out"
	[ "${lines[0]}" = "cells 1 (3.300 V) and 4 (3.150 V) are 150 mV apart" ]
}

@test "what the BMS says itself: a protection flag, a fault code" {
	agen b1 20 5000 "$(prot 20 40)" | bms-alert -R "$LFP" >"$T/prot"
	run ev <"$T/prot"
	[ "$output" = "00:00:20 b1 bms_protection raised critical
00:00:50 b1 bms_protection cleared critical" ]
	agen b1 20 5000 'X = ",\"fault_codes\":[" (t >= 20 && t < 40 ? "\"cell_overvoltage_alarm\"" : "") "],\"warning_codes\":[]"' |
		bms-alert -R "$LFP" >"$T/fault"
	run ev <"$T/fault"
	[ "$output" = "00:00:20 b1 bms_fault raised warning
00:01:10 b1 bms_fault cleared warning" ]
}

@test "communication lost, told apart from a BMS asleep and a port gone" {
	agen b1 60 5000 'if (t > 30 && t < 200) continue' >"$T/b1"
	agen b2 60 5000 '' >"$T/b2"
	# Silence: lost once five intervals (5 s, learned) have gone by on the
	# stream's clock, back with the next reading...
	merge "$T/b1" "$T/b2" | bms-alert -R "$LFP" >"$T/lost"
	run ev <"$T/lost"
	[ "$output" = "00:00:56 b1 communication_lost raised warning
00:03:20 b1 communication_lost cleared warning" ]
	run jq -r 'select(.type == "alert") | .message' "$T/lost"
	[ "${lines[0]}" = "no reading for 26 s (one every 5 s expected)" ]
	# ...also in a replay of the silent battery alone: the gap is walked
	# through a second at a time, as the live run lived it.
	bms-alert -R "$LFP" "$T/b1" | grep '"type":"alert"' >"$T/alone"
	diff "$T/alone" <(grep '"type":"alert"' "$T/lost")
	# The same silence, bms-read having said the BMS sleeps.
	{ status b1 00:00:35 disconnected asleep; status b1 00:03:20 connected ok; } >"$T/st"
	merge "$T/b1" "$T/b2" "$T/st" | bms-alert -R "$LFP" >"$T/asleep"
	run ev <"$T/asleep"
	[ "$output" = "00:00:35 b1 bms_asleep raised info
00:03:20 b1 bms_asleep cleared info" ]
	# A port gone is lost and gone.
	{ status b1 00:00:35 error device_gone; status b1 00:03:20 connected ok; } >"$T/st"
	merge "$T/b1" "$T/b2" "$T/st" | bms-alert -R "$LFP" >"$T/gone"
	run ev <"$T/gone"
	[ "$output" = "00:00:35 b1 bms_gone raised critical
00:00:56 b1 communication_lost raised warning
00:03:20 b1 communication_lost cleared warning
00:03:20 b1 bms_gone cleared critical" ]
}

@test "validation findings and anomalies of bms-validate and bms-agg" {
	agen b1 20 5000 'X = ",\"quality\":" (t == 20 ? "\"bad\",\"findings\":[{\"code\":\"cell_sum_mismatch\",\"severity\":\"error\",\"message\":\"x\"}]" : "\"good\"")' |
		bms-alert -R "$LFP" >"$T/bad"
	run ev <"$T/bad"
	[ "$output" = "00:00:20 b1 reading_bad raised warning
00:00:55 b1 reading_bad cleared warning" ]
	agen b1 20 5000 '' >"$T/in"
	for code in cell_deviation temperature_rise sensor_stuck; do
		for s in "00:00:20 start" "00:01:20 end"; do
			printf '{"type":"anomaly","bms_id":"b1","timestamp":"2026-11-27T%s.000Z","code":"%s","state":"%s","cell":4,"value":3.2,"score":9,"threshold":5,"message":"m"}\n' \
				"${s% *}" "$code" "${s#* }"
		done
	done >"$T/an"
	merge "$T/in" "$T/an" | bms-alert -R "$LFP" >"$T/out"
	run ev <"$T/out"
	[ "$output" = "00:00:20 b1 cell_deviation raised warning
00:00:20 b1 temperature_rise raised warning
00:00:20 b1 sensor_stuck raised info
00:01:20 b1 cell_deviation cleared warning
00:01:20 b1 temperature_rise cleared warning
00:01:20 b1 sensor_stuck cleared info" ]
}

@test "the NMC and LTO sets hold their chemistry's limits" {
	local share="$BATS_TEST_DIRNAME/../share/rules"
	agen b1 20 5000 'for (c = 1; c <= 16; c++) cell[c] = 3.7; if (t >= 20 && t < 40) cell[2] = 4.25' |
		bms-alert -R "$share/nmc.rules" >"$T/nmc"
	run ev <"$T/nmc"
	[ "$output" = "00:00:25 b1 cell_overvoltage raised warning
00:01:10 b1 cell_overvoltage cleared warning" ]
	run jq -r 'select(.type == "alert") | .message' "$T/nmc"
	[ "$output" = "cell 2 at 4.250 V, above 4.2 V
cells back under 4.2 V: highest is cell 1 at 3.700 V" ]
	agen b1 20 5000 'for (c = 1; c <= 16; c++) cell[c] = 2.4; if (t >= 20 && t < 40) cell[2] = 2.82' |
		bms-alert -R "$share/lto.rules" >"$T/lto"
	run ev <"$T/lto"
	[ "$output" = "00:00:25 b1 cell_overvoltage raised warning
00:01:10 b1 cell_overvoltage cleared warning" ]
	# Charging an LTO pack at -20 degC is no fault.
	agen b1 20 5000 'for (c = 1; c <= 16; c++) cell[c] = 2.4; I = 5; np = 1; p[1] = -20' |
		bms-alert -R "$share/lto.rules" >"$T/cold"
	run ev <"$T/cold"
	[ "$output" = "" ]
}

@test "a healthy day raises nothing, and every record passes through byte for byte" {
	tests_gen="$BATS_TEST_DIRNAME/gen-readings"
	"$tests_gen" 3000 g1 >"$T/in"
	status g1 00:10:00 connected ok >>"$T/in"
	echo '{"type":"something","bms_id":"g1","x":[1,2]}' >>"$T/in"
	run bms-alert -R "$LFP" "$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$T/in")" ]
}

# ==== Delays, hysteresis, repeats, escalation ====

rules_hot() {
	cat >"$T/hot.rules" <<-EOF
	[rule "hot_cell"]
	condition = "cell_max > 3.65"
	hysteresis = 0.1
	delay = 20s
	clear_delay = 30s
	repeat = 1m
	$1
	message = "cell {cell_max_index} at {cell_max:3} V"
	EOF
}

@test "a condition shorter than the delay raises nothing; one as long raises at that reading" {
	rules_hot
	agen b1 30 5000 'if (t >= 50 && t < 65) cell[3] = 3.70' | bms-alert -R "$T/hot.rules" >"$T/out"
	run ev <"$T/out"
	[ "$output" = "" ]
	agen b1 30 5000 'if (t >= 50 && t < 75) cell[3] = 3.70' | bms-alert -R "$T/hot.rules" >"$T/out"
	run ev <"$T/out"
	[ "$output" = "00:01:10 b1 hot_cell raised warning
00:01:45 b1 hot_cell cleared warning" ]
}

@test "a value oscillating inside the hysteresis band neither clears nor raises again" {
	rules_hot
	# Raised at 3.70, then 3.56..3.66 for an hour: never below 3.55.
	agen b1 400 10000 'cell[3] = t < 60 ? 3.70 : (k % 2 ? 3.56 : 3.66)' |
		bms-alert -R "$T/hot.rules" >"$T/out"
	run jq -r 'select(.type == "alert") | .state' "$T/out"
	[ "${lines[0]}" = raised ]
	run grep -c '"state":"\(raised\|cleared\)"' "$T/out"
	[ "$output" = 1 ]
	# One step below the band clears it, after the clear delay.
	agen b1 20 10000 'cell[3] = t < 60 ? 3.70 : t < 100 ? 3.56 : 3.54' |
		bms-alert -R "$T/hot.rules" >"$T/out"
	run ev <"$T/out"
	[ "$output" = "00:00:20 b1 hot_cell raised warning
00:01:20 b1 hot_cell repeated warning
00:02:10 b1 hot_cell cleared warning" ]
}

@test "repeats and escalation go by the records' time, and a replay writes the same records" {
	rules_hot "escalate_after = 150s"
	agen b1 30 10000 'if (t >= 50 && t < 230) cell[3] = 3.70' >"$T/in"
	bms-alert -R "$T/hot.rules" "$T/in" >"$T/a"
	run ev <"$T/a"
	[ "$output" = "00:01:10 b1 hot_cell raised warning
00:02:10 b1 hot_cell repeated warning
00:03:10 b1 hot_cell repeated warning
00:03:40 b1 hot_cell escalated critical
00:04:20 b1 hot_cell cleared critical" ]
	run jq -r 'select(.type == "alert") | "\(.count) \(.since)"' "$T/a"
	[ "${lines[3]}" = "4 2026-11-27T00:01:10.000Z" ]
	# Later, faster, through a pipe: the same bytes.
	cat "$T/in" | bms-alert -R "$T/hot.rules" >"$T/b"
	cmp "$T/a" "$T/b"
}

@test "--state: a run cut in two writes what one run writes, without raising twice" {
	rules_hot
	agen b1 60 10000 'if (t >= 50 && t < 400) cell[3] = 3.70' >"$T/in"
	bms-alert -R "$T/hot.rules" "$T/in" >"$T/whole"
	head -n 25 "$T/in" >"$T/in1"
	tail -n +26 "$T/in" >"$T/in2"
	bms-alert -R "$T/hot.rules" --state "$T/alert.state" "$T/in1" >"$T/part1"
	[ "$(stat -c %a "$T/alert.state")" = 600 ]
	bms-alert -R "$T/hot.rules" --state "$T/alert.state" "$T/in2" >"$T/part2"
	cat "$T/part1" "$T/part2" | cmp - "$T/whole"
	run ev <"$T/part2"
	[ "${lines[0]}" = "00:04:10 b1 hot_cell repeated warning" ]
	# A damaged state file is refused, not guessed at.
	echo '{"type":"state"' >"$T/alert.state"
	run bms-alert -R "$T/hot.rules" --state "$T/alert.state" "$T/in2"
	[ "$status" -eq 1 ]
	[[ "$output" == "bms-alert: '$T/alert.state': damaged at line 1"* ]]
}

@test "rules for some batteries, some chemistries" {
	cat >"$T/r.rules" <<-'EOF'
	[rule "only_a"]
	condition = "cell_max > 3.65"
	delay = 0
	batteries = "a c"
	[rule "only_nmc"]
	condition = "cell_max > 3.65"
	delay = 0
	chemistry = nmc
	[battery "b"]
	chemistry = nmc
	EOF
	agen a 2 5000 'cell[1] = 3.7' >"$T/a"
	agen b 2 5000 'cell[1] = 3.7' >"$T/b"
	merge "$T/a" "$T/b" | bms-alert -R "$T/r.rules" --chemistry lfp >"$T/out"
	run ev <"$T/out"
	[ "$output" = "00:00:00 a only_a raised warning
00:00:00 b only_nmc raised warning" ]
}

# ==== Rules files ====

@test "a broken rules file is refused with file, line, column and what was expected" {
	printf '[rule "x"]\ncondition = "cell_max > 3.65 and"\n' >"$T/r1"
	run bms-alert -R "$T/r1" </dev/null
	[ "$status" -eq 2 ]
	[ "$output" = "bms-alert: $T/r1:2:33: condition: expected a value after 'and'" ]
	printf '[rule "x"]\ncondition = "cell_max > 3.65"\nmessage = "a {cel_max} b"\n' >"$T/r2"
	run bms-alert -R "$T/r2" </dev/null
	[ "$status" -eq 2 ]
	[ "$output" = "bms-alert: $T/r2:3:15: message: unknown name 'cel_max'" ]
	printf '[rule "x"]\ncondition = "quality != '"'"'bad'"'"'"\nhysteresis = 1\n' >"$T/r3"
	run bms-alert -R "$T/r3" </dev/null
	[ "$status" -eq 2 ]
	[ "$output" = "bms-alert: $T/r3:3:14: rule 'x': a hysteresis needs a condition that is one comparison (<, <=, > or >=)" ]
	printf '[rule "x"]\ncondition = "rate(cell_max) > 1"\n' >"$T/r4"
	run bms-alert -R "$T/r4" </dev/null
	[ "$status" -eq 2 ]
	[ "$output" = "bms-alert: $T/r4:2:14: condition: rate() takes a reading's number and a period, such as rate(temp_max, 10m)" ]
	printf '[rule "x"]\nseverity = warning\n' >"$T/r5"
	run bms-alert -R "$T/r5" </dev/null
	[ "$status" -eq 2 ]
	[ "$output" = "bms-alert: $T/r5: rule 'x': no condition" ]
	run bms-alert -R "$T/none.rules" </dev/null
	[ "$status" -eq 2 ]
	[ "$output" = "bms-alert: cannot read '$T/none.rules': No such file or directory" ]
}

@test "--check lists the rules of a file that reads" {
	run bms-alert --check -R "$LFP"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$LFP: 18 rules" ]
	[ "${lines[1]}" = "cell_overvoltage	warning" ]
	run bms-alert --check -R "$BATS_TEST_DIRNAME/../share/rules/nmc.rules"
	[ "$status" -eq 0 ]
}

@test "SIGHUP reads the rules again; a broken file keeps the old rules and says why" {
	rules_hot
	mkfifo "$T/fifo"
	bms-alert -R "$T/hot.rules" <"$T/fifo" >"$T/out" 2>"$T/err" &
	bg+=($!)
	exec 7>"$T/fifo"
	agen b1 3 10000 '' >&7
	wait_lines "$T/out" 3
	printf '[rule "x"]\ncondition = "cell_max >"\n' >"$T/hot.rules"
	kill -HUP "${bg[0]}"
	wait_line "$T/err" 'keeping the rules before'
	[ "$(cat "$T/err")" = "bms-alert: $T/hot.rules:2:24: condition: expected a value after '>'; keeping the rules before" ]
	# The old rule still works...
	agen b1 12 10000 'cell[3] = 3.8' | tail -n 3 >&7
	wait_line "$T/out" '"state":"raised"'
	# ...until a good file replaces it.
	printf '[rule "cold"]\ncondition = "cell_min < 3.0"\ndelay = 0\n' >"$T/hot.rules"
	kill -HUP "${bg[0]}"
	wait_line "$T/err" "reloaded '$T/hot.rules': 1 rule$"
	agen b1 13 10000 'cell[5] = 2.9' | tail -n 1 >&7
	wait_line "$T/out" '"rule":"cold","state":"raised"'
	exec 7>&-
	wait "${bg[0]}"
}

# ==== Bad input ====

@test "a malformed reading is rejected with its reason; --strict stops there" {
	agen b1 2 5000 '' >"$T/in"
	echo '{"type":"reading","bms_id":"b1","timestamp":"2026-11-27T00:01:00.000Z","soc_percent":120}' >>"$T/in"
	agen b1 1 5000 '' >>"$T/in"
	run --separate-stderr bms-alert -R "$LFP" "$T/in"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "$stderr" == *"soc_percent: not in 0..100"* ]]
	run --separate-stderr bms-alert -R "$LFP" --strict "$T/in"
	[ "$status" -eq 3 ]
	[ "${#lines[@]}" -eq 2 ]
}

# ==== --exec ====

@test "--exec runs the command once per event, the record on stdin and fields in the environment" {
	rules_hot
	agen b1 30 10000 'if (t >= 50 && t < 180) cell[3] = 3.70' >"$T/in"
	bms-alert -R "$T/hot.rules" --exec "cat >>'$T/calls'; printf '%s %s %s %s|%s\n' \"\$BMS_ALERT_ID\" \"\$BMS_STATE\" \"\$BMS_SEVERITY\" \"\$BMS_VALUE\" \"\$BMS_MESSAGE\" >>'$T/env'" \
		--exec-jobs 1 "$T/in" >"$T/out"
	grep '"type":"alert"' "$T/out" >"$T/alerts"
	[ "$(wc -l <"$T/alerts")" -eq 3 ]
	# Each event once, in order (one job at a time), exactly as written.
	cmp "$T/alerts" "$T/calls"
	run cat "$T/env"
	[ "$output" = "b1/hot_cell raised warning 3.7|cell 3 at 3.700 V
b1/hot_cell repeated warning 3.7|cell 3 at 3.700 V
b1/hot_cell cleared warning 3.3|cell 1 at 3.300 V" ]
}

@test "--exec: a failing command is reported on stderr and as a record; a flood is rate-limited" {
	rules_hot
	agen b1 30 10000 'if (t >= 50 && t < 180) cell[3] = 3.70' >"$T/in"
	run --separate-stderr bms-alert -R "$T/hot.rules" --exec 'exit 3' --exec-jobs 1 "$T/in"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '"state":"notify_failed"')" -eq 3 ]
	[ "$(printf '%s\n' "$stderr" | grep -c "^bms-alert: --exec for alert 'b1/hot_cell': exit status 3$")" -eq 3 ]
	run jq -c 'select(.state == "notify_failed") | [.error, .count]' <<<"$output"
	[ "${lines[0]}" = '["exit status 3",1]' ]
	# Two events an hour for one alert: the others are not sent, and say so.
	run --separate-stderr bms-alert -R "$T/hot.rules" --exec true --exec-rate 2/1h "$T/in"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$stderr" | grep -c "rate limited (2 per 1h)")" -eq 1 ]
}

@test "--exec: a slow command does not hold up the stream, and is killed at its timeout" {
	rules_hot
	mkfifo "$T/fifo"
	bms-alert -R "$T/hot.rules" --exec "touch '$T/started'; sleep 30" --exec-timeout 2s \
		<"$T/fifo" >"$T/out" 2>"$T/err" &
	bg+=($!)
	exec 7>"$T/fifo"
	agen b1 9 10000 'if (t >= 50) cell[3] = 3.70' >&7
	wait_line "$T/out" '"state":"raised"'
	# The records after the event come through while the command sleeps.
	agen b1 20 10000 'if (t >= 50) cell[3] = 3.70' | tail -n 11 >&7
	wait_line "$T/out" '"timestamp":"2026-11-27T00:03:10.000Z".*"state":"repeated"'
	[ -e "$T/started" ]
	wait_line "$T/err" "timed out after 2s"
	exec 7>&-
	wait "${bg[0]}"
}

# ==== Acknowledgements ====

@test "an acknowledgement made with bms-store stops the repeats and escalation until the alert clears" {
	rules_hot "escalate_after = 5m"
	store_new home
	mkfifo "$T/fifo"
	bms-alert -R "$T/hot.rules" --db "$STORE" -T home <"$T/fifo" 2>"$T/err" |
		bms-store --passthrough -d "$STORE" -T home >"$T/out" &
	bg+=($!)
	exec 7>"$T/fifo"
	agen b1 14 10000 'if (t >= 50) cell[3] = 3.70' >&7
	wait_line "$T/out" '"state":"repeated"'
	id=$(bms-store -d "$STORE" -T home query --type alerts --since 2026-11-27 |
		jq -r 'select(.state == "raised") | .id')
	bms-store -d "$STORE" -T home ack "$id" --by alice --note "on it"
	wait_line "$T/err" "^bms-alert: alert 'b1/hot_cell' acknowledged by alice: no more repeats or escalation$"
	# An hour more above the limit: no repeat, no escalation; then it clears.
	agen b1 400 10000 'if (t >= 50 && t < 3900) cell[3] = 3.70' | tail -n +15 >&7
	exec 7>&-
	wait "${bg[0]}"
	run ev <"$T/out"
	[ "$output" = "00:01:10 b1 hot_cell raised warning
00:02:10 b1 hot_cell repeated warning
01:05:30 b1 hot_cell cleared warning" ]
	run jq -c 'select(.state == "cleared") | .acknowledged' "$T/out"
	[ "$output" = true ]
}
