#!/usr/bin/env bats
# bms-agg: tumbling windows per battery on generated streams whose answers
# are known by construction (constant power, gaps, hand-computed merges),
# the store's minute tier over the same readings, a run stopped half-way
# and resumed with --state, merges, the end of the input, and errors.

load helper

setup() {
	T=$BATS_TEST_TMPDIR
	bg=()
}

teardown() {
	exec 7>&- 2>/dev/null || true
	stop_bg "${bg[@]}"
}

# cgen ID N STEP_MS OFFSET_MS V I P: N readings of battery ID from
# 2026-11-27T00:00:00Z + OFFSET_MS, one every STEP_MS (within the day),
# each with pack_voltage V, pack_current I and pack_power P.
cgen() {
	awk -v id="$1" -v n="$2" -v step="$3" -v off="$4" -v v="$5" -v i="$6" -v p="$7" 'BEGIN {
		for (k = 0; k < n; k++) {
			ms = off + k * step
			printf "{\"type\":\"reading\",\"bms_id\":\"%s\",\"timestamp\":\"2026-11-27T%02d:%02d:%02d.%03dZ\",\"pack_voltage\":%s,\"pack_current\":%s,\"pack_power\":%s}\n",
				id, int(ms / 3600000), int(ms / 60000) % 60, int(ms / 1000) % 60, ms % 1000, v, i, p
		}
	}'
}

# noagg: the lines of stdin but the records bms-agg adds.
noagg() {
	grep -Ev '^\{"type":"(aggregate|health|anomaly)"' || true
}

# recs TYPE FILE: the records of TYPE in FILE.
recs() {
	grep "^{\"type\":\"$1\"" "$2" || true
}

# aggs FILE: the aggregate records of FILE.
aggs() {
	grep '"type":"aggregate"' "$1" || true
}

# within GOT WANT REL: |GOT - WANT| <= REL * WANT.
within() {
	awk -v g="$1" -v w="$2" -v r="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= r * w) }'
}

# ==== Windows ====

@test "readings and every other record pass through byte for byte; windows are added" {
	"$BATS_TEST_DIRNAME/gen-readings" 150 g1 >"$T/r"
	cat "$FIX/passthrough.ndjson" "$T/r" >"$T/in"
	run --separate-stderr bms-agg "$T/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(noagg <<<"$output") "$T/in"
	[ "$(grep -c '"type":"aggregate"' <<<"$output")" -eq 3 ]
	# Each window before the reading that closed it: after the 3 records
	# of the fixture and the first minute's 60 readings.
	[ "$(sed -n 64p <<<"$output" | jq -r '[.type, .timestamp, .n, .complete] | @tsv')" = "$(printf 'aggregate\t2026-11-27T00:00:00.000Z\t60\ttrue')" ]
	[ "$(sed -n 65p <<<"$output" | jq -r .timestamp)" = 2026-11-27T00:01:00.250Z ]
}

@test "the window record: the tier's fields in order, then the window's, exactly" {
	{
		echo '{"type":"reading","bms_id":"w1","timestamp":"2026-11-27T10:00:10Z","pack_voltage":52,"pack_current":-10,"pack_power":-520,"soc_percent":50,"temperatures":[20,22],"cell_voltages":[3.3,3.2,3.25]}'
		echo '{"type":"reading","bms_id":"w1","timestamp":"2026-11-27T10:00:40Z","pack_voltage":51,"pack_current":-10,"pack_power":-510,"soc_percent":49,"temperatures":[21,23],"cell_voltages":[3.1,3.3,3.4]}'
		echo '{"type":"reading","bms_id":"w1","timestamp":"2026-11-27T10:01:10Z","pack_voltage":50,"pack_current":10,"pack_power":500,"soc_percent":49,"temperatures":[21,23],"cell_voltages":[3.3,3.3,3.3]}'
	} >"$T/in"
	run --separate-stderr bms-agg "$T/in"
	[ "$status" -eq 0 ]
	# By hand: 10..40 s, -520 to -510 W: 15450 Ws out.  40..70 s, -510 to
	# +500 W, is 163.33 W at the minute; the power crosses zero at 55.149 s:
	# 3862.9 Ws out and 396.2 Ws in before the minute, 3316.7 Ws in after.
	# So 19312.9 Ws = 5.3647 Wh out and 0.1101 Wh in, then 0.9213 Wh in.
	# The current (-10, -10, +10 A) likewise: 375 As = 0.1042 Ah out,
	# 8.33 As = 0.0023 Ah in, then 66.67 As = 0.0185 Ah in.
	cat >"$T/want" <<-'END'
	{"type":"aggregate","bms_id":"w1","timestamp":"2026-11-27T10:00:00.000Z","period":"1m","n":2,"pack_voltage":{"min":51,"max":52,"mean":51.5,"last":51,"stddev":0.5},"pack_current":{"min":-10,"max":-10,"mean":-10,"last":-10,"stddev":0},"pack_power":{"min":-520,"max":-510,"mean":-515,"last":-510,"stddev":5},"soc_percent":{"min":49,"max":50,"mean":49.5,"last":49,"stddev":0.5},"cell_voltage_min":{"min":3.1,"max":3.2,"mean":3.15,"last":3.1,"stddev":0.05},"cell_voltage_max":{"min":3.3,"max":3.4,"mean":3.35,"last":3.4,"stddev":0.05},"temperature_min":{"min":20,"max":21,"mean":20.5,"last":21,"stddev":0.5},"temperature_max":{"min":22,"max":23,"mean":22.5,"last":23,"stddev":0.5},"cell_low":{"voltage":3.1,"cell":1},"cell_high":{"voltage":3.4,"cell":3},"cell_spread":{"min":0.1,"max":0.3,"mean":0.2,"last":0.3,"stddev":0.1},"energy_in_wh":0.1101,"energy_out_wh":5.3647,"charge_in_ah":0.0023,"charge_out_ah":0.1042,"covered_ms":50000,"gaps":0,"gap_ms":0,"complete":true}
	{"type":"aggregate","bms_id":"w1","timestamp":"2026-11-27T10:01:00.000Z","period":"1m","n":1,"pack_voltage":{"min":50,"max":50,"mean":50,"last":50,"stddev":0},"pack_current":{"min":10,"max":10,"mean":10,"last":10,"stddev":0},"pack_power":{"min":500,"max":500,"mean":500,"last":500,"stddev":0},"soc_percent":{"min":49,"max":49,"mean":49,"last":49,"stddev":0},"cell_voltage_min":{"min":3.3,"max":3.3,"mean":3.3,"last":3.3,"stddev":0},"cell_voltage_max":{"min":3.3,"max":3.3,"mean":3.3,"last":3.3,"stddev":0},"temperature_min":{"min":21,"max":21,"mean":21,"last":21,"stddev":0},"temperature_max":{"min":23,"max":23,"mean":23,"last":23,"stddev":0},"cell_low":{"voltage":3.3,"cell":1},"cell_high":{"voltage":3.3,"cell":1},"cell_spread":{"min":0,"max":0,"mean":0,"last":0,"stddev":0},"energy_in_wh":0.9213,"energy_out_wh":0,"charge_in_ah":0.0185,"charge_out_ah":0,"covered_ms":10000,"gaps":0,"gap_ms":0,"complete":false}
	END
	diff <(aggs <(echo "$output")) "$T/want"
}

