#!/usr/bin/env bats
# bms-store: real SQLite stores on disk.  Tenants and their databases,
# every record type stored and given back byte for byte (NDJSON and CSV),
# the battery and user registries, tenant isolation, durability (kill -9,
# SIGTERM, read-only and full filesystems), schema migrations, several
# writers at once, online backup, and the history tiers with retention.
#
# Waits are for events (lines acknowledged on --passthrough, a process
# ending), never for a length of time; how fast the store is belongs in
# make bench.

load helper

# 100,000 readings of one 16-cell pack at 1 Hz from 2026-11-27T00:00:00.250Z
# (about 28 hours), for the tests that need a long ingest.
setup_file() {
	export GEN="$BATS_FILE_TMPDIR/gen.ndjson"
	"$BATS_TEST_DIRNAME/gen-readings" 100000 >"$GEN"
}

setup() {
	T=$BATS_TEST_TMPDIR
	bg=()
}

teardown() {
	exec 7>&- 8>&- 2>/dev/null || true
	stop_bg "${bg[@]}"
}

# ingest TENANT ARGS...: store records as tenant TENANT of $STORE.
ingest() {
	local t=$1
	shift
	bms-store --db "$STORE" --tenant "$t" "$@"
}

# q TENANT ARGS...: query tenant TENANT of $STORE.
q() {
	local t=$1
	shift
	bms-store --db "$STORE" --tenant "$t" query "$@"
}

# rows DB SQL: one value of a query on a database file.
rows() {
	sqlite3 "$1" "$2"
}

# with_ids ID...: the alert lines of standard input as a query gives them
# back, each with the id of its row (the next ID) added before its
# closing brace.
with_ids() {
	local l
	while IFS= read -r l; do
		printf '%s,"id":%s}\n' "${l%\}}" "$1"
		shift
	done
}

# mask_uuid: blank every "uuid" value that is a random (version 4) UUID,
# lowercase, 8-4-4-4-12, as the store gives each battery; any other
# value stays as it is, and fails the comparison.
mask_uuid() {
	sed -E 's/"uuid":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"/"uuid":"U"/g'
}

# The day of the fixtures, and the span of $GEN at the raw tier.
DAY=(--since 2026-11-27 --until 2026-11-28)
GENSPAN=(--tier raw --since 2026-11-27 --until 2026-11-29)

# ==== The store and its tenants ====

@test "init makes a store (twice is harmless); tenants add, set and list" {
	S=$T/s
	run --separate-stderr bms-store --db "$S" init
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	run --separate-stderr bms-store -d "$S" init
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	[ -f "$S/control.db" ]
	run --separate-stderr bms-store --db "$S" tenants add acme
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	bms-store --db "$S" tenants add b2 --raw-days 7 --minute-days 90 --hour-days 3650
	[ -f "$S/tenants/acme.db" ]
	[ -f "$S/tenants/b2.db" ]
	run --separate-stderr bms-store --db "$S" tenants list
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(mask_created <<<"$output") - <<-'END'
	{"name":"acme","created":"T","raw_days":30,"minute_days":400,"hour_days":0}
	{"name":"b2","created":"T","raw_days":7,"minute_days":90,"hour_days":3650}
	END
	# set changes only what it is given.
	bms-store --db "$S" tenants set acme --raw-days 1
	bms-store --db "$S" tenants set b2 --hour-days 0
	diff <(bms-store --db "$S" tenants list | mask_created) - <<-'END'
	{"name":"acme","created":"T","raw_days":1,"minute_days":400,"hour_days":0}
	{"name":"b2","created":"T","raw_days":7,"minute_days":90,"hour_days":0}
	END
	run --separate-stderr bms-store --db "$S" check
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") - <<-'END'
	control.db: ok
	tenants/acme.db: ok
	tenants/b2.db: ok
	END
}

@test "a tenant added twice is refused and the first one stays" {
	store_new acme
	run --separate-stderr bms-store --db "$STORE" tenants add acme --raw-days 5
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: tenant 'acme' exists already" ]
	[ "$(bms-store --db "$STORE" tenants list | jq -c '[.name, .raw_days]')" = '["acme",0]' ]
}

@test "usage errors: no --db, ingest without --tenant (exit 2)" {
	run --separate-stderr bms-store --tenant t <"$FIX/reading-16s.ndjson"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "bms-store: --db is required" ]
	run --separate-stderr bms-store tenants list
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-store: --db is required" ]
	store_new t
	run --separate-stderr bms-store --db "$STORE" <"$FIX/reading-16s.ndjson"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "bms-store: --tenant is required to store records" ]
	run --separate-stderr q t --type status --tier raw "${DAY[@]}"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "bms-store: --tier is for --type readings" ]
	run --separate-stderr ingest t --sync always "$FIX/reading-16s.ndjson"
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-store: --sync: 'always' is not normal or full" ]
	run --separate-stderr ingest t --busy-timeout 0 "$FIX/reading-16s.ndjson"
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-store: --busy-timeout: '0' is not a whole number from 1 to 86400000" ]
	run --separate-stderr bms-store --db "$STORE" --bogus init
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-store: unknown option '--bogus'" ]
	[ "${stderr_lines[-1]}" = "Try 'bms-store --help' for more information." ]
	[ "$(rows "$STORE/tenants/t.db" 'select count(*) from readings')" = 0 ]
}

@test "a missing store and a missing tenant are configuration errors that say what to do" {
	S=$T/nothing
	run --separate-stderr bms-store --db "$S" tenants list
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: cannot open store '$S': no control.db; create it with: bms-store --db $S init" ]
	run --separate-stderr bms-store --db "$S" --tenant t <"$FIX/reading-16s.ndjson"
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-store: cannot open store '$S': no control.db; create it with: bms-store --db $S init" ]
	[ ! -e "$S/control.db" ]
	store_new t
	run --separate-stderr ingest x <"$FIX/reading-16s.ndjson"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: no tenant 'x' in store '$STORE'; add it with: bms-store --db $STORE tenants add x" ]
	run --separate-stderr q x "${DAY[@]}"
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-store: no tenant 'x' in store '$STORE'; add it with: bms-store --db $STORE tenants add x" ]
	[ ! -e "$STORE/tenants/x.db" ]
}

@test "a tenant database newer than this bms-store is refused and left as it is" {
	store_new t
	ingest t "$FIX/reading-16s.ndjson"
	sqlite3 "$STORE/tenants/t.db" 'PRAGMA user_version = 99'
	want="bms-store: $STORE/tenants/t.db: schema version 99 is newer than this bms-store knows (8); use a newer bms-store"
	run --separate-stderr q t "${DAY[@]}"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "$want" ]
	run --separate-stderr ingest t "$FIX/reading-d2.ndjson"
	[ "$status" -eq 2 ]
	[ "$stderr" = "$want" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries list
	[ "$status" -eq 2 ]
	[ "$stderr" = "$want" ]
	[ "$(rows "$STORE/tenants/t.db" 'PRAGMA user_version')" = 99 ]
	[ "$(rows "$STORE/tenants/t.db" 'select count(*) from readings')" = 1 ]
}

@test "tenant names that are not plain names are refused and create nothing" {
	store_new a
	snap() { (cd "$T" && find . -name 'find-*' -prune -o -name 'separate-stderr-*' -prune -o -print | sort); }
	snap >"$T/find-before"
	for name in ../x A/b a/b . .. A '' 'a b' -x .hidden "$(printf 'x%.0s' $(seq 64))"; do
		run --separate-stderr bms-store --db "$STORE" tenants add "$name"
		[ "$status" -eq 2 ] || { echo "tenants add '$name': status $status"; false; }
		[ -z "$output" ]
		want="bms-store: bad tenant name '$name': use a-z, 0-9, '_' and '-', at most 63 bytes, starting with a letter or digit"
		# (tenants add -x is an unknown option of tenants add.)
		[ "$name" = -x ] || [ "$stderr" = "$want" ]
		run --separate-stderr bms-store --db "$STORE" --tenant "$name" query "${DAY[@]}"
		[ "$status" -eq 2 ] || { echo "--tenant '$name' query: status $status"; false; }
		[ -z "$output" ]
		[ "$stderr" = "$want" ]
		run --separate-stderr bms-store --db "$STORE" --tenant "$name" "$FIX/reading-16s.ndjson"
		[ "$status" -eq 2 ] || { echo "--tenant '$name' ingest: status $status"; false; }
		[ -z "$output" ]
		[ "$stderr" = "$want" ]
	done
	snap | diff "$T/find-before" -
	[ "$(bms-store --db "$STORE" tenants list | jq -r .name)" = a ]
	# The longest name allowed is 63 bytes.
	bms-store --db "$STORE" tenants add "$(printf 'y%.0s' $(seq 63))"
}

# ==== Every record type back as it came ====

@test "readings of bms-decode come back byte for byte" {
	store_new t u
	run --separate-stderr ingest t "$FIX/reading-16s.ndjson" "$FIX/reading-d2.ndjson"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	q t "${DAY[@]}" >"$T/out"
	diff "$T/out" <(cat "$FIX/reading-16s.ndjson" "$FIX/reading-d2.ndjson")
	q t --type readings --battery p2 "${DAY[@]}" >"$T/out"
	diff "$T/out" "$FIX/reading-d2.ndjson"
	# Straight from the decoder, with a flush to disk per commit.
	bms-decode "$FIX/frames-16s.ndjson" | ingest u --sync full
	q u "${DAY[@]}" >"$T/out"
	diff "$T/out" "$FIX/reading-16s.ndjson"
	# The worked readings are kept packed, not as their text.
	[ "$(rows "$STORE/tenants/t.db" 'select max(length(body)) < 200 from readings')" = 1 ]
}

@test "readings in any other form come back byte for byte" {
	store_new t
	run --separate-stderr ingest t <"$FIX/store-readings-odd.ndjson"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	q t "${DAY[@]}" >"$T/out"
	diff "$T/out" "$FIX/store-readings-odd.ndjson"
	# "shed\u00e9" and "shedé" are one battery.
	q t --battery shedé "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n '6,7p' "$FIX/store-readings-odd.ndjson")
}

@test "a generated day of readings comes back byte for byte" {
	store_new t
	head -n 20000 "$GEN" >"$T/in"
	ingest t "$T/in"
	q t "${GENSPAN[@]}" >"$T/out"
	cmp "$T/out" "$T/in"
	[ "$(rows "$STORE/tenants/t.db" 'select count(*) from readings')" = 20000 ]
}

