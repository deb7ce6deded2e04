/* SPDX-License-Identifier: MIT */
/*
 * Reading records packed for the store (see readpack.h).
 *
 * Workload: bms-store parses and packs every reading it ingests, some
 * hundreds of thousands a second in a replay, and unpacks every reading
 * a query returns; a 16-cell reading of 700 bytes packs into 48.
 *
 * Two paths lead from a line to its blob, with the same results.
 *
 * The fast path takes a line in the canonical form bms_reading_json()
 * writes, which is how nearly every reading arrives: it walks the line
 * once, expecting exactly that layout, converts each number's digits to
 * the scaled integer the blob keeps and writes the compact form as it
 * goes (into rp, for bms_readpack_pack to copy).  It takes only text
 * that the compact form gives back byte for byte, so nothing needs
 * checking afterwards.  At the first byte it does not expect it gives up
 * without a verdict.
 *
 * The general path takes any line: the reading parser of reading.h (one
 * validating scan, a conversion of each field its rule table knows), and
 * for packing an encoding of the
 * fields that is decoded again, written back as a line and compared with
 * the input.  So the compact form is only ever kept when it has been
 * shown to give back the input byte for byte; anything else is kept as
 * text.  Every refusal, and its reason, comes from this path.
 *
 * A line the fast path takes, the general path would parse into the same
 * struct and pack into the same blob; the unit test and the fuzz target
 * check that on every such line they see.
 *
 * Blob layout.  Byte 0 is the format tag:
 *
 *   0x00  text: the line, verbatim, fills the rest of the blob.
 *   0x01  compact, version 1, the fields below back to back; the blob
 *         ends exactly after the last one.
 *
 *   flags    varint.  Bits 0..13: the BMS_R_* presence bits.  14: proto
 *            follows.  15: balancing active.  16: charge_mos.
 *            17: discharge_mos.  18..23: protection overvoltage,
 *            undervoltage, overcurrent_charge, overcurrent_discharge,
 *            overtemperature, undertemperature.  24: the record has a
 *            tenant (its name is the caller's).  25: the record ends
 *            with the verdict of bms-validate, "quality" (without
 *            "findings"), its word in bits 26..27 (0 good, 1 suspect,
 *            2 bad).  A flag bit of a group that is not present, a
 *            quality word past bad, and any higher bit, is damage.
 *   proto    (bit 14) varint length 0..31, then the bytes (UTF-8, no NUL).
 *   then, for each presence bit that is set, in this order:
 *   VOLTAGE  num(3)        pack_voltage, V
 *   CURRENT  num(3)        pack_current, A
 *   POWER    num(2)        pack_power, W
 *   SOC      num(2)        soc_percent
 *   SOH      num(2)        soh_percent
 *   TEMPS    array(2, 16)  temperatures, degC
 *   CELLS    array(4, 48)  cell_voltages, V
 *   BALANCE  varint        cells balancing, bit n-1 for cell n
 *   CODES    varint nfaults * 64 + nwarnings (each at most 48), then
 *            each fault code and each warning code as a varint length
 *            and the bytes (UTF-8, no NUL)
 *   CYCLES   num(0)
 *   REMAIN   num(3)        remaining_capacity_ah
 *   NOMINAL  num(3)        nominal_capacity_ah
 *   (PROTECT and MOS are flag bits only; cell_count and temp_count are
 *   the lengths of the arrays.)
 *
 *   varint        LEB128: 7 bits a byte, low group first, at most 10 bytes.
 *   zz(q)         zigzag: 0, -1, 1, -2, ... as 0, 1, 2, 3, ...
 *   num(d)        a value written with at most d decimals: q = value *
 *                 10^d is an integer, |q| <= 2^53.  10^k (k in 0..d)
 *                 divides q, k as large as it can be when packing;
 *                 stored as varint zz(q / 10^k) * (d + 1) + k.  So 53.4 V
 *                 (q = 53400) is 534 with k = 2, two bytes.
 *   array(d, max) varint count * (d + 1) + k (count <= max), then count
 *                 zz varints in units of 10^(k-d): the first value, then
 *                 each the difference from the value before.  Cells
 *                 reported in mV step by 10 units of 0.1 mV, so k = 1
 *                 and a typical difference is one byte.
 *
 * Numbers are kept at exactly the precision bms_reading_json() writes
 * them with, so a value that the line writes with more digits, or in
 * another form (53.40, 5.34e1), fails the comparison and the reading
 * goes to the text form instead.  The general path reads a number with
 * an exponent or more than 15 digits with strtod(): the C locale is
 * assumed.
 *
 * Range.  Every number a reading carries (each plain field, each
 * temperature and cell voltage, cycles) must be finite and below
 * NUM_MAX = BMS_READING_NUM_MAX = 10^11 in magnitude, or the reading is refused ("pack_voltage:
 * out of range", "cell_voltages: cell 3 out of range"): never kept, not
 * even as text.  Within it, a value scaled to the at most 4 decimals the
 * record keeps is an integer below 10^15, exact as a double both ways,
 * and bms_buf_num() writes it on its fixed-point path (below 10^12), so
 * what is stored is what is written back and what the store sums.  (A
 * sum of readings cannot overflow to infinity either.)  The bound is
 * the fast path's, 11 digits before the point: every number the walk
 * takes is within it, so both paths refuse the same lines.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "readpack.h"
#include "ts.h"

enum { TAG_TEXT = 0x00, TAG_COMPACT1 = 0x01 };

#define R_ALL ((1u << 14) - 1)	/* every BMS_R_* bit this format knows */

enum {
	F_PROTO = 1u << 14,
	F_ACTIVE = 1u << 15,
	F_CHG = 1u << 16,
	F_DSG = 1u << 17,
	F_PROT0 = 18,		/* shift of the six protection bits */
	F_TENANT = 1u << 24,
	F_QUALITY = 1u << 25,
	F_QWORD0 = 26,		/* shift of the quality word's two bits */
	F_ALL = (1u << 28) - 1,
};

