/* SPDX-License-Identifier: MIT */
/*
 * Whether a reading can be believed (bms-validate(1)).  Each reading
 * line is parsed once with the reading parser (reading.h) and judged
 * against physics for its battery's chemistry (chem.h) and against the
 * readings of the same battery before it; what is found becomes a list
 * of findings, each with a stable snake_case code and a severity from
 * the one table below, and a verdict:
 *
 *   good     no finding above info
 *   suspect  a warning, no error
 *   bad      an error
 *
 * A line the reading parser refuses is not a reading: it is a reject
 * whose reason starts with the code invalid_json or schema_violation.
 * A record of another type is left alone (BMS_VALIDATE_OTHER), at the
 * cost of the parser's line scan.
 *
 * The annotated line is the line's own bytes with the verdict appended
 * before its closing brace:
 *
 *   ...,"quality":"suspect","findings":[{"code":"cell_sum_mismatch",
 *   "severity":"warning","message":"cells add up to 52.10 V, pack
 *   reports 53.40 V"}]}
 *
 * with no "findings" when there are none.  A line that already carries
 * a verdict (validated before) has its old "quality" and "findings"
 * members cut out and is judged afresh, so it never holds either key
 * twice and a second pass over good output gives the same bytes.
 *
 * What is known of a battery (chemistry, cells, probes, ratings, the
 * interval between readings) comes from the configuration's [battery]
 * sections (batconf.h), over what the caller registered from the
 * store's battery registry (bms_validate_registry_add), over a
 * chemistry given for every battery.  Thresholds come from [validate]
 * and [validate "ID"] of the same configuration, with the defaults of
 * bms_validate_keys.
 *
 * Memory: one fixed struct per battery tracked (by tenant and bms_id),
 * at most BMS_VALIDATE_MAX_BATTERIES of them, allocated when a battery
 * is first seen; past the cap a battery's readings get the checks of a
 * single reading only and bms_validate_over_cap says so once.  Nothing
 * grows with the length of the stream.  Like every lib/ module it never
 * prints.
 */
#ifndef BMS_VALIDATE_H
#define BMS_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "batconf.h"
#include "buf.h"
#include "config.h"
#include "reading.h"

#define BMS_VALIDATE_MAX_BATTERIES 4096
#define BMS_VALIDATE_MSG_MAX 160	/* bytes of a finding's message */

/* Every finding, in the order a reading's findings are listed. */
enum bms_validate_code {
	BMS_V_INVALID_JSON,		/* reject: not one JSON object */
	BMS_V_SCHEMA,			/* reject: the reading schema refuses it */
	BMS_V_CELL_HIGH,
	BMS_V_CELL_LOW,
	BMS_V_PACK_RANGE,
	BMS_V_CELL_SUM,
	BMS_V_POWER,
	BMS_V_TEMP_RANGE,
	BMS_V_CURRENT,
	BMS_V_CELL_COUNT,
	BMS_V_TEMP_COUNT,
	BMS_V_TS_FUTURE,
	BMS_V_TS_BACKWARDS,
	BMS_V_DUPLICATE,
	BMS_V_STALE,
	BMS_V_FROZEN,
	BMS_V_SOC_JUMP,
	BMS_V_CELL_JUMP,
	BMS_V_TEMP_JUMP,
	BMS_V_COUNT
};

struct bms_validate_def {
	const char *code;		/* "cell_sum_mismatch" */
	enum bms_severity severity;
	const char *what;		/* one line for the manual and --help */
};

extern const struct bms_validate_def bms_validate_defs[BMS_V_COUNT];

/* The configuration keys: BMS_BATCONF_KEYS and the thresholds of
 * [validate] / [validate "ID"] with their defaults (bms-validate(1)). */
extern const struct bms_config_key bms_validate_keys[];
extern const size_t bms_validate_nkeys;

/* One reading's findings and verdict. */
struct bms_validate_result {
	int quality;			/* enum bms_quality */
	int n;
	struct {
		enum bms_validate_code code;
		char msg[BMS_VALIDATE_MSG_MAX];
	} f[BMS_V_COUNT];		/* each code at most once */
};

