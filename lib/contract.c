/* SPDX-License-Identifier: MIT */
/*
 * The API contract's shapes (see contract.h).  Requests are parsed with
 * jansson, which refuses duplicate keys; readings are cut as text so
 * that their numbers go out exactly as they were stored.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "contract.h"
#include "err.h"
#include "json.h"
#include "record.h"

static const char *const bms_types[] = { "daly_bms", "foxbms", "libre_solar", "green_bms", NULL };
static const char *const protocols[] = { "uart", "bluetooth", "can", "modbus", NULL };
static const long bauds[] = { 9600, 19200, 38400, 57600, 115200 };

static int bad(char *field, size_t fieldsz, const char *name, char *why, size_t whysz,
	       const char *text)
{
	snprintf(field, fieldsz, "%s", name);
	return bms_err_set(why, whysz, "%s", text);
}

/* A string member into out (cap bytes, NUL included); 0 absent, 1 set,
 * -1 wrong (why said). */
static int str_member(json_t *o, const char *key, const char *path, char *out, size_t cap,
		      size_t min, const char *const *words, char *field, size_t fieldsz,
		      char *why, size_t whysz)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	size_t n;
	char e[256];

	if (!v)
		return 0;
	if (!json_is_string(v))
		return bad(field, fieldsz, path, why, whysz, "not a string");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n < min || n >= cap || memchr(s, 0, n)) {
		snprintf(e, sizeof e, "a string of %zu to %zu bytes", min, cap - 1);
		return bad(field, fieldsz, path, why, whysz, e);
	}
	if (words) {
		size_t i;
		int k;

		for (i = 0; words[i] && strcmp(words[i], s) != 0; i++)
			;
		if (!words[i]) {
			k = snprintf(e, sizeof e, "not one of");
			for (i = 0; words[i] && k > 0 && (size_t)k < sizeof e; i++)
				k += snprintf(e + k, sizeof e - (size_t)k, "%s %s",
					      i ? "," : "", words[i]);
			return bad(field, fieldsz, path, why, whysz, e);
		}
	}
	memcpy(out, s, n + 1);
	return 1;
}