@test "status, alert and aggregate records come back verbatim, by type" {
	store_new t
	run --separate-stderr ingest t "$FIX/store-records.ndjson"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	q t --type status "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n '1p;5p;6p' "$FIX/store-records.ndjson")
	q t --type alerts "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n '3p;4p;8p' "$FIX/store-records.ndjson" | with_ids 1 2 3)
	q t --type aggregates "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n '2p;7p' "$FIX/store-records.ndjson")
	run --separate-stderr q t "${DAY[@]}"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "--battery picks one battery and --since/--until is a half-open window" {
	store_new t
	ingest t "$FIX/store-records.ndjson"
	q t --type status --battery p2 "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n '6p' "$FIX/store-records.ndjson")
	q t --type alerts --since 2026-11-27T14:31:00Z --until 2026-11-27T14:46:00.500Z >"$T/out"
	diff "$T/out" <(sed -n '3p;4p' "$FIX/store-records.ndjson" | with_ids 1 2)
	q t --type alerts --since 2026-11-27T15:31:00.001+01:00 --until 2026-11-27T14:46:00.501Z >"$T/out"
	diff "$T/out" <(sed -n '4p;8p' "$FIX/store-records.ndjson" | with_ids 2 3)
	run --separate-stderr q t --type alerts --battery nosuch "${DAY[@]}"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "query --csv: readings, with a header and RFC 4180 quoting" {
	store_new t
	{
		cat "$FIX/reading-16s.ndjson" "$FIX/reading-d2.ndjson"
		sed -n 5p "$FIX/store-readings-odd.ndjson"
		echo '{"type":"reading","bms_id":"rack 1, \"left\"","timestamp":"2026-11-27T14:29:19.000Z","pack_voltage":26.7}'
	} >"$T/in"
	ingest t "$T/in"
	run --separate-stderr q t --csv "${DAY[@]}"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") - <<-'END'
	timestamp,bms_id,pack_voltage,pack_current,pack_power,soc_percent,soh_percent,cell_voltages,temperatures,cycles,remaining_capacity_ah,fault_codes,warning_codes
	2026-11-27T14:29:11.123Z,p1,53.4,12.5,667.5,78.5,,3.338 3.341 3.336 3.343 3.335 3.34 3.342 3.344 3.337 3.341 3.339 3.352 3.333 3.34 3.342 3.341,27 25,42,219.8,,
	2026-11-27T14:29:11.123Z,p2,53.4,12.5,668,78.5,,3.338 3.341 3.336 3.343 3.335 3.34 3.342 3.344 3.337 3.341 3.339 3.352 3.333 3.34 3.342 3.341,27 25,42,219.8,,
	2026-11-27T14:29:16.000Z,p9,53.4,,,,,3.3 3.31,,,,cell_overvoltage,soc_low temperature_high
	2026-11-27T14:29:19.000Z,"rack 1, ""left""",26.7,,,,,,,,,,
	END
}

@test "query --csv: status, alerts and aggregates" {
	store_new t
	ingest t "$FIX/store-records.ndjson"
	run --separate-stderr q t --type status --csv "${DAY[@]}"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") - <<-'END'
	timestamp,bms_id,state,reason,quality,message
	2026-11-27T14:29:11.123Z,p1,connected,ok,100,polling
	2026-11-27T14:35:00.000Z,p1,disconnected,no_reply,40,"board 1 on '/dev/ttyUSB0' does not answer: is the BMS ""asleep""?"
	2026-11-27T14:40:00.000Z,p2,error,garbled,0,
	END
	run --separate-stderr q t --type alerts --csv "${DAY[@]}"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") - <<-'END'
	id,timestamp,bms_id,alert_id,severity,code,state,message,ack_by,ack_at
	1,2026-11-27T14:31:00.000Z,p1,,warning,cell_voltage_high,firing,"cell 12 at 3.652 V, above 3.65 V",,
	2,2026-11-27T14:33:00.000Z,p1,,warning,cell_voltage_high,resolved,cell 12 back at 3.601 V,,
	3,2026-11-27T14:46:00.500Z,p2,,critical,temperature_high,firing,"probe 2 at 61 degC
	above 60 degC",,
	END
	run --separate-stderr q t --type aggregates --csv "${DAY[@]}"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	sed -n '2p;7p' "$FIX/store-records.ndjson" | jq -r '"\(.timestamp),\(.bms_id)"' >"$T/head"
	sed -n '2p;7p' "$FIX/store-records.ndjson" | sed 's/"/""/g; s/^/"/; s/$/"/' >"$T/doc"
	diff <(echo "$output") <(echo timestamp,bms_id,doc; paste -d, "$T/head" "$T/doc")
}

# ==== Alerts and their acknowledgement ====

# The records of bms-alert: a raise and its clear, paired by alert_id.
ALERT_RAISED='{"type":"alert","bms_id":"house","timestamp":"2026-11-27T10:00:05.000Z","alert_id":"house/cell_overvoltage","rule":"cell_overvoltage","state":"raised","severity":"warning","since":"2026-11-27T10:00:05.000Z","count":1,"value":3.712,"threshold":3.65,"message":"cell 5 at 3.712 V"}'
ALERT_CLEARED='{"type":"alert","bms_id":"house","timestamp":"2026-11-27T10:05:05.000Z","alert_id":"house/cell_overvoltage","rule":"cell_overvoltage","state":"cleared","severity":"warning","since":"2026-11-27T10:00:05.000Z","count":1,"value":3.641,"threshold":3.65,"message":"cell 5 at 3.641 V"}'

# mask_ack: blank every "ack_at" RFC 3339 value of NDJSON, or the last
# field of a CSV line when it is one.
mask_ack() {
	sed -E 's/"ack_at":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z"/"ack_at":"T"/g; s/,[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/,T/'
}

@test "alerts come back with their row's id and, once acknowledged, who and when" {
	store_new t
	{ echo "$ALERT_RAISED"; echo "$ALERT_CLEARED"; sed -n 3p "$FIX/store-records.ndjson"; } >"$T/in"
	ingest t "$T/in"
	run --separate-stderr bms-store --db "$STORE" --tenant t ack 1 --by alice --note "cell 5 rebalanced"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	run --separate-stderr q t --type alerts "${DAY[@]}"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(mask_ack <<<"$output") - <<-'END'
	{"type":"alert","bms_id":"house","timestamp":"2026-11-27T10:00:05.000Z","alert_id":"house/cell_overvoltage","rule":"cell_overvoltage","state":"raised","severity":"warning","since":"2026-11-27T10:00:05.000Z","count":1,"value":3.712,"threshold":3.65,"message":"cell 5 at 3.712 V","id":1,"ack_by":"alice","ack_at":"T"}
	{"type":"alert","bms_id":"house","timestamp":"2026-11-27T10:05:05.000Z","alert_id":"house/cell_overvoltage","rule":"cell_overvoltage","state":"cleared","severity":"warning","since":"2026-11-27T10:00:05.000Z","count":1,"value":3.641,"threshold":3.65,"message":"cell 5 at 3.641 V","id":2}
	{"type":"alert","bms_id":"p1","timestamp":"2026-11-27T14:31:00.000Z","severity":"warning","rule":"cell_voltage_high","state":"firing","message":"cell 12 at 3.652 V, above 3.65 V","value":3.652,"id":3}
	END
	# ack_at is the time of the acknowledgement, in milliseconds.
	at=$(rows "$STORE/tenants/t.db" 'select ack_at from alerts where id = 1')
	[ $((at / 1000 - $(date +%s))) -le 1 ]
	[ $(($(date +%s) - at / 1000)) -le 60 ]
	[ "$(jq -r 'select(.id == 1) | .ack_at' <<<"$output")" = "$(date -u -d "@$((at / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf %03d $((at % 1000)))Z" ]
	run --separate-stderr q t --type alerts --csv "${DAY[@]}"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(mask_ack <<<"$output") - <<-'END'
	id,timestamp,bms_id,alert_id,severity,code,state,message,ack_by,ack_at
	1,2026-11-27T10:00:05.000Z,house,house/cell_overvoltage,warning,cell_overvoltage,raised,cell 5 at 3.712 V,alice,T
	2,2026-11-27T10:05:05.000Z,house,house/cell_overvoltage,warning,cell_overvoltage,cleared,cell 5 at 3.641 V,,
	3,2026-11-27T14:31:00.000Z,p1,,warning,cell_voltage_high,firing,"cell 12 at 3.652 V, above 3.65 V",,
	END
	# The other record types are given back as they came.
	ingest t "$FIX/store-records.ndjson"
	q t --type status "${DAY[@]}" | diff - <(sed -n '1p;5p;6p' "$FIX/store-records.ndjson")
	q t --type aggregates "${DAY[@]}" | diff - <(sed -n '2p;7p' "$FIX/store-records.ndjson")
}

@test "ack keeps the first acknowledgement and logs each one; an unknown or bad id is a usage error" {
	store_new t u
	{ echo "$ALERT_RAISED"; echo "$ALERT_CLEARED"; } >"$T/in"
	ingest t "$T/in"
	ingest u "$T/in"
	bms-store --db "$STORE" --tenant t ack 1 --by alice --note "cell 5 rebalanced"
	at=$(q t --type alerts "${DAY[@]}" | jq -r 'select(.id == 1) | .ack_at')
	run --separate-stderr bms-store --db "$STORE" --tenant t ack 1 --by bob --note "me too"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: alert 1 in tenant 't' was acknowledged already, by 'alice' at $at; that acknowledgement is kept" ]
	# Who acknowledges is the login name unless --by says.
	USER=carol bms-store --db "$STORE" --tenant t ack 2
	env -u USER bms-store --db "$STORE" --tenant u ack 2
	[ "$(rows "$STORE/tenants/t.db" "select id || ' ' || ack_by from alerts order by id" | tr '\n' ,)" = "1 alice,2 carol," ]
	[ "$(rows "$STORE/tenants/u.db" "select id || ' ' || ifnull(ack_by, '-') from alerts order by id" | tr '\n' ,)" = "1 -,2 $(id -un)," ]
	diff <(sqlite3 "$STORE/tenants/t.db" 'select user, action, object, detail from audit order by id') - <<-'END'
	alice|alert_ack|1|cell 5 rebalanced
	carol|alert_ack|2|
	END
	run --separate-stderr bms-store --db "$STORE" --tenant t ack 3
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: no alert 3 in tenant 't'" ]
	for id in x 0 -1 1x 99999999999999999999; do
		run --separate-stderr bms-store --db "$STORE" --tenant t ack -- "$id"
		[ "$status" -eq 2 ]
		[ "$stderr" = "bms-store: ack: '$id' is not an alert id (the \"id\" of query --type alerts)" ]
	done
	run --separate-stderr bms-store --db "$STORE" --tenant t ack 2 --by ''
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-store: bad name '' for an acknowledgement: 1 to 127 bytes of UTF-8 without control characters" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t ack 2 --by $'a\nb'
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-store: bad name 'a\\nb' for an acknowledgement: 1 to 127 bytes of UTF-8 without control characters" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t ack
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-store: ack: give one alert id" ]
	[ "${stderr_lines[1]}" = "usage: bms-store -d dir -T tenant ack id [--by user] [--note text]" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t ack 1 2
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-store: ack: give one alert id" ]
	run --separate-stderr bms-store --db "$STORE" ack 1
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-store: --tenant is required for ack" ]
	run --separate-stderr bms-store --db "$STORE" --tenant nosuch ack 1
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-store: no tenant 'nosuch' in store '$STORE'; add it with: bms-store --db $STORE tenants add nosuch" ]
	# Nothing of that changed an acknowledgement or the log.
	[ "$(rows "$STORE/tenants/t.db" "select count(*) from audit")" = 2 ]
	[ "$(q t --type alerts "${DAY[@]}" | jq -r '"\(.id) \(.ack_by)"' | tr '\n' ,)" = "1 alice,2 carol," ]
}

@test "the alerts of a query stored again carry their new id, and no acknowledgement of the old store" {
	store_new t u
	ingest t "$FIX/store-records.ndjson"
	bms-store --db "$STORE" --tenant t ack 2 --by alice
	echo "$ALERT_RAISED" | ingest u
	q t --type alerts "${DAY[@]}" >"$T/first"
	[ "$(grep -c '"ack_by":"alice"' "$T/first")" = 1 ]
	ingest u "$T/first"
	q u --type alerts "${DAY[@]}" >"$T/out"
	diff "$T/out" <({ echo "$ALERT_RAISED"; sed -n '3p;4p;8p' "$FIX/store-records.ndjson"; } | with_ids 1 2 3 4)
	# Members of those names however written, and white space, are kept
	# apart from the rest as well.
	# (The second line ends in a space, after its brace.)
	printf '%s\n' '{"id":12,"type":"alert","bms_id":"shed","timestamp":"2026-11-27T09:00:00.000Z","ack_by":"bob","alert_id":"shed/t","ack_at":"x","i\u0064":13}' \
		'{ "type" : "alert" , "bms_id":"shed", "timestamp":"2026-11-27T09:10:00.000Z" , "id" : 3 } ' >"$T/odd"
	ingest u "$T/odd"
	bms-store --db "$STORE" --tenant u ack 5 --by dave
	q u --type alerts --battery shed "${DAY[@]}" | mask_ack >"$T/out"
	diff "$T/out" <(printf '%s\n' '{"type":"alert","bms_id":"shed","timestamp":"2026-11-27T09:00:00.000Z","alert_id":"shed/t","id":5,"ack_by":"dave","ack_at":"T"}' \
		'{ "type" : "alert" , "bms_id":"shed", "timestamp":"2026-11-27T09:10:00.000Z" ,"id":6} ')
	[ "$(rows "$STORE/tenants/u.db" "select id || ' ' || ifnull(alert_id, '-') from alerts where id > 4 order by id" | tr '\n' ,)" = "5 shed/t,6 -," ]
}

@test "a reading stored twice (same battery, same millisecond) is kept once" {
	store_new t
	cat "$FIX/reading-16s.ndjson" "$FIX/reading-16s.ndjson" >"$T/in"
	run --separate-stderr ingest t "$T/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	run --separate-stderr ingest t "$FIX/reading-16s.ndjson"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	q t "${DAY[@]}" >"$T/out"
	diff "$T/out" "$FIX/reading-16s.ndjson"
}

@test "--passthrough forwards every record in order, stored or not" {
	store_new acme
	{
		cat "$FIX/frames-16s.ndjson" "$FIX/passthrough.ndjson" "$FIX/reading-16s.ndjson"
		echo '{"type":"reject","reason":"no reply to 0x94","file":"<stdin>","lineno":3,"line":"x"}'
		echo '{"type":"telemetry","bms_id":"p1","timestamp":"2026-11-27T14:29:12.000Z"}'
		cat "$FIX/reading-d2.ndjson"
	} >"$T/in"
	run --separate-stderr bms-store --passthrough --db "$STORE" --tenant acme <"$T/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") "$T/in"
	q acme "${DAY[@]}" >"$T/out"
	diff "$T/out" <(cat "$FIX/reading-16s.ndjson" "$FIX/reading-d2.ndjson")
	q acme --type status "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n 1p "$FIX/passthrough.ndjson")
	q acme --type aggregates "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n 2p "$FIX/passthrough.ndjson")
	q acme --type alerts "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n 3p "$FIX/passthrough.ndjson" | with_ids 1)
	# Frames are not stored: nothing but the readings' rows.
	[ "$(rows "$STORE/tenants/acme.db" 'select count(*) from readings')" = 2 ]
}

@test "stored readings replay through bms-decode into another tenant unchanged" {
	store_new a b
	{ head -n 3000 "$GEN"; cat "$FIX/reading-16s.ndjson"; sed 's/"tenant":"t"/"tenant":"a"/' "$FIX/store-readings-odd.ndjson"; } >"$T/in"
	ingest a "$T/in"
	q a "${GENSPAN[@]}" >"$T/first"
	bms-decode "$T/first" | sed 's/"tenant":"a"/"tenant":"b"/' | ingest b
	q b "${GENSPAN[@]}" | sed 's/"tenant":"b"/"tenant":"a"/' >"$T/second"
	cmp "$T/first" "$T/second"
	# The same records as they went in, ordered by battery and time.
	cmp "$T/first" "$T/in"
}

@test "records that cannot be stored are reported with their line and the rest is stored" {
	store_new t
	cat >"$T/in" <<-'END'
	{"type":"status","timestamp":"2026-11-27T14:29:11.123Z","state":"connected"}
	{"type":"status","bms_id":"p1","timestamp":"yesterday","state":"connected"}
	{"type":"status","bms_id":"p1","timestamp":"2026-11-27T14:29:11.123Z","state":"connected","reason":"ok","quality":100,"message":"polling"}
	{"type":"alert","bms_id":7,"timestamp":"2026-11-27T14:29:11.123Z"}
	{"type":"alert","bms_id":"","timestamp":"2026-11-27T14:29:11.123Z"}
	{"type":"aggregate","bms_id":"p1"}
	END
	sed -n 1p "$FIX/reading-16s.ndjson" | sed 's/"bms_id":"p1",//' >>"$T/in"
	sed -n 1p "$FIX/reading-16s.ndjson" | sed 's/"timestamp":"[^"]*"/"timestamp":"2026-13-27T14:29:11.123Z"/' >>"$T/in"
	cat "$FIX/reading-d2.ndjson" >>"$T/in"
	run --separate-stderr ingest t <"$T/in"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	diff <(echo "$stderr") - <<-'END'
	bms-store: <stdin>:1: no bms_id
	bms-store: <stdin>:2: bad timestamp
	bms-store: <stdin>:4: bms_id: not a string
	bms-store: <stdin>:5: bms_id: empty
	bms-store: <stdin>:6: no timestamp
	bms-store: <stdin>:7: no bms_id
	bms-store: <stdin>:8: bad timestamp
	END
	q t --type status "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n 3p "$T/in")
	q t "${DAY[@]}" >"$T/out"
	diff "$T/out" "$FIX/reading-d2.ndjson"
	[ "$(rows "$STORE/tenants/t.db" 'select count(*) from alerts') $(rows "$STORE/tenants/t.db" 'select count(*) from aggregates')" = "0 0" ]
}

@test "--rejects collects reject records; --strict stops with exit 3" {
	store_new t
	{ echo 'not json'; cat "$FIX/reading-16s.ndjson"; echo '{"type":"status","bms_id":"p1","timestamp":"t"}'; cat "$FIX/reading-d2.ndjson"; } >"$T/in"
	run --separate-stderr ingest t --rejects "$T/rej" "$T/in"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	[ "$(jq -c '[.type, .file == $f, .lineno, .line]' --arg f "$T/in" "$T/rej")" = '["reject",true,1,"not json"]
["reject",true,3,"{\"type\":\"status\",\"bms_id\":\"p1\",\"timestamp\":\"t\"}"]' ]
	[ "$(jq -r 'select(.lineno == 3) | .reason' "$T/rej")" = "bad timestamp" ]
	q t "${DAY[@]}" >"$T/out"
	diff "$T/out" <(cat "$FIX/reading-16s.ndjson" "$FIX/reading-d2.ndjson")

	store_new u
	run --separate-stderr ingest u --strict <"$T/in"
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "bms-store: <stdin>:1: "* ]]
	# Nothing after the first rejected line was read.
	[ "$(rows "$STORE/tenants/u.db" 'select count(*) from readings')" = 0 ]
}

# ==== Registries ====

@test "ingest registers an unknown battery; batteries list shows it as auto-added" {
	store_new t
	ingest t "$FIX/reading-16s.ndjson"
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries list
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 1 ]
	diff <(mask_created <<<"$output" | mask_uuid) - <<-'END'
	{"bms_id":"p1","uuid":"U","auto_added":true,"created":"T"}
	END
	# A later record of a known battery adds nothing; each battery has a
	# UUID of its own, the one of its row.
	ingest t "$FIX/store-records.ndjson"
	bms-store --db "$STORE" --tenant t batteries list >"$T/list"
	diff <(mask_created <"$T/list" | mask_uuid) - <<-'END'
	{"bms_id":"p1","uuid":"U","auto_added":true,"created":"T"}
	{"bms_id":"p2","uuid":"U","auto_added":true,"created":"T"}
	END
	diff <(jq -r '"\(.bms_id)|\(.uuid)"' "$T/list") <(rows "$STORE/tenants/t.db" 'select bms_id, uuid from batteries order by bms_id')
	[ "$(jq -r .uuid "$T/list" | sort -u | wc -l)" -eq 2 ]
}

@test "batteries add, edit and list" {
	store_new t
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries add p1 --name "Shed pack" --chemistry lifepo4 \
		--capacity 280 --cells 16 --bms-type daly --protocol daly --device /dev/ttyUSB0 --baud 9600 --timeout 500 \
		--notes 'left rack, "top" shelf'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	bms-store --db "$STORE" --tenant t batteries add p2
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries list
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(mask_created <<<"$output" | mask_uuid) - <<-'END'
	{"bms_id":"p1","uuid":"U","name":"Shed pack","chemistry":"lifepo4","nominal_capacity_ah":280,"cell_count":16,"bms_type":"daly","protocol":"daly","device":"/dev/ttyUSB0","baud":9600,"timeout_ms":500,"notes":"left rack, \"top\" shelf","auto_added":false,"created":"T"}
	{"bms_id":"p2","uuid":"U","auto_added":false,"created":"T"}
	END
	uuids=$(jq -r .uuid <<<"$output")
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries edit p1 --notes moved --capacity 302.5 --device tcp://10.0.0.7:4001
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	bms-store --db "$STORE" --tenant t batteries edit p2 --chemistry nmc --cells 14
	bms-store --db "$STORE" --tenant t batteries list >"$T/list"
	diff <(mask_created <"$T/list" | mask_uuid) - <<-'END'
	{"bms_id":"p1","uuid":"U","name":"Shed pack","chemistry":"lifepo4","nominal_capacity_ah":302.5,"cell_count":16,"bms_type":"daly","protocol":"daly","device":"tcp://10.0.0.7:4001","baud":9600,"timeout_ms":500,"notes":"moved","auto_added":false,"created":"T"}
	{"bms_id":"p2","uuid":"U","chemistry":"nmc","cell_count":14,"auto_added":false,"created":"T"}
	END
	# Edits keep each battery's UUID; the two differ.
	[ "$(jq -r .uuid "$T/list")" = "$uuids" ]
	[ "$(sort -u <<<"$uuids" | wc -l)" -eq 2 ]
	# An existing battery cannot be added again, an unknown one not edited.
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries add p1
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: battery 'p1' exists already; change it with batteries edit" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries edit p3 --notes x
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: no battery 'p3'" ]
	[ "$(bms-store --db "$STORE" --tenant t batteries list | wc -l)" -eq 2 ]
	# A battery registered before its first record keeps what was given.
	ingest t "$FIX/reading-16s.ndjson"
	[ "$(bms-store --db "$STORE" --tenant t batteries list | jq -c 'select(.bms_id == "p1") | [.name, .auto_added]')" = '["Shed pack",false]' ]
	[ "$(bms-store --db "$STORE" --tenant t batteries list | jq -r .uuid)" = "$uuids" ]
}

@test "batteries remove refuses a battery with stored records unless --purge" {
	store_new t
	ingest t "$FIX/reading-16s.ndjson" "$FIX/reading-d2.ndjson" "$FIX/store-records.ndjson"
	bms-store --db "$STORE" --tenant t batteries add p3
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries remove p3
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries remove p1
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: battery 'p1' has stored records; remove it with --purge to delete them too" ]
	[ "$(q t "${DAY[@]}" | wc -l)" -eq 2 ]
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries remove --purge p1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	[ "$(bms-store --db "$STORE" --tenant t batteries list | jq -r .bms_id)" = p2 ]
	# p1's records of every kind are gone, p2's are all there.
	q t "${DAY[@]}" >"$T/out"
	diff "$T/out" "$FIX/reading-d2.ndjson"
	q t --type status "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n 6p "$FIX/store-records.ndjson")
	q t --type alerts "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n 8p "$FIX/store-records.ndjson" | with_ids 3)
	q t --type aggregates "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n 7p "$FIX/store-records.ndjson")
	[ "$(q t --tier minute "${DAY[@]}" | jq -r .bms_id | sort -u)" = p2 ]
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries remove p9
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-store: no battery 'p9'" ]
	run bms-store --db "$STORE" check
	[ "$status" -eq 0 ]
}

@test "users add (password on stdin), passwd, disable, enable, list" {
	store_new t
	run --separate-stderr bms-store --db "$STORE" --tenant t users add alice --role admin <<<"correct horse"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	printf 'battery staple\nignored\n' | bms-store --db "$STORE" --tenant t users add bob --role viewer
	echo pw3 | bms-store --db "$STORE" --tenant t users add carol --role operator
	run --separate-stderr bms-store --db "$STORE" --tenant t users list
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(mask_created <<<"$output") - <<-'END'
	{"name":"alice","role":"admin","disabled":false,"created":"T"}
	{"name":"bob","role":"viewer","disabled":false,"created":"T"}
	{"name":"carol","role":"operator","disabled":false,"created":"T"}
	END
	# Only a salted yescrypt hash is kept, never the password.
	db=$STORE/tenants/t.db
	h1=$(rows "$db" "select pwhash from users where name = 'alice'")
	[[ "$h1" == '$y$'* ]]
	[ "$(rows "$db" "select count(*) from users where pwhash like '%horse%' or pwhash like '%staple%'")" = 0 ]
	[ "$(rows "$db" "select count(distinct pwhash) from users")" = 3 ]
	run --separate-stderr bms-store --db "$STORE" --tenant t users passwd alice <<<"new secret"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	h2=$(rows "$db" "select pwhash from users where name = 'alice'")
	[[ "$h2" == '$y$'* ]]
	[ "$h2" != "$h1" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t users disable bob
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	bms-store --db "$STORE" --tenant t users disable carol
	bms-store --db "$STORE" --tenant t users enable carol
	diff <(bms-store --db "$STORE" --tenant t users list | mask_created) - <<-'END'
	{"name":"alice","role":"admin","disabled":false,"created":"T"}
	{"name":"bob","role":"viewer","disabled":true,"created":"T"}
	{"name":"carol","role":"operator","disabled":false,"created":"T"}
	END
}

@test "users: a bad role, a taken name, an unknown user and no password are refused" {
	store_new t
	echo pw | bms-store --db "$STORE" --tenant t users add alice --role admin
	bms-store --db "$STORE" --tenant t users list >"$T/before"
	run --separate-stderr bms-store --db "$STORE" --tenant t users add bob --role root <<<"pw"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "bms-store: --role: 'root' is not viewer, operator or admin" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t users add alice --role viewer <<<"pw"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: user 'alice' exists already" ]
	for stdin in /dev/null "$T/nl"; do
		echo >"$T/nl"
		run --separate-stderr bms-store --db "$STORE" --tenant t users add dave --role viewer <"$stdin"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[ "${stderr_lines[0]}" = "bms-store: empty password on standard input" ]
	done
	run --separate-stderr bms-store --db "$STORE" --tenant t users passwd zed <<<"pw"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: no user 'zed'" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t users disable zed
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: no user 'zed'" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t users add ../zed --role viewer <<<"pw"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: bad user name '../zed': use a-z, 0-9, '_' and '-', at most 63 bytes, starting with a letter or digit" ]
	diff "$T/before" <(bms-store --db "$STORE" --tenant t users list)
}

# ==== Super-admins ====

@test "superadmins add (password on stdin), passwd, disable, enable, list: in control.db, apart from the tenants' users" {
	store_new t
	run --separate-stderr bms-store --db "$STORE" superadmins add root <<<"root pass"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	printf 'ops pass\nignored\n' | bms-store --db "$STORE" superadmins add ops
	run --separate-stderr bms-store --db "$STORE" superadmins list
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(mask_created <<<"$output") - <<-'END'
	{"name":"ops","disabled":false,"created":"T"}
	{"name":"root","disabled":false,"created":"T"}
	END
	# Only a salted yescrypt hash is kept, never the password.
	ctl=$STORE/control.db
	h1=$(rows "$ctl" "select pwhash from superadmins where name = 'root'")
	[[ "$h1" == '$y$'* ]]
	[ "$(rows "$ctl" "select count(*) from superadmins where pwhash like '%pass%' or pwhash like '%ignored%'")" = 0 ]
	run --separate-stderr bms-store --db "$STORE" superadmins passwd root <<<"new secret"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	h2=$(rows "$ctl" "select pwhash from superadmins where name = 'root'")
	[[ "$h2" == '$y$'* ]]
	[ "$h2" != "$h1" ]
	run --separate-stderr bms-store --db "$STORE" superadmins disable ops
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	bms-store --db "$STORE" superadmins disable root
	bms-store --db "$STORE" superadmins enable root
	diff <(bms-store --db "$STORE" superadmins list | mask_created) - <<-'END'
	{"name":"ops","disabled":true,"created":"T"}
	{"name":"root","disabled":false,"created":"T"}
	END
	# No tenant's user; --tenant changes nothing.
	[ -z "$(bms-store --db "$STORE" --tenant t users list)" ]
	[ "$(rows "$STORE/tenants/t.db" "select count(*) from users")" = 0 ]
	diff <(bms-store --db "$STORE" --tenant t superadmins list | mask_created) - <<-'END'
	{"name":"ops","disabled":true,"created":"T"}
	{"name":"root","disabled":false,"created":"T"}
	END
}

@test "superadmins: a taken, unknown or bad name, no password and a stray operand are refused" {
	store_new
	echo pw | bms-store --db "$STORE" superadmins add root
	bms-store --db "$STORE" superadmins list >"$T/before"
	run --separate-stderr bms-store --db "$STORE" superadmins add root <<<"pw"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: super-admin 'root' exists already" ]
	for stdin in /dev/null "$T/nl"; do
		echo >"$T/nl"
		run --separate-stderr bms-store --db "$STORE" superadmins add eve <"$stdin"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[ "$stderr" = "bms-store: empty password on standard input" ]
	done
	run --separate-stderr bms-store --db "$STORE" superadmins passwd zed <<<"pw"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: no super-admin 'zed'" ]
	run --separate-stderr bms-store --db "$STORE" superadmins enable zed
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: no super-admin 'zed'" ]
	run --separate-stderr bms-store --db "$STORE" superadmins add "Ro'ot" <<<"pw"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: bad super-admin name 'Ro\\'ot': use a-z, 0-9, '_' and '-', at most 63 bytes, starting with a letter or digit" ]
	run --separate-stderr bms-store --db "$STORE" superadmins list root
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "bms-store: superadmins list takes no operands" ]
	run --separate-stderr bms-store --db "$STORE" superadmins disable
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-store: superadmins disable: give one name" ]
	run --separate-stderr bms-store --db "$STORE" superadmins
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-store: superadmins: say add, passwd, disable, enable or list" ]
	diff "$T/before" <(bms-store --db "$STORE" superadmins list)
}

@test "a control database of the first schema is upgraded in place by the next command" {
	S=$T/s
	mkdir -p "$S/tenants"
	sqlite3 "$S/control.db" <<-'END'
	CREATE TABLE tenants (
		name TEXT PRIMARY KEY,
		created TEXT NOT NULL,
		raw_days INTEGER NOT NULL DEFAULT 30,
		minute_days INTEGER NOT NULL DEFAULT 400,
		hour_days INTEGER NOT NULL DEFAULT 0
	);
	INSERT INTO tenants (name, created, raw_days) VALUES ('home', '2026-11-01T08:00:00.000Z', 7);
	PRAGMA user_version = 1;
	END
	run --separate-stderr bms-store --db "$S" superadmins add root <<<"pw"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	[ "$(rows "$S/control.db" 'PRAGMA user_version')" = 2 ]
	diff <(bms-store --db "$S" tenants list) - <<-'END'
	{"name":"home","created":"2026-11-01T08:00:00.000Z","raw_days":7,"minute_days":400,"hour_days":0}
	END
	diff <(bms-store --db "$S" superadmins list | mask_created) - <<-'END'
	{"name":"root","disabled":false,"created":"T"}
	END
}

# ==== Tenant isolation ====

@test "a record of another tenant is rejected and nothing of it is written anywhere" {
	store_new a b
	{
		sed 's/"timestamp":"\([^"]*\)"/"timestamp":"\1","tenant":"b"/' "$FIX/reading-16s.ndjson"
		echo '{"type":"status","bms_id":"p3","timestamp":"2026-11-27T14:29:11.123Z","tenant":"b","state":"connected"}'
		cat "$FIX/reading-d2.ndjson"
		echo '{"type":"alert","bms_id":"p2","timestamp":"2026-11-27T14:31:00.000Z","tenant":"a","severity":"warning","rule":"x","state":"firing"}'
		echo '{"type":"aggregate","bms_id":"p4","timestamp":"2026-11-27T14:31:00.000Z","tenant":"A"}'
	} >"$T/in"
	run --separate-stderr bms-store --passthrough --db "$STORE" --tenant a <"$T/in"
	[ "$status" -eq 0 ]
	diff <(echo "$output") <(sed -n '3p;4p' "$T/in")
	diff <(echo "$stderr") - <<-'END'
	bms-store: <stdin>:1: record of tenant 'b', this store writes 'a'
	bms-store: <stdin>:2: record of tenant 'b', this store writes 'a'
	bms-store: <stdin>:5: record of tenant 'A', this store writes 'a'
	END
	q a "${DAY[@]}" >"$T/out"
	diff "$T/out" "$FIX/reading-d2.ndjson"
	q a --type alerts "${DAY[@]}" >"$T/out"
	diff "$T/out" <(sed -n 4p "$T/in" | with_ids 1)
	for what in status aggregates; do
		run --separate-stderr q a --type $what "${DAY[@]}"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	done
	for what in readings status alerts aggregates; do
		run --separate-stderr q b --type $what "${DAY[@]}"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	done
	# The rejected records registered no battery, in a or in b.
	[ "$(bms-store --db "$STORE" --tenant a batteries list | jq -r .bms_id)" = p2 ]
	[ -z "$(bms-store --db "$STORE" --tenant b batteries list)" ]
}

@test "--strict makes a record of another tenant exit 3 before anything after it is stored" {
	store_new a b
	{ cat "$FIX/reading-d2.ndjson"; sed 's/"timestamp":"\([^"]*\)"/"timestamp":"\1","tenant":"b"/' "$FIX/reading-16s.ndjson"; } >"$T/in"
	run --separate-stderr bms-store --strict --db "$STORE" --tenant a "$T/in"
	[ "$status" -eq 3 ]
	[ "$stderr" = "bms-store: $T/in:2: record of tenant 'b', this store writes 'a'" ]
	q a "${DAY[@]}" >"$T/out"
	diff "$T/out" "$FIX/reading-d2.ndjson"
	run q b "${DAY[@]}"
	[ -z "$output" ]
}

@test "tenant a cannot see, edit or remove b's batteries, nor touch b's users" {
	store_new a b
	ingest b "$FIX/reading-16s.ndjson" "$FIX/store-records.ndjson"
	bms-store --db "$STORE" --tenant b batteries add bonly --name "B's own"
	echo pw | bms-store --db "$STORE" --tenant b users add bob --role admin
	snap() {
		for t in a b; do
			bms-store --db "$STORE" --tenant $t batteries list
			bms-store --db "$STORE" --tenant $t users list
			for what in readings status alerts aggregates; do q $t --type $what "${DAY[@]}"; done
		done
		sqlite3 "$STORE/tenants/b.db" 'select pwhash, disabled from users'
	}
	snap >"$T/before"
	for id in p1 bonly; do
		run --separate-stderr q a --battery $id "${DAY[@]}"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
		run --separate-stderr q a --type status --battery $id "${DAY[@]}"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
		run --separate-stderr bms-store --db "$STORE" --tenant a batteries edit $id --notes mine
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		run --separate-stderr bms-store --db "$STORE" --tenant a batteries remove --purge $id
		[ "$status" -eq 2 ]
		[ -z "$output" ]
	done
	run --separate-stderr bms-store --db "$STORE" --tenant a users passwd bob <<<"stolen"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	run --separate-stderr bms-store --db "$STORE" --tenant a users disable bob
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	run --separate-stderr bms-store --db "$STORE" --tenant a users list
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	snap >"$T/after"
	diff "$T/before" "$T/after"
	# a's own user of the same name is a different user.
	echo other | bms-store --db "$STORE" --tenant a users add bob --role viewer
	[ "$(bms-store --db "$STORE" --tenant b users list | jq -c '[.name, .role]')" = '["bob","admin"]' ]
}

# ==== Durability ====

@test "at end of input every record is committed, whatever the batch size" {
	store_new t
	head -n 25000 "$GEN" >"$T/in"
	run --separate-stderr ingest t --batch 10000 --batch-ms 100000 <"$T/in"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	[ "$(rows "$STORE/tenants/t.db" 'select count(*) from readings')" = 25000 ]
	q t "${GENSPAN[@]}" >"$T/out"
	cmp "$T/out" "$T/in"
}

@test "kill -9 in the middle of an ingest keeps every acknowledged record and a sound database" {
	store_new t
	mkfifo "$T/in"
	producer_start "$GEN" 2000 "$T/in"
	bg+=($PRODUCER_PID)
	bms-store --passthrough --batch 1000 --db "$STORE" --tenant t <"$T/in" >"$T/acked" 2>"$T/err" &
	pid=$!
	bg+=($pid)
	wait_lines "$T/acked" 5000
	kill -KILL "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 137 ]	# it was still running: killed mid-ingest
	stop_bg "${bg[@]}"
	acked=$(wc -l <"$T/acked")
	db=$STORE/tenants/t.db
	[ "$(rows "$db" 'PRAGMA integrity_check')" = ok ]
	run --separate-stderr bms-store --db "$STORE" check
	[ "$status" -eq 0 ]
	diff <(echo "$output") <(printf 'control.db: ok\ntenants/t.db: ok\n')
	stored=$(rows "$db" 'select count(*) from readings')
	[ "$stored" -ge "$acked" ]
	[ "$acked" -ge 5000 ]
	[ "$stored" -lt 100000 ]
	# What is stored is exactly the first records of the input, and what
	# was acknowledged is the same records, in order.
	q t "${GENSPAN[@]}" >"$T/out"
	cmp "$T/out" <(head -n "$stored" "$GEN")
	cmp <(head -n "$acked" "$T/acked") <(head -n "$acked" "$GEN")
	# The tiers were committed with the readings: they count the same.
	[ "$(rows "$db" 'select sum(n) from tiers where period = 60')" = "$stored" ]
	[ "$(rows "$db" 'select sum(n) from tiers where period = 3600')" = "$stored" ]
	# The store takes more records after the crash.
	tail -n +$((stored + 1)) "$GEN" | head -n 1000 | ingest t
	[ "$(rows "$db" 'select count(*) from readings')" -eq $((stored + 1000)) ]
}

@test "SIGTERM while the producer keeps the pipe open: exit 0, every record stored" {
	store_new t
	mkfifo "$T/in"
	bms-store --passthrough --db "$STORE" --tenant t <"$T/in" >"$T/acked" 2>"$T/err" &
	pid=$!
	bg+=($pid)
	exec 7>"$T/in"
	head -n 3000 "$GEN" >&7
	wait_lines "$T/acked" 3000
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	exec 7>&-
	[ "$st" -eq 0 ]
	[ ! -s "$T/err" ]
	cmp "$T/acked" <(head -n 3000 "$GEN")
	[ "$(rows "$STORE/tenants/t.db" 'select count(*) from readings')" = 3000 ]
	q t "${GENSPAN[@]}" >"$T/out"
	cmp "$T/out" <(head -n 3000 "$GEN")
}

@test "SIGTERM with a writer blocked in the middle of a line: the complete lines are stored" {
	store_new t
	mkfifo "$T/in"
	bms-store --db "$STORE" --tenant t --batch 100000 --batch-ms 600000 <"$T/in" 2>"$T/err" &
	pid=$!
	bg+=($pid)
	exec 7>"$T/in"
	head -n 1500 "$GEN" >&7
	head -c 100 "$FIX/reading-d2.ndjson" >&7
	# The drained input commits: wait until the rows are there.
	for _ in $(seq 1200); do
		[ "$(rows "$STORE/tenants/t.db" 'select count(*) from readings' 2>/dev/null)" = 1500 ] && break
		sleep 0.05
	done
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	exec 7>&-
	[ "$st" -eq 0 ]
	[ "$(rows "$STORE/tenants/t.db" 'select count(*) from readings')" = 1500 ]
	run bms-store --db "$STORE" check
	[ "$status" -eq 0 ]
}

# in_mount_ns SIZE SCRIPT: run bash SCRIPT in a private mount namespace
# with a tmpfs of SIZE mounted at $MNT, so that the mount vanishes with
# it; results go to files under $T, for the test to check afterwards.
# SCRIPT exits 98 if setting up failed, 99 if mounting did.  Skips the
# test where mounts cannot be made (not root, no unshare, no tmpfs).
in_mount_ns() {
	[ "$(id -u)" -eq 0 ] || skip "mounting a small filesystem needs root"
	command -v unshare >/dev/null || skip "unshare (util-linux) not installed"
	unshare -m true 2>/dev/null || skip "cannot make a mount namespace here"
	MNT=$T/mnt
	mkdir -p "$MNT"
	local rc=0
	MNT=$MNT T=$T FIX=$FIX GEN=$GEN SIZE=$1 unshare -m bash -c '
		mount -t tmpfs -o "size=$SIZE" tmpfs "$MNT" || exit 99
		'"$2"'
		exit 0' || rc=$?
	[ "$rc" -ne 99 ] || skip "cannot mount a tmpfs in a mount namespace"
	return "$rc"
}

@test "a read-only filesystem: ingest fails with exit 1, queries still answer, data intact" {
	in_mount_ns 8m '
		S=$MNT/s
		{ bms-store --db "$S" init &&
		  bms-store --db "$S" tenants add t --raw-days 0 --minute-days 0 &&
		  bms-store --db "$S" --tenant t "$FIX/reading-16s.ndjson"; } || exit 98
		ls -A "$S/tenants" >"$T/files.rw"
		mount -o remount,ro "$MNT" || exit 99
		bms-store --db "$S" --tenant t <"$FIX/reading-d2.ndjson" >"$T/ingest.out" 2>"$T/ingest.err"
		echo $? >"$T/ingest.rc"
		bms-store --db "$S" --tenant t query --since 2026-11-27 --until 2026-11-28 >"$T/query.out" 2>"$T/query.err"
		echo $? >"$T/query.rc"
		bms-store --db "$S" --tenant t batteries list >"$T/list.out" 2>"$T/list.err"
		echo $? >"$T/list.rc"
		mount -o remount,rw "$MNT"
		sqlite3 "$S/tenants/t.db" "PRAGMA integrity_check" >"$T/integrity"
		bms-store --db "$S" --tenant t query --since 2026-11-27 --until 2026-11-28 >"$T/query2.out"
		bms-store --db "$S" --tenant t <"$FIX/reading-d2.ndjson" && echo stored >"$T/later"
	'
	[ "$(cat "$T/ingest.rc")" = 1 ]
	[ ! -s "$T/ingest.out" ]
	[ "$(wc -l <"$T/ingest.err")" -eq 1 ]
	[[ "$(cat "$T/ingest.err")" == "bms-store: cannot "*"'$MNT/s/"* ]]
	[ "$(cat "$T/query.rc")" = 0 ]
	[ ! -s "$T/query.err" ]
	diff "$T/query.out" "$FIX/reading-16s.ndjson"
	[ "$(cat "$T/list.rc")" = 0 ]
	[ "$(jq -r .bms_id "$T/list.out")" = p1 ]
	[ "$(cat "$T/integrity")" = ok ]
	diff "$T/query2.out" "$FIX/reading-16s.ndjson"
	[ "$(cat "$T/later")" = stored ]
}

@test "a full filesystem: ingest stops with exit 1 at the batch that did not fit; committed records stay" {
	head -n 20000 "$GEN" >"$T/in"
	in_mount_ns 600k '
		S=$MNT/s
		{ bms-store --db "$S" init &&
		  bms-store --db "$S" tenants add t --raw-days 0 --minute-days 0; } || exit 98
		bms-store --passthrough --batch 200 --db "$S" --tenant t <"$T/in" >"$T/acked" 2>"$T/err"
		echo $? >"$T/rc"
		df -k "$MNT" | tail -n 1 >"$T/df"
		mount -o remount,size=64m "$MNT"
		sqlite3 "$S/tenants/t.db" "PRAGMA integrity_check" >"$T/integrity"
		sqlite3 "$S/tenants/t.db" "select count(*) from readings" >"$T/count"
		bms-store --db "$S" check >"$T/check" 2>&1
		bms-store --db "$S" --tenant t query --tier raw --since 2026-11-27 --until 2026-11-29 >"$T/out"
		tail -n +"$(($(cat "$T/count") + 1))" "$T/in" | bms-store --db "$S" --tenant t && echo stored >"$T/later"
		sqlite3 "$S/tenants/t.db" "select count(*) from readings" >"$T/count2"
	'
	[ "$(cat "$T/rc")" = 1 ]
	[ "$(wc -l <"$T/err")" -eq 1 ]
	n=$(sed -n 's/^bms-store: cannot store records from <stdin>:\([0-9]*\) on: .*/\1/p' "$T/err")
	[ "$(sed 's/<stdin>:[0-9]*/<stdin>:N/' "$T/err")" = "bms-store: cannot store records from <stdin>:N on: database or disk is full ('$MNT/s/tenants/t.db')" ]
	stored=$(cat "$T/count")
	# The batch from line n on was rolled back, all before it is there.
	[ "$stored" -eq $((n - 1)) ]
	[ "$stored" -gt 0 ]
	[ "$(wc -l <"$T/acked")" -le "$stored" ]
	cmp "$T/acked" <(head -n "$(wc -l <"$T/acked")" "$T/in")
	[ "$(cat "$T/integrity")" = ok ]
	diff "$T/check" <(printf 'control.db: ok\ntenants/t.db: ok\n')
	cmp "$T/out" <(head -n "$stored" "$T/in")
	# With room again the rest goes in.
	[ "$(cat "$T/later")" = stored ]
	[ "$(cat "$T/count2")" = 20000 ]
}

# ==== Migrations ====

@test "a tenant database of the first schema is upgraded in place by the next command" {
	store_new t
	db=$STORE/tenants/t.db
	rm -f "$db" "$db-wal" "$db-shm"
	sqlite3 "$db" <"$FIX/store-v1.sql"
	[ "$(rows "$db" 'PRAGMA user_version')" = 1 ]
	counts() {
		for tb in batteries readings status alerts aggregates; do
			echo "$tb $(rows "$db" "select count(*) from $tb")"
		done
		# The columns of the first schema.
		sqlite3 "$db" 'select id, bms_id, name, chemistry, nominal_capacity_ah, cell_count, bms_type, protocol, device, baud, timeout_ms, notes, created, auto_added from batteries order by id; select battery, ts, hex(body) from readings'
	}
	counts >"$T/before"
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries list
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(rows "$db" 'PRAGMA user_version')" = 8 ]
	diff <(mask_uuid <<<"$output") - <<-'END'
	{"bms_id":"p1","uuid":"U","name":"House bank","chemistry":"lifepo4","nominal_capacity_ah":280,"cell_count":16,"bms_type":"daly","protocol":"daly","device":"/dev/ttyUSB0","baud":9600,"timeout_ms":500,"auto_added":false,"created":"2026-11-01T08:00:00.000Z"}
	{"bms_id":"p2","uuid":"U","auto_added":true,"created":"2026-11-27T14:29:11.200Z"}
	END
	# Each battery got a UUID of its own, and every other column is as it was.
	[ "$(jq -r .uuid <<<"$output" | sort -u | wc -l)" -eq 2 ]
	[ "$(rows "$db" "select count(*) from sqlite_master where name = 'batteries_uuid'")" = 1 ]
	counts | diff "$T/before" -
	[ "$(rows "$db" "select count(*) from sqlite_master where name in ('tiers', 'users', 'tokens', 'audit', 'health', 'anomalies')")" = 6 ]
	[ "$(rows "$db" "select count(*) from sqlite_master where name in ('alerts_alert_id_ts', 'alerts_ack_at', 'tokens_family')")" = 3 ]
	[ "$(rows "$db" "select group_concat(name) from pragma_table_info('tokens')")" = hash,user,expires,created,family,used ]
	[ "$(rows "$db" "select count(*) from alerts where alert_id is null")" = 1 ]
	run --separate-stderr bms-store --db "$STORE" check
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# Every record of the old database reads back as it was stored (the
	# first reading of p2 came with a "tenant" field).
	r16=$(cat "$FIX/reading-16s.ndjson")
	q t "${DAY[@]}" >"$T/out"
	diff "$T/out" - <<-END
	$r16
	${r16/14:29:11.123Z/14:29:12.123Z}
	${r16/14:29:11.123Z/14:30:05.000Z}
	$(sed 's/"timestamp":"\([^"]*\)"/"timestamp":"\1","tenant":"t"/' "$FIX/reading-d2.ndjson")
	{"bms_id":"p2","type":"reading","timestamp":"2026-11-27T14:29:12.500Z","pack_voltage":53.25}
	END
	q t --type status "${DAY[@]}" | diff - <(echo '{"type":"status","bms_id":"p1","timestamp":"2026-11-27T14:29:20.000Z","state":"disconnected","reason":"no_reply","quality":80,"message":"no reply, 3 polls"}')
	q t --type alerts "${DAY[@]}" | diff - <(echo '{"type":"alert","bms_id":"p2","timestamp":"2026-11-27T14:29:30.000Z","severity":"warning","rule":"cell_high","state":"open","message":"cell 12 at 3.65 V","id":1}')
	q t --type aggregates "${DAY[@]}" | diff - <(echo '{"type":"aggregate","bms_id":"p1","timestamp":"2026-11-27T14:29:00.000Z","period":"1m","n":2}')
	# compact builds the tiers of the readings stored before there were tiers.
	bms-store --db "$STORE" --tenant t compact
	[ "$(q t --tier minute "${DAY[@]}" | jq -r '"\(.bms_id) \(.timestamp) \(.n) \(.pack_voltage.mean)"' | tr '\n' ,)" = "p1 2026-11-27T14:29:00.000Z 2 53.4,p1 2026-11-27T14:30:00.000Z 1 53.4,p2 2026-11-27T14:29:00.000Z 2 53.325," ]
	# And new records go in beside the old ones.
	sed 's/14:29:11.123Z/14:31:00.000Z/' "$FIX/reading-d2.ndjson" >"$T/new"
	ingest t "$T/new"
	q t --battery p2 "${DAY[@]}" | tail -n 1 | diff - "$T/new"
}

# ==== Several processes on one store ====

@test "three writers into one tenant at once: all exit 0, every record stored" {
	store_new t
	for w in w1 w2 w3; do
		head -n 15000 "$GEN" | sed "s/\"bms_id\":\"g1\"/\"bms_id\":\"$w\"/" >"$T/$w"
	done
	pids=()
	for w in w1 w2 w3; do
		ingest t --batch 500 "$T/$w" 2>"$T/$w.err" &
		pids+=($!)
		bg+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	for w in w1 w2 w3; do
		# A writer may have had to wait its turn, and says so; nothing else.
		[ -z "$(grep -v -x -F "bms-store: $STORE/tenants/t.db: busy for 5000 ms (another writer holds it); retrying" "$T/$w.err")" ]
		q t --battery $w "${GENSPAN[@]}" | cmp - "$T/$w"
	done
	[ "$(rows "$STORE/tenants/t.db" 'select count(*) from readings')" = 45000 ]
	[ "$(bms-store --db "$STORE" --tenant t batteries list | jq -r .bms_id | tr '\n' ,)" = "w1,w2,w3," ]
	run bms-store --db "$STORE" check
	[ "$status" -eq 0 ]
}

@test "another writer holding the database: bms-store says it is busy, waits, then stores everything" {
	store_new t
	db=$STORE/tenants/t.db
	mkfifo "$T/sql"
	sqlite3 "$db" <"$T/sql" >"$T/sql.out" 2>&1 &
	bg+=($!)
	exec 7>"$T/sql"
	echo 'BEGIN IMMEDIATE;' >&7
	# Wait until the lock is held: then a second writer cannot begin.
	for _ in $(seq 1200); do
		sqlite3 "$db" 'BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null || break
		sleep 0.05
	done
	run sqlite3 "$db" 'BEGIN IMMEDIATE; ROLLBACK;'
	[ "$status" -ne 0 ]
	ingest t --busy-timeout 100 --passthrough "$FIX/reading-16s.ndjson" >"$T/out" 2>"$T/err" &
	pid=$!
	bg+=($pid)
	# It waits in steps of 100 ms and says so each time.
	wait_lines "$T/err" 2
	[ ! -s "$T/out" ]
	echo 'COMMIT;' >&7
	exec 7>&-
	wait "$pid"
	diff "$T/out" "$FIX/reading-16s.ndjson"
	[ -z "$(grep -v -x -F "bms-store: $db: busy for 100 ms (another writer holds it); retrying" "$T/err")" ]
	q t "${DAY[@]}" | diff - "$FIX/reading-16s.ndjson"
}

@test "backup while another process writes: a sound store holding a prefix of the input" {
	store_new t
	mkfifo "$T/in"
	producer_start "$GEN" 2000 "$T/in"
	bg+=($PRODUCER_PID)
	bms-store --passthrough --batch 1000 --db "$STORE" --tenant t <"$T/in" >"$T/acked" 2>"$T/err" &
	pid=$!
	bg+=($pid)
	wait_lines "$T/acked" 5000
	run --separate-stderr timeout 120 bms-store --db "$STORE" backup "$T/copy"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	wait "$pid"
	[ ! -s "$T/err" ]
	[ "$(rows "$STORE/tenants/t.db" 'select count(*) from readings')" = 100000 ]
	run --separate-stderr bms-store --db "$T/copy" check
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") <(printf 'control.db: ok\ntenants/t.db: ok\n')
	n=$(rows "$T/copy/tenants/t.db" 'select count(*) from readings')
	[ "$n" -ge 5000 ]
	bms-store --db "$T/copy" --tenant t query "${GENSPAN[@]}" | cmp - <(head -n "$n" "$GEN")
	diff <(bms-store --db "$T/copy" tenants list) <(bms-store --db "$STORE" tenants list)
	# A backup never overwrites a store.
	run --separate-stderr bms-store --db "$STORE" backup "$T/copy"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: '$T/copy' holds a store already; back up into a new directory" ]
	[ "$(rows "$T/copy/tenants/t.db" 'select count(*) from readings')" = "$n" ]
}

@test "a tenant backup copies that tenant into a store of its own" {
	store_new a b
	ingest a "$FIX/reading-16s.ndjson"
	ingest b "$FIX/reading-d2.ndjson"
	run --separate-stderr bms-store --db "$STORE" --tenant a backup "$T/copy"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	bms-store --db "$T/copy" --tenant a query "${DAY[@]}" | diff - "$FIX/reading-16s.ndjson"
	[ ! -e "$T/copy/tenants/b.db" ]
	run bms-store --db "$T/copy" check
	[ "$status" -eq 0 ]
}

@test "check finds a damaged tenant database and exits 1" {
	store_new t
	head -n 5000 "$GEN" | ingest t
	sqlite3 "$STORE/tenants/t.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
	size=$(stat -c %s "$STORE/tenants/t.db")
	[ "$size" -gt 65536 ]
	# Overwrite a page in the middle with garbage.
	page=$(rows "$STORE/tenants/t.db" 'PRAGMA page_size')
	awk 'BEGIN { for (i = 0; i < 1024; i++) printf "%c", 65 + i % 26 }' |
		dd of="$STORE/tenants/t.db" bs=1 seek=$((size / page / 2 * page + 100)) conv=notrunc status=none
	run --separate-stderr bms-store --db "$STORE" check
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "control.db: ok" ]
	[[ "${lines[1]}" == "tenants/t.db: "* ]]
	[ "${lines[1]}" != "tenants/t.db: ok" ]
}

