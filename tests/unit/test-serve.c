/* SPDX-License-Identifier: MIT */
/*
 * lib/serve's route table against share/openapi.json: every route the
 * server has is in the document, with its method, and every operation of
 * the document is a route of the server.  (tests/80-bms-serve.bats walks
 * the document against the running server.)
 */
#include <ctype.h>
#include <string.h>

#include <jansson.h>

#include "serve.h"
#include "unit.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

/* "/api/v1/bms/data/{bms_id}" as the document writes it, "/bms/data/{}":
 * the prefix off, parameter names blanked. */
static void norm(const char *p, char *out, size_t cap)
{
	size_t o = 0;

	if (strncmp(p, "/api/v1", 7) == 0)
		p += 7;
	for (; *p && o + 2 < cap; p++) {
		out[o++] = *p;
		if (*p == '{') {
			while (*p && *p != '}')
				p++;
			out[o++] = '}';
			if (!*p)
				break;
		}
	}
	out[o] = '\0';
}

int main(void)
{
	json_error_t je;
	json_t *doc = json_load_file(SRCDIR "/share/openapi.json", 0, &je), *paths, *ops, *op;
	const char *path, *method;
	char want[256], got[256], m[16];
	int nops = 0;

	CHECK(doc != NULL);
	if (!doc)
		return unit_done();
	CHECK_STR(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
	paths = json_object_get(doc, "paths");
	CHECK(json_is_object(paths));
	/* The server's routes in the document. */
	for (int i = 0; i < bms_serve_nroutes; i++) {
		int found = 0;

		norm(bms_serve_routes[i].pattern, want, sizeof want);
		for (size_t k = 0; bms_serve_routes[i].method[k] && k + 1 < sizeof m; k++)
			m[k] = (char)tolower((unsigned char)bms_serve_routes[i].method[k]),
			m[k + 1] = '\0';
		json_object_foreach(paths, path, ops) {
			norm(path, got, sizeof got);
			if (strcmp(got, want) == 0 && json_object_get(ops, m))
				found = 1;
		}
		if (!found)
			fprintf(stderr, "route %s %s is not in share/openapi.json\n",
				bms_serve_routes[i].method, bms_serve_routes[i].pattern);
		CHECK(found);
	}
	/* The document's operations among the routes. */
	json_object_foreach(paths, path, ops) {
		norm(path, got, sizeof got);
		json_object_foreach(ops, method, op) {
			int found = 0;

			if (strcmp(method, "parameters") == 0 || strcmp(method, "summary") == 0 ||
			    strcmp(method, "description") == 0)
				continue;
			nops++;
			for (int i = 0; i < bms_serve_nroutes; i++) {
				norm(bms_serve_routes[i].pattern, want, sizeof want);
				if (strcmp(got, want) == 0 && strcasecmp(bms_serve_routes[i].method,
									 method) == 0)
					found = 1;
			}
			if (!found)
				fprintf(stderr, "%s %s of share/openapi.json is no route\n", method, path);
			CHECK(found);
		}
	}
	CHECK_INT(nops, bms_serve_nroutes);
	json_decref(doc);
	return unit_done();
}
