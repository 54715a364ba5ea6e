/*-------------------------------------------------------------------------
 * stats.h
 *	  Per-key statistics counters and their JSON rendering.
 *
 * IDENTIFICATION
 *	  emulator/stats.h
 *-------------------------------------------------------------------------
 */
#ifndef EMU_STATS_H
#define EMU_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "emu.h"
#include "quota.h"

/*
 * Counters of one key.  The six rate_limited ones follow EmuDim order so
 * EMU_STAT_RL_RPM + dim indexes them.
 */
typedef enum EmuStat
{
	EMU_STAT_REQUESTS = 0,		/* complete requests received */
	EMU_STAT_SUCCESSES,			/* well-formed 200 answers sent */
	EMU_STAT_RL_RPM,
	EMU_STAT_RL_TPM,
	EMU_STAT_RL_ITPM,
	EMU_STAT_RL_OTPM,
	EMU_STAT_RL_RPD,
	EMU_STAT_RL_TPD,
	EMU_STAT_TOO_LARGE,			/* 429 that can never pass */
	EMU_STAT_INSUFFICIENT_QUOTA,	/* billing 429 */
	EMU_STAT_SERVER_ERRORS,		/* injected 5xx/529 */
	EMU_STAT_CLIENT_ERRORS,		/* 400/404/413 */
	EMU_STAT_RESETS,			/* injected connection resets */
	EMU_STAT_HANGS,				/* injected never-answered requests */
	EMU_STAT_MALFORMED,			/* injected broken JSON */
	EMU_STAT_TRUNCATED,			/* injected truncated bodies */
	EMU_STAT_OVERSIZED,			/* injected oversized bodies */
	EMU_STAT_BIG_HEADERS,		/* injected oversized headers */
	EMU_STAT_DRIPS,				/* injected slow drips */
	EMU_STAT_TOKENS_CHARGED,	/* all tokens taken from token buckets */
	EMU_STAT_PROMPT_TOKENS,		/* usage reported in successes */
	EMU_STAT_COMPLETION_TOKENS,
	EMU_STAT_DUPLICATES,		/* Idempotency-Key already answered */
	EMU_STAT_PEAK_CONCURRENT,
	EMU_STAT_CURRENT_CONCURRENT,
	EMU_STAT_COUNT
} EmuStat;

/* A consistent-enough copy of one key's counters and buckets. */
typedef struct EmuStatsSnap
{
	const char *label;
	EmuProvider provider;
	int64_t		c[EMU_STAT_COUNT];
	EmuQuotaView view;
	bool		insufficient_quota;
} EmuStatsSnap;

/* Process-wide figures that are not per key. */
typedef struct EmuStatsGlobal
{
	int64_t		unauthorized;	/* requests with no or an unknown key */
	int64_t		peak_concurrent;
	int64_t		current_concurrent;
	int64_t		idempotency_keys;	/* distinct keys answered */
} EmuStatsGlobal;

extern const char *emu_stat_name(EmuStat s);
extern bool emu_stats_render(const EmuStatsSnap *keys, int n,
							 const EmuStatsGlobal *g, EmuBuf *out);

#endif							/* EMU_STATS_H */
