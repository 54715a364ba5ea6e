/*-------------------------------------------------------------------------
 * config.h
 *	  The emulator's JSON configuration, fault switches and key updates.
 *
 * IDENTIFICATION
 *	  emulator/config.h
 *-------------------------------------------------------------------------
 */
#ifndef EMU_CONFIG_H
#define EMU_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "emu.h"
#include "reply.h"

#define EMU_SECRET_MAX		160
#define EMU_LABEL_MAX		64

/* Defaults of the size and pace of the faults that have one. */
#define EMU_OVERSIZED_BYTES		(INT64_C(16) * 1024 * 1024)
#define EMU_BIG_HEADERS_BYTES	(INT64_C(256) * 1024)
#define EMU_DRIP_MS				INT64_C(1000)
/* Upper bounds of the settings, so a typo cannot exhaust the machine. */
#define EMU_MAX_OVERSIZED_BYTES (INT64_C(1024) * 1024 * 1024)
#define EMU_MAX_BIG_HEADERS_BYTES (INT64_C(16) * 1024 * 1024)

/* Fault switches of one key; all zero means "behave". */
typedef struct EmuFaults
{
	int64_t		latency_ms;		/* fixed delay before answering */
	int64_t		jitter_ms;		/* plus uniform [0, jitter_ms] */
	double		error_rate;		/* share of admitted requests failing */
	int			error_status;	/* 500/502/503/529; 0 = provider default */
	double		reset_rate;		/* connection reset, no answer */
	double		hang_rate;		/* never answered */
	double		malformed_rate; /* 200 with broken JSON */
	double		truncated_rate; /* 200 cut short, connection closed */
	double		oversized_rate; /* 200 whose JSON body is padded to
								 * oversized_bytes */
	int64_t		oversized_bytes;	/* 0 = EMU_OVERSIZED_BYTES */
	double		big_headers_rate;	/* 200 with big_headers_bytes of extra
									 * header lines */
	int64_t		big_headers_bytes;	/* 0 = EMU_BIG_HEADERS_BYTES */
	double		drip_rate;		/* 200 sent one byte every drip_ms */
	int64_t		drip_ms;		/* 0 = EMU_DRIP_MS */
	bool		no_ratelimit_headers;	/* omit every *ratelimit* header */
	bool		no_retry_after; /* omit retry-after(-ms) on 429 */
	bool		nonconforming_json; /* structured output breaks its schema */
	bool		nonjson_structured; /* structured output is plain text */
	bool		sentinel_headers;	/* token headers say -1 (Azure's wart) */
} EmuFaults;

typedef struct EmuKeyConfig
{
	char		secret[EMU_SECRET_MAX];
	char		label[EMU_LABEL_MAX];
	EmuProvider provider;
	int64_t		limits[EMU_DIM_COUNT];	/* EMU_UNLIMITED when absent */
	bool		insufficient_quota;
	bool		free_tier;		/* Gemini quota ids get "-FreeTier" */
	char		(*models)[EMU_MODEL_MAX];	/* NULL: any known model */
	int			n_models;
	EmuFaults	faults;			/* initial faults */
} EmuKeyConfig;

typedef struct EmuModelConfig
{
	char		name[EMU_MODEL_MAX];
	EmuProvider provider;
	int64_t		max_output_tokens;	/* -1: no cap */
	int64_t		context_window; /* -1: no limit */
} EmuModelConfig;

typedef struct EmuConfig
{
	EmuKeyConfig *keys;
	int			n_keys;
	EmuModelConfig *models;
	int			n_models;
	char		org[96];
	char		anthropic_org[64];
	EmuChargeMode openai_charge;
	bool		openai_retry_after_ms;
	int64_t		hang_max_ms;
	int64_t		max_body_bytes;
	uint64_t	seed;
	char		azure_region[64];	/* x-ms-region */
	char		azure_tier[64]; /* pricing tier named in Azure 429s */
	int64_t		azure_rpm_window_s; /* Azure RPM sub-window: 1, 10 or 60 */
} EmuConfig;

extern bool emu_config_parse(const char *text, size_t len, EmuConfig *cfg,
							 char *err, size_t errlen);
extern bool emu_config_load(const char *path, EmuConfig *cfg, char *err,
							size_t errlen);
extern void emu_config_free(EmuConfig *cfg);
extern bool emu_faults_apply_json(json_t *obj, EmuFaults *f, char *err,
								  size_t errlen);
extern bool emu_limits_apply_json(json_t *obj, EmuProvider p,
								  int64_t limits[EMU_DIM_COUNT], char *err,
								  size_t errlen);
extern bool emu_config_model_allowed(const EmuConfig *cfg,
									 const EmuKeyConfig *key,
									 const char *model, int64_t *max_out);
extern int64_t emu_config_context_window(const EmuConfig *cfg,
										 EmuProvider p, const char *model);
extern int	emu_faults_error_status(const EmuFaults *f, EmuProvider p);
extern double emu_faults_rate_sum(const EmuFaults *f);
extern int64_t emu_faults_oversized_bytes(const EmuFaults *f);
extern int64_t emu_faults_big_headers_bytes(const EmuFaults *f);
extern int64_t emu_faults_drip_ms(const EmuFaults *f);
extern void emu_faults_render(const EmuFaults *f, EmuBuf *out);
extern void emu_limits_render(const int64_t limits[EMU_DIM_COUNT],
							  EmuProvider p, EmuBuf *out);

#endif							/* EMU_CONFIG_H */
