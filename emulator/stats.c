/*-------------------------------------------------------------------------
 * stats.c
 *	  Per-key statistics counters and their JSON rendering.
 *
 * Tests assert on these figures rather than on the gateway's own view, so
 * the names are part of the emulator's contract (docs/emulator.md).
 *
 * IDENTIFICATION
 *	  emulator/stats.c
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <string.h>

#include "stats.h"

static const char *const stat_names[EMU_STAT_COUNT] = {
	"requests", "successes",
	"rpm", "tpm", "itpm", "otpm", "rpd", "tpd",
	"too_large", "insufficient_quota", "server_errors", "client_errors",
	"resets", "hangs", "malformed", "truncated", "oversized", "big_headers",
	"drips", "tokens_charged",
	"prompt_tokens", "completion_tokens", "duplicates", "peak_concurrent",
	"current_concurrent"
};

const char *
emu_stat_name(EmuStat s)
{
	if ((int) s < 0 || s >= EMU_STAT_COUNT)
		return "unknown";
	return stat_names[s];
}

static bool
is_rate_limited(int s)
{
	return s >= EMU_STAT_RL_RPM && s <= EMU_STAT_RL_TPD;
}

/* Counters as JSON members (no braces); rate limits grouped. */
static void
render_counters(const int64_t c[EMU_STAT_COUNT], EmuBuf *out)
{
	int64_t		rl_total = 0;

	emu_buf_printf(out, "\"requests\":%" PRId64 ",\"successes\":%" PRId64
				   ",\"rate_limited\":{", c[EMU_STAT_REQUESTS],
				   c[EMU_STAT_SUCCESSES]);
	for (int s = EMU_STAT_RL_RPM; s <= EMU_STAT_RL_TPD; s++)
	{
		emu_buf_printf(out, "%s\"%s\":%" PRId64, s == EMU_STAT_RL_RPM ? "" : ",",
					   stat_names[s], c[s]);
		rl_total += c[s];
	}
	emu_buf_printf(out, "},\"rate_limited_total\":%" PRId64, rl_total);
	for (int s = EMU_STAT_TOO_LARGE; s < EMU_STAT_COUNT; s++)
		if (!is_rate_limited(s))
			emu_buf_printf(out, ",\"%s\":%" PRId64, stat_names[s], c[s]);
}

/* The buckets of one key; absent limits are left out. */
static void
render_buckets(const EmuQuotaView *v, EmuBuf *out)
{
	bool		first = true;

	emu_buf_puts(out, "\"buckets\":{");
	for (int d = 0; d < EMU_DIM_COUNT; d++)
	{
		if (!v->limited[d])
			continue;
		emu_buf_printf(out, "%s\"%s\":{\"limit\":%" PRId64 ",\"remaining\":%" PRId64
					   ",\"reset_ms\":%" PRId64 "}", first ? "" : ",",
					   emu_dim_name((EmuDim) d), v->limit[d], v->remaining[d],
					   (v->reset_us[d] + 999) / 1000);
		first = false;
	}
	emu_buf_puts(out, "}");
}

/*
 * Render {"keys":{label:{...}}, "totals":{...}} into "out".  Totals sum
 * the per-key counters except the concurrency figures, which are the
 * process-wide ones from "g".  Returns false if memory ran out.
 */
bool
emu_stats_render(const EmuStatsSnap *keys, int n, const EmuStatsGlobal *g,
				 EmuBuf *out)
{
	int64_t		tot[EMU_STAT_COUNT];

	memset(tot, 0, sizeof(tot));
	emu_buf_puts(out, "{\"keys\":{");
	for (int i = 0; i < n; i++)
	{
		const EmuStatsSnap *k = &keys[i];

		if (i > 0)
			emu_buf_puts(out, ",");
		emu_buf_json_str(out, k->label, strlen(k->label));
		emu_buf_printf(out, ":{\"provider\":\"%s\",\"insufficient_quota_state\":%s,",
					   emu_provider_name(k->provider),
					   k->insufficient_quota ? "true" : "false");
		render_counters(k->c, out);
		emu_buf_puts(out, ",");
		render_buckets(&k->view, out);
		emu_buf_puts(out, "}");
		for (int s = 0; s < EMU_STAT_COUNT; s++)
			tot[s] += k->c[s];
	}
	tot[EMU_STAT_PEAK_CONCURRENT] = g->peak_concurrent;
	tot[EMU_STAT_CURRENT_CONCURRENT] = g->current_concurrent;
	emu_buf_puts(out, "},\"totals\":{");
	render_counters(tot, out);
	emu_buf_printf(out, ",\"unauthorized\":%" PRId64 ",\"idempotency_keys\":%" PRId64
				   "}}", g->unauthorized, g->idempotency_keys);
	return !out->oom;
}
