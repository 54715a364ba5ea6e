/*-------------------------------------------------------------------------
 * wclass.h
 *	  Workload classes in the fair queue: their names, the range of
 *	  virtual start tags each class's jobs take in a key pool, the minimum
 *	  shares of aigov.class_shares, and the choice of which classes a claim
 *	  serves first.
 *
 * IDENTIFICATION
 *	  src/wclass.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_WCLASS_H
#define AIGOV_WCLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AIGOV_NCLASSES			3

/*
 * Each class's tags lie in a range of its own, [c * SPAN, (c + 1) * SPAN),
 * so a claim reads one class of a pool as one range of the pool's index.
 */
#define AIGOV_CLASS_TAG_SPAN	(INT64_C(1) << 61)

/* The default of aigov.class_shares. */
#define AIGOV_CLASS_SHARES_DEFAULT "interactive=50,background=30,batch=20"

typedef enum AigovClassParse
{
	AIGOV_CLASS_PARSE_OK = 0,
	AIGOV_CLASS_PARSE_SYNTAX,	/* not name=integer[,name=integer...] */
	AIGOV_CLASS_PARSE_UNKNOWN,	/* a name that is not a workload class */
	AIGOV_CLASS_PARSE_DUPLICATE,	/* a class given twice */
	AIGOV_CLASS_PARSE_RANGE,	/* a share outside 1..100 */
	AIGOV_CLASS_PARSE_SUM,		/* shares adding up to more than 100 */
	AIGOV_CLASS_PARSE_NOTHING_LEFT	/* an unnamed class would get 0 */
} AigovClassParse;

/*
 * A pool's class scheduler: start-time fair queuing across classes, at
 * claim time.  pass[c] is the virtual finish of class c's last claimed
 * job, vclock the virtual start of the last one claimed of any class, and
 * avg_cost[c] a running mean of class c's job costs (0 before its first).
 */
typedef struct AigovClassState
{
	int64_t		vclock;
	int64_t		pass[AIGOV_NCLASSES];
	int64_t		avg_cost[AIGOV_NCLASSES];
} AigovClassState;

/* What a claim of n jobs asks of each class, most behind first. */
typedef struct AigovClassPlan
{
	int			order[AIGOV_NCLASSES];	/* class indexes */
	int			count[AIGOV_NCLASSES];	/* jobs asked of order[i] */
} AigovClassPlan;

extern int	aigov_class_index(const char *name);
extern const char *aigov_class_name(int class_index);
extern int64_t aigov_class_tag_base(int class_index);
extern int	aigov_class_of_tag(int64_t tag);
extern AigovClassParse aigov_class_shares_parse(const char *text,
												int32_t shares[AIGOV_NCLASSES],
												char *bad, size_t badlen);
extern void aigov_class_split(const AigovClassState *state,
							  const int32_t shares[AIGOV_NCLASSES], int n,
							  AigovClassPlan *plan);
extern int64_t aigov_class_charge(AigovClassState *state,
								  const int32_t shares[AIGOV_NCLASSES],
								  int class_index, int64_t cost);
extern void aigov_class_settle(AigovClassState *state, int64_t min_start);

#endif							/* AIGOV_WCLASS_H */
