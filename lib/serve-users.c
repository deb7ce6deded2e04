/* SPDX-License-Identifier: MIT */
/*
 * bms-serve's accounts and tenants (serve.h): a tenant's users for its
 * admins, and the tenants, with a tenant's users, for super-admins.  Each
 * change goes to the audit log of the tenant it touches.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "serve-int.h"

/* ==== A tenant's users (admins) ==== */

/* Append a user's JSON to o (the store's writer starts its buffer over). */
static void user_json(const struct bms_user *u, struct bms_buf *o)
{
	struct bms_buf t = BMS_BUF_INIT;

	bms_store_user_json(u, &t);
	bms_buf_add(o, t.p ? t.p : "", t.len);
	if (t.oom)
		o->oom = 1;
	bms_buf_free(&t);
}

/* A JSON array being written: its buffer, and the items so far. */
struct list {
	struct bms_buf *o;
	int n;
};

static int user_each(void *ctx, const struct bms_user *u)
{
	struct list *l = ctx;

	bms_buf_puts(l->o, l->n++ ? "," : "");
	user_json(u, l->o);
	return 0;
}

/* The user named name, as JSON, into rs's body; 0, or -1 if none. */
struct one_user {
	const char *name;
	struct bms_buf *o;
	int found;
};

static int one_user_fn(void *ctx, const struct bms_user *u)
{
	struct one_user *x = ctx;

	if (strcmp(u->name, x->name) != 0)
		return 0;
	x->found = 1;
	user_json(u, x->o);
	return 1;
}

