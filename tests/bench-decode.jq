# The work bms-decode does on a Daly A5 frames record, written in jq:
# the peer "make bench" measures bms-decode against.  Hex to bytes, frames
# found by start flag, length and checksum, the later copy of a frame
# kept, cell and sensor counts from 0x94, and the reading built with the
# same fields in the same order (the bench checks both outputs agree).
def hexbytes: explode
	| map(if . >= 97 then . - 87 elif . >= 65 then . - 55 else . - 48 end)
	| [range(0; length; 2) as $i | .[$i] * 16 + .[$i + 1]];
def frames: . as $b | [range(0; ($b | length) - 12) as $i
	| select($b[$i] == 165 and $b[$i + 3] == 8 and $b[$i + 1] < 32
		and (($b[$i:$i + 12] | add) % 256) == $b[$i + 12])
	| $b[$i:$i + 13]];
def bit($bytes; $k): (($bytes[$k / 8 | floor] / pow(2; $k % 8)) | floor) % 2 == 1;
def be16($p; $i): $p[$i] * 256 + $p[$i + 1];
def be32($p; $i): ((($p[$i] * 256 + $p[$i + 1]) * 256 + $p[$i + 2]) * 256 + $p[$i + 3]);
def codes: [["w","cell_voltage_high"],["f","cell_voltage_high"],["w","cell_voltage_low"],["f","cell_voltage_low"],["w","pack_voltage_high"],["f","pack_voltage_high"],["w","pack_voltage_low"],["f","pack_voltage_low"],["w","charge_temp_high"],["f","charge_temp_high"],["w","charge_temp_low"],["f","charge_temp_low"],["w","discharge_temp_high"],["f","discharge_temp_high"],["w","discharge_temp_low"],["f","discharge_temp_low"],["w","charge_overcurrent"],["f","charge_overcurrent"],["w","discharge_overcurrent"],["f","discharge_overcurrent"],["w","soc_high"],["f","soc_high"],["w","soc_low"],["f","soc_low"],["w","cell_voltage_diff"],["f","cell_voltage_diff"],["w","temp_diff"],["f","temp_diff"],null,null,null,null,["f","charge_mos_overtemp"],["f","discharge_mos_overtemp"],["f","charge_mos_temp_sensor"],["f","discharge_mos_temp_sensor"],["f","charge_mos_stuck"],["f","discharge_mos_stuck"],["f","charge_mos_open"],["f","discharge_mos_open"],["f","afe_error"],["f","cell_sense_lost"],["f","temp_sensor_error"],["f","eeprom_error"],["f","rtc_error"],["f","precharge_failed"],["f","comm_error"],["f","internal_comm_error"],["f","current_sensor_error"],["f","pack_voltage_sense_error"],["f","short_circuit"],["f","low_voltage_no_charge"],null,null,null,null];

if .type != "frames" then . else
([.frames[] | hexbytes | frames[]]
	| reduce .[] as $x ({}; .["\($x[2])" + (if $x[2] == 149 or $x[2] == 150 then "_\($x[4])" else "" end)] = $x[4:12])) as $m
| $m["148"] as $st | $st[0] as $nc | $st[1] as $nt
| $m["144"] as $soc | $m["147"] as $mos | $m["152"] as $e
| (be16($soc; 4) - 30000) as $raw
| ((if $mos[0] == 1 then ($raw | fabs) elif $mos[0] == 2 then -($raw | fabs) else -$raw end) / 10) as $cur
| (be16($soc; 0) / 10) as $v
| ([range(0; 56) as $k | select(bit($e; $k)) | codes[$k] | select(. != null)]) as $alarms
| {type: "reading", bms_id, timestamp, proto,
	pack_voltage: $v, pack_current: $cur, pack_power: ($v * $cur * 100 | round / 100),
	soc_percent: (be16($soc; 6) / 10),
	temperatures: [range(0; $nt) as $k | $m["150_\(($k / 7 | floor) + 1)"][1 + $k % 7] - 40],
	cell_voltages: [range(0; $nc) as $k | be16($m["149_\(($k / 3 | floor) + 1)"]; 1 + 2 * ($k % 3)) / 1000],
	balancing_status: ([range(0; $nc) as $k | select(bit($m["151"]; $k)) | $k + 1]
		| {active: (length > 0), cells_balancing: .}),
	protection_status: {
		overvoltage: (bit($e; 1) or bit($e; 5)), undervoltage: (bit($e; 3) or bit($e; 7)),
		overcurrent_charge: bit($e; 17), overcurrent_discharge: (bit($e; 19) or bit($e; 50)),
		overtemperature: (bit($e; 9) or bit($e; 13) or bit($e; 32) or bit($e; 33)),
		undertemperature: (bit($e; 11) or bit($e; 15))},
	fault_codes: ([$alarms[] | select(.[0] == "f") | .[1]] + (if $e[7] > 0 then ["fault_code_\($e[7])"] else [] end)),
	warning_codes: [$alarms[] | select(.[0] == "w") | .[1]],
	cycles: be16($st; 5), remaining_capacity_ah: (be32($mos; 4) / 1000),
	nominal_capacity_ah: (be32($m["80"]; 0) / 1000),
	charge_mos: ($mos[1] == 1), discharge_mos: ($mos[2] == 1),
	cell_count: $nc, temp_count: $nt}
end