#define LIM (1LL << 53)	/* bound of a scaled value: every one is an exact double */

static const int64_t ip10[5] = { 1, 10, 100, 1000, 10000 };
static const double dp10[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* ==== Parsing the line ==== */

static const char prot_none[] =
	"{\"overvoltage\":false,\"undervoltage\":false,\"overcurrent_charge\":false,"
	"\"overcurrent_discharge\":false,\"overtemperature\":false,"
	"\"undertemperature\":false}";

/* Re-point the codes of r, which point into from[], into to[]. */
static void repoint(const char **codes, int n, const char *from, char *to)
{
	for (int i = 0; i < n; i++)
		codes[i] = to + (codes[i] - from);
}

/* The general path: any line, by way of the reading parser (reading.h). */
static int general_parse(const char *line, size_t len, struct bms_readpack *rp,
			 char *why, size_t whysz)
{
	struct bms_reading_doc d;

	if (bms_reading_parse(line, len, &d, why, whysz) < 0)
		return -1;
	memcpy(rp->bms_id, d.env.bms_id, sizeof rp->bms_id);
	rp->ts_ms = d.env.ts_ms;
	rp->has_tenant = d.env.has_tenant;
	memcpy(rp->tenant, d.env.tenant, sizeof rp->tenant);
	rp->has_proto = d.has_proto;
	memcpy(rp->proto, d.proto, sizeof rp->proto);
	memcpy(rp->text, d.text, sizeof rp->text);
	rp->r = d.r;
	repoint(rp->r.faults, rp->r.nfaults, d.text, rp->text);
	repoint(rp->r.warnings, rp->r.nwarnings, d.text, rp->text);
	return 0;
}

/* ==== Compact encoding ==== */

static void put_varint(struct bms_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	bms_buf_add(b, tmp, n);
}

/* |q| <= 2^54 */
static uint64_t zz(int64_t q)
{
	return q < 0 ? ((uint64_t)(-(q + 1)) << 1) | 1 : (uint64_t)q << 1;
}

static int64_t unzz(uint64_t z)
{
	return z & 1 ? -(int64_t)(z >> 1) - 1 : (int64_t)(z >> 1);
}

/* v scaled to dec decimals, rounded half away from zero as bms_buf_num
 * does; -1 if out of the range the format keeps.  (Truncate, then
 * round: s + 0.5 itself would round near 2^53.) */
static int scale(double v, int dec, int64_t *q)
{
	double s = v * dp10[dec], f;

	if (!(s > -(double)LIM && s < (double)LIM))
		return -1;
	*q = (int64_t)s;
	f = s - (double)*q;
	if (f >= 0.5)
		++*q;
	else if (f <= -0.5)
		--*q;
	return 0;
}

/* The largest k <= dec with 10^k dividing q. */
static int tens(int64_t q, int dec)
{
	int k = dec;

	while (k > 0 && q % ip10[k] != 0)
		k--;
	return k;
}

static int put_num(struct bms_buf *b, double v, int dec)
{
	int64_t q;
	int k;

	if (scale(v, dec, &q) < 0)
		return -1;
	k = tens(q, dec);
	put_varint(b, zz(q / ip10[k]) * (uint64_t)(dec + 1) + (uint64_t)k);
	return 0;
}

static int put_array(struct bms_buf *b, const double *v, int n, int dec)
{
	int64_t q[BMS_MAX_CELLS], prev = 0;
	int k = dec;

	for (int i = 0; i < n; i++) {
		if (scale(v[i], dec, &q[i]) < 0)
			return -1;
		k = tens(q[i], k);
	}
	put_varint(b, (uint64_t)n * (uint64_t)(dec + 1) + (uint64_t)k);
	for (int i = 0; i < n; i++) {
		put_varint(b, zz(q[i] / ip10[k] - prev));
		prev = q[i] / ip10[k];
	}
	return 0;
}

static int put_str(struct bms_buf *b, const char *s)
{
	size_t n;

	if (!s)
		return -1;
	n = strlen(s);
	put_varint(b, n);
	bms_buf_add(b, s, n);
	return 0;
}

/* The flags of rp (r->have within R_ALL). */
static uint64_t flags_of(const struct bms_readpack *rp)
{
	const struct bms_reading *r = &rp->r;
	const struct bms_protection *p = &r->prot;
	uint64_t flags = r->have & R_ALL;

	if (rp->has_proto)
		flags |= F_PROTO;
	if (rp->has_tenant)
		flags |= F_TENANT;
	if (r->have & BMS_R_QUALITY)
		flags |= F_QUALITY | (uint64_t)r->quality << F_QWORD0;
	if (r->have & BMS_R_BALANCE && r->balancing_active)
		flags |= F_ACTIVE;
	if (r->have & BMS_R_MOS) {
		flags |= r->charge_mos ? F_CHG : 0;
		flags |= r->discharge_mos ? F_DSG : 0;
	}
	if (r->have & BMS_R_PROTECT) {
		bool bits[6] = {
			p->overvoltage, p->undervoltage, p->overcurrent_charge,
			p->overcurrent_discharge, p->overtemperature, p->undertemperature,
		};

		for (int i = 0; i < 6; i++)
			if (bits[i])
				flags |= 1ull << (F_PROT0 + i);
	}
	return flags;
}

/* Append the compact form of rp; -1 if it cannot hold rp. */
static int encode(const struct bms_readpack *rp, struct bms_buf *b)
{
	const struct bms_reading *r = &rp->r;
	size_t text = 0;

	/* A verdict with its findings is kept as text. */
	if (r->have & ~(R_ALL | BMS_R_QUALITY))
		return -1;
	if (rp->has_proto && strlen(rp->proto) >= sizeof rp->proto)
		return -1;
	bms_buf_putc(b, TAG_COMPACT1);
	put_varint(b, flags_of(rp));
	if (rp->has_proto)
		put_str(b, rp->proto);
	if ((r->have & BMS_R_VOLTAGE) && put_num(b, r->pack_voltage, 3) < 0)
		return -1;
	if ((r->have & BMS_R_CURRENT) && put_num(b, r->pack_current, 3) < 0)
		return -1;
	if ((r->have & BMS_R_POWER) && put_num(b, r->pack_power, 2) < 0)
		return -1;
	if ((r->have & BMS_R_SOC) && put_num(b, r->soc_percent, 2) < 0)
		return -1;
	if ((r->have & BMS_R_SOH) && put_num(b, r->soh_percent, 2) < 0)
		return -1;
	if (r->have & BMS_R_TEMPS) {
		if (r->ntemps < 0 || r->ntemps > BMS_MAX_TEMPS ||
		    put_array(b, r->temps, r->ntemps, 2) < 0)
			return -1;
	}
	if (r->have & BMS_R_CELLS) {
		if (r->ncells < 0 || r->ncells > BMS_MAX_CELLS ||
		    put_array(b, r->cells, r->ncells, 4) < 0)
			return -1;
	}
	if (r->have & BMS_R_BALANCE)
		put_varint(b, r->balancing_mask);
	if (r->have & BMS_R_CODES) {
		if (r->nfaults < 0 || r->nfaults > BMS_MAX_CODES ||
		    r->nwarnings < 0 || r->nwarnings > BMS_MAX_CODES)
			return -1;
		put_varint(b, (uint64_t)r->nfaults * 64 + (uint64_t)r->nwarnings);
		for (int i = 0; i < r->nfaults; i++) {
			if (put_str(b, r->faults[i]) < 0)
				return -1;
			text += strlen(r->faults[i]) + 1;
		}
		for (int i = 0; i < r->nwarnings; i++) {
			if (put_str(b, r->warnings[i]) < 0)
				return -1;
			text += strlen(r->warnings[i]) + 1;
		}
		if (text > sizeof rp->text)
			return -1;
	}
	if ((r->have & BMS_R_CYCLES) && put_num(b, (double)r->cycles, 0) < 0)
		return -1;
	if ((r->have & BMS_R_REMAIN) && put_num(b, r->remaining_capacity_ah, 3) < 0)
		return -1;
	if ((r->have & BMS_R_NOMINAL) && put_num(b, r->nominal_capacity_ah, 3) < 0)
		return -1;
	return b->oom ? -1 : 0;
}

/* ==== The fast path: a line in the canonical layout ==== */

/*
 * The writer's own layout, walked byte by byte: the keys in the order
 * bms_reading_json() writes them, no white space, every number exactly
 * as bms_buf_num() writes it (so finite, and below NUM_MAX with at most
 * FAST_INT_DIGITS digits before the point), every string exactly as
 * bms_buf_json_str() writes it, the timestamp as bms_ts_format_ms()
 * writes it.  The compact form is written while walking, so it needs no
 * check afterwards: what the walk takes is, by construction, the line
 * bms_readpack_json() gives back for that blob.  Anything else (another
 * order, an unknown or a repeated key, a value out of range, a number
 * past the bounds below) ends the walk, and the general path decides,
 * with its own reasons.  So the walk never refuses a line, and a line it
 * takes the general path would parse into the same struct and pack into
 * the same blob.
 *
 * Numbers: the digits as an integer m with fd decimals, so the value is
 * m / 10^fd and the scaled integer the blob keeps is q = m * 10^(dec-fd).
 * At most 11 digits before the point and dec <= 4 after keep |q| < 10^15
 * < 2^50, where both directions are exact: the double (m / 10^fd, one
 * rounding, as reading.c's num_at computes it) times 10^dec is within 0.23 of q, so
 * scale() gives q back; q / 10^dec is within the same of q when
 * bms_buf_num() multiplies it again, so it writes q's digits.  Since the
 * text has no trailing zero after the point, 10^(dec-fd) is the largest
 * power of ten dividing q that the format counts, so the blob's unit is
 * m itself.
 *
 * Room in rp->fast: tag and flags 5 bytes, proto 32, eight scalars at
 * most 8 each (zz < 2^52), temperatures 1 + 16 * 8, cells 2 + 48 * 8,
 * balancing 10, codes 2 + at most 2048 bytes of text + at most 2 length
 * bytes for each of at most 96 codes (which take a NUL each in text[]):
 * 2770 bytes, within BMS_READPACK_FAST_MAX.  The codes are checked
 * against its end anyway.
 */

#define FAST_INT_DIGITS 11	/* digits before the point the walk takes */
#define FAST_BODY 5		/* the body starts here; tag and flags go before */

struct walk {
	const char *p, *end;	/* the rest of the line */
	unsigned char *o, *oend;	/* the blob being written */
};

/* Skip the n bytes s if the line goes on with them. */
static inline int lit(struct walk *w, const char *s, size_t n)
{
	if ((size_t)(w->end - w->p) < n || memcmp(w->p, s, n) != 0)
		return 0;
	w->p += n;
	return 1;
}

/* lit() of a string literal. */
#define LIT(w, s) lit((w), (s), sizeof(s) - 1)

static inline int chr(struct walk *w, char c)
{
	if (w->p >= w->end || *w->p != c)
		return 0;
	w->p++;
	return 1;
}

static inline void out_varint(struct walk *w, uint64_t v)
{
	while (v >= 0x80) {
		*w->o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*w->o++ = (uint8_t)v;
}

/* true or false. */
static inline int fast_bool(struct walk *w, bool *b)
{
	if (LIT(w, "true"))
		*b = true;
	else if (LIT(w, "false"))
		*b = false;
	else
		return -1;
	return 0;
}

/*
 * The rest of a string (its opening quote is taken) as bms_buf_json_str
 * writes it: bytes from 0x20 on as they are but '"' and '\\', which are
 * escaped so, \n \r \t, and the other control characters as \u00xx in
 * lower case; never \u0000, which the general path refuses.  The text
 * must be UTF-8.  Decoded into out (cap bytes with the NUL).  Returns
 * the length, or -1.
 */
static long fast_str(struct walk *w, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)w->p;
	const unsigned char *end = (const unsigned char *)w->end;
	size_t n = 0;
	int high = 0;

	for (;;) {
		unsigned c;

		if (p >= end)
			return -1;
		c = *p++;
		if (c == '"')
			break;
		if (c == '\\') {
			if (p >= end)
				return -1;
			switch (*p++) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				if (end - p < 4 || p[0] != '0' || p[1] != '0' ||
				    (p[2] != '0' && p[2] != '1'))
					return -1;
				if (p[3] >= '0' && p[3] <= '9')
					c = (unsigned)(p[3] - '0');
				else if (p[3] >= 'a' && p[3] <= 'f')
					c = (unsigned)(p[3] - 'a' + 10);
				else
					return -1;
				c += (p[2] - '0') * 16u;
				if (c == 0 || c == '\n' || c == '\r' || c == '\t')
					return -1;
				p += 4;
				break;
			default:
				return -1;
			}
		} else if (c < 0x20) {
			return -1;
		} else if (c >= 0x80) {
			high = 1;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = (char)c;
	}
	/* Escapes give only ASCII bytes, which are never part of a longer
	 * sequence: the text is UTF-8 exactly when the raw runs between
	 * the escapes are, as the general path's scanner requires. */
	if (high && !bms_json_utf8_valid(out, n))
		return -1;
	out[n] = '\0';
	w->p = (const char *)p;
	return (long)n;
}

/* An ASCII digit. */
static inline int digit(char c)
{
	return (unsigned char)(c - '0') < 10;
}

/*
 * A number as bms_buf_num writes it with dec decimals, within the
 * bounds above: an optional '-', 0 or a digit 1..9 and at most
 * FAST_INT_DIGITS - 1 more, then optionally '.' and 1..dec digits, the
 * last not 0; not -0.  The digits as one integer (signed) into *m, the
 * decimals into *fd.  What follows is the caller's to check.  p < end on
 * entry, and the line's last byte is its '}': so the scans below stop
 * inside the line without comparing with its end.
 */
static inline int fast_num(struct walk *w, int dec, int64_t *m, int *fd)
{
	const char *p = w->p;
	int neg = *p == '-', f = 0;
	uint64_t v;

	p += neg;
	if (!digit(*p))
		return -1;
	v = (uint64_t)(*p++ - '0');
	if (v == 0) {
		if (digit(*p))
			return -1;
	} else {
		for (int n = 1; digit(*p); n++) {
			if (n == FAST_INT_DIGITS)
				return -1;
			v = v * 10 + (uint64_t)(*p++ - '0');
		}
	}
	if (*p == '.') {
		p++;
		for (; digit(p[f]); f++) {
			if (f == dec)
				return -1;
			v = v * 10 + (uint64_t)(p[f] - '0');
		}
		if (f == 0 || p[f - 1] == '0')
			return -1;
		p += f;
	}
	if (neg && v == 0)
		return -1;
	*m = neg ? -(int64_t)v : (int64_t)v;
	*fd = f;
	w->p = p;
	return 0;
}

/* The value of m with fd decimals, computed as reading.c's num_at does. */
static inline double num_val(int64_t m, int fd)
{
	double v = (double)(uint64_t)(m < 0 ? -m : m) / dp10[fd];

	return m < 0 ? -v : v;
}

/* A plain number field at dec decimals into *v and the blob; lo and hi
 * bound the scaled value (lo > hi: none). */
static inline int fast_scalar(struct walk *w, int dec, int64_t lo, int64_t hi,
			      double *v)
{
	int64_t m;
	int fd;

	if (fast_num(w, dec, &m, &fd) < 0)
		return -1;
	if (lo <= hi) {
		int64_t q = m * ip10[dec - fd];

		if (q < lo || q > hi)
			return -1;
	}
	*v = num_val(m, fd);
	out_varint(w, zz(m) * (uint64_t)(dec + 1) + (uint64_t)(dec - fd));
	return 0;
}

/*
 * The rest of an array of numbers (its '[' is taken) at dec decimals,
 * at most max of them, none negative if nonneg: into v[] and *n, and the
 * blob as put_array writes it.
 */
static int fast_array(struct walk *w, int dec, int max, int nonneg,
		      double *v, int *n)
{
	int64_t m[BMS_MAX_CELLS], prev = 0;
	int fd[BMS_MAX_CELLS], maxfd = 0, c = 0;

	if (!chr(w, ']')) {
		for (;;) {
			if (c == max || fast_num(w, dec, &m[c], &fd[c]) < 0 ||
			    (nonneg && m[c] < 0))
				return -1;
			v[c] = num_val(m[c], fd[c]);
			if (fd[c] > maxfd)
				maxfd = fd[c];
			c++;
			if (chr(w, ']'))
				break;
			if (!chr(w, ','))
				return -1;
		}
	}
	/* k = dec - maxfd: the values in units of 10^-maxfd, each
	 * m[i] * 10^(maxfd - fd[i]), as put_array finds them. */
	out_varint(w, (uint64_t)c * (uint64_t)(dec + 1) + (uint64_t)(dec - maxfd));
	for (int i = 0; i < c; i++) {
		int64_t u = m[i] * ip10[maxfd - fd[i]];

		out_varint(w, zz(u - prev));
		prev = u;
	}
	*n = c;
	return 0;
}

/* The rest of "cells_balancing" (its '[' is taken): cell numbers 1..64
 * rising, as the writer lists the mask's bits. */
static int fast_balancing(struct walk *w, uint64_t *mask)
{
	int prev = 0;

	if (chr(w, ']'))
		return 0;
	for (;;) {
		int c;

		if (w->p >= w->end || *w->p < '1' || *w->p > '9')
			return -1;
		c = *w->p++ - '0';
		if (w->p < w->end && *w->p >= '0' && *w->p <= '9')
			c = c * 10 + (*w->p++ - '0');
		if (c > 64 || c <= prev)
			return -1;
		*mask |= 1ull << (c - 1);
		prev = c;
		if (chr(w, ']'))
			return 0;
		if (!chr(w, ','))
			return -1;
	}
}

/* The rest of a codes array (its '[' is taken) into rp->text from *used
 * on; the blob is written later, when both counts are known. */
static int fast_codes(struct walk *w, struct bms_readpack *rp, size_t *used,
		      const char **codes, int *n)
{
	int c = 0;

	if (!chr(w, ']')) {
		for (;;) {
			long len;

			if (c == BMS_MAX_CODES || !chr(w, '"'))
				return -1;
			len = fast_str(w, rp->text + *used, sizeof rp->text - *used);
			if (len < 0)
				return -1;
			codes[c++] = rp->text + *used;
			*used += (size_t)len + 1;
			if (chr(w, ']'))
				break;
			if (!chr(w, ','))
				return -1;
		}
	}
	*n = c;
	return 0;
}

/* The codes into the blob as encode() writes them; -1 if out of room. */
static int out_codes(struct walk *w, const char *const *codes, int n)
{
	for (int i = 0; i < n; i++) {
		size_t len = strlen(codes[i]);

		if ((size_t)(w->oend - w->o) < len + 10)
			return -1;
		out_varint(w, len);
		memcpy(w->o, codes[i], len);
		w->o += len;
	}
	return 0;
}

/* The value of cell_count or temp_count: n, as a whole number. */
static int fast_count(struct walk *w, int n)
{
	int64_t m;
	int fd;

	return fast_num(w, 0, &m, &fd) < 0 || m != n ? -1 : 0;
}

/*
 * "YYYY-MM-DDThh:mm:ss.mmmZ" and its closing quote, as bms_ts_format_ms
 * writes it, into *ms.  bms_ts_parse checks the digits and the date; of
 * 24 bytes with '.' at 19 it takes only three decimals and a zone letter
 * at 23.  Here: upper-case T and Z, and no leap second.
 */
static int fast_ts(struct walk *w, int64_t *ms)
{
	const char *p = w->p;

	if (w->end - p < BMS_TS_LEN + 1 || p[10] != 'T' || p[19] != '.' ||
	    p[23] != 'Z' || p[24] != '"' || p[17] > '5' ||
	    bms_ts_parse(p, BMS_TS_LEN, ms) < 0)
		return -1;
	w->p += BMS_TS_LEN + 1;
	return 0;
}

/*
 * Walk a canonical line into rp and its compact form into rp->fast.
 * Returns 0, or -1 if the line is not in the canonical layout (rp is
 * then partly written: the general path starts over).
 */
static int fast_parse(const char *line, size_t len, struct bms_readpack *rp)
{
	struct walk w = { line, line + len, rp->fast + FAST_BODY,
			  rp->fast + sizeof rp->fast };
	struct bms_reading *r = &rp->r;
	uint64_t flags;
	uint8_t fl[4];
	size_t used = 0, nfl = 0;
	unsigned char *head;
	long n;

	/* The last byte is the object's end: a sentinel for fast_num. */
	if (len == 0 || line[len - 1] != '}' ||
	    !LIT(&w, "{\"type\":\"reading\",\"bms_id\":\""))
		return -1;
	n = fast_str(&w, rp->bms_id, sizeof rp->bms_id);
	if (n <= 0 || !LIT(&w, ",\"timestamp\":\"") || fast_ts(&w, &rp->ts_ms) < 0)
		return -1;
	rp->has_tenant = 0;
	rp->tenant[0] = '\0';
	if (LIT(&w, ",\"tenant\":\"")) {
		if (fast_str(&w, rp->tenant, sizeof rp->tenant) < 0)
			return -1;
		rp->has_tenant = 1;
	}
	rp->has_proto = 0;
	rp->proto[0] = '\0';
	if (LIT(&w, ",\"proto\":\"")) {
		n = fast_str(&w, rp->proto, sizeof rp->proto);
		if (n < 0)
			return -1;
		rp->has_proto = 1;
		out_varint(&w, (uint64_t)n);
		memcpy(w.o, rp->proto, (size_t)n);
		w.o += n;
	}

	bms_reading_clear(r);
	if (LIT(&w, ",\"pack_voltage\":")) {
		if (fast_scalar(&w, 3, 0, INT64_MAX, &r->pack_voltage) < 0)
			return -1;
		r->have |= BMS_R_VOLTAGE;
	}
	if (LIT(&w, ",\"pack_current\":")) {
		if (fast_scalar(&w, 3, 1, 0, &r->pack_current) < 0)
			return -1;
		r->have |= BMS_R_CURRENT;
	}
	if (LIT(&w, ",\"pack_power\":")) {
		if (fast_scalar(&w, 2, 1, 0, &r->pack_power) < 0)
			return -1;
		r->have |= BMS_R_POWER;
	}
	if (LIT(&w, ",\"soc_percent\":")) {
		if (fast_scalar(&w, 2, 0, 10000, &r->soc_percent) < 0)
			return -1;
		r->have |= BMS_R_SOC;
	}
	if (LIT(&w, ",\"soh_percent\":")) {
		if (fast_scalar(&w, 2, 0, 10000, &r->soh_percent) < 0)
			return -1;
		r->have |= BMS_R_SOH;
	}
	if (LIT(&w, ",\"temperatures\":[")) {
		if (fast_array(&w, 2, BMS_MAX_TEMPS, 0, r->temps, &r->ntemps) < 0)
			return -1;
		r->have |= BMS_R_TEMPS;
	}
	if (LIT(&w, ",\"cell_voltages\":[")) {
		if (fast_array(&w, 4, BMS_MAX_CELLS, 1, r->cells, &r->ncells) < 0)
			return -1;
		r->have |= BMS_R_CELLS;
	}
	if (LIT(&w, ",\"balancing_status\":{\"active\":")) {
		if (fast_bool(&w, &r->balancing_active) < 0 ||
		    !LIT(&w, ",\"cells_balancing\":[") ||
		    fast_balancing(&w, &r->balancing_mask) < 0 || !chr(&w, '}'))
			return -1;
		out_varint(&w, r->balancing_mask);
		r->have |= BMS_R_BALANCE;
	}
	if (LIT(&w, ",\"protection_status\":")) {
		struct bms_protection *p = &r->prot;

		/* Nothing tripped, the usual case, is left as cleared. */
		if (!lit(&w, prot_none, sizeof prot_none - 1) &&
		    (!LIT(&w, "{\"overvoltage\":") || fast_bool(&w, &p->overvoltage) < 0 ||
		     !LIT(&w, ",\"undervoltage\":") || fast_bool(&w, &p->undervoltage) < 0 ||
		     !LIT(&w, ",\"overcurrent_charge\":") ||
		     fast_bool(&w, &p->overcurrent_charge) < 0 ||
		     !LIT(&w, ",\"overcurrent_discharge\":") ||
		     fast_bool(&w, &p->overcurrent_discharge) < 0 ||
		     !LIT(&w, ",\"overtemperature\":") ||
		     fast_bool(&w, &p->overtemperature) < 0 ||
		     !LIT(&w, ",\"undertemperature\":") ||
		     fast_bool(&w, &p->undertemperature) < 0 || !chr(&w, '}')))
			return -1;
		r->have |= BMS_R_PROTECT;
	}
	if (LIT(&w, ",\"fault_codes\":[")) {
		if (fast_codes(&w, rp, &used, r->faults, &r->nfaults) < 0 ||
		    !LIT(&w, ",\"warning_codes\":[") ||
		    fast_codes(&w, rp, &used, r->warnings, &r->nwarnings) < 0)
			return -1;
		out_varint(&w, (uint64_t)r->nfaults * 64 + (uint64_t)r->nwarnings);
		if (out_codes(&w, r->faults, r->nfaults) < 0 ||
		    out_codes(&w, r->warnings, r->nwarnings) < 0)
			return -1;
		r->have |= BMS_R_CODES;
	}
	if (LIT(&w, ",\"cycles\":")) {
		int64_t m;
		int fd;

		if (fast_num(&w, 0, &m, &fd) < 0 || m < 0)
			return -1;
		r->cycles = (long)m;
		out_varint(&w, zz(m));
		r->have |= BMS_R_CYCLES;
	}
	if (LIT(&w, ",\"remaining_capacity_ah\":")) {
		if (fast_scalar(&w, 3, 0, INT64_MAX, &r->remaining_capacity_ah) < 0)
			return -1;
		r->have |= BMS_R_REMAIN;
	}
	if (LIT(&w, ",\"nominal_capacity_ah\":")) {
		if (fast_scalar(&w, 3, 0, INT64_MAX, &r->nominal_capacity_ah) < 0)
			return -1;
		r->have |= BMS_R_NOMINAL;
	}
	if (LIT(&w, ",\"charge_mos\":")) {
		if (fast_bool(&w, &r->charge_mos) < 0 || !LIT(&w, ",\"discharge_mos\":") ||
		    fast_bool(&w, &r->discharge_mos) < 0)
			return -1;
		r->have |= BMS_R_MOS;
	}
	if ((r->have & BMS_R_CELLS) &&
	    (!LIT(&w, ",\"cell_count\":") || fast_count(&w, r->ncells) < 0))
		return -1;
	if ((r->have & BMS_R_TEMPS) &&
	    (!LIT(&w, ",\"temp_count\":") || fast_count(&w, r->ntemps) < 0))
		return -1;
	if (LIT(&w, ",\"quality\":\"")) {
		const char *q;

		for (r->quality = 0; (q = bms_reading_quality_words[r->quality]); r->quality++)
			if (lit(&w, q, strlen(q)))
				break;
		if (!q || !chr(&w, '"'))
			return -1;
		r->have |= BMS_R_QUALITY;
	}
	if (!chr(&w, '}') || w.p != w.end)
		return -1;

	/* The tag and the flags (at most 4 bytes), right before the body. */
	flags = flags_of(rp);
	while (flags >= 0x80) {
		fl[nfl++] = (uint8_t)(flags | 0x80);
		flags >>= 7;
	}
	fl[nfl++] = (uint8_t)flags;
	head = rp->fast + FAST_BODY - 1 - nfl;
	head[0] = TAG_COMPACT1;
	memcpy(head + 1, fl, nfl);
	rp->fast_at = (size_t)(head - rp->fast);
	rp->fast_n = (size_t)(w.o - head);
	rp->fast_line = line;
	rp->fast_len = len;
	return 0;
}

/* ==== Compact decoding ==== */

struct rd {
	const uint8_t *p, *end;
	int bad;		/* set on any damage; later reads return 0 */
};

static uint64_t get_varint(struct rd *d)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		uint8_t c;

		if (d->p >= d->end || (shift == 63 && *d->p > 1)) {
			d->bad = 1;
			return 0;
		}
		c = *d->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	d->bad = 1;
	return 0;
}