@test "a constant-power discharge of one hour integrates to 1000 Wh and 20 Ah in every window length" {
	# 50 V, -20 A, -1000 W for 3600 s at 1 Hz, from 0.25 s past the hour:
	# every interval straddling a boundary is split at it.
	cgen d1 3601 1000 250 50 -20 -1000 >"$T/in"
	run --separate-stderr bms-agg -w 10s,1m,15m,1h "$T/in"
	[ "$status" -eq 0 ]
	aggs <(echo "$output") >"$T/aggs"
	for p in 10s 1m 15m 1h; do
		wh=$(jq -s --arg p "$p" 'map(select(.period == $p) | .energy_out_wh) | add' "$T/aggs")
		ah=$(jq -s --arg p "$p" 'map(select(.period == $p) | .charge_out_ah) | add' "$T/aggs")
		in=$(jq -s --arg p "$p" 'map(select(.period == $p) | .energy_in_wh) | add' "$T/aggs")
		covered=$(jq -s --arg p "$p" 'map(select(.period == $p) | .covered_ms) | add' "$T/aggs")
		within "$wh" 1000 0.001 || { echo "$p: $wh Wh"; false; }
		within "$ah" 20 0.001 || { echo "$p: $ah Ah"; false; }
		[ "$in" = 0 ]
		[ "$covered" = 3600000 ]
	done
	# A minute window holds 60 s of it: 16.6667 Wh.
	[ "$(jq -r 'select(.period == "1m" and .timestamp == "2026-11-27T00:10:00.000Z") | [.n, .energy_out_wh, .charge_out_ah, .covered_ms] | @tsv' "$T/aggs")" = "$(printf '60\t16.6667\t0.3333\t60000')" ]
}

@test "a gap longer than --max-gap is not bridged: counted, with its time, in the windows it overlaps" {
	# -600 W at 0..59 s and 200..259 s: the 141 s between are a gap.
	{ cgen g 60 1000 0 50 -12 -600; cgen g 60 1000 200000 50 -12 -600; } >"$T/in"
	run --separate-stderr bms-agg --max-gap 1m "$T/in"
	[ "$status" -eq 0 ]
	cat >"$T/want" <<-'END'
	2026-11-27T00:00:00.000Z	60	59000	1	1000	9.8333	true
	2026-11-27T00:03:00.000Z	40	40000	1	20000	6.6667	true
	2026-11-27T00:04:00.000Z	20	19000	0	0	3.1667	false
	END
	diff <(aggs <(echo "$output") | jq -r '[.timestamp, .n, .covered_ms, .gaps, .gap_ms, .energy_out_wh, .complete] | @tsv') "$T/want"
	# With a bound longer than the gap it is bridged, and the windows
	# between (no reading in them) say what flowed through them.
	run --separate-stderr bms-agg --max-gap 3m "$T/in"
	[ "$(aggs <(echo "$output") | jq -r '[.timestamp, .n, .covered_ms, .gaps, .energy_out_wh] | @tsv')" = "$(printf '%s\n' \
		"2026-11-27T00:00:00.000Z	60	60000	0	10" \
		"2026-11-27T00:01:00.000Z	0	60000	0	10" \
		"2026-11-27T00:02:00.000Z	0	60000	0	10" \
		"2026-11-27T00:03:00.000Z	40	60000	0	10" \
		"2026-11-27T00:04:00.000Z	20	19000	0	3.1667")" ]
}

@test "power that changes sign between readings is split at the zero into charge and discharge" {
	{ cgen s 1 1000 0 50 10 100; cgen s 1 1000 10000 50 -10 -100; } >"$T/in"
	run bms-agg "$T/in"
	# 5 s at a mean of 50 W each way: 250 Ws = 0.0694 Wh.
	[ "$(aggs <(echo "$output") | jq -r '[.energy_in_wh, .energy_out_wh, .charge_in_ah, .charge_out_ah] | @tsv')" = "$(printf '0.0694\t0.0694\t0.0069\t0.0069')" ]
}

