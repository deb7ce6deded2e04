#!/usr/bin/env bats
# What every program shares: --help, --version, usage errors, and a
# manual page whose SYNOPSIS is the help's usage.

load helper

PROGS="bms-sim bms-read bms-decode bms-validate bms-agg bms-alert bms-store bms-serve"
MAN="$BATS_TEST_DIRNAME/../share/man"

# The SYNOPSIS of a page, one form per line, white space folded.
man_synopsis() {
	mandoc -Tascii -Owidth=300 "$1" | col -b |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' |
		sed -E 's/^ +//; s/ +/ /g; /^$/d'
}

# The usage of --help, one form per line, white space folded.
help_synopsis() {
	"$1" --help | sed -n '1,/^$/p' | sed -E 's/^usage: //; s/^ +//; s/ +/ /g; /^$/d'
}

@test "every program answers --help on stdout with exit 0" {
	for p in $PROGS; do
		run --separate-stderr "$p" --help
		[ "$status" -eq 0 ] || { echo "$p: status $status"; false; }
		[ -z "$stderr" ] || { echo "$p: stderr: $stderr"; false; }
		[ "${lines[0]}" = "usage: ${lines[0]#usage: }" ]
		[[ "$output" == *"See $p(1) for the full manual."* ]]
	done
}

@test "every --help synopsis equals its man page SYNOPSIS" {
	for p in $PROGS; do
		diff <(help_synopsis "$p") <(man_synopsis "$MAN/man1/$p.1")
	done
}

@test "every program prints its version" {
	for p in $PROGS; do
		run --separate-stderr "$p" --version
		[ "$status" -eq 0 ]
		[ "$output" = "$p 0.1.0" ]
	done
}

@test "an unknown option is a usage error: one message, one usage line, exit 2" {
	for p in $PROGS; do
		run --separate-stderr "$p" --no-such-option
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[ "${stderr_lines[0]}" = "$p: unknown option '--no-such-option'" ]
		[ "${stderr_lines[1]#usage: $p}" != "${stderr_lines[1]}" ]
		[ "${stderr_lines[2]}" = "Try '$p --help' for more information." ]
		[ "${#stderr_lines[@]}" -eq 3 ]
	done
}

@test "a value given to an option that takes none is a usage error" {
	run --separate-stderr bms-decode --strict=1
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-decode: option '--strict' takes no value" ]
	run --separate-stderr bms-read --list-ports=x
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-read: option '--list-ports' takes no value" ]
}

@test "a missing option value is a usage error" {
	run --separate-stderr bms-decode --rejects
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "bms-decode: option '--rejects' needs a value" ]
}