/* A scaled value in units of 10^k; -1 (and damage) if out of range. */
static int64_t units(struct rd *d, uint64_t z, int k)
{
	int64_t u;

	if (z >> 55) {
		d->bad = 1;
		return 0;
	}
	u = unzz(z);
	if (u > LIM / ip10[k] || u < -LIM / ip10[k]) {
		d->bad = 1;
		return 0;
	}
	return u;
}

static double get_num_c(struct rd *d, int dec)
{
	uint64_t x = get_varint(d);
	int k = (int)(x % (uint64_t)(dec + 1));
	int64_t u = units(d, x / (uint64_t)(dec + 1), k);

	return (double)(u * ip10[k]) / dp10[dec];
}

static int get_array_c(struct rd *d, double *v, int max, int dec)
{
	uint64_t x = get_varint(d);
	uint64_t n = x / (uint64_t)(dec + 1);
	int k = (int)(x % (uint64_t)(dec + 1));
	int64_t prev = 0;

	if (d->bad || n > (uint64_t)max) {
		d->bad = 1;
		return 0;
	}
	for (uint64_t i = 0; i < n && !d->bad; i++) {
		uint64_t z = get_varint(d);
		int64_t u;

		/* |prev| <= 2^53 and |delta| <= 2^55: the sum cannot overflow. */
		if (z >> 56) {
			d->bad = 1;
			return 0;
		}
		u = prev + unzz(z);
		if (u > LIM / ip10[k] || u < -LIM / ip10[k]) {
			d->bad = 1;
			return 0;
		}
		v[i] = (double)(u * ip10[k]) / dp10[dec];
		prev = u;
	}
	return (int)n;
}

