/*-------------------------------------------------------------------------
 * retention.h
 *	  History and retention: finished jobs leave the hot queue for the
 *	  partitioned history, and old partitions are dropped.
 *
 * IDENTIFICATION
 *	  src/retention.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_RETENTION_H
#define AIGOV_RETENTION_H

#include "postgres.h"

#include "datatype/timestamp.h"

extern void AigovRetentionDefineGucs(void);
extern TimestampTz AigovRetentionStage(TimestampTz now);

#endif							/* AIGOV_RETENTION_H */
