#!/usr/bin/env bats
# bms-validate: each reading judged against the schema, the physics of its
# chemistry and its battery's readings before; the verdict appended to
# the line's own bytes; every other record byte for byte.

load helper

# A sound 4-cell LiFePO4 reading; mk FILTER: the same changed by jq.
BASE='{"type":"reading","bms_id":"t1","timestamp":"2026-11-27T00:00:00.000Z","pack_voltage":13.2,"pack_current":10,"pack_power":132,"soc_percent":50,"temperatures":[25,26],"cell_voltages":[3.3,3.3,3.3,3.3],"cell_count":4,"temp_count":2}'
mk() {
	jq -c "$1" <<<"$BASE"
}

# at SECONDS FILTER: mk with the time SECONDS after the base's.
at() {
	mk "$(printf '.timestamp = "2026-11-27T00:%02d:%02d.000Z" | %s' $(($1 / 60)) $(($1 % 60)) "${2:-.}")"
}

# verdicts: each output line as [bms_id, quality, [codes]].
verdicts() {
	jq -c '[.bms_id, .quality, [.findings[]?.code]]'
}

conf() {
	CONF="$BATS_TEST_TMPDIR/bms.conf"
	printf '%s\n' "$@" >"$CONF"
}

@test "tests/gen-readings comes out all good, every byte kept" {
	"$BATS_TEST_DIRNAME/gen-readings" 20000 >"$BATS_TEST_TMPDIR/in"
	"$BATS_TEST_DIRNAME/gen-readings" 2000 y1 2025-11-27T00:00:00.000Z 300 >>"$BATS_TEST_TMPDIR/in"
	conf '[battery]' 'chemistry = lfp' 'cells = 16' 'temps = 2'
	run --separate-stderr bms-validate -c "$CONF" "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(grep -vc ',"quality":"good"}$' <<<"$output")" -eq 0 ]
	cmp <(sed 's/,"quality":"good"}$/}/' <<<"$output") "$BATS_TEST_TMPDIR/in"
}

@test "a clean reading gets its verdict before the closing brace, nothing else changed" {
	run --separate-stderr bms-validate <<<"$BASE"
	[ "$status" -eq 0 ]
	[ "$output" = "${BASE%\}},\"quality\":\"good\"}" ]
}

@test "a finding is written with its code, severity and message" {
	run --separate-stderr bms-validate <<<"$(mk '.pack_voltage = 14')"
	[ "$status" -eq 0 ]
	[ "$output" = "$(mk '.pack_voltage = 14' | sed 's/}$//'),\"quality\":\"suspect\",\"findings\":[{\"code\":\"cell_sum_mismatch\",\"severity\":\"warning\",\"message\":\"cells add up to 13.20 V, pack reports 14.00 V\"}]}" ]
}

@test "records of other types pass through byte for byte" {
	run --separate-stderr bms-validate "$FIX/passthrough.ndjson"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") "$FIX/passthrough.ndjson"
}