/* A length-prefixed string into out (cap bytes with the NUL): UTF-8
 * without NUL, as every string the parser takes is. */
static void get_str_c(struct rd *d, char *out, size_t cap)
{
	uint64_t n = get_varint(d);

	if (d->bad || n >= cap || n > (uint64_t)(d->end - d->p) ||
	    memchr(d->p, '\0', (size_t)n) ||
	    !bms_json_utf8_valid((const char *)d->p, (size_t)n)) {
		d->bad = 1;
		return;
	}
	memcpy(out, d->p, (size_t)n);
	out[n] = '\0';
	d->p += n;
}

static int get_codes_c(struct rd *d, const char **codes, int n,
		       struct bms_readpack *rp, size_t *used)
{
	for (int i = 0; i < n && !d->bad; i++) {
		get_str_c(d, rp->text + *used, sizeof rp->text - *used);
		if (d->bad)
			return -1;
		codes[i] = rp->text + *used;
		*used += strlen(codes[i]) + 1;
	}
	return d->bad ? -1 : 0;
}

static int decode(const void *blob, size_t n, struct bms_readpack *rp)
{
	struct rd d = { (const uint8_t *)blob + 1, (const uint8_t *)blob + n, 0 };
	struct bms_reading *r = &rp->r;
	uint64_t flags, c;
	size_t used = 0;

	flags = get_varint(&d);
	if (d.bad || flags & ~(uint64_t)F_ALL)
		return -1;
	if (((flags & F_ACTIVE) && !(flags & BMS_R_BALANCE)) ||
	    ((flags & (F_CHG | F_DSG)) && !(flags & BMS_R_MOS)) ||
	    ((flags >> F_PROT0 & 63) && !(flags & BMS_R_PROTECT)) ||
	    ((flags >> F_QWORD0) && !(flags & F_QUALITY)) ||
	    (flags >> F_QWORD0) > BMS_QUALITY_BAD)
		return -1;
	bms_reading_clear(r);
	r->have = (unsigned)(flags & R_ALL);
	if (flags & F_QUALITY) {
		r->have |= BMS_R_QUALITY;
		r->quality = (int)(flags >> F_QWORD0);
	}
	rp->has_tenant = !!(flags & F_TENANT);
	rp->has_proto = !!(flags & F_PROTO);
	rp->proto[0] = '\0';
	if (rp->has_proto)
		get_str_c(&d, rp->proto, sizeof rp->proto);
	if (r->have & BMS_R_VOLTAGE)
		r->pack_voltage = get_num_c(&d, 3);
	if (r->have & BMS_R_CURRENT)
		r->pack_current = get_num_c(&d, 3);
	if (r->have & BMS_R_POWER)
		r->pack_power = get_num_c(&d, 2);
	if (r->have & BMS_R_SOC)
		r->soc_percent = get_num_c(&d, 2);
	if (r->have & BMS_R_SOH)
		r->soh_percent = get_num_c(&d, 2);
	if (r->have & BMS_R_TEMPS)
		r->ntemps = get_array_c(&d, r->temps, BMS_MAX_TEMPS, 2);
	if (r->have & BMS_R_CELLS)
		r->ncells = get_array_c(&d, r->cells, BMS_MAX_CELLS, 4);
	if (r->have & BMS_R_BALANCE) {
		r->balancing_active = !!(flags & F_ACTIVE);
		r->balancing_mask = get_varint(&d);
	}
	if (r->have & BMS_R_PROTECT) {
		struct bms_protection *p = &r->prot;

		p->overvoltage = flags >> F_PROT0 & 1;
		p->undervoltage = flags >> (F_PROT0 + 1) & 1;
		p->overcurrent_charge = flags >> (F_PROT0 + 2) & 1;
		p->overcurrent_discharge = flags >> (F_PROT0 + 3) & 1;
		p->overtemperature = flags >> (F_PROT0 + 4) & 1;
		p->undertemperature = flags >> (F_PROT0 + 5) & 1;
	}
	if ((r->have & BMS_R_CODES) && !d.bad) {
		c = get_varint(&d);
		if (d.bad || c / 64 > BMS_MAX_CODES || c % 64 > BMS_MAX_CODES)
			return -1;
		r->nfaults = (int)(c / 64);
		r->nwarnings = (int)(c % 64);
		if (get_codes_c(&d, r->faults, r->nfaults, rp, &used) < 0 ||
		    get_codes_c(&d, r->warnings, r->nwarnings, rp, &used) < 0)
			return -1;
	}
	if (r->have & BMS_R_CYCLES)
		r->cycles = (long)get_num_c(&d, 0);
	if (r->have & BMS_R_REMAIN)
		r->remaining_capacity_ah = get_num_c(&d, 3);
	if (r->have & BMS_R_NOMINAL)
		r->nominal_capacity_ah = get_num_c(&d, 3);
	if (r->have & BMS_R_MOS) {
		r->charge_mos = !!(flags & F_CHG);
		r->discharge_mos = !!(flags & F_DSG);
	}
	return d.bad || d.p != d.end ? -1 : 0;
}