/* GET /api/v1/users */
void bms_serve_users(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = bms_serve_caller(ctx, rq, rs, BMS_ROLE_ADMIN, &c);
	struct list l = { &rs->body, 0 };

	if (!st)
		return;
	bms_buf_putc(&rs->body, '[');
	if (bms_store_user_list(st, user_each, &l) < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	bms_buf_putc(&rs->body, ']');
}

/* A role member: 1 set (*role), 0 absent, -1 refused (rs set). */
static int role_member(json_t *o, struct bms_http_resp *rs, enum bms_role *role)
{
	json_t *v = json_object_get(o, "role");
	int r;

	if (!v)
		return 0;
	if (!json_is_string(v) || (r = bms_store_role_parse(json_string_value(v))) < 0) {
		bms_http_error(rs, 400, "bad_request", "role: not viewer, operator or admin",
			       "{\"field\":\"role\"}");
		return -1;
	}
	*role = (enum bms_role)r;
	return 1;
}

/* Add the user the body of rq describes to st, by by; the answer in rs:
 * 201 with the user, 400 naming a field, 409, 503. */
static void add_user(struct bms_store *st, const char *by, const struct bms_http_req *rq,
		     struct bms_http_resp *rs)
{
	enum bms_role role = BMS_ROLE_VIEWER;
	struct one_user x = { NULL, &rs->body, 0 };
	const char *name, *pass;
	json_t *o;

	if (!(o = bms_serve_body(rq, rs)))
		return;
	if (!(name = bms_serve_want_str(o, "username", 63, rs)) ||
	    !(pass = bms_serve_want_str(o, "password", 1024, rs)) || role_member(o, rs, &role) < 0)
		goto out;
	if (!bms_store_name_ok(name)) {
		bms_http_error(rs, 400, "bad_request", "username: use a-z, 0-9, '_' and '-', "
			       "starting with a letter or digit", "{\"field\":\"username\"}");
		goto out;
	}
	if (strlen(pass) < 8) {
		bms_http_error(rs, 400, "bad_request", "password: at least 8 characters",
			       "{\"field\":\"password\"}");
		goto out;
	}
	switch (bms_store_user_add(st, name, role, pass)) {
	case 0:
		break;
	case BMS_STORE_ECONFIG:
		bms_http_error(rs, 409, "conflict", "this user exists already",
			       "{\"field\":\"username\"}");
		goto out;
	default:
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		goto out;
	}
	bms_store_audit(st, by, "user_add", name, rq->remote);
	rs->status = 201;
	x.name = name;
	bms_store_user_list(st, one_user_fn, &x);
out:
	json_decref(o);
}

/* POST /api/v1/users {"username","password","role"} */
void bms_serve_user_add(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = bms_serve_caller(ctx, rq, rs, BMS_ROLE_ADMIN, &c);

	if (st)
		add_user(st, c.user, rq, rs);
}

/* PATCH /api/v1/users/{name} {"role","disabled","password"} */
void bms_serve_user_edit(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve_who c;
	struct bms_store *st = bms_serve_caller(ctx, rq, rs, BMS_ROLE_ADMIN, &c);
	struct one_user x = { rq->params[0], &rs->body, 0 };
	enum bms_role role;
	json_t *o, *v;
	const char *pass = NULL;
	int has_role, rc = 0;

	if (!st || !(o = bms_serve_body(rq, rs)))
		return;
	if ((has_role = role_member(o, rs, &role)) < 0)
		goto out;
	if ((v = json_object_get(o, "disabled")) && !json_is_boolean(v)) {
		bms_http_error(rs, 400, "bad_request", "disabled: not true or false",
			       "{\"field\":\"disabled\"}");
		goto out;
	}
	if (json_object_get(o, "password") && !(pass = bms_serve_want_str(o, "password", 1024, rs)))
		goto out;
	if (pass && strlen(pass) < 8) {
		bms_http_error(rs, 400, "bad_request", "password: at least 8 characters",
			       "{\"field\":\"password\"}");
		goto out;
	}
	if (has_role)
		rc = bms_store_user_role(st, x.name, role);
	if (rc == 0 && v)
		rc = bms_store_user_disable(st, x.name, json_is_true(v));
	if (rc == 0 && pass)
		rc = bms_store_user_passwd(st, x.name, pass);
	if (rc == BMS_STORE_ECONFIG) {
		bms_http_error(rs, 404, "not_found", "no such user", NULL);
		goto out;
	}
	if (rc < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		goto out;
	}
	bms_store_audit(st, c.user, "user_edit", x.name, rq->remote);
	if (bms_store_user_list(st, one_user_fn, &x) < 0 || !x.found) {
		bms_buf_reset(&rs->body);
		bms_http_error(rs, 404, "not_found", "no such user", NULL);
	}
out:
	json_decref(o);
}

/* ==== Tenants (super-admins) ==== */

/* Append a tenant's JSON to o (the store's writer starts its buffer over). */
static void tenant_json(const struct bms_tenant *t, struct bms_buf *o)
{
	struct bms_buf b = BMS_BUF_INIT;

	bms_store_tenant_json(t, &b);
	bms_buf_add(o, b.p ? b.p : "", b.len);
	if (b.oom)
		o->oom = 1;
	bms_buf_free(&b);
}

static int tenant_each(void *ctx, const struct bms_tenant *t)
{
	struct list *l = ctx;

	bms_buf_puts(l->o, l->n++ ? "," : "");
	tenant_json(t, l->o);
	return 0;
}

/* The tenant named name, as JSON into o (NULL: not wanted). */
struct one_tenant {
	const char *name;
	struct bms_buf *o;
	int found;
};

static int one_tenant_fn(void *ctx, const struct bms_tenant *t)
{
	struct one_tenant *x = ctx;

	if (strcmp(t->name, x->name) != 0)
		return 0;
	x->found = 1;
	if (x->o)
		tenant_json(t, x->o);
	return 1;
}

/* The retention members of o into k (-1 where not given), their count in
 * *given; 0, or -1 with rs set to 400 naming the member. */
static int retention_members(json_t *o, struct bms_retention *k, int *given,
			     struct bms_http_resp *rs)
{
	static const char *const keys[] = { "raw_days", "minute_days", "hour_days" };
	long *f[] = { &k->raw_days, &k->minute_days, &k->hour_days };
	char msg[128], details[64];

	*given = 0;
	for (int i = 0; i < 3; i++) {
		json_t *v = json_object_get(o, keys[i]);

		*f[i] = -1;
		if (!v)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 1000000) {
			snprintf(msg, sizeof msg, "%s: not a whole number of days from 0 "
				 "(keep forever) to 1000000", keys[i]);
			snprintf(details, sizeof details, "{\"field\":\"%s\"}", keys[i]);
			bms_http_error(rs, 400, "bad_request", msg, details);
			return -1;
		}
		*f[i] = (long)json_integer_value(v);
		(*given)++;
	}
	return 0;
}

