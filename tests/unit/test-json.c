/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of lib/json.c (the validating scanner), lib/buf.c (JSON
 * writing and number formatting) and lib/hex.c.
 */
#include <string.h>

#include "buf.h"
#include "hex.h"
#include "json.h"
#include "unit.h"

static int valid(const char *s)
{
	struct bms_json_err e;

	return bms_json_scan(s, strlen(s), NULL, 0, &e) == 0;
}

static const char *why(const char *s, size_t *at)
{
	struct bms_json_err e = { 0, 0 };

	if (bms_json_scan(s, strlen(s), NULL, 0, &e) == 0)
		return "valid";
	*at = e.at;
	return e.what;
}

static void test_valid(void)
{
	CHECK(valid("{}"));
	CHECK(valid(" {\"a\":1} "));
	CHECK(valid("{\"a\":[1,-2.5e+3,0,0.1,true,false,null,\"x\",{},[]]}"));
	CHECK(valid("{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"}"));
	CHECK(valid("{\"utf8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x8b\"}"));
	CHECK(valid("{\"a\":{\"b\":{\"c\":[[[1]]]}}}"));
}

static void test_invalid(void)
{
	size_t at = 99;

	CHECK(!valid(""));
	CHECK(!valid("[]"));
	CHECK(!valid("{"));
	CHECK(!valid("{\"a\"}"));
	CHECK(!valid("{\"a\":}"));
	CHECK(!valid("{\"a\":1,}"));
	CHECK(!valid("{\"a\":01}"));
	CHECK(!valid("{\"a\":1.}"));
	CHECK(!valid("{\"a\":-}"));
	CHECK(!valid("{\"a\":tru}"));
	CHECK(!valid("{\"a\":\"\\x\"}"));
	CHECK(!valid("{\"a\":\"\\u12g4\"}"));
	CHECK(!valid("{\"a\":\"tab\there\"}"));
	CHECK(!valid("{\"a\":\"\xc3\"}"));		/* truncated UTF-8 */
	CHECK(!valid("{\"a\":\"\xed\xa0\x80\"}"));	/* surrogate */
	CHECK(!valid("{\"a\":\"\xc0\xaf\"}"));		/* overlong */
	CHECK(!valid("{\"a\":1} x"));
	CHECK(!valid("{\"a\":1}{\"b\":2}"));
	CHECK_STR(why("{\"a\":1,}", &at), "expected a key");
	CHECK_INT(at, 7);
	CHECK_STR(why("{\"a\":\"open", &at), "unterminated string");
	CHECK_STR(why("  42", &at), "expected an object");
	CHECK_INT(at, 2);
}

static void test_depth(void)
{
	char deep[2 * BMS_JSON_MAX_DEPTH + 16];
	size_t n = 0;

	deep[n++] = '{';
	memcpy(deep + n, "\"a\":", 4);
	n += 4;
	for (int i = 0; i < BMS_JSON_MAX_DEPTH + 1; i++)
		deep[n++] = '[';
	for (int i = 0; i < BMS_JSON_MAX_DEPTH + 1; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	CHECK(!valid(deep));
}

static void test_fields(void)
{
	const char *line = "{\"type\":\"frames\",\"nested\":{\"type\":\"x\"},"
			   "\"frames\":[\"a5\", \"0102\"],\"n\":-1.5,\"type\":\"last\"}";
	struct bms_json_field f[] = {
		{ .key = "type" }, { .key = "frames" }, { .key = "n" }, { .key = "absent" },
	};
	const char *pos = NULL, *el;
	size_t elen;
	char tmp[16] = "";

	CHECK_INT(bms_json_scan(line, strlen(line), f, 4, NULL), 0);
	/* The last of two equal keys wins; nested keys are not top level. */
	CHECK(f[0].val && f[0].len == 6 && memcmp(f[0].val, "\"last\"", 6) == 0);
	CHECK(bms_json_str_eq(f[0].val, f[0].len, "last"));
	CHECK(!bms_json_str_eq(f[0].val, f[0].len, "las"));
	CHECK(f[2].len == 4 && memcmp(f[2].val, "-1.5", 4) == 0);
	CHECK(f[3].val == NULL);
	CHECK_INT(bms_json_array_next(f[1].val, f[1].len, &pos, &el, &elen), 1);
	CHECK(elen == 4 && memcmp(el, "\"a5\"", 4) == 0);
	CHECK_INT(bms_json_array_next(f[1].val, f[1].len, &pos, &el, &elen), 1);
	CHECK(elen == 6 && memcmp(el, "\"0102\"", 6) == 0);
	CHECK_INT(bms_json_array_next(f[1].val, f[1].len, &pos, &el, &elen), 0);
	CHECK_INT(bms_json_array_next(f[2].val, f[2].len, &pos, &el, &elen), -1);
	pos = NULL;
	CHECK_INT(bms_json_array_next("[ ]", 3, &pos, &el, &elen), 0);

	const char *esc = "\"a\\u0041\\n\\u00e9\"";

	CHECK_INT(bms_json_str_get(esc, strlen(esc), tmp, sizeof tmp), 5);
	CHECK_STR(tmp, "aA\n\xc3\xa9");
	CHECK(bms_json_str_eq("\"fr\\u0061mes\"", 13, "frames"));
	CHECK_INT(bms_json_str_get("\"toolongforthebuffer\"", 21, tmp, sizeof tmp), -1);
	CHECK_INT(bms_json_str_get("12", 2, tmp, sizeof tmp), -1);
}

static void test_buf(void)
{
	struct bms_buf b = BMS_BUF_INIT;
	static const struct { double v; int dec; const char *want; } nums[] = {
		{ 3.338, 4, "3.338" }, { 53.4, 3, "53.4" }, { 27, 2, "27" },
		{ -12.5, 3, "-12.5" }, { -0.0001, 3, "0" }, { 667.5, 2, "667.5" },
		{ 0.1 + 0.2, 3, "0.3" }, { 1e6, 1, "1000000" }, { -3, 0, "-3" },
	};

	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		bms_buf_reset(&b);
		bms_buf_num(&b, nums[i].v, nums[i].dec);
		CHECK_STR(b.p, nums[i].want);
	}
	bms_buf_reset(&b);
	bms_buf_json_str(&b, "a\"b\\c\n\x01\x1f\xc3\xa9", 10);
	CHECK_STR(b.p, "\"a\\\"b\\\\c\\n\\u0001\\u001f\xc3\xa9\"");
	bms_buf_reset(&b);
	for (int i = 0; i < 1000; i++)
		bms_buf_printf(&b, "%d,", i % 10);
	CHECK_INT(b.len, 2000);
	CHECK(b.p[1999] == ',' && b.p[2000] == '\0');
	bms_buf_free(&b);
}

static void test_hex(void)
{
	uint8_t bytes[4] = { 0xa5, 0x01, 0x90, 0x0f }, back[4];
	char txt[9];

	bms_hex_encode(bytes, 4, txt);
	CHECK_STR(txt, "a501900f");
	CHECK_INT(bms_hex_decode("A501900F", 8, back, sizeof back), 4);
	CHECK_MEM(back, bytes, 4);
	CHECK_INT(bms_hex_decode("a50", 3, back, sizeof back), -1);
	CHECK_INT(bms_hex_decode("a5zz", 4, back, sizeof back), -1);
	CHECK_INT(bms_hex_decode("a501900f00", 10, back, sizeof back), -1);
	CHECK_INT(bms_hex_decode("", 0, back, sizeof back), 0);
}

int main(void)
{
	test_valid();
	test_invalid();
	test_depth();
	test_fields();
	test_buf();
	test_hex();
	return unit_done();
}