/* AA:BB:CC:DD:EE:FF, hex digits of either case. */
static int mac_ok(const char *s)
{
	if (strlen(s) != 17)
		return 0;
	for (int i = 0; i < 17; i++) {
		char c = s[i];

		if (i % 3 == 2 ? c != ':' :
		    !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

int bms_contract_conn_parse(const char *body, size_t len, struct bms_contract_conn *c,
			    char *field, size_t fieldsz, char *why, size_t whysz)
{
	json_error_t je;
	json_t *root, *cc, *v;
	char e[256];
	int rc = -1;

	memset(c, 0, sizeof *c);
	if (field && fieldsz)
		field[0] = '\0';
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(e, sizeof e, "not JSON: %s", bms_err_oneline(je.text));
		return bad(field, fieldsz, "", why, whysz, e);
	}
	if (!json_is_object(root)) {
		bad(field, fieldsz, "", why, whysz, "not a JSON object");
		goto out;
	}
	if (str_member(root, "bms_id", "bms_id", c->bms_id, sizeof c->bms_id, 1, NULL, field,
		       fieldsz, why, whysz) < 0 ||
	    str_member(root, "name", "name", c->name, sizeof c->name, 0, NULL, field, fieldsz,
		       why, whysz) < 0)
		goto out;
	if (c->bms_id[0] && bms_record_name_check(c->bms_id, 127, e, sizeof e) < 0) {
		bad(field, fieldsz, "bms_id", why, whysz, e);
		goto out;
	}
	switch (str_member(root, "bms_type", "bms_type", c->bms_type, sizeof c->bms_type, 1,
			   bms_types, field, fieldsz, why, whysz)) {
	case -1: goto out;
	case 0: bad(field, fieldsz, "bms_type", why, whysz, "required"); goto out;
	}
	cc = json_object_get(root, "connection_config");
	if (!cc) {
		bad(field, fieldsz, "connection_config", why, whysz, "required");
		goto out;
	}
	if (!json_is_object(cc)) {
		bad(field, fieldsz, "connection_config", why, whysz, "not an object");
		goto out;
	}
	switch (str_member(cc, "protocol", "connection_config.protocol", c->protocol,
			   sizeof c->protocol, 1, protocols, field, fieldsz, why, whysz)) {
	case -1: goto out;
	case 0:
		bad(field, fieldsz, "connection_config.protocol", why, whysz, "required");
		goto out;
	}
	if (str_member(cc, "device_path", "connection_config.device_path", c->device_path,
		       sizeof c->device_path, 1, NULL, field, fieldsz, why, whysz) < 0 ||
	    str_member(cc, "mac_address", "connection_config.mac_address", c->mac_address,
		       sizeof c->mac_address, 1, NULL, field, fieldsz, why, whysz) < 0)
		goto out;
	if (c->mac_address[0] && !mac_ok(c->mac_address)) {
		bad(field, fieldsz, "connection_config.mac_address", why, whysz,
		    "not a MAC address such as AA:BB:CC:DD:EE:FF");
		goto out;
	}
	if (strcmp(c->protocol, "bluetooth") == 0 ? !c->mac_address[0] : !c->device_path[0]) {
		int bt = strcmp(c->protocol, "bluetooth") == 0;

		bad(field, fieldsz, bt ? "connection_config.mac_address" :
		    "connection_config.device_path", why, whysz,
		    bt ? "required for bluetooth" : "required for this protocol");
		goto out;
	}
	if ((v = json_object_get(cc, "baud_rate"))) {
		size_t i;

		if (!json_is_integer(v)) {
			bad(field, fieldsz, "connection_config.baud_rate", why, whysz,
			    "not an integer");
			goto out;
		}
		for (i = 0; i < sizeof bauds / sizeof bauds[0]; i++)
			if (json_integer_value(v) == bauds[i])
				break;
		if (i == sizeof bauds / sizeof bauds[0]) {
			bad(field, fieldsz, "connection_config.baud_rate", why, whysz,
			    "not one of 9600, 19200, 38400, 57600, 115200");
			goto out;
		}
		c->baud_rate = (long)json_integer_value(v);
	}
	if ((v = json_object_get(cc, "timeout"))) {
		if (!json_is_number(v)) {
			bad(field, fieldsz, "connection_config.timeout", why, whysz,
			    "not a number");
			goto out;
		}
		c->timeout = json_number_value(v);
		if (!isfinite(c->timeout) || c->timeout < 0.1 || c->timeout > 10) {
			bad(field, fieldsz, "connection_config.timeout", why, whysz,
			    "not from 0.1 to 10 (seconds)");
			goto out;
		}
	}
	/* The battery's name by default: the device's, as bms-read names it. */
	if (!c->bms_id[0]) {
		const char *d = bms_contract_conn_device(c), *slash = strrchr(d, '/');
		size_t n;

		d = slash && slash[1] ? slash + 1 : d;
		n = strlen(d) < sizeof c->bms_id - 1 ? strlen(d) : sizeof c->bms_id - 1;
		memcpy(c->bms_id, d, n);
		c->bms_id[n] = '\0';
		if (bms_record_name_check(c->bms_id, 127, e, sizeof e) < 0) {
			bad(field, fieldsz, "bms_id", why, whysz,
			    "required: the device's name cannot name the battery");
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

const char *bms_contract_conn_device(const struct bms_contract_conn *c)
{
	if (strcmp(c->protocol, "bluetooth") == 0)
		return c->mac_address;
	return c->device_path;
}

/*
 * Remove the top-level member key from the object in b (if there), with
 * one comma that joined it to the others: the one after it, or else the
 * one before.  b stays one JSON object.
 */
static void drop_member(struct bms_buf *b, const char *key)
{
	struct bms_json_field f = { .key = key };
	char *from, *to, *end;

	if (bms_json_scan(b->p, b->len, &f, 1, NULL) < 0 || !f.val)
		return;
	end = b->p + b->len;
	/* Back from the value over ':' and the key to its opening quote. */
	from = (char *)f.val - 1;
	while (*from != ':')
		from--;
	from--;
	while (*from != '"')
		from--;
	do
		from--;
	while (*from != '"' || from[-1] == '\\');
	to = (char *)f.val + f.len;
	while (to < end && (*to == ' ' || *to == '\t' || *to == '\n' || *to == '\r'))
		to++;
	if (to < end && *to == ',') {
		to++;
	} else {
		to = (char *)f.val + f.len;
		while (from > b->p && from[-1] != ',' && from[-1] != '{')
			from--;
		if (from > b->p && from[-1] == ',')
			from--;
	}
	memmove(from, to, (size_t)(end - to));
	b->len -= (size_t)(to - from);
	b->p[b->len] = '\0';
}

int bms_contract_realtime(const char *line, size_t len, struct bms_buf *out)
{
	struct bms_buf b = BMS_BUF_INIT;

	if (bms_json_scan(line, len, NULL, 0, NULL) < 0)
		return -1;
	bms_buf_add(&b, line, len);
	if (b.oom) {
		bms_buf_free(&b);
		return -1;
	}
	drop_member(&b, "type");
	drop_member(&b, "tenant");
	bms_buf_add(out, b.p, b.len);
	bms_buf_free(&b);
	return 0;
}