@test "each finding of a single reading, with its message" {
	conf '[battery "cnt"]' 'cells = 6' 'temps = 3' \
		'[battery "amp"]' 'max_charge_a = 5' 'max_discharge_a = 8' \
		'[battery "pk"]' 'chemistry = lfp' 'cells = 4'
	{
		mk '.bms_id = "hi" | .cell_voltages[1] = 4.5 | .pack_voltage = 14.4 | .pack_power = 144'
		mk '.bms_id = "lo" | .cell_voltages = [3.3, 1.2, 1.1, 3.3] | .pack_voltage = 8.9 | .pack_power = 89'
		mk '.bms_id = "pk" | del(.cell_voltages, .cell_count) | .pack_voltage = 16 | .pack_power = 160'
		mk '.bms_id = "sum" | .pack_voltage = 14'
		mk '.bms_id = "pw" | .pack_power = -132'
		mk '.bms_id = "tmp" | .temperatures = [25, 130]'
		mk '.bms_id = "amp"'
		mk '.bms_id = "amp" | .timestamp = "2026-11-27T00:00:01.000Z" | .pack_current = -10 | .pack_power = -132'
		mk '.bms_id = "cnt"'
		mk '.bms_id = "fut" | .timestamp = "2099-01-01T00:00:00.000Z"'
	} >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr bms-validate -c "$CONF" "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	jq -c '[.bms_id, .quality, .findings]' <<<"$output" >"$BATS_TEST_TMPDIR/got"
	cat >"$BATS_TEST_TMPDIR/want" <<-'END'
	["hi","bad",[{"code":"cell_over_limit","severity":"error","message":"cell 2 at 4.500 V is above 4.35 V, the limit of every chemistry"}]]
	["lo","bad",[{"code":"cell_under_limit","severity":"error","message":"cell 3 at 1.100 V is below 1.50 V, the limit of every chemistry (and more cells)"}]]
	["pk","bad",[{"code":"pack_voltage_out_of_range","severity":"error","message":"pack at 16.00 V is 4.000 V a cell for 4 cells, above the LiFePO4 limit of 3.80 V"}]]
	["sum","suspect",[{"code":"cell_sum_mismatch","severity":"warning","message":"cells add up to 13.20 V, pack reports 14.00 V"}]]
	["pw","suspect",[{"code":"power_mismatch","severity":"warning","message":"pack power -132.0 W, voltage times current 132.0 W"}]]
	["tmp","bad",[{"code":"temperature_out_of_range","severity":"error","message":"probe 2 at 130.0 degC is outside the sensor's -40..125 degC"}]]
	["amp","suspect",[{"code":"current_over_rating","severity":"warning","message":"charging at 10.0 A, the pack is rated 5.0 A"}]]
	["amp","suspect",[{"code":"current_over_rating","severity":"warning","message":"discharging at 10.0 A, the pack is rated 8.0 A"}]]
	["cnt","bad",[{"code":"cell_count_mismatch","severity":"error","message":"4 cell voltages, the battery has 6 cells"},{"code":"temp_count_mismatch","severity":"warning","message":"2 temperatures, the battery has 3 probes"}]]
	["fut","bad",[{"code":"timestamp_in_future","severity":"error","message":"dated more than 300 s ahead of the clock"}]]
	END
	diff "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
}

@test "the chemistry: --chemistry, then the registry, then the configuration file" {
	store_new t
	bms-store --db "$STORE" --tenant t batteries add reg --chemistry lto --cells 4
	bms-store --db "$STORE" --tenant t batteries add both --chemistry lto
	conf '[battery "both"]' 'chemistry = nmc' '[battery "cfg"]' 'chemistry = lto'
	{
		mk '.bms_id = "plain" | .cell_voltages[0] = 3.9 | .pack_voltage = 13.8 | .pack_power = 138'
		mk '.bms_id = "reg"'
		mk '.bms_id = "both" | .cell_voltages[0] = 3.9 | .pack_voltage = 13.8 | .pack_power = 138'
		mk '.bms_id = "cfg"'
	} >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr bms-validate --chemistry lfp -c "$CONF" --db "$STORE" -T t "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	jq -c '[.bms_id, .quality, .findings[]?.message]' <<<"$output" >"$BATS_TEST_TMPDIR/got"
	cat >"$BATS_TEST_TMPDIR/want" <<-'END'
	["plain","bad","cell 1 at 3.900 V is above the LiFePO4 limit of 3.80 V"]
	["reg","bad","cell 1 at 3.300 V is above the LTO limit of 2.90 V (and more cells)"]
	["both","good"]
	["cfg","bad","cell 1 at 3.300 V is above the LTO limit of 2.90 V (and more cells)"]
	END
	diff "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
	# nmc by any of its spellings takes the 3.9 V cell
	run bms-validate --chemistry Li-Ion <<<"$(mk '.cell_voltages[0] = 3.9 | .pack_voltage = 13.8 | .pack_power = 138')"
	[ "$(verdicts <<<"$output")" = '["t1","good",[]]' ]
}

