/*-------------------------------------------------------------------------
 * jansson_compat.c
 *	  An empty JSON object made inside libjansson (see jansson_compat.h).
 *
 * IDENTIFICATION
 *	  src/jansson_compat.c
 *-------------------------------------------------------------------------
 */
#include <jansson.h>

json_t	   *aigov_json_new_object(void);

/*
 * aigov_json_new_object
 *		json_object() without naming it: json_pack's own call to it binds
 *		inside libjansson.  The caller owns the reference.
 */
json_t *
aigov_json_new_object(void)
{
	return json_pack("{}");
}