/* ==== Writing the line back ==== */

/*
 * s as a JSON string, quotes included: in tmp when nothing needs
 * escaping and it fits (the usual case), else in the heap buffer hb.
 */
static void quote(const char *s, char *tmp, size_t cap, struct bms_buf *hb,
		  const char **q, size_t *qlen)
{
	size_t n = strlen(s);
	int plain = n + 2 <= cap;

	for (size_t i = 0; plain && i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == '"' || c == '\\')
			plain = 0;
	}
	if (plain) {
		tmp[0] = '"';
		memcpy(tmp + 1, s, n);
		tmp[n + 1] = '"';
		*q = tmp;
		*qlen = n + 2;
		return;
	}
	bms_buf_json_str(hb, s, n);
	*q = hb->p;
	*qlen = hb->len;
}

/* The line of the unpacked reading u with the given identity. */
static int emit(const struct bms_readpack *u, const char *bms_id, int64_t ts_ms,
		const char *tenant, struct bms_buf *out)
{
	struct bms_record_head h;
	struct bms_buf hid = BMS_BUF_INIT, hten = BMS_BUF_INIT;
	char id[sizeof u->bms_id + 2], ten[sizeof u->tenant + 2], ts[BMS_TS_LEN + 3];
	int rc = 0;

	if (!bms_id || (u->has_tenant && !tenant))
		return -1;
	quote(bms_id, id, sizeof id, &hid, &h.bms_id, &h.bms_id_len);
	ts[0] = '"';
	bms_ts_format_ms(ts_ms, ts + 1);
	ts[BMS_TS_LEN + 1] = '"';
	ts[BMS_TS_LEN + 2] = '\0';
	h.timestamp = ts;
	h.timestamp_len = BMS_TS_LEN + 2;
	h.tenant = NULL;
	h.tenant_len = 0;
	if (u->has_tenant)
		quote(tenant, ten, sizeof ten, &hten, &h.tenant, &h.tenant_len);
	if (hid.oom || hten.oom)
		rc = -1;
	else
		bms_reading_json(&u->r, &h, u->has_proto ? u->proto : NULL, out);
	if (!rc && (u->r.have & BMS_R_QUALITY) && out->len && !out->oom) {
		out->len--;	/* the closing brace */
		bms_buf_puts(out, ",\"quality\":\"");
		bms_buf_puts(out, bms_reading_quality_words[u->r.quality]);
		bms_buf_puts(out, "\"}");
	}
	bms_buf_free(&hid);
	bms_buf_free(&hten);
	return rc;
}

