#!/usr/bin/env bats
# bms-serve over TLS: a certificate made here, curl checking it, HSTS on
# every answer; the errors of a certificate or key that will not do; the
# options from a configuration file.

load helper

setup() {
	T=$BATS_TEST_TMPDIR
	bg=()
	store_new home
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
}

teardown() {
	stop_bg "${bg[@]}"
}

@test "tls: HTTPS only with the certificate and key given, HSTS on every answer" {
	serve_store --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
	[[ "$URL" =~ ^https://127\.0\.0\.1:[0-9]+$ ]]
	run curl -sS -D "$T/h" --cacert "$T/cert.pem" "$URL/api/v1/health"
	[ "$status" -eq 0 ]
	[[ "$output" == '{"status":"healthy",'* ]]
	grep -q $'^Strict-Transport-Security: max-age=31536000\r$' "$T/h"
	# Errors that civetweb writes itself carry it too.
	run curl -sS -D "$T/h2" -o /dev/null --cacert "$T/cert.pem" "$URL/api/v1/bms/%zz"
	grep -q '^Strict-Transport-Security: max-age=31536000' "$T/h2"
	# Forty requests, ten at a time: each answered.
	run bash -c "seq 40 | xargs -P 10 -I{} curl -sS -o /dev/null -w '%{http_code}\n' \
		--cacert '$T/cert.pem' '$URL/api/v1/health' | sort | uniq -c"
	[ "$(echo $output)" = '40 200' ]
	# Plain HTTP is not spoken there.
	run curl -sS -m 5 "http${URL#https}/api/v1/health"
	[ "$status" -ne 0 ]
	kill -TERM "$SERVE_PID"
	wait "$SERVE_PID"
}

@test "tls: one PEM file holding both, from the configuration file, with the other [serve] options" {
	cat "$T/key.pem" "$T/cert.pem" >"$T/both.pem"
	printf '[serve]\ndb = %s\nlisten = 127.0.0.1:0\ntls_cert = %s\nlive_max = 4\n' \
		"$STORE" "$T/both.pem" >"$T/bms.conf"
	serve_start -c "$T/bms.conf"
	[[ "$URL" =~ ^https:// ]]
	run curl -sS --cacert "$T/cert.pem" "$URL/api/v1/health"
	[[ "$output" == '{"status":"healthy",'* ]]
}

@test "tls: a certificate or key that will not do is said in one line, exit 1" {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=x \
		-keyout "$T/key2.pem" -out "$T/cert2.pem" 2>/dev/null
	run --separate-stderr bms-serve --db "$STORE" -l 127.0.0.1:0 --tls-cert "$T/nope.pem"
	[ "$status" -eq 1 ]
	[ "$stderr" = "bms-serve: --tls-cert: cannot read '$T/nope.pem': No such file or directory" ]
	run --separate-stderr bms-serve --db "$STORE" -l 127.0.0.1:0 --tls-cert "$T/key.pem"
	[ "$status" -eq 1 ]
	[ "$stderr" = "bms-serve: --tls-cert: '$T/key.pem' holds no PEM certificate" ]
	run --separate-stderr bms-serve --db "$STORE" -l 127.0.0.1:0 --tls-cert "$T/cert.pem"
	[ "$status" -eq 1 ]
	[ "$stderr" = "bms-serve: --tls-cert: '$T/cert.pem' holds no PEM private key of the certificate (give it with --tls-key)" ]
	run --separate-stderr bms-serve --db "$STORE" -l 127.0.0.1:0 --tls-cert "$T/cert.pem" --tls-key "$T/key2.pem"
	[ "$status" -eq 1 ]
	[ "$stderr" = "bms-serve: --tls-key: '$T/key2.pem' holds no PEM private key of the certificate" ]
	run --separate-stderr bms-serve --db "$STORE" --tls-key "$T/key.pem"
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = 'bms-serve: --tls-key wants --tls-cert' ]
}
