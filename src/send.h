/*-------------------------------------------------------------------------
 * send.h
 *	  Putting a planned job on the wire in its key's provider dialect.
 *
 * IDENTIFICATION
 *	  src/send.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_SEND_H
#define AIGOV_SEND_H

#include "postgres.h"

#include "job.h"

extern void AigovSendJob(AigovJob *job);

#endif							/* AIGOV_SEND_H */
