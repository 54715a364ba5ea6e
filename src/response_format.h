/*-------------------------------------------------------------------------
 * response_format.h
 *	  The enqueue-time check of a request's response_format JSON schema.
 *
 * IDENTIFICATION
 *	  src/response_format.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_RESPONSE_FORMAT_H
#define AIGOV_RESPONSE_FORMAT_H

extern void AigovCheckResponseFormat(const char *body, size_t len);

#endif							/* AIGOV_RESPONSE_FORMAT_H */