@test "every man page is clean under mandoc -Tlint" {
	for page in "$MAN"/man*/*; do
		run mandoc -Tlint -Wwarning "$page"
		[ "$status" -eq 0 ] || { echo "$output"; false; }
	done
}

@test "every program has a page, a bats suite and completion entries" {
	for p in $PROGS; do
		[ -f "$MAN/man1/$p.1" ]
		ls "$BATS_TEST_DIRNAME"/[0-9][0-9]-"$p".bats >/dev/null
		grep -q "complete -F _${p//-/_} $p\$" "$BATS_TEST_DIRNAME/../completions/bms.bash"
		grep -q "^$p)" "$BATS_TEST_DIRNAME/../completions/_bms"
	done
}

@test "the bash completion file loads and completes options" {
	[ -f /usr/share/bash-completion/bash_completion ] || skip "bash-completion not installed"
	run bash -c 'source /usr/share/bash-completion/bash_completion
		source "$0"
		COMP_WORDS=(bms-decode --rej); COMP_CWORD=1; COMP_LINE="bms-decode --rej"; COMP_POINT=${#COMP_LINE}
		_bms_decode bms-decode --rej bms-decode; printf "%s\n" "${COMPREPLY[@]}"' \
		"$BATS_TEST_DIRNAME/../completions/bms.bash"
	[ "$status" -eq 0 ]
	[ "$output" = "--rejects" ]
}

@test "the completions offer exactly the long options of --help" {
	for p in $PROGS; do
		diff <("$p" --help | grep -oE -- '--[a-z0-9-]+' | sort -u) \
			<(awk "/^_${p//-/_}\\(\\)/,/^}/" "$BATS_TEST_DIRNAME/../completions/bms.bash" |
				grep -oE -- '--[a-z0-9-]+' | sort -u)
		diff <("$p" --help | grep -oE -- '--[a-z0-9-]+' | sort -u) \
			<(awk "/^$p\\)/,/;;/" "$BATS_TEST_DIRNAME/../completions/_bms" |
				grep -oE -- '--[a-z0-9-]+' | sort -u)
	done
}

@test "make install lays out programs, pages, completions and schemas under DESTDIR" {
	make -s -C "$BATS_TEST_DIRNAME/.." install PREFIX=/usr DESTDIR="$BATS_TEST_TMPDIR/root" >/dev/null
	# The dashboard's built files (their names change with each build):
	# the same as share/web/dist, SOURCES.sha256 aside.
	diff -r -x SOURCES.sha256 "$BATS_TEST_DIRNAME/../share/web/dist" \
		"$BATS_TEST_TMPDIR/root/usr/share/trackingbms/web"
	(cd "$BATS_TEST_TMPDIR/root" && find . -type f ! -path './usr/share/trackingbms/web/*' |
		sort) >"$BATS_TEST_TMPDIR/got"
	cat >"$BATS_TEST_TMPDIR/want" <<-'END'
	./usr/bin/bms-agg
	./usr/bin/bms-alert
	./usr/bin/bms-decode
	./usr/bin/bms-read
	./usr/bin/bms-serve
	./usr/bin/bms-sim
	./usr/bin/bms-store
	./usr/bin/bms-validate
	./usr/lib/trackingbms/libcrypto.so
	./usr/lib/trackingbms/libssl.so
	./usr/share/bash-completion/completions/bms-agg
	./usr/share/bash-completion/completions/bms-alert
	./usr/share/bash-completion/completions/bms-decode
	./usr/share/bash-completion/completions/bms-read
	./usr/share/bash-completion/completions/bms-serve
	./usr/share/bash-completion/completions/bms-sim
	./usr/share/bash-completion/completions/bms-store
	./usr/share/bash-completion/completions/bms-validate
	./usr/share/man/man1/bms-agg.1
	./usr/share/man/man1/bms-alert.1
	./usr/share/man/man1/bms-decode.1
	./usr/share/man/man1/bms-read.1
	./usr/share/man/man1/bms-serve.1
	./usr/share/man/man1/bms-sim.1
	./usr/share/man/man1/bms-store.1
	./usr/share/man/man1/bms-validate.1
	./usr/share/man/man5/bms-alert.rules.5
	./usr/share/man/man5/bms.conf.5
	./usr/share/man/man7/bms.7
	./usr/share/trackingbms/rules/lfp.rules
	./usr/share/trackingbms/rules/lto.rules
	./usr/share/trackingbms/rules/nmc.rules
	./usr/share/trackingbms/schema/aggregate.schema.json
	./usr/share/trackingbms/schema/alert.schema.json
	./usr/share/trackingbms/schema/anomaly.schema.json
	./usr/share/trackingbms/schema/frames.schema.json
	./usr/share/trackingbms/schema/health.schema.json
	./usr/share/trackingbms/schema/reading.schema.json
	./usr/share/trackingbms/schema/reject.schema.json
	./usr/share/trackingbms/schema/status.schema.json
	./usr/share/zsh/site-functions/_bms
	END
	diff "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
	[ -x "$BATS_TEST_TMPDIR/root/usr/bin/bms-decode" ]
}

# issue 7: bms.conf(5) is installed with the other pages, and uninstalled
@test "make uninstall removes bms.conf(5) that make install put in man5" {
	make -s -C "$BATS_TEST_DIRNAME/.." install PREFIX=/usr DESTDIR="$BATS_TEST_TMPDIR/root" >/dev/null
	[ -f "$BATS_TEST_TMPDIR/root/usr/share/man/man5/bms.conf.5" ]
	make -s -C "$BATS_TEST_DIRNAME/.." uninstall PREFIX=/usr DESTDIR="$BATS_TEST_TMPDIR/root" >/dev/null
	[ ! -e "$BATS_TEST_TMPDIR/root/usr/share/man/man5/bms.conf.5" ]
}