@test "1m windows equal bms-store's minute tier over the same readings, field by field" {
	"$BATS_TEST_DIRNAME/gen-readings" 900 g1 >"$T/in"
	store_new t
	bms-store --db "$STORE" --tenant t "$T/in"
	bms-store --db "$STORE" --tenant t query --type readings --tier minute \
		--since 2026-11-27 --until 2026-11-28 >"$T/tier"
	run --separate-stderr bms-agg -w 1m "$T/in"
	[ "$status" -eq 0 ]
	[ "$(wc -l <"$T/tier")" -eq 15 ]
	common='{type, bms_id, timestamp, period, n, pack_voltage, pack_current, pack_power, soc_percent, cell_voltage_min, cell_voltage_max, temperature_min, temperature_max} | with_entries(if (.value | type) == "object" then .value |= del(.stddev) else . end)'
	diff <(aggs <(echo "$output") | jq -c "$common") <(jq -c "$common" "$T/tier")
	# The common fields are the tier's whole record, in its order.
	diff <(aggs <(echo "$output") | jq -c "$common" | head -1) <(head -1 "$T/tier")
}

@test "a replay at any pace gives the live run's windows" {
	"$BATS_TEST_DIRNAME/gen-readings" 2000 g1 >"$T/in"
	bms-agg -w 10s,1m,15m "$T/in" >"$T/file.out"
	mkfifo "$T/fifo"
	producer_start "$T/in" 97 "$T/fifo"
	bg+=("$PRODUCER_PID")
	bms-agg -w 10s,1m,15m <"$T/fifo" >"$T/live.out"
	cmp "$T/file.out" "$T/live.out"
}

@test "a reading not after its battery's latest passes through but is not aggregated" {
	{ cgen o 1 1000 0 50 1 50; cgen o 1 1000 2000 50 1 50; cgen o 1 1000 1000 50 1 50; cgen o 1 1000 2000 50 1 50; } >"$T/in"
	run --separate-stderr bms-agg "$T/in"
	[ "$status" -eq 0 ]
	diff <(noagg <<<"$output") "$T/in"
	[ "$(aggs <(echo "$output") | jq -r '[.n, .covered_ms] | @tsv')" = "$(printf '2\t2000')" ]
	[ "${stderr_lines[0]}" = "bms-agg: 'o': a reading at 2026-11-27T00:00:01.000Z is not after the latest one (2026-11-27T00:00:02.000Z): passed on, not aggregated (later ones are only counted)" ]
	[ "${stderr_lines[1]}" = "bms-agg: 2 readings not after their battery's latest passed on without being aggregated" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
}

@test "batteries are told apart by bms_id and tenant; past --max-batteries they only pass" {
	{
		cgen a 2 1000 0 50 1 50
		cgen a 2 1000 0 50 1 50 | sed 's/"timestamp"/"tenant":"lab","timestamp"/'
		cgen b 2 1000 0 50 1 50
	} >"$T/in"
	run --separate-stderr bms-agg --max-batteries 2 "$T/in"
	[ "$status" -eq 0 ]
	diff <(noagg <<<"$output") "$T/in"
	[ "$(aggs <(echo "$output") | jq -r '[.bms_id, .tenant // "-", .n] | @tsv')" = "$(printf 'a\t-\t2\na\tlab\t2')" ]
	[ "$stderr" = "bms-agg: more than 2 batteries: 'b' and any other new battery pass without being aggregated (see --max-batteries)" ]
}

# ==== Merges ====

P1='{"type":"reading","bms_id":"p1","timestamp":"2026-11-27T00:00:00.000Z","pack_voltage":53.2,"pack_current":10,"pack_power":532,"soc_percent":50,"soh_percent":90,"temperatures":[20],"cell_voltages":[3.3,3.4],"balancing_status":{"active":true,"cells_balancing":[2]},"protection_status":{"overvoltage":false,"undervoltage":false,"overcurrent_charge":false,"overcurrent_discharge":false,"overtemperature":false,"undertemperature":false},"fault_codes":["cell_voltage_high"],"warning_codes":["soc_low"],"cycles":12,"remaining_capacity_ah":50,"nominal_capacity_ah":100,"charge_mos":true,"discharge_mos":true}'
P2='{"type":"reading","bms_id":"p2","timestamp":"2026-11-27T00:00:00.400Z","pack_voltage":53.4,"pack_current":20,"pack_power":1068,"soc_percent":80,"soh_percent":96,"temperatures":[25],"cell_voltages":[3.5,3.2],"balancing_status":{"active":true,"cells_balancing":[1]},"protection_status":{"overvoltage":false,"undervoltage":false,"overcurrent_charge":false,"overcurrent_discharge":false,"overtemperature":true,"undertemperature":false},"fault_codes":["cell_voltage_high","short_circuit"],"warning_codes":[],"cycles":30,"remaining_capacity_ah":160,"nominal_capacity_ah":200,"charge_mos":false,"discharge_mos":true}'

@test "--merge --parallel: voltage the mean, currents and power add, SOC weighted by capacity" {
	printf '%s\n%s\n' "$P1" "$P2" >"$T/in"
	run --separate-stderr bms-agg --merge bank=p1,p2 "$T/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${lines[0]}" = "$P1" ]
	[ "${lines[1]}" = "$P2" ]
	# SOC (50 x 100 + 80 x 200) / 300 = 70, SOH (90 x 100 + 96 x 200) / 300 = 94.
	[ "${lines[2]}" = '{"type":"reading","bms_id":"bank","timestamp":"2026-11-27T00:00:00.400Z","pack_voltage":53.3,"pack_current":30,"pack_power":1600,"soc_percent":70,"soh_percent":94,"temperatures":[20,25],"cell_voltages":[3.3,3.4,3.5,3.2],"balancing_status":{"active":true,"cells_balancing":[2,3]},"protection_status":{"overvoltage":false,"undervoltage":false,"overcurrent_charge":false,"overcurrent_discharge":false,"overtemperature":true,"undertemperature":false},"fault_codes":["cell_voltage_high","short_circuit"],"warning_codes":["soc_low"],"remaining_capacity_ah":210,"nominal_capacity_ah":300,"charge_mos":false,"discharge_mos":true,"cell_count":4,"temp_count":2}' ]
	# Its window, as any battery's: the cell numbers of the concatenation.
	[ "$(aggs <(echo "$output") | jq -r 'select(.bms_id == "bank") | [.n, .cell_low.cell, .cell_high.cell, .complete] | @tsv')" = "$(printf '1\t4\t3\tfalse')" ]
}