# ==== History tiers and retention ====

@test "minute and hour tiers of a known dataset: min, max, mean, last per metric" {
	store_new t
	ingest t "$FIX/store-tiers.ndjson"
	range=(--since 2026-01-10 --until 2026-01-11)
	q t --tier minute "${range[@]}" >"$T/out"
	diff "$T/out" "$FIX/store-tiers-minute.ndjson"
	q t --tier hour "${range[@]}" >"$T/out"
	diff "$T/out" "$FIX/store-tiers-hour.ndjson"
	q t --tier raw "${range[@]}" >"$T/out"
	diff "$T/out" "$FIX/store-tiers.ndjson"
	# auto: raw up to 48 hours, per minute up to 60 days, per hour beyond.
	q t "${range[@]}" | diff - "$FIX/store-tiers.ndjson"
	q t --since 2026-01-09 --until 2026-01-12 | diff - "$FIX/store-tiers-minute.ndjson"
	q t --since 2025-06-01 --until 2026-06-01 | diff - "$FIX/store-tiers-hour.ndjson"
	# A point is picked when its period overlaps the window.
	q t --tier hour --since 2026-01-10T10:59:59.999Z --until 2026-01-10T11:00:00.001Z | diff - "$FIX/store-tiers-hour.ndjson"
	q t --tier hour --since 2026-01-10T10:30:00Z --until 2026-01-10T11:00:00Z | diff - <(sed -n 1p "$FIX/store-tiers-hour.ndjson")
	q t --tier minute --since 2026-01-10T10:00:59.999Z --until 2026-01-10T10:59:00Z | diff - <(sed -n '1,2p' "$FIX/store-tiers-minute.ndjson")
	run --separate-stderr q t --tier hour --csv "${range[@]}"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") - <<-'END'
	timestamp,bms_id,period,n,pack_voltage_min,pack_voltage_max,pack_voltage_mean,pack_voltage_last,pack_current_min,pack_current_max,pack_current_mean,pack_current_last,pack_power_min,pack_power_max,pack_power_mean,pack_power_last,soc_percent_min,soc_percent_max,soc_percent_mean,soc_percent_last,cell_voltage_min_min,cell_voltage_min_max,cell_voltage_min_mean,cell_voltage_min_last,cell_voltage_max_min,cell_voltage_max_max,cell_voltage_max_mean,cell_voltage_max_last,temperature_min_min,temperature_min_max,temperature_min_mean,temperature_min_last,temperature_max_min,temperature_max_max,temperature_max_mean,temperature_max_last
	2026-01-10T10:00:00.000Z,k1,1h,4,51.5,53,52.25,51.5,-20,10,-3.75,-20,-1030,520,-193.125,-1030,49,52.5,50.625,49,3.2,3.3,3.2525,3.2,3.23,3.33,3.28,3.23,19,21.5,20.375,19,20.5,24,22.375,20.5
	2026-01-10T11:00:00.000Z,k1,1h,2,50.5,51,50.75,50.5,-1.25,-1.25,-1.25,-1.25,-63.75,-63.75,-63.75,-63.75,47.25,48,47.625,47.25,,,,,,,,,,,,,,,,
	END
}

