#!/usr/bin/env bats
# bms-serve's static files (--web): the dashboard's files and its routes,
# and nothing outside them.

load helper

setup() {
	T=$BATS_TEST_TMPDIR
	bg=()
	store_new home
	mkdir -p "$T/web/assets" "$T/web/.git"
	printf '<!doctype html><title>dash</title>\n' >"$T/web/index.html"
	printf 'console.log(1)\n' >"$T/web/assets/app-1234.js"
	printf 'secret\n' >"$T/web/.env"
	printf 'secret\n' >"$T/web/.git/config"
	printf 'outside\n' >"$T/outside.txt"
	ln -s "$T/outside.txt" "$T/web/link.txt"
}

teardown() {
	stop_bg "${bg[@]}"
}

# get PATH: "CODE TYPE BODY" of a GET of PATH, sent as it is.
get() {
	curl -sS --path-as-is -o "$T/body" -w '%{http_code} %{content_type} ' "$URL$1"
	tr -d '\n' <"$T/body"
}

@test "web: the files, index.html for the application's own paths, the security headers on them" {
	serve_store --web "$T/web"
	[ "$(get /)" = '200 text/html <!doctype html><title>dash</title>' ]
	[ "$(get /index.html)" = '200 text/html <!doctype html><title>dash</title>' ]
	[ "$(get /assets/app-1234.js)" = '200 application/javascript console.log(1)' ]
	[ "$(get /battery/house)" = '200 text/html <!doctype html><title>dash</title>' ]
	[ "$(get /assets/gone-1234.js)" = '404 application/json {"error":"not_found","message":"no such resource"}' ]
	[ "$(get /api/v1/nope)" = '404 application/json {"error":"not_found","message":"no such resource"}' ]
	curl -sS -D "$T/h" -o /dev/null "$URL/"
	grep -q "^Content-Security-Policy: default-src 'self'; frame-ancestors 'none'; base-uri 'none'" "$T/h"
	grep -q '^X-Content-Type-Options: nosniff' "$T/h"
	run curl -sS -o /dev/null -w '%{http_code}' -X POST "$URL/index.html"
	[ "$output" = 404 ]
}

@test "web: no way out of the root, and no hidden file" {
	serve_store --web "$T/web"
	nf='404 application/json {"error":"not_found","message":"no such resource"}'
	for p in /.env /.git/config /link.txt /../outside.txt /%2e%2e/outside.txt \
		/assets/..%2f..%2foutside.txt /assets/%2e%2e/%2e%2e/outside.txt \
		'/..%5c..%5coutside.txt' /%2e%2e%2f%2e%2e%2foutside.txt "/$T/outside.txt"; do
		run get "$p"
		[ "$output" = "$nf" ] || { echo "$p: $output"; false; }
	done
}

@test "web: none with --web '', and a root that cannot be used is an error" {
	serve_store --web ''
	[ "$(get /)" = '404 application/json {"error":"not_found","message":"no such resource"}' ]
	run --separate-stderr bms-serve --db "$STORE" -l 127.0.0.1:0 --web "$T/nope"
	[ "$status" -eq 1 ]
	[ "$stderr" = "bms-serve: --web: cannot use '$T/nope': No such file or directory" ]
}