enum bms_validate_rc {
	BMS_VALIDATE_OTHER = 0,		/* not a reading: pass it on */
	BMS_VALIDATE_JUDGED = 1,	/* a reading: the result and the line */
	BMS_VALIDATE_REJECT = 2,	/* refused by the parser: why says so */
};

struct bms_validate;

/*
 * A validator reading facts and thresholds from cfg (a configuration of
 * bms_validate_keys, owned by the caller and outliving the validator;
 * reload it, then call bms_validate_refresh).  chem is the chemistry of
 * every battery the configuration and registry say nothing of (enum
 * bms_chem), or -1 for none: then the cell limits are the envelope of
 * every profile.  Returns NULL when out of memory.
 */
struct bms_validate *bms_validate_new(const struct bms_config *cfg, int chem);

void bms_validate_free(struct bms_validate *v);

/*
 * What the store's battery registry says of bms_id: chemistry (a name
 * bms_chem_find takes, or NULL), rated capacity (Ah, <= 0 unknown) and
 * cells in series (<= 0 unknown).  Entries are gathered aside until
 * bms_validate_registry_commit puts them in place of the registry in
 * use, or bms_validate_registry_abort drops them (a store that failed
 * half way: the registry read before stays).  Returns 0, or -1 past
 * BMS_VALIDATE_MAX_BATTERIES entries or out of memory (then the entry
 * is not added).
 */
int bms_validate_registry_add(struct bms_validate *v, const char *bms_id,
			      const char *chemistry, double capacity_ah, long cells);
void bms_validate_registry_commit(struct bms_validate *v);
void bms_validate_registry_abort(struct bms_validate *v);

/* Take the configuration and registry anew for every battery tracked
 * (after a reload); what was learnt of the streams is kept. */
void bms_validate_refresh(struct bms_validate *v);

/*
 * Judge one line s[0..n).  now_ms is the time now (ms since the epoch):
 * a reading later than now plus the tolerance is in the future.
 * JUDGED: *res holds the findings and verdict and out (reset first) the
 * annotated line, without a newline; the battery's history is updated.
 * REJECT: why holds "invalid_json: ..." or "schema_violation: ...".
 * OTHER: nothing was touched.  out->oom is set when memory ran out.
 */
int bms_validate_line(struct bms_validate *v, const char *s, size_t n, int64_t now_ms,
		      struct bms_validate_result *res, struct bms_buf *out,
		      char *why, size_t whysz);

/* Append the findings of res as a JSON array. */
void bms_validate_findings_json(const struct bms_validate_result *res, struct bms_buf *b);

/* "code: message" of the first error of res (or its first finding)
 * into why, with "(and N more)" when there are more. */
void bms_validate_reason(const struct bms_validate_result *res, char *why, size_t whysz);

/* 1 once, the first time a battery could not be tracked for the cap;
 * 0 before and after. */
int bms_validate_over_cap(struct bms_validate *v);

/* Batteries tracked now. */
size_t bms_validate_tracked(const struct bms_validate *v);

/*
 * --state (state.h): what the validator knows of each battery's stream,
 * so that after a restart the first reading is judged as it would have
 * been in one uninterrupted run: the latest time, the interval learnt,
 * the frozen-link hash and since when it holds, the counts of the
 * reading before and the jump references.  Facts and limits are not
 * kept: they come from the configuration, the registry and --chemistry
 * at each start.  Save writes one record per battery tracked; load adds
 * them as if each had been seen (a battery past the cap is an error).
 * Both return 0 (load: 1 loaded, 0 no file), or -1 with the reason in
 * err, naming the file.
 */
int bms_validate_state_save(struct bms_validate *v, const char *path,
			    char *err, size_t errsz);
int bms_validate_state_load(struct bms_validate *v, const char *path,
			    char *err, size_t errsz);

/* Has a reading changed what a save would write, since the last save? */
int bms_validate_dirty(const struct bms_validate *v);

#endif