@test "--merge --series: voltages add, current the mean, SOC the emptiest pack's" {
	printf '%s\n%s\n' "$P1" "$P2" >"$T/in"
	run --separate-stderr bms-agg --series --merge bank=p1,p2 "$T/in"
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = '{"type":"reading","bms_id":"bank","timestamp":"2026-11-27T00:00:00.400Z","pack_voltage":106.6,"pack_current":15,"pack_power":1600,"soc_percent":50,"soh_percent":90,"temperatures":[20,25],"cell_voltages":[3.3,3.4,3.5,3.2],"balancing_status":{"active":true,"cells_balancing":[2,3]},"protection_status":{"overvoltage":false,"undervoltage":false,"overcurrent_charge":false,"overcurrent_discharge":false,"overtemperature":true,"undertemperature":false},"fault_codes":["cell_voltage_high","short_circuit"],"warning_codes":["soc_low"],"remaining_capacity_ah":50,"nominal_capacity_ah":100,"charge_mos":false,"discharge_mos":true,"cell_count":4,"temp_count":2}' ]
}

@test "parallel weights come from [battery \"ID\"] capacity_ah without nominal_capacity_ah, else are equal" {
	strip='del(.nominal_capacity_ah, .remaining_capacity_ah)'
	{ jq -c "$strip" <<<"$P1"; jq -c "$strip" <<<"$P2"; } >"$T/in"
	printf '[battery "p1"]\ncapacity_ah = 100\n[battery "p2"]\ncapacity_ah = 300\n' >"$T/conf"
	run bms-agg -c "$T/conf" --merge bank=p1,p2 "$T/in"
	# (50 x 100 + 80 x 300) / 400
	[ "$(jq -r 'select(.bms_id == "bank") | .soc_percent' <<<"${lines[2]}")" = 72.5 ]
	printf '[battery "p1"]\ncapacity_ah = 100\n' >"$T/conf"
	run bms-agg -c "$T/conf" --merge bank=p1,p2 "$T/in"
	[ "$(jq -r '.soc_percent' <<<"${lines[2]}")" = 65 ]
}

@test "merge alignment: all packs within the window make one reading, each used once; a silent pack makes none" {
	{
		cgen p1 1 1000 0 50 1 50		# 00:00:00  dropped: too old for p2's
		cgen p2 1 1000 10000 50 2 100	# 00:00:10
		cgen p1 1 1000 11000 50 3 150	# 00:00:11  -> bank at 11 s
		cgen p1 1 1000 12000 50 4 200	# 00:00:12  waits: p2's was used
		cgen p1 1 1000 13000 50 5 250	# 00:00:13  replaces it
		cgen p2 1 1000 14000 50 6 300	# 00:00:14  -> bank at 14 s
		cgen p1 3 1000 20000 50 1 50	# p2 silent: nothing
	} >"$T/in"
	run --separate-stderr bms-agg --merge-window 5s --merge bank=p1,p2 "$T/in"
	[ "$status" -eq 0 ]
	[ "$(noagg <<<"$output" | grep '"bms_id":"bank","timestamp"' | jq -r '[.timestamp, .pack_current] | @tsv')" = "$(printf '2026-11-27T00:00:11.000Z\t5\n2026-11-27T00:00:14.000Z\t11')" ]
}

@test "merge definitions that make no sense are usage errors" {
	run --separate-stderr bms-agg --merge bank=p1
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-agg: --merge: bank: at least 2 packs" ]
	run --separate-stderr bms-agg --merge bank
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-agg: --merge: 'bank' is not NAME=ID,ID,..." ]
	run --separate-stderr bms-agg --merge a=p1,p2 --merge b=p2,p3 </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-agg: pack 'p2' is in merges 'a' and 'b'" ]
	printf '[merge "a"]\nmode = series\n' >"$T/conf"
	run --separate-stderr bms-agg -c "$T/conf" </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-agg: $T/conf: [merge \"a\"] has no packs" ]
	printf '[merge "a"]\npacks = p1,p2\nmode = serial\n' >"$T/conf"
	run --separate-stderr bms-agg -c "$T/conf" </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-agg: $T/conf:3:8: mode: 'serial' is not parallel or series" ]
}

@test "[merge \"NAME\"] sections define merges" {
	printf '%s\n%s\n' "$P1" "$P2" >"$T/in"
	printf '[merge "bank"]\npacks = p1,p2\nmode = series\nwindow = 1s\n' >"$T/conf"
	run --separate-stderr bms-agg -c "$T/conf" "$T/in"
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.bms_id, .pack_voltage] | @tsv' <<<"${lines[2]}")" = "$(printf 'bank\t106.6')" ]
}

@test "SIGHUP reloads --config; a broken file is reported and the old one kept" {
	strip='del(.nominal_capacity_ah, .remaining_capacity_ah)'
	pair() {
		jq -c --arg t "$1" "$strip | .timestamp = \$t" <<<"$P1"
		jq -c --arg t "$1" "$strip | .timestamp = \$t" <<<"$P2"
	}
	printf '[battery "p1"]\ncapacity_ah = 100\n[battery "p2"]\ncapacity_ah = 300\n' >"$T/conf"
	mkfifo "$T/in"
	bms-agg -c "$T/conf" --merge bank=p1,p2 <"$T/in" >"$T/out" 2>"$T/err" &
	pid=$!
	bg+=("$pid")
	exec 7>"$T/in"
	pair 2026-11-27T00:00:00Z >&7
	wait_line "$T/out" '"bms_id":"bank".*"soc_percent":72.5'
	echo 'capacity_ah = x' >"$T/conf"
	kill -HUP "$pid"
	wait_line "$T/err" 'keeping the configuration in use'
	pair 2026-11-27T00:00:01Z >&7
	wait_line "$T/out" '"bms_id":"bank".*"soc_percent":72.5' 2
	printf '[battery "p1"]\ncapacity_ah = 300\n[battery "p2"]\ncapacity_ah = 100\n' >"$T/conf"
	kill -HUP "$pid"
	pair 2026-11-27T00:00:02Z >&7
	wait_line "$T/out" '"bms_id":"bank".*"soc_percent":57.5'
	exec 7>&-
	wait "$pid"
	[ "$(cat "$T/err")" = "bms-agg: $T/conf:1:1: unknown key 'capacity_ah'; keeping the configuration in use" ]
}

