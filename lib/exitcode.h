/* SPDX-License-Identifier: MIT */
/*
 * The one exit-status table of every bms-* program (documented in bms(7)
 * and in each page's EXIT STATUS section).
 */
#ifndef BMS_EXITCODE_H
#define BMS_EXITCODE_H

enum bms_exit {
	BMS_EXIT_OK = 0,	/* success */
	BMS_EXIT_FAIL = 1,	/* runtime failure: device, I/O, database, socket */
	BMS_EXIT_USAGE = 2,	/* usage or configuration error */
	BMS_EXIT_REJECT = 3,	/* input was rejected and --strict was given */
};

#endif
