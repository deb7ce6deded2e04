/* SPDX-License-Identifier: MIT */
/* The byte buffer (lib/buf.c): its exact numbers for state records. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

static const char *exact(struct bms_buf *b, double v)
{
	bms_buf_reset(b);
	bms_buf_exact(b, v);
	bms_buf_putc(b, '\0');
	return b->p;
}

static void test_exact(void)
{
	static const double back[] = { 0.1, 1.0 / 3, 2.0 / 3, 3.3379999999999996, 1e-300,
				       -123456.789, 9007199254740993.0, 1e21, 5e-324 };
	struct bms_buf b = BMS_BUF_INIT;

	CHECK_STR(exact(&b, 0.1), "0.1");
	CHECK_STR(exact(&b, 1.0 / 3), "0.3333333333333333");
	CHECK_STR(exact(&b, 0.1 + 0.2), "0.30000000000000004");
	CHECK_STR(exact(&b, 53.4), "53.4");
	CHECK_STR(exact(&b, 1e10), "10000000000");
	CHECK_STR(exact(&b, 1e20), "1e+20");
	CHECK_STR(exact(&b, -2.5), "-2.5");
	/* -0 and what JSON cannot hold are 0. */
	CHECK_STR(exact(&b, -0.0), "0");
	CHECK_STR(exact(&b, NAN), "0");
	CHECK_STR(exact(&b, INFINITY), "0");
	CHECK_STR(exact(&b, -INFINITY), "0");
	/* Every one reads back to the same double. */
	for (size_t i = 0; i < sizeof back / sizeof back[0]; i++)
		CHECK(strtod(exact(&b, back[i]), NULL) == back[i]);
	/* The shortest that reads back, where %.17g wrote more (what state
	 * files of before hold reads back to the same double). */
	CHECK_STR(exact(&b, 1.0 / 3), "0.3333333333333333");
	CHECK(strtod(exact(&b, 0.33333333333333331), NULL) == 1.0 / 3);
	bms_buf_free(&b);
}

int main(void)
{
	test_exact();
	return unit_done();
}