# ==== State ====

@test "a run stopped half-way and resumed with --state writes what one run writes, byte for byte" {
	# Two packs polled 0.3 s apart and merged, three window lengths.
	"$BATS_TEST_DIRNAME/gen-readings" 2500 p1 2026-11-27T00:00:00.000Z >"$T/a"
	"$BATS_TEST_DIRNAME/gen-readings" 2500 p2 2026-11-27T00:00:00.300Z >"$T/b"
	paste -d '\n' "$T/a" "$T/b" >"$T/in"
	opts=(-w 10s,1m,15m --merge bank=p1,p2 --health-interval 10m)
	bms-agg "${opts[@]}" --state "$T/one.state" "$T/in" >"$T/one.out"
	# Cut between the two packs' readings of one poll (a merge pending),
	# and in the middle of every window.
	head -n 2777 "$T/in" >"$T/first"
	tail -n +2778 "$T/in" >"$T/second"
	bms-agg "${opts[@]}" --state "$T/two.state" "$T/first" >"$T/two.out"
	grep -q '"kind":"pending"' "$T/two.state"
	bms-agg "${opts[@]}" --state "$T/two.state" "$T/second" >>"$T/two.out"
	cmp "$T/one.out" "$T/two.out"
	[ "$(grep -c '"bms_id":"bank","timestamp"' "$T/one.out")" -gt 2400 ]
	# Health records of the three batteries at 00:10, 00:20, 00:30, 00:40.
	[ "$(recs health "$T/one.out" | jq -r '[.bms_id, .timestamp[11:16]] | @tsv' | sort | uniq | wc -l)" -eq 12 ]
	# The same state at the end, but for the time it was saved.
	cmp <(tail -n +2 "$T/one.state") <(tail -n +2 "$T/two.state")
	[ "$(stat -c %a "$T/two.state")" = 600 ]
	# Input fed again after a restart is not counted twice.
	bms-agg "${opts[@]}" --state "$T/two.state" "$T/second" 2>"$T/err" >"$T/again"
	diff "$T/again" "$T/second"
}

@test "stopped and resumed with --state in the middle of anomalies, the same records as one run" {
	anomaly_stream >"$T/in"
	opts=(-c "$T/conf" -w 1m,5m --health-interval 1m)
	bms-agg "${opts[@]}" --state "$T/one.state" "$T/in" >"$T/one.out"
	# 00:08:00: a sensor_stuck and a temperature_rise are active.
	head -n 480 "$T/in" >"$T/first"
	tail -n +481 "$T/in" >"$T/second"
	bms-agg "${opts[@]}" --state "$T/two.state" "$T/first" >"$T/two.out"
	grep -q '"kind":"health"' "$T/two.state"
	grep -q '"kind":"anomaly"' "$T/two.state"
	bms-agg "${opts[@]}" --state "$T/two.state" "$T/second" >>"$T/two.out"
	cmp "$T/one.out" "$T/two.out"
	[ "$(recs health "$T/one.out" | wc -l)" -eq 9 ]
	[ "$(recs anomaly "$T/one.out" | wc -l)" -eq 9 ]
	[ "$(recs anomaly "$T/first" | wc -l)" -eq 0 ]
	[ "$(recs anomaly "$T/two.out" | head -n 7 | tail -n 1 | jq -r .code)" = temperature_jump ]
	cmp <(tail -n +2 "$T/one.state") <(tail -n +2 "$T/two.state")
}

@test "at the end: with --state open windows are saved, not written; the next run closes them" {
	cgen e 90 1000 0 50 -10 -500 >"$T/in"
	run --separate-stderr bms-agg --state "$T/st" "$T/in"
	[ "$status" -eq 0 ]
	[ "$(aggs <(echo "$output") | jq -r '[.timestamp, .n, .complete] | @tsv')" = "$(printf '2026-11-27T00:00:00.000Z\t60\ttrue')" ]
	grep -q '"kind":"window","bms_id":"e","period":"1m","start":1795737660000,"n":30,' "$T/st"
	run --separate-stderr bms-agg --state "$T/st" < <(cgen e 1 1000 120000 50 -10 -500)
	[ "$(aggs <(echo "$output") | jq -r '[.timestamp, .n, .covered_ms, .complete] | @tsv')" = "$(printf '2026-11-27T00:01:00.000Z\t30\t60000\ttrue')" ]
}

@test "the state is saved on a pause of the input once --save-interval has passed" {
	mkfifo "$T/in"
	bms-agg --state "$T/st" --save-interval 0 <"$T/in" >"$T/out" &
	pid=$!
	bg+=("$pid")
	exec 7>"$T/in"
	cgen s 3 1000 0 50 1 50 >&7
	wait_line "$T/st" '"kind":"window","bms_id":"s","period":"1m","start":1795737600000,"n":3,'
	cgen s 1 1000 3000 50 1 50 >&7
	wait_line "$T/st" '"kind":"window","bms_id":"s","period":"1m","start":1795737600000,"n":4,'
	exec 7>&-
	wait "$pid"
}

