/*-------------------------------------------------------------------------
 * secrets.h
 *	  Provider keys' secrets: which environment variables "env:NAME" may
 *	  read (aigov.secret_env_names), the check when a key is written, the
 *	  workers' resolution, and aigov.set_key_secret().
 *
 * IDENTIFICATION
 *	  src/secrets.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_SECRETS_H
#define AIGOV_SECRETS_H

#include "postgres.h"

extern void AigovSecretsDefineGucs(void);
extern char *AigovSecretResolve(const char *secret, char **reason);
extern void AigovZeroTextDatum(Datum value);

#endif							/* AIGOV_SECRETS_H */
