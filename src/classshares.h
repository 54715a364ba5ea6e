/*-------------------------------------------------------------------------
 * classshares.h
 *	  GUC aigov.class_shares and the claim's plan across workload classes.
 *
 * IDENTIFICATION
 *	  src/classshares.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_CLASSSHARES_H
#define AIGOV_CLASSSHARES_H

#include "postgres.h"

#include "wclass.h"

extern void AigovClassSharesDefineGucs(void);
extern void AigovClassSharesGet(int32 shares[AIGOV_NCLASSES]);

#endif							/* AIGOV_CLASSSHARES_H */
