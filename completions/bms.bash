# bash completion for the TrackingBMS programs (bms-sim, bms-read, bms-decode,
# bms-validate, bms-agg, bms-alert, bms-store, bms-serve).

_bms_read() {
	local cur prev
	_init_completion || return
	case $prev in
	-p|--proto) COMPREPLY=($(compgen -W 'daly daly-modbus' -- "$cur")); return ;;
	--host-address) COMPREPLY=($(compgen -W '0x40 0x80' -- "$cur")); return ;;
	-b|--baud) COMPREPLY=($(compgen -W '9600 19200 38400 57600 115200' -- "$cur")); return ;;
	-i|--interval|-n|--count|--id|-a|--board|-t|--timeout|-r|--retries|--tenant|--backoff-max) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '--proto --baud --interval --count --id --board
			--host-address --timeout --retries --tenant --backoff-max
			--list-ports --help --version' -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -f -- "${cur:-/dev/tty}"))
}

_bms_decode() {
	local cur prev
	_init_completion || return
	case $prev in
	-r|--rejects) _filedir; return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '--rejects --strict --invert-current --help --version' -- "$cur"))
		return
	fi
	_filedir
}

_bms_validate() {
	local cur prev
	_init_completion || return
	case $prev in
	-m|--mode) COMPREPLY=($(compgen -W 'annotate drop strict' -- "$cur")); return ;;
	--chemistry) COMPREPLY=($(compgen -W 'lfp nmc lto' -- "$cur")); return ;;
	-r|--rejects|-c|--config|--state) _filedir; return ;;
	--db) _filedir -d; return ;;
	-T|--tenant) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '--mode --rejects --config --chemistry --db --tenant --state
			--help --version' -- "$cur"))
		return
	fi
	_filedir
}

_bms_agg() {
	local cur prev
	_init_completion || return
	case $prev in
	-r|--rejects|-c|--config|--state) _filedir; return ;;
	-w|--window) COMPREPLY=($(compgen -W '10s 1m 15m 1h 1d' -- "$cur")); return ;;
	--chemistry) COMPREPLY=($(compgen -W 'lfp nmc lto' -- "$cur")); return ;;
	--health-interval) COMPREPLY=($(compgen -W '0 15m 1h 1d' -- "$cur")); return ;;
	--max-gap|--merge|--merge-window|--save-interval|--max-batteries) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '--window --max-gap --merge --parallel --series
			--merge-window --config --state --save-interval --max-batteries
			--chemistry --health-interval --rejects --strict --help --version' -- "$cur"))
		return
	fi
	_filedir
}

_bms_alert() {
	local cur prev
	_init_completion || return
	case $prev in
	-R|--rules|-r|--rejects|--state) _filedir; return ;;
	--chemistry) COMPREPLY=($(compgen -W 'lfp nmc lto' -- "$cur")); return ;;
	--db) _filedir -d; return ;;
	--exec) COMPREPLY=($(compgen -c -- "$cur")); return ;;
	--exec-timeout) COMPREPLY=($(compgen -W '10s 30s 1m 0' -- "$cur")); return ;;
	--exec-rate) COMPREPLY=($(compgen -W '20/1h 5/10m 0/1h' -- "$cur")); return ;;
	--exec-jobs|-T|--tenant) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '--rules --rejects --strict --chemistry --state --exec
			--exec-jobs --exec-timeout --exec-rate --db --tenant --check
			--help --version' -- "$cur"))
		return
	fi
	_filedir
}

