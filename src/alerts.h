/*-------------------------------------------------------------------------
 * alerts.h
 *	  Utilisation alerts: the worker stage that raises and clears them.
 *
 * IDENTIFICATION
 *	  src/alerts.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_ALERTS_H
#define AIGOV_ALERTS_H

#include "postgres.h"

/* Evaluations are this far apart (worker 0 only). */
#define AIGOV_ALERT_INTERVAL_MS		1000

extern Size AigovAlertsShmemSize(void);
extern void AigovAlertsShmemInit(void);
extern void AigovAlertsEvaluate(void);

#endif							/* AIGOV_ALERTS_H */
