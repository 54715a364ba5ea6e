/*-------------------------------------------------------------------------
 * alertrule.c
 *	  The rule of the utilisation alerts: which level a subject's axis is
 *	  at, given the level it was at and its utilisation now.
 *
 * A level is raised when utilisation reaches 70% or 90% and cleared only
 * when it falls AIGOV_ALERT_CLEAR_MARGIN points under (65%, 85%), so a
 * value hovering at a threshold alerts once, not at every evaluation.
 * Pure; the caller keeps the previous level.
 *
 * IDENTIFICATION
 *	  src/alertrule.c
 *-------------------------------------------------------------------------
 */
#include "alertrule.h"

#define PPM_PER_PCT		INT64_C(10000)

/*
 * aigov_alert_level_next
 *		The level after an evaluation: the highest threshold reached, or
 *		the previous level while utilisation stays within its margin.
 */
int
aigov_alert_level_next(int previous, int64_t utilisation_ppm)
{
	static const int levels[] = {AIGOV_ALERT_LEVEL_CRIT, AIGOV_ALERT_LEVEL_WARN};

	for (int i = 0; i < (int) (sizeof(levels) / sizeof(levels[0])); i++)
	{
		int64_t		raise = levels[i] * PPM_PER_PCT;
		int64_t		clear = (levels[i] - AIGOV_ALERT_CLEAR_MARGIN) * PPM_PER_PCT;

		if (utilisation_ppm >= raise)
			return levels[i];
		if (previous >= levels[i] && utilisation_ppm >= clear)
			return levels[i];
	}
	return AIGOV_ALERT_LEVEL_NONE;
}

/*
 * aigov_alert_severity
 *		The alert_events severity of a change of level: critical into 90%,
 *		warning into 70%, info when a level clears.
 */
const char *
aigov_alert_severity(int previous, int level)
{
	if (level < previous)
		return "info";
	return level >= AIGOV_ALERT_LEVEL_CRIT ? "critical" : "warning";
}
