/*-------------------------------------------------------------------------
 * alertrule.h
 *	  Utilisation alert levels with hysteresis (70% and 90%).
 *
 * IDENTIFICATION
 *	  src/alertrule.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_ALERTRULE_H
#define AIGOV_ALERTRULE_H

#include <stdint.h>

/* Levels are percentages: 0 (none), 70 or 90. */
#define AIGOV_ALERT_LEVEL_NONE		0
#define AIGOV_ALERT_LEVEL_WARN		70
#define AIGOV_ALERT_LEVEL_CRIT		90
/* A level clears only this many points under its threshold. */
#define AIGOV_ALERT_CLEAR_MARGIN	5

extern int	aigov_alert_level_next(int previous, int64_t utilisation_ppm);
extern const char *aigov_alert_severity(int previous, int level);

#endif							/* AIGOV_ALERTRULE_H */