@test "timestamps in order: backwards and duplicate readings, a stale gap" {
	{
		at 0; at 1; at 2
		at 1	# backwards
		at 2	# the same time again
		at 3
		at 20	# 17 s after 1 s readings: stale
		at 21
	} | bms-validate | jq -c '[.timestamp[14:19], .quality, .findings]' >"$BATS_TEST_TMPDIR/got"
	cat >"$BATS_TEST_TMPDIR/want" <<-'END'
	["00:00","good",null]
	["00:01","good",null]
	["00:02","good",null]
	["00:01","bad",[{"code":"timestamp_backwards","severity":"error","message":"1.000 s older than the reading before"}]]
	["00:02","bad",[{"code":"duplicate_reading","severity":"error","message":"a second reading at the time of the one before"}]]
	["00:03","good",null]
	["00:20","good",[{"code":"stale_gap","severity":"info","message":"17.0 s since the reading before, 1.0 s expected"}]]
	["00:21","good",null]
	END
	diff "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
}

@test "a configured interval is the expected one from the first gap" {
	conf '[battery "t1"]' 'interval = 10s'
	{ at 0; at 10; at 45; } | bms-validate -c "$CONF" | verdicts >"$BATS_TEST_TMPDIR/got"
	printf '%s\n' '["t1","good",[]]' '["t1","good",[]]' '["t1","good",["stale_gap"]]' |
		diff "$BATS_TEST_TMPDIR/got" -
}

@test "a frozen reading: the same bytes but the time for frozen_after" {
	conf '[validate]' 'frozen_after = 3s'
	{ for s in 0 1 2 3 4; do at $s; done; at 5 '.soc_percent = 50.1'; at 6 '.soc_percent = 50.1'; } |
		bms-validate -c "$CONF" | jq -c '[.quality, .findings[]?.message]' >"$BATS_TEST_TMPDIR/got"
	cat >"$BATS_TEST_TMPDIR/want" <<-'END'
	["good"]
	["good"]
	["good"]
	["suspect","the same values for 3 s"]
	["suspect","the same values for 4 s"]
	["good"]
	["good"]
	END
	diff "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
}

@test "jumps no pack makes; the reading after a wrong one is compared with the last sound one" {
	{
		at 0
		at 1 '.cell_voltages[2] = 2.7 | .pack_voltage = 12.6 | .pack_power = 126'
		at 2
		at 3 '.temperatures[1] = 40'
		at 4 '.temperatures[1] = 40 | .soc_percent = 85'
		at 200 '.soc_percent = 90 | .temperatures[1] = 20'	# past the window
	} | bms-validate | jq -c '[.quality, .findings]' >"$BATS_TEST_TMPDIR/got"
	cat >"$BATS_TEST_TMPDIR/want" <<-'END'
	["good",null]
	["bad",[{"code":"cell_jump","severity":"error","message":"cell 3 from 3.300 V to 2.700 V in 1.0 s"}]]
	["good",null]
	["suspect",[{"code":"temperature_jump","severity":"warning","message":"probe 2 from 26.0 degC to 40.0 degC in 1.0 s"}]]
	["suspect",[{"code":"soc_jump","severity":"warning","message":"state of charge from 50.0 % to 85.0 % in 1.0 s"}]]
	["good",[{"code":"stale_gap","severity":"info","message":"196.0 s since the reading before, 1.0 s expected"}]]
	END
	diff "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
}

@test "a step the next reading keeps is real: flagged once, then the new level is the reference" {
	step='.cell_voltages[2] = 2.95 | .pack_voltage = 12.85 | .pack_power = 128.5'
	{
		at 0
		at 1 "$step"
		at 2 "$step"
		at 3 "$step"
		at 4	# back up by as much: a step again, kept by nothing after it
	} | bms-validate | jq -c '[.quality, (.findings // [] | map(.code))]' >"$BATS_TEST_TMPDIR/got"
	printf '%s\n' '["good",[]]' '["bad",["cell_jump"]]' '["good",[]]' '["good",[]]' '["bad",["cell_jump"]]' |
		diff "$BATS_TEST_TMPDIR/got" -
}

