/*-------------------------------------------------------------------------
 * extension_guard.c
 *	  A background worker's view of the extension it serves: it waits for
 *	  CREATE EXTENSION aigov, and every transaction that touches aigov's
 *	  objects locks the extension first, so DROP EXTENSION and the worker
 *	  take their locks in one order.
 *
 * DROP EXTENSION locks the extension itself, exclusively, before it locks
 * its objects one by one (the schema, the tables).  A worker transaction
 * that locked a table, or the schema (creating a history partition), first
 * could hold what DROP wants next while waiting for what DROP holds
 * already, and PostgreSQL would cancel one of the two as a deadlock.
 * Locking the extension first puts both in the same order: a worker waits
 * for a DROP that came first, and a DROP waits for the worker transaction
 * that came first to commit.
 *
 * A worker whose extension was dropped (or dropped and created again)
 * exits; the postmaster starts it again, and the new process waits for the
 * extension.  What the old one had in flight belonged to the dropped
 * tables.
 *
 * IDENTIFICATION
 *	  src/extension_guard.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/guc.h"

#include "extension_guard.h"
#include "pgutil.h"

/* The extension this process serves; InvalidOid until it first locks it. */
static Oid	served_extension = InvalidOid;

/*
 * extension_installed
 *		Whether aigov exists in this process's database yet.
 */
static bool
extension_installed(void)
{
	bool		installed;

	AigovBeginXact("aigov: checking for the extension");
	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_extension"
					" WHERE extname OPERATOR(pg_catalog.=) 'aigov'", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_extension");
	installed = SPI_processed > 0;
	AigovEndXact();
	return installed;
}

/*
 * AigovWaitForExtension
 *		Sleeps until the extension is created in the database this
 *		background worker is connected to.
 */
void
AigovWaitForExtension(void)
{
	while (!extension_installed())
	{
		ereport(DEBUG1, (errmsg("aigov is not installed in this database yet")));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			proc_exit(1);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}

/*
 * AigovLockExtension
 *		Takes the extension's own lock in share mode for the rest of the
 *		current transaction, and stops the process if the extension it
 *		serves is gone.  Must be the transaction's first use of aigov's
 *		objects (see the file's banner).
 */
void
AigovLockExtension(void)
{
	Oid			ext = get_extension_oid("aigov", true);

	if (OidIsValid(ext) && (!OidIsValid(served_extension) || ext == served_extension))
	{
		/* the lock also accepts invalidations: look again under it */
		LockDatabaseObject(ExtensionRelationId, ext, 0, AccessShareLock);
		if (get_extension_oid("aigov", true) == ext)
		{
			served_extension = ext;
			return;
		}
	}
	ereport(LOG,
			(errmsg("%s stops: the extension was dropped from database \"%s\"",
					MyBgworkerEntry != NULL ? MyBgworkerEntry->bgw_name : "aigov",
					get_database_name(MyDatabaseId)),
			 errdetail("It starts again and waits for CREATE EXTENSION aigov.")));
	proc_exit(1);
}
