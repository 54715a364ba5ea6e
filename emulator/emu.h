/*-------------------------------------------------------------------------
 * emu.h
 *	  Types shared by every module of the provider emulator.
 *
 * The emulator is a stand-alone program: it shares no code with src/, so
 * that a misreading of a provider protocol in one is caught by the other.
 *
 * IDENTIFICATION
 *	  emulator/emu.h
 *-------------------------------------------------------------------------
 */
#ifndef EMU_H
#define EMU_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The API dialects the emulator speaks.  Azure OpenAI takes the OpenAI
 * body on its own path, auth header, headers and error envelope.
 */
typedef enum EmuProvider
{
	EMU_PROVIDER_OPENAI = 0,
	EMU_PROVIDER_ANTHROPIC,
	EMU_PROVIDER_GEMINI,
	EMU_PROVIDER_AZURE,
	EMU_PROVIDER_COUNT
} EmuProvider;

/*
 * Quota dimensions.  RPM/TPM/RPD/TPD apply to OpenAI and Gemini keys;
 * Anthropic keys use RPM, ITPM and OTPM (and RPD/TPD when configured);
 * Azure keys (deployments) only RPM and TPM.
 */
typedef enum EmuDim
{
	EMU_DIM_RPM = 0,
	EMU_DIM_TPM,
	EMU_DIM_ITPM,
	EMU_DIM_OTPM,
	EMU_DIM_RPD,
	EMU_DIM_TPD,
	EMU_DIM_COUNT
} EmuDim;

/* A limit that is absent from the configuration. */
#define EMU_UNLIMITED		(-1)

#define EMU_USEC_PER_SEC	INT64_C(1000000)
#define EMU_MINUTE_US		(60 * EMU_USEC_PER_SEC)
#define EMU_DAY_US			(86400 * EMU_USEC_PER_SEC)

extern const char *emu_provider_name(EmuProvider p);
extern bool emu_provider_from_name(const char *name, EmuProvider *out);
extern const char *emu_dim_name(EmuDim d);

#endif							/* EMU_H */
