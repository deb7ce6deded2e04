#!/usr/bin/env bats
# The pipeline end to end, through the real parts: bms-sim on a pty with
# a fault of a real pack or link, bms-read polling it, bms-decode,
# bms-validate and bms-agg; each fault is seen where it should be, and
# nowhere on a healthy pack.
#
# bms-sim --tick moves model time a fixed step per poll, so reading n
# (from 0) is at model time n * step whatever the machine's speed.  Where
# an analysis integrates over time, the readings are dated at their model
# time (retime below), as a capture replayed at its own pace would be;
# everything else uses the readings exactly as bms-read stamped them.

load helper

teardown() {
	sim_stop
}

# poll N [bms-read options]: N readings of the simulator through bms-read
# and bms-decode, every 0.05 s.
poll() {
	local n=$1
	shift
	bms-read --id p --interval 0.05 --count "$n" "$@" "$SIM_TTY" | bms-decode
}

# retime STEP [all]: date reading n at 2026-11-27T00:00:00Z + n * STEP
# seconds; with "all", every other record at the time of the reading
# before it (of the first, before any).
retime() {
	awk -v step="$1" -v all="${2:-}" '
	function ts(s,   d, h, m) {
		d = int(s / 86400); s -= d * 86400
		h = int(s / 3600); s -= h * 3600
		m = int(s / 60); s -= m * 60
		return sprintf("2026-11-%02dT%02d:%02d:%06.3fZ", 27 + d, h, m, s)
	}
	/"type":"reading"/ {
		sub(/"timestamp":"[^"]*"/, "\"timestamp\":\"" ts(n++ * step) "\"")
	}
	all && !/"type":"reading"/ {
		sub(/"timestamp":"[^"]*"/, "\"timestamp\":\"" ts((n ? n - 1 : 0) * step) "\"")
	}
	{ print }'
}

# The verdicts of the readings, one line each: quality and finding codes.
verdicts() {
	jq -r 'select(.type == "reading") | [.quality, (.findings // [] | map(.code) | join(","))] | join(" ") | sub(" $"; "")'
}

@test "a healthy pack: every reading good, windows, no anomaly" {
	sim_start --tick 60
	poll 12 | bms-validate --chemistry lfp >"$BATS_TEST_TMPDIR/v"
	[ "$(verdicts <"$BATS_TEST_TMPDIR/v" | sort | uniq -c | awk '{ print $1, $2 }')" = "12 good" ]
	retime 60 <"$BATS_TEST_TMPDIR/v" | bms-agg --window 5m >"$BATS_TEST_TMPDIR/a"
	[ "$(jq -r 'select(.type == "aggregate") | "\(.timestamp) \(.n) \(.complete)"' "$BATS_TEST_TMPDIR/a")" = "$(printf '%s\n' \
		'2026-11-27T00:00:00.000Z 5 true' '2026-11-27T00:05:00.000Z 5 true' '2026-11-27T00:10:00.000Z 2 false')" ]
	[ "$(jq -r 'select(.type == "anomaly")' "$BATS_TEST_TMPDIR/a")" = "" ]
	[ "$(jq -r 'select(.type == "reading")' "$BATS_TEST_TMPDIR/a" | jq -s length)" = 12 ]
}

@test "a failing probe: the decoder drops it, bms-validate says the pack has one probe too few" {
	sim_start --tick 60 --dead-probe 2@180
	printf '[battery]\ntemps = 2\n' >"$BATS_TEST_TMPDIR/v.conf"
	poll 6 | bms-validate --chemistry lfp -c "$BATS_TEST_TMPDIR/v.conf" >"$BATS_TEST_TMPDIR/v"
	diff <(verdicts <"$BATS_TEST_TMPDIR/v") - <<-'END'
	good
	good
	good
	suspect temp_count_mismatch
	suspect temp_count_mismatch
	suspect temp_count_mismatch
	END
	[ "$(jq -r 'select(.type == "reading") | .warning_codes | index("temperature_sensor_2_fault") != null' "$BATS_TEST_TMPDIR/v" | tr '\n' ' ')" = "false false false true true true " ]
}

@test "a frozen link: the same reading again and again is flagged once it has lasted frozen_after" {
	sim_start --tick 60 --freeze-after 120
	printf '[validate]\nfrozen_after = 1ms\n' >"$BATS_TEST_TMPDIR/v.conf"
	poll 6 | bms-validate --chemistry lfp -c "$BATS_TEST_TMPDIR/v.conf" >"$BATS_TEST_TMPDIR/v"
	# From model time 120 s (reading 2) the link replays the answers of
	# reading 1: the readings are the same but for their time.
	[ "$(jq -c 'select(.type == "reading") | del(.timestamp, .quality, .findings)' "$BATS_TEST_TMPDIR/v" | uniq | wc -l)" = 2 ]
	diff <(verdicts <"$BATS_TEST_TMPDIR/v") - <<-'END'
	good
	good
	suspect frozen_reading
	suspect frozen_reading
	suspect frozen_reading
	suspect frozen_reading
	END
}

