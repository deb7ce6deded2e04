# bash completion for the TrackingBMS programs (bms-sim, bms-read, bms-decode).

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
	--speed|--seed|--baud|--latency|--delay|--vanish-time) return ;;
	esac
	COMPREPLY=($(compgen -W '--pty --link --tcp --stdio --proto --boards --cells
		--temps --chemistry --capacity --soc --current --profile --cycles --speed
		--seed --baud --pace --latency --fault --delay --vanish-time --quiet
		--verbose --help --version' -- "$cur"))
}

complete -F _bms_read bms-read
complete -F _bms_decode bms-decode
complete -F _bms_sim bms-sim