@test "a damaged state file stops bms-agg at start with exit 1" {
	echo 'not a state' >"$T/st"
	run --separate-stderr bms-agg --state "$T/st" </dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "bms-agg: '$T/st': damaged at line 1: expected an object at column 1" ]
}

# ==== Lifetime analytics and anomalies ====

# A 125 Ah battery discharged from full to empty at 50 A: full at 0 s
# (cells 3.5 V, no current), -50 A from 10 s, the cells down from 3.3 to
# 2.85 V, empty at 7210 s (2.75 V), cut off at 7220 s.  Charge out: 10 s
# at a mean of 25 A at each end, and 720 intervals of 10 s at 50 A
# between: 360500 As = 100.1389 Ah.
discharge() {
	agen c 723 10000 'if (k == 0) { for (c = 1; c <= 16; c++) cell[c] = 3.5 } else { I = k == 722 ? 0 : -50; for (c = 1; c <= 16; c++) cell[c] = k >= 721 ? 2.75 : 3.3 - 0.45 * (k - 1) / 719 }'
}

# Every anomaly code once or twice, at 1 Hz for 10 minutes, the current
# swinging by 40 A and each cell moving by a millivolt: cell 3 frozen
# from 100 s (sensor_stuck after stuck_cell = 1m), cell 10 100 mV low at
# 200..259 s (cell_deviation after dev_sustain = 30s, over dev_clear =
# 60 s after it came back), the pack voltage at 70 V for the reading at
# 300 s (two voltage_jump), probe 2 12 degC up at 400 s (two
# temperature_jump), probe 1 rising 6 degC a minute from 450 to 550 s
# (temperature_rise over 2 degC in rise_span = 1m).
anomaly_stream() {
	printf '[anomaly]\ndev_sustain = 30s\nstuck_cell = 1m\nrise_span = 1m\nrise_c_per_min = 2\n' >"$T/conf"
	agen x 600 1000 'I = k % 2 ? 20 : -20; for (c = 1; c <= 16; c++) cell[c] = 3.3 + ((k + c) % 3) / 1000; if (k >= 100) cell[3] = 3.301; if (k >= 200 && k < 260) cell[10] -= 0.1; if (k == 300) V = 70; np = 2; p[1] = 20 + (k >= 450 ? (k < 550 ? k - 450 : 100) / 10 : 0); p[2] = 20 + (k == 400) * 12'
}

@test "a full-to-empty discharge measures the capacity; SOH and cycles of [battery] capacity_ah" {
	discharge >"$T/in"
	printf '[battery "c"]\ncapacity_ah = 125\n' >"$T/conf"
	run --separate-stderr bms-agg -c "$T/conf" "$T/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(noagg <<<"$output") "$T/in"
	recs health <(echo "$output") >"$T/h"
	# On the hours, before the reading at the hour (so without it), and
	# at the end at the latest reading.
	[ "$(jq -r '[.timestamp, .readings, .charge_out_ah, .nominal_ah, .equivalent_cycles, .capacity_runs] | @tsv' "$T/h")" = "$(printf '%s\n' \
		"2026-11-27T01:00:00.000Z	360	49.792	125	0.398	0" \
		"2026-11-27T02:00:00.000Z	720	99.792	125	0.798	0" \
		"2026-11-27T02:00:20.000Z	723	100.139	125	0.801	1")" ]
	# 100.1389 / 125 = 80.11 %
	[ "$(tail -n 1 "$T/h" | jq -r '[.capacity_ah, .capacity_kind, .capacity_at, .soh_percent, .capacity_refused] | @tsv')" = "$(printf '100.139\tdischarge\t2026-11-27T02:00:20.000Z\t80.1\t0')" ]
	# Each health record just before the reading at its time.
	grep -A1 '"type":"health".*"timestamp":"2026-11-27T01:00:00.000Z"' <<<"$output" | tail -n 1 | grep -q '^{"type":"reading","bms_id":"c","timestamp":"2026-11-27T01:00:00.000Z"'
	[ "$(recs anomaly <(echo "$output") | wc -l)" -eq 0 ]
}

@test "the nominal capacity is the readings' without capacity_ah; the chemistry sets full and empty" {
	discharge | sed 's/"cell_voltages"/"nominal_capacity_ah":200,"cell_voltages"/' >"$T/in"
	run bms-agg "$T/in"
	# 100.1389 / 200 = 50.07 %
	[ "$(recs health <(echo "$output") | tail -n 1 | jq -r '[.nominal_ah, .soh_percent, .equivalent_cycles] | @tsv')" = "$(printf '200\t50.1\t0.501')" ]
	# NMC cells are full at 4.15 V: 3.5 V is not full, so no run.
	run bms-agg --chemistry nmc "$T/in"
	[ "$(recs health <(echo "$output") | tail -n 1 | jq -r .capacity_runs)" = 0 ]
	printf '[battery "c"]\nchemistry = nmc\n' >"$T/conf"
	run bms-agg -c "$T/conf" "$T/in"
	[ "$(recs health <(echo "$output") | tail -n 1 | jq -r .capacity_runs)" = 0 ]
}

