/*-------------------------------------------------------------------------
 * pgutil.h
 *	  Small PostgreSQL helpers every glue file needs: kept SPI plans,
 *	  reading SPI results by column name, worker transactions, and the
 *	  offset between the pure modules' clock and PostgreSQL's.
 *
 * IDENTIFICATION
 *	  src/pgutil.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_PGUTIL_H
#define AIGOV_PGUTIL_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"

/*
 * The pure modules count unix microseconds; PostgreSQL counts microseconds
 * since 2000-01-01.  The offset between the two, and the conversions.
 */
#define AIGOV_USECS_UNIX_TO_PG \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

static inline int64
AigovToUnixUs(TimestampTz t)
{
	return t + AIGOV_USECS_UNIX_TO_PG;
}

static inline TimestampTz
AigovFromUnixUs(int64 us)
{
	return us - AIGOV_USECS_UNIX_TO_PG;
}

extern SPIPlanPtr AigovKeepPlan(SPIPlanPtr *slot, const char *query,
								int nargs, Oid *argtypes);

/*
 * The column numbers of a result, looked up by name once per result shape.
 * A column the result lacks is an internal error (the SQL and the library
 * disagree), raised at lookup, not at first read.
 */
extern void AigovColumnsLookup(TupleDesc tupdesc, const char *const *names,
							   int ncolumns, int *numbers);

extern char *AigovGetText(HeapTuple tuple, TupleDesc tupdesc, int col);
extern int64 AigovGetInt64(HeapTuple tuple, TupleDesc tupdesc, int col,
						   int64 if_null);
extern int32 AigovGetInt32(HeapTuple tuple, TupleDesc tupdesc, int col,
						   int32 if_null);
extern bool AigovGetBool(HeapTuple tuple, TupleDesc tupdesc, int col,
						 bool if_null);
extern TimestampTz AigovGetTimestamp(HeapTuple tuple, TupleDesc tupdesc,
									 int col, TimestampTz if_null);

extern void AigovBeginXact(const char *activity);
extern void AigovEndXact(void);

#endif							/* AIGOV_PGUTIL_H */