@test "a drifting cell: bms-agg flags it once it has left the pack by dev_min_mv for dev_sustain, and names it weakest" {
	sim_start --tick 60 --drift-cell 5:-600@600
	poll 30 | bms-validate --chemistry lfp | retime 60 >"$BATS_TEST_TMPDIR/v"
	[ "$(verdicts <"$BATS_TEST_TMPDIR/v" | sort -u)" = good ]
	bms-agg --window 1h --max-gap 10m "$BATS_TEST_TMPDIR/v" >"$BATS_TEST_TMPDIR/a"
	# The first reading whose cell 5 is 50 mV (dev_min_mv) or more below
	# the median of the pack: drifting at 10 mV a poll from 00:10, it
	# left the others' 3.34 V after a few polls.
	since=$(jq -r 'select(.type == "reading") | select((.cell_voltages | sort | (.[7] + .[8]) / 2) - .cell_voltages[4] >= 0.05) | .timestamp' "$BATS_TEST_TMPDIR/v" | head -n 1)
	[[ $since > 2026-11-27T00:10 ]]
	start=$(date -u -d "$since 60 seconds" +%Y-%m-%dT%H:%M:%S.000Z)
	diff <(jq -c 'select(.type == "anomaly") | [.code, .state, .cell, .since, .timestamp]' "$BATS_TEST_TMPDIR/a") - <<-END
	["cell_deviation","start",5,"$since","$start"]
	END
	[ "$(jq -c 'select(.type == "health") | [.weakest_cell, .weakest_deviation_mv < -50]' "$BATS_TEST_TMPDIR/a")" = '[5,true]' ]
}

@test "a full discharge of a weak pack: the capacity it gave, its health, and its weakest cell" {
	# 100 Ah rated at 80 % health, cell 3 holding 90 % of the others: the
	# pack is empty when that cell is, after 100 * 0.8 * 0.9 = 72 Ah, at
	# 40 A a poll every 72 s of model time (0.8 Ah).
	sim_start --capacity 100 --soh 80 --weak-cell 3:90 --soc 100 --current -40 --tick 72
	# Judged at model time too: the jumps a reading may make are rates,
	# and polls 0.05 s apart on a loaded machine are not evenly spaced.
	poll 95 | retime 72 | bms-validate --chemistry lfp >"$BATS_TEST_TMPDIR/v"
	bms-agg --window 1h --max-gap 10m "$BATS_TEST_TMPDIR/v" >"$BATS_TEST_TMPDIR/a"
	jq -c 'select(.type == "health")' "$BATS_TEST_TMPDIR/a" | tail -n 1 >"$BATS_TEST_TMPDIR/h"
	# The readings sample the current; the trapezoid over the last
	# interval, from 40 A to the 0 A after the cut-off, loses half a poll
	# (0.4 Ah): within 1 %.
	jq -e '.capacity_runs == 1 and .capacity_kind == "discharge" and
		(.capacity_ah - 72 | fabs) <= 0.72 and (.soh_percent - 72 | fabs) <= 0.72 and
		.nominal_ah == 100 and (.equivalent_cycles - 0.72 | fabs) <= 0.0072 and
		.weakest_cell == 3 and .weakest_basis == "low_discharge"' "$BATS_TEST_TMPDIR/h"
	# The weak cell sags first at the bottom: the one cell that departs.
	[ "$(jq -r 'select(.type == "anomaly") | "\(.code) \(.state) \(.cell)"' "$BATS_TEST_TMPDIR/a" | sort -u)" = "cell_deviation start 3" ]
	# Down the knee a poll at a time: no step a pack cannot make.
	[ "$(verdicts <"$BATS_TEST_TMPDIR/v" | sort -u)" = good ]
}

@test "an over-voltage cell through the whole pipeline: alerted, stored, and posted to a webhook once" {
	local T=$BATS_TEST_TMPDIR hook port
	sim_start --tick 60 --drift-cell 5:2000
	store_new site
	"$BATS_TEST_DIRNAME/webhook" "$T/hook" 2>"$T/hook.err" &
	hook=$!
	wait_line "$T/hook.err" 'listening on AF=2 127\.0\.0\.1:[0-9]+$'
	port=$(sed -n 's/.*listening on AF=2 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/hook.err")
	poll 20 | bms-validate --chemistry lfp | retime 60 all | bms-agg --chemistry lfp |
		bms-alert -R "$BATS_TEST_DIRNAME/../share/rules/lfp.rules" \
			--exec "curl -sS --fail -m 10 -H 'Content-Type: application/json' --data-binary @- http://127.0.0.1:$port/hook" |
		bms-store --passthrough -d "$STORE" -T site >"$T/out"
	kill "$hook"
	wait "$hook" 2>/dev/null || true
	# Cell 5 leaves the others (bms-agg's anomaly, then the spread), the
	# BMS flags it at 3.65 V (reading 10); it is raised at the next (the
	# rule's 5 s delay is one reading of model time), escalated above
	# 3.75 V, and judged impossible above 3.8 V.
	[ "$(jq -r 'select(.type == "alert") | "\(.timestamp[11:19]) \(.rule) \(.state)"' "$T/out")" = "$(printf '%s\n' \
		'00:03:00 cell_deviation raised' '00:08:00 cell_imbalance raised' \
		'00:10:00 bms_protection raised' '00:10:00 bms_fault raised' \
		'00:11:00 cell_overvoltage raised' '00:14:00 cell_overvoltage escalated' \
		'00:15:00 reading_bad raised')" ]
	run jq -r 'select(.rule == "cell_overvoltage" and .state == "raised") | .message' "$T/out"
	[ "$output" = "cell 5 at 3.700 V, above 3.65 V" ]
	# The store keeps every alert; the webhook got each exactly once.
	grep '"type":"alert"' "$T/out" >"$T/alerts"
	bms-store -d "$STORE" -T site query --type alerts --since 2026-11-27 |
		jq -c 'del(.id, .ack_by, .ack_at)' | sort >"$T/stored"
	jq -c . "$T/alerts" | sort | diff - "$T/stored"
	jq -c . "$T/hook" | sort | diff <(jq -c . "$T/alerts" | sort) -
}
