/* SPDX-License-Identifier: MIT */
/*
 * lib/backoff: free failures, then waits that double up to the cap, a
 * success that forgets, keys apart, and a full table that gives up its
 * stalest key.
 */
#include "backoff.h"
#include "unit.h"

int main(void)
{
	struct bms_backoff *b = bms_backoff_new(3);
	int64_t t = 1000000;

	for (int i = 0; i < BMS_BACKOFF_FREE; i++) {
		CHECK_INT(bms_backoff_wait(b, "a", t), 0);
		bms_backoff_fail(b, "a", t);
	}
	CHECK_INT(bms_backoff_wait(b, "a", t), 0);
	bms_backoff_fail(b, "a", t);
	CHECK_INT(bms_backoff_wait(b, "a", t), 1000);
	CHECK_INT(bms_backoff_wait(b, "a", t + 400), 600);
	CHECK_INT(bms_backoff_wait(b, "b", t), 0);
	bms_backoff_fail(b, "a", t + 1000);
	CHECK_INT(bms_backoff_wait(b, "a", t + 1000), 2000);
	for (int i = 0; i < 40; i++)
		bms_backoff_fail(b, "a", t);
	CHECK_INT(bms_backoff_wait(b, "a", t), BMS_BACKOFF_MAX_MS);
	bms_backoff_ok(b, "a");
	CHECK_INT(bms_backoff_wait(b, "a", t), 0);
	/* A full table: the key failed longest ago makes room. */
	for (int i = 0; i < 6; i++) {
		bms_backoff_fail(b, "x", t + 1);
		bms_backoff_fail(b, "y", t + 2);
		bms_backoff_fail(b, "z", t + 3);
	}
	bms_backoff_fail(b, "new", t + 4);
	CHECK_INT(bms_backoff_wait(b, "x", t + 5), 0);
	CHECK(bms_backoff_wait(b, "y", t + 5) > 0);
	CHECK(bms_backoff_wait(b, "z", t + 5) > 0);
	bms_backoff_free(b);
	return unit_done();
}