@test "a cell drifting away is flagged after dev_sustain, not before, and is the weakest cell" {
	# Cell 7 80 mV low from 600 s to 899 s of 1200: robust z = -80 /
	# (1.4826 x the MAD floor of 5 mV) = -10.79.
	agen d 1200 1000 'if (k >= 600 && k < 900) cell[7] = 3.22' >"$T/in"
	printf '[anomaly]\ndev_sustain = 2m\n' >"$T/conf"
	run --separate-stderr bms-agg -c "$T/conf" "$T/in"
	[ "$status" -eq 0 ]
	recs anomaly <(echo "$output") >"$T/a"
	[ "$(jq -r '[.timestamp, .code, .state, .cell, .since, .deviation_mv, .score, .threshold] | @tsv' "$T/a")" = "$(printf '%s\n' \
		"2026-11-27T00:12:00.000Z	cell_deviation	start	7	2026-11-27T00:10:00.000Z	-80	-10.79	3.5" \
		"2026-11-27T00:16:00.000Z	cell_deviation	end	7	2026-11-27T00:15:00.000Z	0	0	3.5")" ]
	# Right after the reading it concerns.
	grep -B1 '"type":"anomaly"' <<<"$output" | head -n 1 | grep -q '^{"type":"reading","bms_id":"d","timestamp":"2026-11-27T00:12:00.000Z"'
	# 300 of 1200 readings 80 mV low: -20 mV over the day so far.
	[ "$(recs health <(echo "$output") | jq -r '[.weakest_cell, .weakest_basis, .weakest_deviation_mv, .cell_deviation_mv[6]] | @tsv')" = "$(printf '7\tlatest_day\t-20\t-20')" ]
	# With the default of a minute it starts a minute earlier.
	run bms-agg "$T/in"
	[ "$(recs anomaly <(echo "$output") | head -n 1 | jq -r .timestamp)" = 2026-11-27T00:11:00.000Z ]
}

@test "every anomaly code on a stream made to show it; none on clean readings" {
	anomaly_stream >"$T/in"
	run --separate-stderr bms-agg -c "$T/conf" "$T/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(recs anomaly <(echo "$output") | jq -r '[.timestamp[11:19], .code, .state, .cell // "-", .probe // "-"] | @tsv') - <<-'END'
	00:02:40	sensor_stuck	start	3	-
	00:03:50	cell_deviation	start	10	-
	00:05:00	voltage_jump	event	-	-
	00:05:01	voltage_jump	event	-	-
	00:05:20	cell_deviation	end	10	-
	00:06:40	temperature_jump	event	-	2
	00:06:41	temperature_jump	event	-	2
	00:07:50	temperature_rise	start	-	1
	00:09:54	temperature_rise	end	-	1
	END
	# The pack at 300 s against the sum of the cells at 299 s.
	[ "$(recs anomaly <(echo "$output") | sed -n 3p | jq -r '[.value, .previous, .score, .threshold] | @tsv')" = "$(printf '70\t52.814\t17.186\t5')" ]
	# Five hours of the generator (charge, discharge, balancing): health
	# at 01:00 to 04:00 and at the end.
	"$BATS_TEST_DIRNAME/gen-readings" 18000 g1 >"$T/clean"
	run bms-agg "$T/clean"
	[ "$(recs anomaly <(echo "$output") | wc -l)" -eq 0 ]
	[ "$(recs health <(echo "$output") | wc -l)" -eq 5 ]
}

@test "--health-interval: records on its boundaries; 0 writes none" {
	agen h 7 60000 'I = -10' >"$T/in"
	run bms-agg --health-interval 2m "$T/in"
	[ "$(recs health <(echo "$output") | jq -r '[.timestamp[11:19], .readings] | @tsv')" = "$(printf '%s\n' \
		"00:02:00	2" "00:04:00	4" "00:06:00	6" "00:06:00	7")" ]
	run bms-agg --health-interval 0 "$T/in"
	[ "$(recs health <(echo "$output") | wc -l)" -eq 0 ]
	# With --state none at the end: the next run goes on.
	run bms-agg --state "$T/st" "$T/in"
	[ "$(recs health <(echo "$output") | wc -l)" -eq 0 ]
	run --separate-stderr bms-agg --health-interval 500ms </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-agg: --health-interval: 500ms is too short" ]
	run --separate-stderr bms-agg --chemistry lead </dev/null
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-agg: --chemistry: 'lead' is not lfp, nmc or lto" ]
}

@test "[health] and [anomaly] settings are checked: file, line and column" {
	printf '[anomaly]\ndev_sustain = 0\n' >"$T/conf"
	run --separate-stderr bms-agg -c "$T/conf" </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-agg: $T/conf:2:15: dev_sustain: 0 is out of range (1ms to 365d)" ]
	printf '[health "b1"]\nidle_a = -1\n' >"$T/conf"
	run --separate-stderr bms-agg -c "$T/conf" </dev/null
	[ "$stderr" = "bms-agg: $T/conf:2:10: idle_a: -1 is out of range (0.001 to 1e+06)" ]
	printf '[health]\nrun_min = x\n' >"$T/conf"
	run --separate-stderr bms-agg -c "$T/conf" </dev/null
	[ "$stderr" = "bms-agg: $T/conf:2:11: run_min: 'x' is not a duration (such as 500ms, 30s, 5m, 1h30m, 7d)" ]
	printf '[anomaly]\ndev_sustain_ms = 1m\n' >"$T/conf"
	run --separate-stderr bms-agg -c "$T/conf" </dev/null
	[ "$stderr" = "bms-agg: $T/conf:2:1: unknown key 'dev_sustain_ms' in [anomaly]" ]
	# Per battery: [anomaly "ID"] over [anomaly].
	agen d 400 1000 'if (k >= 100) cell[7] = 3.22' >"$T/in"
	printf '[anomaly]\ndev_sustain = 2m\n[anomaly "d"]\ndev_sustain = 10s\n' >"$T/conf"
	run bms-agg -c "$T/conf" "$T/in"
	[ "$(recs anomaly <(echo "$output") | jq -r .timestamp)" = 2026-11-27T00:01:50.000Z ]
}

# ==== Options and input ====

@test "window lengths must divide a day; a bad duration is a usage error" {
	run --separate-stderr bms-agg -w 7m
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-agg: --window: '7m' does not divide a day into whole seconds (windows are aligned to the clock: 10s, 1m, 15m, 1h, 1d ...)" ]
	run --separate-stderr bms-agg -w 1m,x
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-agg: --window: 'x' is not a duration (such as 10s, 1m, 15m, 1h, 1d)" ]
	run --separate-stderr bms-agg --max-gap 10
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-agg: --max-gap: '10' is not a duration (such as 500ms, 30s, 5m, 1h)" ]
}

