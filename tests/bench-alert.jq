# The peer "make bench" measures bms-alert against: a pass over the same
# lines that makes the threshold tests of the default rule set
# (share/rules/lfp.rules) on each reading by itself: highest and lowest
# cell with their numbers, the cells' spread, warmest and coldest probe,
# pack voltage against the cell count, current, SOC, protection flags,
# fault codes and bms-validate's verdict.  Every line is written, and
# after a reading an alert object for each test that trips.  Less than
# bms-alert does: no delays, hysteresis, escalation, repeats or clearing,
# and no rules on the link's status, the clock or bms-agg's anomalies.
def r3: . * 1000 | round / 1000;
def r6: . * 1000000 | round / 1000000;
# The record as bms-alert writes it; value and threshold only for a rule
# that is one comparison.
def alert($r; $rule; $sev; $value; $threshold; $msg):
	{type: "alert", bms_id: $r.bms_id, timestamp: $r.timestamp,
	 alert_id: "\($r.bms_id)/\($rule)", rule: $rule, state: "raised", severity: $sev}
	+ (if $value == null then {} else {value: ($value | r6), threshold: ($threshold | r6)} end)
	+ {message: $msg};
if .type != "reading" then . else
	. as $r
	| (.cell_voltages // []) as $c
	| (.temperatures // []) as $t
	| ($c | length) as $n
	| (if $n > 0 then ($c | max) else null end) as $cmax
	| (if $n > 0 then ($c | min) else null end) as $cmin
	| (if $n > 0 then ($c | index($cmax)) + 1 else null end) as $imax
	| (if $n > 0 then ($c | index($cmin)) + 1 else null end) as $imin
	| (if $n > 0 then ($cmax - $cmin) * 1000 else null end) as $spread
	| (if ($t | length) > 0 then ($t | max) else null end) as $tmax
	| (if ($t | length) > 0 then ($t | min) else null end) as $tmin
	| (if $tmax != null then ($t | index($tmax)) + 1 else null end) as $itmax
	| (if $tmin != null then ($t | index($tmin)) + 1 else null end) as $itmin
	| .pack_voltage as $v | .pack_current as $i | .soc_percent as $soc
	| ., (
		(if $cmax != null and $cmax > 3.65 then
			alert($r; "cell_overvoltage"; "warning"; $cmax; 3.65;
			      "cell \($imax) at \($cmax | r3) V, above 3.65 V") else empty end),
		(if $cmin != null and $cmin < 2.8 then
			alert($r; "cell_undervoltage"; "warning"; $cmin; 2.8;
			      "cell \($imin) at \($cmin | r3) V, below 2.8 V") else empty end),
		(if $v != null and $n > 0 and $v > $n * 3.65 then
			alert($r; "pack_overvoltage"; "warning"; $v; $n * 3.65;
			      "pack at \($v) V, above \($n * 3.65) V for \($n) cells") else empty end),
		(if $v != null and $n > 0 and $v < $n * 2.8 then
			alert($r; "pack_undervoltage"; "warning"; $v; $n * 2.8;
			      "pack at \($v) V, below \($n * 2.8) V for \($n) cells") else empty end),
		(if $i != null and $tmin != null and $i > 0.5 and $tmin < 0 then
			alert($r; "charging_below_freezing"; "critical"; null; null;
			      "charging at \($i) A with probe \($itmin) at \($tmin) degC: lithium plating")
		 else empty end),
		(if $i != null and $tmax != null and $i > 0.5 and $tmax > 45 then
			alert($r; "charge_overtemperature"; "warning"; null; null;
			      "charging at \($i) A with probe \($itmax) at \($tmax) degC") else empty end),
		(if $i != null and $tmax != null and $i < -0.5 and $tmax > 60 then
			alert($r; "discharge_overtemperature"; "warning"; null; null;
			      "discharging at \($i) A with probe \($itmax) at \($tmax) degC") else empty end),
		(if $spread != null and $spread > 100 then
			alert($r; "cell_imbalance"; "warning"; $spread; 100;
			      "cells \($imax) (\($cmax | r3) V) and \($imin) (\($cmin | r3) V) are \($spread | round) mV apart")
		 else empty end),
		(if $soc != null and $soc < 15 then
			alert($r; "low_soc"; "warning"; $soc; 15; "state of charge \($soc | round) %")
		 else empty end),
		(if (.protection_status // {} | any(.[]; . == true)) then
			alert($r; "bms_protection"; "critical"; null; null;
			      "the BMS raised a protection flag") else empty end),
		(if (.fault_codes // [] | length) > 0 then
			alert($r; "bms_fault"; "warning"; null; null;
			      "the BMS reports \(.fault_codes | length) fault codes") else empty end),
		(if .quality == "bad" then
			alert($r; "reading_bad"; "warning"; null; null;
			      "bms-validate judged a reading bad (\(.findings // [] | length) findings)")
		 else empty end)
	)
end