@test "counts not known are held to the reading before" {
	{
		at 0
		at 1 '.cell_voltages = [3.3, 3.3, 3.3] | .cell_count = 3 | .pack_voltage = 9.9 | .pack_power = 99 | .temperatures = [25] | .temp_count = 1'
	} | bms-validate | jq -c '.findings' >"$BATS_TEST_TMPDIR/got"
	printf '%s\n' null '[{"code":"cell_count_mismatch","severity":"error","message":"3 cell voltages, 4 in the reading before"},{"code":"temp_count_mismatch","severity":"warning","message":"1 temperatures, 2 in the reading before"}]' |
		diff "$BATS_TEST_TMPDIR/got" -
}

@test "batteries are told apart by tenant and bms_id" {
	{ at 5; at 3 '.tenant = "b"'; at 4 '.bms_id = "t2"'; at 4; } | bms-validate | verdicts >"$BATS_TEST_TMPDIR/got"
	printf '%s\n' '["t1","good",[]]' '["t1","good",[]]' '["t2","good",[]]' '["t1","bad",["timestamp_backwards"]]' |
		diff "$BATS_TEST_TMPDIR/got" -
}

@test "a thresholds set per battery in [validate \"ID\"] wins over [validate]" {
	conf '[validate]' 'cell_sum_min_v = 2' '[validate "t2"]' 'cell_sum_min_v = 0.1' 'cell_sum_percent = 0'
	{ mk '.pack_voltage = 14'; mk '.bms_id = "t2" | .pack_voltage = 13.5'; } |
		bms-validate -c "$CONF" | verdicts >"$BATS_TEST_TMPDIR/got"
	printf '%s\n' '["t1","good",[]]' '["t2","suspect",["cell_sum_mismatch"]]' | diff "$BATS_TEST_TMPDIR/got" -
}

@test "a line the reading parser refuses is rejected in every mode, with a finding code" {
	for m in annotate drop strict; do
		run --separate-stderr bms-validate -m $m <<<"$(mk '.soc_percent = 101')"
		[ "$output" = "" ]
		[ "$stderr" = "bms-validate: <stdin>:1: schema_violation: soc_percent: not in 0..100" ]
		run --separate-stderr bms-validate -m $m <<<'{"type":"reading",'
		[ "$output" = "" ]
		[ "$stderr" = "bms-validate: <stdin>:1: invalid_json: not a JSON object: expected a key at byte 19" ]
	done
	run --separate-stderr bms-validate -m strict <<<"$(mk '.soc_percent = 101')"
	[ "$status" -eq 3 ]
	run --separate-stderr bms-validate <<<"$(mk '.quality = "fine"')"
	[ "$status" -eq 0 ]
	[ "$stderr" = "bms-validate: <stdin>:1: schema_violation: quality: not good, suspect or bad" ]
}

@test "drop mode: bad readings to the rejects with their findings, suspect ones annotated" {
	{
		at 0
		at 1 '.pack_voltage = 14'
		at 2 '.cell_voltages[1] = 4.5 | .pack_voltage = 14.4 | .pack_power = 144'
		at 3 '.soc_percent = -1'
	} >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr bms-validate -m drop -r "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(verdicts <<<"$output")" = "$(printf '%s\n' '["t1","good",[]]' '["t1","suspect",["cell_sum_mismatch"]]')" ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/rej")" = 600 ]
	jq -c '[.reason, .lineno, .findings, (.line == $l)]' --arg l "$(sed -n 3p "$BATS_TEST_TMPDIR/in")" \
		"$BATS_TEST_TMPDIR/rej" >"$BATS_TEST_TMPDIR/got"
	cat >"$BATS_TEST_TMPDIR/want" <<-'END'
	["cell_over_limit: cell 2 at 4.500 V is above 4.35 V, the limit of every chemistry (and 1 more)",3,[{"code":"cell_over_limit","severity":"error","message":"cell 2 at 4.500 V is above 4.35 V, the limit of every chemistry"},{"code":"cell_jump","severity":"error","message":"cell 2 from 3.300 V to 4.500 V in 1.0 s"}],true]
	["schema_violation: soc_percent: not in 0..100",4,null,false]
	END
	diff "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
	# Without a rejects file, the reason goes to stderr.
	run --separate-stderr bms-validate -m drop "$BATS_TEST_TMPDIR/in"
	[ "${stderr_lines[0]}" = "bms-validate: $BATS_TEST_TMPDIR/in:3: cell_over_limit: cell 2 at 4.500 V is above 4.35 V, the limit of every chemistry (and 1 more)" ]
}

