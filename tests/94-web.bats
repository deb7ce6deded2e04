#!/usr/bin/env bats
# The dashboard's sources and the built files kept beside them
# (share/web/dist, served on machines without Node): they agree, the
# build gives them again byte for byte, and the unit tests pass.

load helper

WEB="$BATS_TEST_DIRNAME/../share/web"

# need_node: npm's packages of the dashboard, or skip without Node.
need_node() {
	command -v node >/dev/null && command -v npm >/dev/null ||
		skip "Node.js is not installed (make deps installs it)"
	if [ ! -x "$WEB/node_modules/.bin/vite" ]; then
		(cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error) >&2
	fi
}

@test "web: dist was built from the sources as they are (no Node needed)" {
	cd "$WEB"
	run sha256sum -c --quiet dist/SOURCES.sha256
	[ "$status" -eq 0 ] || { echo "dist is stale: run make web"; echo "$output"; false; }
	# Every source is listed: none was added since the build.
	find . -type f ! -path './dist/*' ! -path './node_modules/*' ! -path './coverage/*' \
		! -path './.vite/*' ! -name '*.log' | sed 's|^\./||' | LC_ALL=C sort >"$BATS_TEST_TMPDIR/have"
	sed 's/^[0-9a-f]*  //' dist/SOURCES.sha256 >"$BATS_TEST_TMPDIR/listed"
	diff "$BATS_TEST_TMPDIR/listed" "$BATS_TEST_TMPDIR/have"
}

@test "web: a build of the sources gives dist again, byte for byte" {
	need_node
	cd "$WEB"
	node_modules/.bin/vite build --logLevel error --outDir "$BATS_TEST_TMPDIR/dist" --emptyOutDir
	diff -r -x SOURCES.sha256 "$BATS_TEST_TMPDIR/dist" dist
}

@test "web: the unit tests (Vitest)" {
	need_node
	cd "$WEB"
	run env NO_COLOR=1 node_modules/.bin/vitest run
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" =~ Tests\ +[0-9]+\ passed ]]
}
