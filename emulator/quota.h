/*-------------------------------------------------------------------------
 * quota.h
 *	  Per-key token buckets and request admission, as pure arithmetic.
 *
 * IDENTIFICATION
 *	  emulator/quota.h
 *-------------------------------------------------------------------------
 */
#ifndef EMU_QUOTA_H
#define EMU_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "emu.h"

/*
 * One continuously refilled bucket: "limit" units per "window_us".  The
 * level is a double so that a daily bucket of billions of tokens refills by
 * fractions per microsecond without overflow; it may go below zero when a
 * charge is made after the fact (Anthropic output tokens).
 */
typedef struct EmuBucket
{
	int64_t		limit;			/* EMU_UNLIMITED when absent */
	int64_t		window_us;
	double		level;
	int64_t		stamp_us;		/* clock of the last refill */
} EmuBucket;

/* Never: the amount exceeds the bucket's capacity. */
#define EMU_WAIT_NEVER		INT64_MAX

extern void emu_bucket_init(EmuBucket *b, int64_t limit, int64_t window_us,
							int64_t now_us);
extern bool emu_bucket_limited(const EmuBucket *b);
extern void emu_bucket_refill(EmuBucket *b, int64_t now_us);
extern double emu_bucket_level(EmuBucket *b, int64_t now_us);
extern int64_t emu_bucket_wait_us(EmuBucket *b, int64_t now_us, double amount);
extern int64_t emu_bucket_full_us(EmuBucket *b, int64_t now_us);
extern void emu_bucket_take(EmuBucket *b, int64_t now_us, double amount);
extern void emu_bucket_set_limit(EmuBucket *b, int64_t limit, int64_t now_us);
extern void emu_bucket_fill(EmuBucket *b, int64_t now_us);

/*
 * All buckets of one key, plus its billing state.  The RPM bucket may hold
 * a shorter window than a minute (Azure enforces RPM per 1 s or 10 s): it
 * then holds rpm * window / 60 s requests, rounded up, and refills that
 * many per window.
 */
typedef struct EmuQuota
{
	EmuBucket	b[EMU_DIM_COUNT];
	bool		insufficient_quota;
	int64_t		rpm_window_us;	/* EMU_MINUTE_US unless sub-windowed */
} EmuQuota;

typedef enum EmuAdmitStatus
{
	EMU_ADMIT_OK = 0,
	EMU_ADMIT_LIMITED,			/* some bucket lacks room now */
	EMU_ADMIT_TOO_LARGE,		/* larger than a bucket's capacity: never */
	EMU_ADMIT_BILLING			/* insufficient_quota */
} EmuAdmitStatus;

/* The outcome of one admission, with what the 429 texts need. */
typedef struct EmuAdmit
{
	EmuAdmitStatus status;
	EmuDim		dim;			/* the dimension the 429 names */
	unsigned	violated;		/* mask of (1u << EmuDim) lacking room */
	int64_t		limit;			/* of dim */
	int64_t		used;			/* of dim: limit - remaining */
	int64_t		requested;		/* of dim: 1 request or the token charge */
	int64_t		wait_us;		/* until dim has room */
	int64_t		retry_us;		/* until every violated dimension has room */
	int64_t		minute_wait_us; /* same, minute dimensions only (0: none) */
	int64_t		tokens;			/* token charge taken when admitted */
	int64_t		dim_limit[EMU_DIM_COUNT];	/* every bucket's limit */
} EmuAdmit;

/* A read-only picture of the buckets for the rate-limit headers. */
typedef struct EmuQuotaView
{
	bool		limited[EMU_DIM_COUNT];
	int64_t		limit[EMU_DIM_COUNT];
	int64_t		remaining[EMU_DIM_COUNT];	/* floor, clamped to [0,limit] */
	int64_t		reset_us[EMU_DIM_COUNT];	/* until full again */
} EmuQuotaView;

extern int64_t emu_dim_window_us(EmuDim d);
extern bool emu_dim_is_daily(EmuDim d);
extern void emu_quota_init(EmuQuota *q, const int64_t limits[EMU_DIM_COUNT],
						   int64_t now_us);
extern void emu_quota_set_limits(EmuQuota *q,
								 const int64_t limits[EMU_DIM_COUNT],
								 int64_t now_us);
extern void emu_quota_set_rpm_window(EmuQuota *q,
									 const int64_t limits[EMU_DIM_COUNT],
									 int64_t window_us, int64_t now_us);
extern int64_t emu_quota_bucket_limit(const EmuQuota *q, EmuDim d,
									  int64_t limit);
extern void emu_quota_fill(EmuQuota *q, int64_t now_us);
extern EmuAdmitStatus emu_quota_admit(EmuQuota *q, int64_t now_us,
									  int64_t tokens, EmuAdmit *out);
extern void emu_quota_charge_output(EmuQuota *q, int64_t now_us,
									int64_t tokens);
extern void emu_quota_view(EmuQuota *q, int64_t now_us, EmuQuotaView *v);

#endif							/* EMU_QUOTA_H */
