/*-------------------------------------------------------------------------
 * worker.h
 *	  The dispatcher background workers.
 *
 * IDENTIFICATION
 *	  src/worker.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_WORKER_H
#define AIGOV_WORKER_H

#include "postgres.h"

extern PGDLLEXPORT void AigovWorkerMain(Datum main_arg) pg_attribute_noreturn();

#endif							/* AIGOV_WORKER_H */