@test "strict mode stops with exit 3 at the first bad reading, after what came before" {
	{ at 0; at 1 '.pack_voltage = 14'; at 2 '.temperatures[0] = -50'; at 3; } >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr bms-validate --mode strict "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 3 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$stderr" = "bms-validate: $BATS_TEST_TMPDIR/in:3: temperature_out_of_range: probe 1 at -50.0 degC is outside the sensor's -40..125 degC (and 1 more)" ]
}

@test "a reading validated before gets its verdict replaced, never a second one" {
	line=$(mk '.pack_voltage = 14')
	once=$(bms-validate <<<"$line")
	[ "$(bms-validate <<<"$once")" = "$once" ]
	# An old verdict anywhere in the line is cut out; the keys once each.
	old=$(mk '{quality: "bad", findings: [{code: "x", severity: "error", message: "m"}]} + .')
	run --separate-stderr bms-validate <<<"$old"
	[ "$status" -eq 0 ]
	[ "$output" = "${BASE%\}},\"quality\":\"good\"}" ]
	old=$(mk '. + {quality: "bad"} | .soc_percent = 51')
	[ "$(bms-validate <<<"$old" | grep -o '"quality"' | wc -l)" -eq 1 ]
}

@test "a broken configuration is a configuration error" {
	conf '[validate]' 'gap_factor = fast'
	run --separate-stderr bms-validate -c "$CONF" </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-validate: $CONF:2:14: gap_factor: 'fast' is not a number" ]
}

@test "usage errors" {
	run --separate-stderr bms-validate --chemistry lead
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-validate: --chemistry: 'lead' is not lfp, nmc or lto" ]
	run --separate-stderr bms-validate --mode loud
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-validate: --mode: 'loud' is not annotate, drop or strict" ]
	run --separate-stderr bms-validate --db "$BATS_TEST_TMPDIR"
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-validate: --db and --tenant go together" ]
}

@test "SIGHUP reloads the configuration, and keeps it when the new one is broken" {
	conf '[battery]' 'chemistry = lfp'
	mkfifo "$BATS_TEST_TMPDIR/in"
	: >"$BATS_TEST_TMPDIR/out"
	: >"$BATS_TEST_TMPDIR/err"
	bms-validate -c "$CONF" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	cell='.cell_voltages[0] = 3.9 | .pack_voltage = 13.8 | .pack_power = 138'
	at 0 "$cell" >&7
	wait_lines "$BATS_TEST_TMPDIR/out" 1
	conf '[battery]' 'chemistry = nmc'
	kill -HUP $pid
	wait_line "$BATS_TEST_TMPDIR/err" "reloaded '$CONF'"
	at 1 "$cell" >&7
	wait_lines "$BATS_TEST_TMPDIR/out" 2
	conf '[battery]' 'chemistry = lead'
	kill -HUP $pid
	wait_line "$BATS_TEST_TMPDIR/err" "keeping the configuration before"
	at 2 "$cell" >&7
	exec 7>&-
	wait $pid
	verdicts <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
	printf '%s\n' '["t1","bad",["cell_over_limit"]]' '["t1","good",[]]' '["t1","good",[]]' |
		diff "$BATS_TEST_TMPDIR/got" -
	[ "$(sed -n 2p "$BATS_TEST_TMPDIR/err")" = "bms-validate: $CONF:2:13: chemistry: 'lead' is not lfp, lifepo4, nmc, li-ion or lto; keeping the configuration before" ] ||
		{ cat "$BATS_TEST_TMPDIR/err"; false; }
}