/* ==== The API ==== */

int bms_readpack_parse(const char *line, size_t len, struct bms_readpack *rp,
		       char *why, size_t whysz)
{
	rp->fast_line = NULL;
	if (fast_parse(line, len, rp) == 0)
		return 0;
	return general_parse(line, len, rp, why, whysz);
}

static void truncate_to(struct bms_buf *b, size_t len)
{
	b->len = len;
	if (b->p)
		b->p[len] = '\0';
}

int bms_readpack_pack(const struct bms_readpack *rp, const char *line, size_t len,
		      struct bms_buf *blob)
{
	size_t start = blob->len, end;
	struct bms_readpack u;

	if (rp->fast_line && rp->fast_line == line && rp->fast_len == len) {
		bms_buf_add(blob, rp->fast + rp->fast_at, rp->fast_n);
		return blob->oom ? 1 : 0;
	}
	if (encode(rp, blob) == 0) {
		end = blob->len;
		if (decode(blob->p + start, end - start, &u) == 0 &&
		    emit(&u, rp->bms_id, rp->ts_ms, rp->has_tenant ? rp->tenant : NULL,
			 blob) == 0 &&
		    !blob->oom && blob->len - end == len &&
		    memcmp(blob->p + end, line, len) == 0) {
			truncate_to(blob, end);
			return 0;
		}
	}
	if (blob->oom)
		return 1;
	truncate_to(blob, start);
	bms_buf_putc(blob, TAG_TEXT);
	bms_buf_add(blob, line, len);
	return 1;
}