/* GET /api/v1/tenants: every tenant with its retention. */
void bms_serve_tenants(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	char by[200];
	struct bms_store *ctl = bms_serve_superadmin(ctx, rq, rs, by, sizeof by);
	struct list l = { &rs->body, 0 };

	if (!ctl)
		return;
	bms_buf_putc(&rs->body, '[');
	if (bms_store_tenant_list(ctl, tenant_each, &l) < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	bms_buf_putc(&rs->body, ']');
}

/* POST /api/v1/tenants {"name","raw_days","minute_days","hour_days"} */
void bms_serve_tenant_add(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char by[200];
	struct bms_store *ctl = bms_serve_superadmin(sv, rq, rs, by, sizeof by), *st;
	struct one_tenant x = { NULL, &rs->body, 0 };
	struct bms_retention k;
	const char *name;
	json_t *o;
	int given;

	if (!ctl || !(o = bms_serve_body(rq, rs)))
		return;
	if (!(name = bms_serve_want_str(o, "name", 63, rs)) ||
	    retention_members(o, &k, &given, rs) < 0)
		goto out;
	if (!bms_store_name_ok(name)) {
		bms_http_error(rs, 400, "bad_request", "name: use a-z, 0-9, '_' and '-', "
			       "starting with a letter or digit", "{\"field\":\"name\"}");
		goto out;
	}
	switch (bms_store_tenant_add(ctl, name, &k)) {
	case 0:
		break;
	case BMS_STORE_ECONFIG:
		bms_http_error(rs, 409, "conflict", "this tenant exists already",
			       "{\"field\":\"name\"}");
		goto out;
	default:
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		goto out;
	}
	if ((st = bms_serve_tenant(sv, rq->thread, name)))
		bms_store_audit(st, by, "tenant_add", name, rq->remote);
	rs->status = 201;
	x.name = name;
	bms_store_tenant_list(ctl, one_tenant_fn, &x);
out:
	json_decref(o);
}

/* PATCH /api/v1/tenants/{name} {"raw_days","minute_days","hour_days"} */
void bms_serve_tenant_edit(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char by[200];
	struct bms_store *ctl = bms_serve_superadmin(sv, rq, rs, by, sizeof by), *st;
	struct one_tenant x = { rq->params[0], &rs->body, 0 };
	struct bms_retention k;
	json_t *o;
	int given, rc = 0;

	if (!ctl || !(o = bms_serve_body(rq, rs)))
		return;
	if (retention_members(o, &k, &given, rs) < 0)
		goto out;
	if (given)
		rc = bms_store_tenant_set(ctl, x.name, &k);
	if (rc == BMS_STORE_ECONFIG) {
		bms_http_error(rs, 404, "not_found", "no such tenant", NULL);
		goto out;
	}
	if (rc < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be written now", NULL);
		goto out;
	}
	if (given && (st = bms_serve_tenant(sv, rq->thread, x.name)))
		bms_store_audit(st, by, "tenant_edit", x.name, rq->remote);
	if (bms_store_tenant_list(ctl, one_tenant_fn, &x) < 0 || !x.found) {
		bms_buf_reset(&rs->body);
		bms_http_error(rs, 404, "not_found", "no such tenant", NULL);
	}
out:
	json_decref(o);
}

/* POST /api/v1/tenants/{name}/users {"username","password","role"}: a
 * user of the tenant, such as its first admin. */
void bms_serve_tenant_user_add(void *ctx, const struct bms_http_req *rq, struct bms_http_resp *rs)
{
	struct bms_serve *sv = ctx;
	char by[200];
	struct bms_store *ctl = bms_serve_superadmin(sv, rq, rs, by, sizeof by), *st;
	struct one_tenant x = { rq->params[0], NULL, 0 };

	if (!ctl)
		return;
	if (bms_store_tenant_list(ctl, one_tenant_fn, &x) < 0) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	if (!x.found) {
		bms_http_error(rs, 404, "not_found", "no such tenant", NULL);
		return;
	}
	if (!(st = bms_serve_tenant(sv, rq->thread, x.name))) {
		bms_http_error(rs, 503, "unavailable", "the store cannot be read now", NULL);
		return;
	}
	add_user(st, by, rq, rs);
}
