/*-------------------------------------------------------------------------
 * aigov.c
 *	  Module entry point: PG_MODULE_MAGIC and _PG_init.
 *
 * _PG_init only checks that the library is preloaded and calls each
 * module's Init function, which defines that module's GUCs and hooks.
 *
 * IDENTIFICATION
 *	  src/aigov.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "aigov.h"
#include "classshares.h"
#include "egress.h"
#include "quota.h"
#include "retention.h"
#include "secrets.h"
#include "throttle_gate.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);

PG_FUNCTION_INFO_V1(aigov_version);

/*
 * _PG_init
 *		Defines the GUCs of every module.  Shared memory and background
 *		workers need the library in shared_preload_libraries, so loading it
 *		any other way is refused with a hint.
 */
void
_PG_init(void)
{
	if (IsBinaryUpgrade)
		return;

	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("aigov must be loaded via \"shared_preload_libraries\""),
				 errhint("Add aigov to shared_preload_libraries in postgresql.conf and restart the server.")));

	AigovEnqueueInit();
	AigovQuotaDefineGucs();
	AigovThrottleDefineGucs();
	AigovSecretsDefineGucs();
	AigovEgressDefineGucs();
	AigovRetentionDefineGucs();
	AigovClassSharesDefineGucs();
	AigovWorkerInit();
	AigovShmemInit();

	MarkGUCPrefixReserved("aigov");
}

/*
 * aigov_version
 *		Returns the version the library was built as, so a test can compare
 *		it with the installed extension's extversion.
 */
Datum
aigov_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(AIGOV_VERSION));
}