int bms_readpack_unpack(const void *blob, size_t n, struct bms_readpack *rp)
{
	const char *b = blob;
	char bms_id[sizeof rp->bms_id], tenant[sizeof rp->tenant];
	int64_t ts_ms;
	int rc;

	rp->fast_line = NULL;
	if (n == 0)
		return -1;
	if (b[0] == TAG_COMPACT1)
		return decode(blob, n, rp);
	if (b[0] != TAG_TEXT)
		return -1;
	/* The identity is the caller's: keep it across the parse. */
	memcpy(bms_id, rp->bms_id, sizeof bms_id);
	memcpy(tenant, rp->tenant, sizeof tenant);
	ts_ms = rp->ts_ms;
	rc = bms_readpack_parse(b + 1, n - 1, rp, NULL, 0);
	memcpy(rp->bms_id, bms_id, sizeof bms_id);
	memcpy(rp->tenant, tenant, sizeof tenant);
	rp->ts_ms = ts_ms;
	return rc;
}

int bms_readpack_json(const void *blob, size_t n, const char *bms_id,
		      int64_t ts_ms, const char *tenant, struct bms_buf *out)
{
	const char *b = blob;
	struct bms_readpack u;

	if (n == 0)
		return -1;
	/* A text blob is checked to be one JSON object: a damaged one
	 * must not reach the output as a broken line. */
	if (b[0] == TAG_TEXT) {
		if (bms_json_scan(b + 1, n - 1, NULL, 0, NULL) < 0)
			return -1;
		bms_buf_add(out, b + 1, n - 1);
		return 0;
	}
	if (b[0] != TAG_COMPACT1 || decode(blob, n, &u) < 0)
		return -1;
	return emit(&u, bms_id, ts_ms, tenant, out);
}