@test "tiers are the same whether records come in one run, in pieces or out of order" {
	store_new a b c
	ingest a "$FIX/store-tiers.ndjson"
	for i in 1 2 3 4 5 6; do sed -n ${i}p "$FIX/store-tiers.ndjson" | ingest b; done
	# A duplicate does not count twice, in the same batch or a later one.
	{ tac "$FIX/store-tiers.ndjson"; sed -n 3p "$FIX/store-tiers.ndjson"; } | ingest c
	sed -n 2p "$FIX/store-tiers.ndjson" | ingest c
	for t in b c; do
		for tier in minute hour; do
			q $t --tier $tier --since 2026-01-10 --until 2026-01-11 | diff - "$FIX/store-tiers-$tier.ndjson"
		done
	done
}

@test "compact drops raw records past retention, keeps the tiers, and rebuilds them the same" {
	store_new t
	now=$(date +%s)
	recent=$(date -u -d "@$((now / 60 * 60 - 7200))" +%Y-%m-%dT%H:%M:%S.000Z)
	"$BATS_TEST_DIRNAME/gen-readings" 120 r1 "$recent" >"$T/recent"
	sed 's/2026-11-27T/2026-01-10T/g' "$FIX/store-records.ndjson" >"$T/records"
	ingest t "$FIX/store-tiers.ndjson" "$T/recent" "$T/records"
	range=(--since 2026-01-10 --until 2026-01-11)
	last=(--since -1d --until now)
	q t --tier minute "${last[@]}" >"$T/recent-minute"
	[ "$(jq -r '"\(.bms_id) \(.period) \(.n)"' "$T/recent-minute" | tr '\n' ,)" = "r1 1m 60,r1 1m 60," ]

	bms-store --db "$STORE" tenants set t --raw-days 1
	run --separate-stderr bms-store --db "$STORE" --tenant t compact
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	# Raw records older than a day are gone, of every type ...
	run --separate-stderr q t --tier raw "${range[@]}"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	for what in status alerts aggregates; do
		run --separate-stderr q t --type $what "${range[@]}"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	done
	# ... the recent ones stay, and the tiers of both are as they were.
	q t --tier raw "${last[@]}" | cmp - "$T/recent"
	q t --tier minute "${last[@]}" | diff - "$T/recent-minute"
	q t --tier hour "${range[@]}" | diff - "$FIX/store-tiers-hour.ndjson"
	q t --tier minute "${range[@]}" | diff - "$FIX/store-tiers-minute.ndjson"
	# auto falls back to a tier that still holds the span.
	q t "${range[@]}" | diff - "$FIX/store-tiers-minute.ndjson"

	# Minute points past their retention go too; the hour tier answers.
	bms-store --db "$STORE" tenants set t --minute-days 1
	bms-store --db "$STORE" --tenant t compact
	run --separate-stderr q t --tier minute "${range[@]}"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	q t --tier hour "${range[@]}" | diff - "$FIX/store-tiers-hour.ndjson"
	q t "${range[@]}" | diff - "$FIX/store-tiers-hour.ndjson"
	q t --tier minute "${last[@]}" | diff - "$T/recent-minute"
	run bms-store --db "$STORE" check
	[ "$status" -eq 0 ]
}