@test "past 4096 batteries one warning, and the others judged one reading at a time" {
	awk -v base="$BASE" 'BEGIN { for (i = 0; i < 4100; i++) { l = base; sub(/"t1"/, "\"b" i "\"", l); print l }
		print base; print base }' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr bms-validate "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ "$stderr" = "bms-validate: more than 4096 batteries: the readings of the others are judged one by one" ]
	[ "$(grep -c '"quality":"good"}$' <<<"$output")" -eq 4102 ]
}

@test "a store that cannot be read at the start is an error" {
	store_new t
	run --separate-stderr bms-validate --db "$STORE" -T nope </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-validate: no tenant 'nope' in store '$STORE'; add it with: bms-store --db $STORE tenants add nope" ]
}

@test "SIGHUP reads the battery registry again" {
	store_new t
	bms-store --db "$STORE" --tenant t batteries add t1 --chemistry lfp
	mkfifo "$BATS_TEST_TMPDIR/in"
	: >"$BATS_TEST_TMPDIR/out"
	: >"$BATS_TEST_TMPDIR/err"
	bms-validate --db "$STORE" -T t <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	cell='.cell_voltages[0] = 3.9 | .pack_voltage = 13.8 | .pack_power = 138'
	at 0 "$cell" >&7
	wait_lines "$BATS_TEST_TMPDIR/out" 1
	bms-store --db "$STORE" --tenant t batteries edit t1 --chemistry nmc
	kill -HUP $pid
	wait_line "$BATS_TEST_TMPDIR/err" "reloaded the battery registry of tenant 't'"
	at 1 "$cell" >&7
	exec 7>&-
	wait $pid
	verdicts <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
	printf '%s\n' '["t1","bad",["cell_over_limit"]]' '["t1","good",[]]' | diff "$BATS_TEST_TMPDIR/got" -
}

@test "--state: a run stopped half-way and started again judges as one run would; the file is private" {
	conf '[validate]' 'frozen_after = 3s'
	{
		at 0; at 1; at 2 '.soc_percent = 50.1'; at 3 '.soc_percent = 50.1'
		at 4 '.soc_percent = 50.1'; at 5 '.soc_percent = 50.1'; at 6 '.soc_percent = 50.1'
		at 5; at 30; at 31 '.cell_voltages[2] = 2.7 | .pack_voltage = 12.6 | .pack_power = 126'
	} >"$BATS_TEST_TMPDIR/in"
	bms-validate -c "$CONF" "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/one"
	st=$BATS_TEST_TMPDIR/v.state
	head -n 5 "$BATS_TEST_TMPDIR/in" | (umask 0; bms-validate -c "$CONF" --state "$st") >"$BATS_TEST_TMPDIR/two"
	[ "$(stat -c %a "$st")" = 600 ]
	tail -n +6 "$BATS_TEST_TMPDIR/in" | bms-validate -c "$CONF" --state "$st" >>"$BATS_TEST_TMPDIR/two"
	diff "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
	# The frozen link, the backwards reading and the jump span the restart.
	[ "$(verdicts <"$BATS_TEST_TMPDIR/two" | tail -n 5 | tr '\n' ' ')" = '["t1","suspect",["frozen_reading"]] ["t1","suspect",["frozen_reading"]] ["t1","bad",["timestamp_backwards"]] ["t1","good",["stale_gap"]] ["t1","bad",["cell_jump"]] ' ]
	printf '{"type":"state","format":1,"program":"bms-agg","version":1,"saved":"2026-11-27T00:00:00.000Z"}\n{"type":"end","records":0}\n' >"$st"
	run --separate-stderr bms-validate --state "$st" </dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "bms-validate: '$st' is the state of bms-agg, not of bms-validate" ]
}