_bms_serve() {
	local cur prev
	_init_completion || return
	case $prev in
	--db|--web) _filedir -d; return ;;
	--access-log|-c|--config|--jwt-secret|--tls-cert|--tls-key) _filedir; return ;;
	--access-ttl) COMPREPLY=($(compgen -W '5m 15m 1h' -- "$cur")); return ;;
	-l|--listen) COMPREPLY=($(compgen -W '127.0.0.1:8080 0.0.0.0:8080' -- "$cur")); return ;;
	--threads|--cors-origin|--live-max|--live-backlog) return ;;
	esac
	COMPREPLY=($(compgen -W '--db --listen --threads --access-log --cors-origin --config
		--jwt-secret --access-ttl --live-max --live-backlog --tls-cert --tls-key --web
		--help --version' -- "$cur"))
}

_bms_sim() {
	local cur prev
	_init_completion || return
	case $prev in
	-p|--proto) COMPREPLY=($(compgen -W 'daly daly-modbus' -- "$cur")); return ;;
	--chemistry) COMPREPLY=($(compgen -W 'lfp nmc lto' -- "$cur")); return ;;
	--fault) COMPREPLY=($(compgen -W 'checksum drop garbage split concat delay sleep
		extra-temps cells-16 stale vanish' -- "$cur")); return ;;
	--link) _filedir; return ;;
	--tcp|--boards|--cells|--temps|--capacity|--soc|--current|--profile|--cycles|\
	--soh|--weak-cell|--drift-cell|--dead-probe|--freeze-after|--speed|--tick|\
	--seed|--baud|--latency|--delay|--vanish-time) return ;;
	esac
	COMPREPLY=($(compgen -W '--pty --link --tcp --stdio --proto --boards --cells
		--temps --chemistry --capacity --soc --current --profile --cycles --soh
		--weak-cell --drift-cell --dead-probe --freeze-after --speed --tick
		--seed --baud --pace --latency --fault --delay --vanish-time --quiet
		--verbose --help --version' -- "$cur"))
}

_bms_store() {
	local cur prev words cword i sub= si=0 verb= opts= verbs=
	_init_completion || return
	case $prev in
	-d|--db) _filedir -d; return ;;
	-r|--rejects|--device) _filedir; return ;;
	--sync) COMPREPLY=($(compgen -W 'normal full' -- "$cur")); return ;;
	--type) COMPREPLY=($(compgen -W 'readings aggregates alerts status health anomalies' -- "$cur")); return ;;
	--tier) COMPREPLY=($(compgen -W 'auto raw minute hour' -- "$cur")); return ;;
	--role) COMPREPLY=($(compgen -W 'viewer operator admin' -- "$cur")); return ;;
	--chemistry) COMPREPLY=($(compgen -W 'lifepo4 nmc lto' -- "$cur")); return ;;
	--protocol) COMPREPLY=($(compgen -W 'daly daly-modbus' -- "$cur")); return ;;
	--baud) COMPREPLY=($(compgen -W '9600 19200 38400 57600 115200' -- "$cur")); return ;;
	-T|--tenant|-b|--batch|-t|--batch-ms|--busy-timeout|--raw-days|--minute-days|\
	--hour-days|--name|--capacity|--cells|--bms-type|--timeout|--notes|--battery|\
	--since|--until|--by|--note) return ;;
	esac
	# The subcommand is the first operand after the global options.
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-d|--db|-T|--tenant|-r|--rejects|-b|--batch|-t|--batch-ms|--sync|--busy-timeout)
			((i++)) ;;
		-*) ;;
		*) sub=${words[i]} si=$i; break ;;
		esac
	done
	if [[ -z $sub ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--db --tenant --passthrough --rejects --strict
				--batch --batch-ms --sync --busy-timeout --help --version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W 'init tenants batteries users superadmins query ack
				compact backup check' -- "$cur"))
			_filedir
		fi
		return
	fi
	case $sub in
	tenants) opts='--raw-days --minute-days --hour-days' verbs='add set list' ;;
	batteries)
		opts='--name --chemistry --capacity --cells --bms-type --protocol --device
			--baud --timeout --notes --purge'
		verbs='add edit remove list' ;;
	users) opts='--role' verbs='add passwd disable enable list' ;;
	superadmins) verbs='add passwd disable enable list' ;;
	query) opts='--type --battery --since --until --tier --csv' ;;
	ack) opts='--by --note' ;;
	backup) _filedir -d; return ;;
	init|compact|check) return ;;
	*) _filedir; return ;;
	esac
	for ((i = si + 1; i < cword; i++)); do
		[[ ${words[i]} == -* ]] || { verb=${words[i]}; break; }
	done
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
	elif [[ -n $verbs && -z $verb ]]; then
		COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
	fi
}

complete -F _bms_read bms-read
complete -F _bms_decode bms-decode
complete -F _bms_validate bms-validate
complete -F _bms_agg bms-agg
complete -F _bms_alert bms-alert
complete -F _bms_serve bms-serve
complete -F _bms_sim bms-sim
complete -F _bms_store bms-store
