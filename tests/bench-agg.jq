# The peer "make bench" measures bms-agg against: a pass over the same
# reading lines that keeps, per battery and minute, the count and the
# minimum, maximum and mean of pack voltage, current, power and SOC (less
# than bms-agg keeps: no last value, deviation, cells, probes, energy).
def acc($v): if . == null then [$v, $v, $v] else [([.[0], $v] | min), ([.[1], $v] | max), .[2] + $v] end;
reduce (inputs | select(.type == "reading")) as $r ({};
	($r.bms_id + " " + $r.timestamp[0:16]) as $k
	| .[$k] |= ((. // {n: 0}) | .n += 1
		| .v |= acc($r.pack_voltage) | .i |= acc($r.pack_current)
		| .p |= acc($r.pack_power) | .s |= acc($r.soc_percent)))
| to_entries[] | .value as $m
| {key, n: $m.n} + ([["pack_voltage", $m.v], ["pack_current", $m.i], ["pack_power", $m.p], ["soc_percent", $m.s]]
	| map({(.[0]): {min: .[1][0], max: .[1][1], mean: (.[1][2] / $m.n)}}) | add)