@test "several lengths at once, repeated or listed, shorter windows first; 1d is a day" {
	cgen d 2 60000 86340000 50 1 50 >"$T/in"	# 23:59 and 00:00 next day
	sed -i '2s/2026-11-27T24:00/2026-11-28T00:00/' "$T/in"
	run bms-agg -w 1d -w 1m,1h "$T/in"
	[ "$(aggs <(echo "$output") | jq -r '[.period, .timestamp, .complete] | @tsv')" = "$(printf '%s\n' \
		"1m	2026-11-27T23:59:00.000Z	true" "1h	2026-11-27T23:00:00.000Z	true" \
		"1d	2026-11-27T00:00:00.000Z	true" "1m	2026-11-28T00:00:00.000Z	false" \
		"1h	2026-11-28T00:00:00.000Z	false" "1d	2026-11-28T00:00:00.000Z	false")" ]
}

@test "a bad reading is rejected with its reason; --strict stops with exit 3" {
	{ cgen r 1 1000 0 50 1 50; echo '{"type":"reading","bms_id":"r","timestamp":"2026-11-27T00:00:01Z","soc_percent":150}'; echo 'not json'; cgen r 1 1000 2000 50 1 50; } >"$T/in"
	run --separate-stderr bms-agg "$T/in"
	[ "$status" -eq 0 ]
	[ "${stderr_lines[0]}" = "bms-agg: $T/in:2: soc_percent: not in 0..100" ]
	[ "${stderr_lines[1]}" = "bms-agg: $T/in:3: not a JSON object: expected an object at byte 1" ]
	[ "$(noagg <<<"$output" | wc -l)" -eq 2 ]
	run --separate-stderr bms-agg <<<'{"type":"status","bms_id":"r","timestamp":"2026-11-27T00:00:01Z","type":"reading"}'
	[ "$stderr" = "bms-agg: <stdin>:1: type: more than once" ]
	[ -z "$output" ]
	run --separate-stderr bms-agg --strict "$T/in"
	[ "$status" -eq 3 ]
	[ "$(noagg <<<"$output" | wc -l)" -eq 1 ]
}

@test "a reading bms-validate judged bad passes through untouched and is left out of every analysis" {
	"$BATS_TEST_DIRNAME/gen-readings" 180 g1 >"$T/r"
	# A glitch at 00:01:30: a cell at 5 V, marked bad as bms-validate does.
	sed '91s/"cell_voltages":\[[0-9.]*,/"cell_voltages":[5,/; 91s/}$/,"quality":"bad","findings":[{"code":"cell_over_limit","severity":"error","message":"cell 1 at 5.000 V"}]}/' "$T/r" >"$T/in"
	[ "$(sed -n 91p "$T/in" | jq -r '[.cell_voltages[0], .quality] | @tsv')" = "$(printf '5\tbad')" ]
	sed 91d "$T/r" >"$T/without"
	bms-agg --health-interval 1m "$T/in" >"$T/out"
	bms-agg --health-interval 1m "$T/without" >"$T/out-without"
	# The same records but for the bad reading itself, passed on as it came.
	diff <(grep -v '"quality":"bad"' "$T/out") "$T/out-without"
	[ "$(grep -c '"quality":"bad"' "$T/out")" = 1 ]
	grep -qxF "$(sed -n 91p "$T/in")" "$T/out"
}

@test "a gap of a thousand years costs no more than a gap of a minute; a reading from the future is not aggregated" {
	"$BATS_TEST_DIRNAME/gen-readings" 3 g1 >"$T/r"
	# The same readings a thousand years later: one gap, the windows in
	# between not written, and not walked through one by one (that took
	# minutes: the timeout only stops a hang, it measures nothing).
	sed 's/"timestamp":"2026-/"timestamp":"1026-/' "$T/r" >"$T/in"
	cat "$T/r" >>"$T/in"
	run --separate-stderr timeout 60 bms-agg -w 1s "$T/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -r 'select(.type == "aggregate") | "\(.timestamp[0:4]) \(.gaps)"' <<<"$output" | sort | uniq -c | awk '{ print $1, $2, $3 }' | tr '\n' ' ')" = "2 1026 0 1 1026 1 2 2026 0 1 2026 1 " ]
	# A reading dated 2099 among today's: passed on, said once, counted.
	sed -n 1p "$T/r" | sed 's/"timestamp":"2026-/"timestamp":"2099-/' >"$T/in"
	cat "$T/r" >>"$T/in"
	run --separate-stderr bms-agg -w 1s "$T/in"
	[ "$status" -eq 0 ]
	[ "$(grep -c '"type":"reading"' <<<"$output")" = 4 ]
	[ "$(jq -r 'select(.type == "aggregate") | .n' <<<"$output" | tr '\n' ' ')" = "1 1 1 " ]
	[ "$stderr" = "$(printf '%s\n' "bms-agg: 'g1': a reading at 2099-11-27T00:00:00.250Z is in the future: passed on, not aggregated (later ones are only counted)" 'bms-agg: 1 reading in the future passed on without being aggregated')" ]
}

@test "a state file whose battery record holds an impossible time or capacity is refused as damaged" {
	for bad in '"latest":1e999' '"latest":"x"' '"health_at":1.5' '"late":-1' '"nominal_ah":-5'; do
		printf '%s\n' '{"type":"state","format":1,"program":"bms-agg","version":1,"saved":"2026-11-27T00:00:00.000Z"}' \
			"{\"kind\":\"battery\",\"bms_id\":\"x\",$bad}" '{"type":"end","records":1}' >"$T/st"
		run --separate-stderr bms-agg --state "$T/st" </dev/null
		[ "$status" -eq 1 ]
		[ "$stderr" = "bms-agg: '$T/st': damaged at line 2: battery: a time, count or capacity out of range" ]
	done
}