# ==== Found in review (2026-11-27, issue 3) ====

@test "a tenant key written with escapes is still the tenant key: the record is rejected" {
	store_new a b
	st='{"type":"status","bms_id":"x","timestamp":"2026-11-27T14:29:11.123Z","tenan\u0074":"b","state":"connected","reason":"ok","quality":100}'
	rd=$(sed 's/"proto"/"tena\\u006et":"b","proto"/' "$FIX/reading-16s.ndjson")
	run --separate-stderr ingest a --passthrough <<<"$st
$rd"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "bms-store: <stdin>:1: record of tenant 'b', this store writes 'a'" ]
	[ "${stderr_lines[1]}" = "bms-store: <stdin>:2: record of tenant 'b', this store writes 'a'" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[ -z "$(q a --type status "${DAY[@]}")" ]
	[ -z "$(q a "${DAY[@]}")" ]
	[ -z "$(q b "${DAY[@]}")" ]
	[ -z "$(bms-store --db "$STORE" --tenant a batteries list)" ]
}

@test "a record naming another tenant with control characters is reported on one line" {
	store_new a
	line='{"type":"status","bms_id":"x","timestamp":"2026-11-27T14:29:11.123Z","tenant":"ev\nil\u001b[31m","state":"connected","reason":"ok","quality":100}'
	run --separate-stderr ingest a <<<"$line"
	[ "$status" -eq 0 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$stderr" = "bms-store: <stdin>:1: record of tenant 'ev\\nil\\u001b[31m', this store writes 'a'" ]
}

@test "storing takes its options after the input files too" {
	store_new t
	run --separate-stderr bms-store --db "$STORE" "$FIX/reading-16s.ndjson" --tenant t --passthrough
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(printf '%s\n' "$output") "$FIX/reading-16s.ndjson"
	q t "${DAY[@]}" | diff - "$FIX/reading-16s.ndjson"
}

@test "records older than the raw retention when they come are passed on, not stored, and counted in one line" {
	store_new t
	bms-store --db "$STORE" tenants set t --raw-days 1
	sed 's/2026-11-27T14:29:11/2020-01-01T00:00:00/' "$FIX/reading-16s.ndjson" >"$T/old"
	sed 's/2026-11-27T14:29:11/2020-01-01T00:00:01/' "$FIX/reading-16s.ndjson" >>"$T/old"
	run --separate-stderr ingest t --passthrough "$T/old"
	[ "$status" -eq 0 ]
	diff <(printf '%s\n' "$output") "$T/old"
	[ "$stderr" = "bms-store: 2 records older than the raw retention of tenant 't' were not stored; keep them with: bms-store --db $STORE tenants set t --raw-days 0" ]
	[ -z "$(q t --tier raw --since 2019-12-31 --until 2020-01-02)" ]
	[ -z "$(q t --tier minute --since 2019-12-31 --until 2020-01-02)" ]
	# Stored once retention allows it, and counted once in the tiers
	# however often it is replayed.
	bms-store --db "$STORE" tenants set t --raw-days 0
	ingest t "$T/old"
	ingest t "$T/old"
	q t --tier raw --since 2019-12-31 --until 2020-01-02 | diff - "$T/old"
	[ "$(q t --tier minute --since 2019-12-31 --until 2020-01-02 | jq -r .n)" = 2 ]
}

@test "status, alert and aggregate records replayed after a crash are stored once" {
	store_new t
	ingest t "$FIX/store-records.ndjson"
	for w in status alerts aggregates; do q t --type "$w" "${DAY[@]}" >"$T/$w.1"; done
	ingest t "$FIX/store-records.ndjson"
	for w in status alerts aggregates; do
		q t --type "$w" "${DAY[@]}" | diff - "$T/$w.1"
	done
}

@test "health and anomaly records of bms-agg are kept, by type, once, and go with a purged battery" {
	store_new t
	cat >"$T/in" <<-'END'
	{"type":"health","bms_id":"p1","timestamp":"2026-11-27T14:30:00.000Z","energy_in_wh":1200.5,"energy_out_wh":980.25,"equivalent_cycles":0.0123}
	{"type":"anomaly","bms_id":"p1","timestamp":"2026-11-27T14:31:00.000Z","code":"cell_deviation","state":"start","cell":12,"value":3.412,"message":"cell 12 at 3.412 V, 64 mV above the pack"}
	{"type":"anomaly","bms_id":"p1","timestamp":"2026-11-27T14:41:00.000Z","code":"cell_deviation","state":"end","cell":12,"value":3.352,"message":"cell 12 back with the pack"}
	{"type":"health","bms_id":"p2","timestamp":"2026-11-27T14:30:00.000Z","energy_in_wh":0}
	END
	run --separate-stderr ingest t "$T/in"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	ingest t "$T/in"
	q t --type health "${DAY[@]}" | diff - <(sed -n '1p;4p' "$T/in")
	q t --type anomalies "${DAY[@]}" | diff - <(sed -n '2p;3p' "$T/in")
	q t --type anomaly --battery p1 --since 2026-11-27T14:35:00Z --until 2026-11-27T15:00:00Z |
		diff - <(sed -n 3p "$T/in")
	run --separate-stderr q t --type anomalies --csv "${DAY[@]}"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") - <<-'END'
	timestamp,bms_id,code,state,message
	2026-11-27T14:31:00.000Z,p1,cell_deviation,start,"cell 12 at 3.412 V, 64 mV above the pack"
	2026-11-27T14:41:00.000Z,p1,cell_deviation,end,cell 12 back with the pack
	END
	run --separate-stderr q t --type health --csv --battery p2 "${DAY[@]}"
	[ "$status" -eq 0 ]
	diff <(echo "$output") - <<-'END'
	timestamp,bms_id,doc
	2026-11-27T14:30:00.000Z,p2,"{""type"":""health"",""bms_id"":""p2"",""timestamp"":""2026-11-27T14:30:00.000Z"",""energy_in_wh"":0}"
	END
	bms-store --db "$STORE" --tenant t batteries remove --purge p1
	[ -z "$(q t --type anomalies "${DAY[@]}")" ]
	q t --type health "${DAY[@]}" | diff - <(sed -n 4p "$T/in")
}

@test "SIGTERM while another writer holds the database: what was read is committed once it is free, exit 0" {
	store_new t
	db=$STORE/tenants/t.db
	mkfifo "$T/in" "$T/sql"
	bms-store --db "$STORE" --tenant t --busy-timeout 100 --passthrough <"$T/in" >"$T/out" 2>"$T/err" &
	pid=$!
	bg+=($pid)
	exec 8>"$T/in"
	cat "$FIX/reading-16s.ndjson" >&8
	wait_lines "$T/out" 1
	# Another writer takes the database; the next record cannot go in.
	sqlite3 "$db" <"$T/sql" >"$T/sql.out" 2>&1 &
	bg+=($!)
	exec 7>"$T/sql"
	echo 'BEGIN IMMEDIATE;' >&7
	for _ in $(seq 1200); do
		sqlite3 "$db" 'BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null || break
		sleep 0.05
	done
	cat "$FIX/reading-d2.ndjson" >&8
	wait_lines "$T/err" 1
	kill -TERM "$pid"
	# Still waiting (and saying so) after the signal.
	n=$(wc -l <"$T/err")
	wait_lines "$T/err" $((n + 2))
	[ "$(wc -l <"$T/out")" -eq 1 ]
	echo 'COMMIT;' >&7
	exec 7>&-
	status=0
	wait "$pid" || status=$?
	exec 8>&-
	[ "$status" -eq 0 ]
	cat "$FIX/reading-16s.ndjson" "$FIX/reading-d2.ndjson" >"$T/want"
	diff "$T/out" "$T/want"
	[ -z "$(grep -v -x -F "bms-store: $db: busy for 100 ms (another writer holds it); retrying" "$T/err")" ]
	q t "${DAY[@]}" | diff - "$T/want"
}

# issue 7: the reading's range rules are the schema's: cycles and the
# capacities are at least 0, on the fast path and the slow one alike.
@test "--strict refuses a reading with a negative cycles or capacity (exit 3), stores nothing of it" {
	store_new t
	for field in cycles remaining_capacity_ah nominal_capacity_ah; do
		for form in canonical spaced; do
			line=$(sed -E "s/\"$field\":[0-9.]+/\"$field\":-1/" "$FIX/reading-16s.ndjson")
			[ "$form" = spaced ] && line=" $line"
			run --separate-stderr ingest t --strict <<<"$line"
			[ "$status" -eq 3 ] || { echo "$field $form: status $status"; false; }
			[ "$stderr" = "bms-store: <stdin>:1: $field: negative" ] || { echo "$field $form: $stderr"; false; }
		done
	done
	[ -z "$(q t "${DAY[@]}")" ]
	[ -z "$(bms-store --db "$STORE" --tenant t batteries list)" ]
	# At 0 they are stored.
	sed -E 's/"(cycles|remaining_capacity_ah|nominal_capacity_ah)":[0-9.]+/"\1":0/g' "$FIX/reading-16s.ndjson" >"$T/zero"
	run --separate-stderr ingest t --strict "$T/zero"
	[ "$status" -eq 0 ]
	diff <(q t "${DAY[@]}") "$T/zero"
}

# issue 7: a key of the envelope twice is refused: the store would
# have kept one tenant or battery while the line shows another.
@test "a record with an envelope key twice is rejected, whatever its type" {
	store_new lab lab2
	ts='"timestamp":"2026-11-27T14:29:11.123Z"'
	{
		sed 's/"timestamp":"\([^"]*\)"/"timestamp":"\1","tenant":"lab2","tenant":"lab"/' "$FIX/reading-16s.ndjson"
		sed 's/"bms_id":"p1"/"bms_id":"p1","bms_id":"p9"/' "$FIX/reading-16s.ndjson"
		echo "{\"type\":\"status\",\"bms_id\":\"p1\",$ts,\"tenant\":\"lab2\",\"tenant\":\"lab\",\"state\":\"connected\",\"reason\":\"ok\",\"quality\":100}"
		echo "{\"type\":\"alert\",\"bms_id\":\"p1\",\"bms_\\u0069d\":\"p2\",$ts,\"severity\":\"warning\"}"
		echo "{\"type\":\"aggregate\",\"bms_id\":\"p1\",$ts,\"timestamp\":\"2026-11-27T15:00:00.000Z\"}"
		echo "{\"type\":\"note\",\"type\":\"status\",\"bms_id\":\"p1\",$ts,\"state\":\"connected\"}"
		cat "$FIX/reading-d2.ndjson"
	} >"$T/in"
	run --separate-stderr ingest lab <"$T/in"
	[ "$status" -eq 0 ]
	diff <(echo "$stderr") - <<-'END'
	bms-store: <stdin>:1: tenant: more than once
	bms-store: <stdin>:2: bms_id: more than once
	bms-store: <stdin>:3: tenant: more than once
	bms-store: <stdin>:4: bms_id: more than once
	bms-store: <stdin>:5: timestamp: more than once
	bms-store: <stdin>:6: type: more than once
	END
	diff <(q lab "${DAY[@]}") "$FIX/reading-d2.ndjson"
	for what in status alerts aggregates; do
		[ -z "$(q lab --type $what "${DAY[@]}")" ]
	done
	[ "$(bms-store --db "$STORE" --tenant lab batteries list | jq -r .bms_id)" = p2 ]
}

# ==== Found in review (issue 7) ====

# issue 7: store files took their mode from the umask: under 022 the store
# was 755 and its databases 644, so any local user read every tenant's
# data, password hashes and audit log.
@test "a store, its databases with their -wal and -shm files, and its backups are private under umask 022 and 000" {
	for u in 022 000; do
		S=$T/s$u
		(umask $u && bms-store --db "$S" init && bms-store --db "$S" tenants add t --raw-days 0)
		# While an ingest runs, every database has its -wal and -shm.
		mkfifo "$T/in$u"
		(umask $u && exec bms-store --db "$S" --tenant t --passthrough <"$T/in$u" >"$T/out$u") &
		pid=$!
		bg+=($pid)
		exec 7>"$T/in$u"
		cat "$FIX/reading-16s.ndjson" >&7
		wait_lines "$T/out$u" 1
		diff <(cd "$S" && stat -c '%a %n' . tenants control.db control.db-wal control.db-shm \
			tenants/t.db tenants/t.db-wal tenants/t.db-shm) - <<-'END'
		700 .
		700 tenants
		600 control.db
		600 control.db-wal
		600 control.db-shm
		600 tenants/t.db
		600 tenants/t.db-wal
		600 tenants/t.db-shm
		END
		exec 7>&-
		wait "$pid"
		(umask $u && bms-store --db "$S" backup "$T/b$u" && bms-store --db "$S" --tenant t backup "$T/bt$u")
		for b in "$T/b$u" "$T/bt$u"; do
			diff <(cd "$b" && stat -c '%a %n' . tenants control.db tenants/t.db) - <<-'END'
			700 .
			700 tenants
			600 control.db
			600 tenants/t.db
			END
			bms-store --db "$b" --tenant t query "${DAY[@]}" | diff - "$FIX/reading-16s.ndjson"
		done
		run --separate-stderr bms-store --db "$S" check
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		diff <(echo "$output") <(printf 'control.db: ok\ntenants/t.db: ok\n')
	done
}

# issue 7: a store made before, or opened up by hand, is left as it is,
# and check says what is wider than private and how to mend it.
@test "check reports each file and directory wider than 700/600 with its chmod, changes nothing, and exits 0" {
	store_new a b
	ingest a "$FIX/reading-16s.ndjson"
	chmod 755 "$STORE" "$STORE/tenants"
	chmod 644 "$STORE/control.db" "$STORE/tenants/a.db"
	chmod 640 "$STORE/tenants/b.db"
	run --separate-stderr bms-store --db "$STORE" check
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	S=$STORE
	diff <(echo "$output") - <<-END
	control.db: ok
	tenants/a.db: ok
	tenants/b.db: ok
	$S: mode 755 is wider than 700; make it private with: chmod 700 $S
	$S/tenants: mode 755 is wider than 700; make it private with: chmod 700 $S/tenants
	$S/control.db: mode 644 is wider than 600; make it private with: chmod 600 $S/control.db
	$S/control.db-wal: mode 644 is wider than 600; make it private with: chmod 600 $S/control.db-wal
	$S/control.db-shm: mode 644 is wider than 600; make it private with: chmod 600 $S/control.db-shm
	$S/tenants/a.db: mode 644 is wider than 600; make it private with: chmod 600 $S/tenants/a.db
	$S/tenants/a.db-wal: mode 644 is wider than 600; make it private with: chmod 600 $S/tenants/a.db-wal
	$S/tenants/a.db-shm: mode 644 is wider than 600; make it private with: chmod 600 $S/tenants/a.db-shm
	$S/tenants/b.db: mode 640 is wider than 600; make it private with: chmod 600 $S/tenants/b.db
	$S/tenants/b.db-wal: mode 640 is wider than 600; make it private with: chmod 600 $S/tenants/b.db-wal
	$S/tenants/b.db-shm: mode 640 is wider than 600; make it private with: chmod 600 $S/tenants/b.db-shm
	END
	# Nothing was changed behind the owner's back.
	diff <(cd "$S" && stat -c '%a %n' . tenants control.db tenants/a.db tenants/b.db) - <<-'END'
	755 .
	755 tenants
	644 control.db
	644 tenants/a.db
	640 tenants/b.db
	END
	# With --tenant, the directories, control.db and that tenant's files.
	run --separate-stderr bms-store --db "$S" --tenant b check
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") - <<-END
	control.db: ok
	tenants/b.db: ok
	$S: mode 755 is wider than 700; make it private with: chmod 700 $S
	$S/tenants: mode 755 is wider than 700; make it private with: chmod 700 $S/tenants
	$S/control.db: mode 644 is wider than 600; make it private with: chmod 600 $S/control.db
	$S/control.db-wal: mode 644 is wider than 600; make it private with: chmod 600 $S/control.db-wal
	$S/control.db-shm: mode 644 is wider than 600; make it private with: chmod 600 $S/control.db-shm
	$S/tenants/b.db: mode 640 is wider than 600; make it private with: chmod 600 $S/tenants/b.db
	$S/tenants/b.db-wal: mode 640 is wider than 600; make it private with: chmod 600 $S/tenants/b.db-wal
	$S/tenants/b.db-shm: mode 640 is wider than 600; make it private with: chmod 600 $S/tenants/b.db-shm
	END
	# The commands it gives mend the store: then check says only ok.
	bms-store --db "$S" check | sed -n 's/.*; make it private with: //p' | sh
	run --separate-stderr bms-store --db "$S" check
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") <(printf 'control.db: ok\ntenants/a.db: ok\ntenants/b.db: ok\n')
	[ "$(stat -c %a "$S" "$S/tenants" "$S/control.db" "$S/tenants/a.db" "$S/tenants/b.db" | tr '\n' ' ')" = "700 700 600 600 600 " ]
}

# issue 7: check --tenant also reported control.db, which bms-store(1) did
# not say.  It is meant: every open of the tenant reads its retention
# there, and a tenant's backup carries it; the other tenants are left out.
@test "check --tenant checks control.db and that tenant's database only" {
	store_new a b
	ingest a "$FIX/reading-16s.ndjson"
	ingest b "$FIX/reading-d2.ndjson"
	printf 'garbage!' | dd of="$STORE/tenants/b.db" conv=notrunc status=none
	run --separate-stderr bms-store --db "$STORE" --tenant a check
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") <(printf 'control.db: ok\ntenants/a.db: ok\n')
	run --separate-stderr bms-store --db "$STORE" check
	[ "$status" -eq 1 ]
	[ -z "$stderr" ]
	diff <(echo "$output") <(printf 'control.db: ok\ntenants/a.db: ok\ntenants/b.db: file is not a database\n')
}

# issue 7: a name was shown as '%s' as it came, so one holding a quote read
# as two names, and one holding a newline split its message in two.
@test "a tenant, battery or user name holding a quote or a newline is shown escaped, on one line" {
	store_new t
	run --separate-stderr bms-store --db "$STORE" tenants add "o'k"
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-store: bad tenant name 'o\\'k': use a-z, 0-9, '_' and '-', at most 63 bytes, starting with a letter or digit" ]
	run --separate-stderr bms-store --db "$STORE" --tenant $'t\nx' query
	[ "$status" -eq 2 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$stderr" = "bms-store: bad tenant name 't\\nx': use a-z, 0-9, '_' and '-', at most 63 bytes, starting with a letter or digit" ]
	bms-store --db "$STORE" --tenant t batteries add "o'brien"
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries add "o'brien"
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-store: battery 'o\\'brien' exists already; change it with batteries edit" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t batteries remove $'p1\'\n'
	[ "$status" -eq 2 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$stderr" = "bms-store: no battery 'p1\\'\\n'" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t users add "o'neil" --role viewer <<<pw
	[ "$status" -eq 2 ]
	[ "$stderr" = "bms-store: bad user name 'o\\'neil': use a-z, 0-9, '_' and '-', at most 63 bytes, starting with a letter or digit" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t users passwd $'al\nice' <<<pw
	[ "$status" -eq 2 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$stderr" = "bms-store: bad user name 'al\\nice': use a-z, 0-9, '_' and '-', at most 63 bytes, starting with a letter or digit" ]
	line='{"type":"status","bms_id":"x","timestamp":"2026-11-27T14:29:11.123Z","tenant":"o'\''brien","state":"connected"}'
	run --separate-stderr ingest t <<<"$line"
	[ "$status" -eq 0 ]
	[ "$stderr" = "bms-store: <stdin>:1: record of tenant 'o\\'brien', this store writes 't'" ]
}

# issue 7: a line over the limit is rejected whatever its type (it is not
# passed on), its reject keeps its head, length and digest; the records
# around it are stored and passed on.
@test "a line over 1 MiB is rejected with its head, length and SHA-256; the next one is stored" {
	store_new t
	{ printf '{"type":"telemetry","blob":"'; head -c 1100000 /dev/zero | tr '\0' z; printf '"}'; } >"$T/long"
	{ cat "$FIX/reading-16s.ndjson" "$T/long"; echo; cat "$FIX/reading-d2.ndjson"; } >"$T/in"
	bytes=$(wc -c <"$T/long")
	sum=$(sha256sum <"$T/long" | cut -c1-64)
	umask 022
	run --separate-stderr ingest t --passthrough --rejects "$T/rej" "$T/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(echo "$output") <(cat "$FIX/reading-16s.ndjson" "$FIX/reading-d2.ndjson")
	head=$(head -c 4096 "$T/long" | jq -Rs .)
	echo "{\"type\":\"reject\",\"reason\":\"line of $bytes bytes is over the 1048576-byte limit\",\"file\":\"$T/in\",\"lineno\":2,\"line_head\":$head,\"line_bytes\":$bytes,\"line_sha256\":\"$sum\"}" >"$T/want"
	diff "$T/rej" "$T/want"
	[ "$(stat -c %a "$T/rej")" = 600 ]
	q t "${DAY[@]}" | diff - <(cat "$FIX/reading-16s.ndjson" "$FIX/reading-d2.ndjson")
	# Without a rejects file stderr says where and how long.
	run --separate-stderr ingest t <"$T/in"
	[ "$status" -eq 0 ]
	[ "$stderr" = "bms-store: <stdin>:2: line of $bytes bytes is over the 1048576-byte limit" ]
}

# issue 7: SIGHUP was caught as a reload that nothing did.
@test "SIGHUP ends an ingest with exit 0, everything read committed" {
	store_new t
	mkfifo "$T/in"
	bms-store --passthrough --db "$STORE" --tenant t <"$T/in" >"$T/acked" 2>"$T/err" &
	pid=$!
	bg+=($pid)
	exec 7>"$T/in"
	head -n 500 "$GEN" >&7
	wait_lines "$T/acked" 500
	kill -HUP "$pid"
	st=0
	wait "$pid" || st=$?
	exec 7>&-
	[ "$st" -eq 0 ]
	[ ! -s "$T/err" ]
	cmp "$T/acked" <(head -n 500 "$GEN")
	[ "$(rows "$STORE/tenants/t.db" 'select count(*) from readings')" = 500 ]
}

# issue 7: the type names as a user types them.
@test "query --type takes reading, aggregate and alert as well as the plural names" {
	store_new t
	ingest t "$FIX/store-records.ndjson" "$FIX/reading-16s.ndjson"
	for w in reading:readings aggregate:aggregates alert:alerts anomaly:anomalies; do
		diff <(q t --type "${w%%:*}" "${DAY[@]}") <(q t --type "${w##*:}" "${DAY[@]}")
	done
	[ "$(q t --type alert "${DAY[@]}" | jq -r .type | sort -u)" = alert ]
	[ "$(q t --type aggregate "${DAY[@]}" | jq -r .type | sort -u)" = aggregate ]
	[ "$(q t --type reading "${DAY[@]}" | jq -r .type | sort -u)" = reading ]
	run --separate-stderr q t --type alertz
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: --type: 'alertz' is not readings, aggregates, alerts, status, health or anomalies" ]
	run bms-store --db "$STORE" query --help
	[[ "$output" == *"(reading, aggregate, alert and anomaly too)"* ]]
}

# issue 7: a password was cut at its first NUL byte.
@test "users add and passwd refuse a password holding a NUL byte" {
	store_new t
	echo pw | bms-store --db "$STORE" --tenant t users add alice --role admin
	bms-store --db "$STORE" --tenant t users list >"$T/before"
	printf 'secret\0more\n' >"$T/pw"
	run --separate-stderr bms-store --db "$STORE" --tenant t users add bob --role viewer <"$T/pw"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: the password on standard input holds a NUL byte" ]
	run --separate-stderr bms-store --db "$STORE" --tenant t users passwd alice <"$T/pw"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "bms-store: the password on standard input holds a NUL byte" ]
	diff "$T/before" <(bms-store --db "$STORE" --tenant t users list)
}
