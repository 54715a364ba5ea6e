/*-------------------------------------------------------------------------
 * translate_messages.c
 *	  OpenAI messages[] -> Anthropic messages / Gemini contents.
 *
 * Shared by both translated targets: the walk over the conversation, the
 * content parts (text, images, audio), tool calls and tool results, and
 * the merging of consecutive turns of one role.  Where the two targets
 * want different shapes, the branch is on cx->target right here, next
 * to the OpenAI field it maps.  The mapping follows docs/providers.md
 * §1.4, §3.4 and §4.3.
 *
 * IDENTIFICATION
 *	  src/translate_messages.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "translate_int.h"

/* Which kind of OpenAI message a content field belongs to. */
typedef enum MsgKind
{
	MSG_SYSTEM,
	MSG_USER,
	MSG_ASSISTANT,
	MSG_TOOL
} MsgKind;

static const char *const kind_names[] = {"system", "user", "assistant", "tool"};


/* ---------------------------------------------------------------------
 * Content parts
 * ---------------------------------------------------------------------
 */

/* ASCII case-insensitive prefix test on a counted string. */
static bool
has_prefix_ci(const char *s, size_t len, const char *prefix)
{
	size_t		plen = strlen(prefix);

	if (len < plen)
		return false;
	for (size_t i = 0; i < plen; i++)
	{
		unsigned char a = (unsigned char) s[i];
		unsigned char b = (unsigned char) prefix[i];

		if (a >= 'A' && a <= 'Z')
			a = (unsigned char) (a - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

/* A text block in the target's shape. */
static json_t *
text_block(TxCtx *cx, const char *s, size_t n)
{
	json_t	   *t = str_n(s, n);

	if (t == NULL)
		return NULL;
	if (cx->target == AIGOV_API_ANTHROPIC)
		return json_pack("{s:s,s:o}", "type", "text", "text", t);
	return json_pack("{s:o}", "text", t);
}

/* Append a non-empty text block; the targets reject empty text blocks. */
bool
aigov_tx_add_text(TxCtx *cx, json_t *blocks, const char *s, size_t n)
{
	if (n == 0)
		return true;
	return push(cx, blocks, text_block(cx, s, n));
}

/*
 * Split a "data:<mime>[;...];base64,<data>" URL.  Only base64 data URLs
 * are accepted, since both targets want base64 payloads.
 */
static bool
split_data_url(const char *url, size_t len,
			   const char **mime, size_t *mime_len,
			   const char **data, size_t *data_len)
{
	const char *header;
	const char *comma;
	const char *semi;
	size_t		hlen;

	if (!has_prefix_ci(url, len, "data:"))
		return false;
	header = url + 5;
	comma = memchr(header, ',', len - 5);
	if (comma == NULL)
		return false;
	hlen = (size_t) (comma - header);
	if (hlen < 7 || !has_prefix_ci(comma - 7, 7, ";base64"))
		return false;
	semi = memchr(header, ';', hlen);
	*mime = header;
	*mime_len = (size_t) (semi - header);
	*data = comma + 1;
	*data_len = len - (size_t) (*data - url);
	return *mime_len > 0 && *data_len > 0;
}

/* image_url content part -> Anthropic image block / Gemini part. */
static bool
add_image(TxCtx *cx, json_t *blocks, const json_t *part, size_t mi, size_t pi)
{
	json_t	   *iu = get(part, "image_url");
	json_t	   *urlv;
	const char *url;
	size_t		ulen;
	const char *mime;
	const char *data;
	size_t		mime_len;
	size_t		data_len;
	json_t	   *detail;
	json_t	   *blk;

	/* some clients send the URL as a bare string */
	urlv = json_is_string(iu) ? iu : get(iu, "url");
	if (!json_is_string(urlv))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "messages[%zu].content[%zu].image_url.url is missing", mi, pi);
	url = json_string_value(urlv);
	ulen = json_string_length(urlv);

	detail = get(iu, "detail");
	if (json_is_string(detail) && strcmp(json_string_value(detail), "auto") != 0)
		aigov_tx_note(cx, "image_url.detail", "ignored");

	if (split_data_url(url, ulen, &mime, &mime_len, &data, &data_len))
	{
		if (cx->target == AIGOV_API_ANTHROPIC)
			blk = json_pack("{s:s,s:{s:s,s:s%,s:s%}}", "type", "image",
							"source", "type", "base64",
							"media_type", mime, mime_len,
							"data", data, data_len);
		else
			blk = json_pack("{s:{s:s%,s:s%}}", "inlineData",
							"mimeType", mime, mime_len,
							"data", data, data_len);
		return push(cx, blocks, blk);
	}
	if (has_prefix_ci(url, ulen, "http://") || has_prefix_ci(url, ulen, "https://"))
	{
		if (cx->target == AIGOV_API_ANTHROPIC)
			return push(cx, blocks,
						json_pack("{s:s,s:{s:s,s:O}}", "type", "image",
								  "source", "type", "url", "url", urlv));

		/*
		 * Gemini only reads inline data or uploaded files; the closest we can
		 * do is tell the model where the image is.
		 */
		if (!aigov_tx_degrade(cx, "image_url", "sent_as_text",
							  "gemini cannot fetch remote image URLs"))
			return false;
		{
			StrBuf		sb = {0};
			bool		ok;

			ok = aigov_tx_sb_add(&sb, "[image: ", 8) &&
				aigov_tx_sb_add(&sb, url, ulen) &&
				aigov_tx_sb_add(&sb, "]", 1);
			ok = ok && aigov_tx_add_text(cx, blocks, sb.data, sb.len);
			free(sb.data);
			return ok || oom(cx);
		}
	}
	return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
						 "messages[%zu].content[%zu].image_url: only base64 data: URLs and http(s) URLs are supported",
						 mi, pi);
}

/* input_audio content part -> Gemini inline audio (Anthropic has none). */
static bool
add_audio(TxCtx *cx, json_t *blocks, const json_t *part, size_t mi, size_t pi)
{
	json_t	   *ia = get(part, "input_audio");
	json_t	   *data = get(ia, "data");
	json_t	   *format = get(ia, "format");
	StrBuf		mime = {0};
	bool		ok;

	if (cx->target != AIGOV_API_GEMINI)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
							 "messages[%zu].content[%zu]: audio input is not supported by %s",
							 mi, pi, aigov_tx_style_name(cx->target));
	if (!json_is_string(data) || !json_is_string(format) ||
		json_string_length(format) == 0)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "messages[%zu].content[%zu].input_audio needs data and format",
							 mi, pi);
	if (!aigov_tx_sb_add(&mime, "audio/", 6) ||
		!aigov_tx_sb_add(&mime, json_string_value(format),
						 json_string_length(format)))
	{
		free(mime.data);
		return oom(cx);
	}
	ok = push(cx, blocks, json_pack("{s:{s:s%,s:O}}", "inlineData",
									"mimeType", mime.data, mime.len,
									"data", data));
	free(mime.data);
	return ok;
}

/*
 * Convert an OpenAI message content (string, array of parts, or null) into
 * target blocks appended to "blocks".  Which part types are legal depends
 * on the message kind, as in OpenAI.
 */
static bool
convert_content(TxCtx *cx, const json_t *content, MsgKind kind, size_t mi,
				json_t *blocks)
{
	size_t		pi;
	json_t	   *part;

	if (content == NULL)
	{
		if (kind == MSG_ASSISTANT)
			return true;
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "messages[%zu].content is missing", mi);
	}
	if (json_is_string(content))
		return aigov_tx_add_text(cx, blocks, json_string_value(content),
								 json_string_length(content));
	if (!json_is_array(content))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "messages[%zu].content must be a string or an array", mi);

	json_array_foreach(content, pi, part)
	{
		const char *type = json_string_value(get(part, "type"));
		json_t	   *text;

		if (type == NULL)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "messages[%zu].content[%zu].type is missing",
								 mi, pi);
		if (strcmp(type, "text") == 0 ||
			(strcmp(type, "refusal") == 0 && kind == MSG_ASSISTANT))
		{
			text = get(part, type);
			if (!json_is_string(text))
				return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
									 "messages[%zu].content[%zu].%s is not a string",
									 mi, pi, type);
			if (!aigov_tx_add_text(cx, blocks, json_string_value(text),
								   json_string_length(text)))
				return false;
		}
		else if (strcmp(type, "image_url") == 0 && kind == MSG_USER)
		{
			if (!add_image(cx, blocks, part, mi, pi))
				return false;
		}
		else if (strcmp(type, "input_audio") == 0 && kind == MSG_USER)
		{
			if (!add_audio(cx, blocks, part, mi, pi))
				return false;
		}
		else
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
								 "messages[%zu].content[%zu]: part type \"%.*s\" in a %s message is not supported",
								 mi, pi, QUOTE_MAX, type, kind_names[kind]);
	}
	return true;
}

/*
 * Concatenate the text of a tool message's content (a string or text
 * parts) into sb.
 */
static bool
content_text(TxCtx *cx, const json_t *content, size_t mi, StrBuf *sb)
{
	size_t		pi;
	json_t	   *part;

	if (json_is_string(content))
		return aigov_tx_sb_add(sb, json_string_value(content),
							   json_string_length(content)) || oom(cx);
	if (!json_is_array(content))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "messages[%zu].content must be a string or an array", mi);
	json_array_foreach(content, pi, part)
	{
		const char *type = json_string_value(get(part, "type"));
		json_t	   *text = get(part, "text");

		if (type == NULL || strcmp(type, "text") != 0)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
								 "messages[%zu].content[%zu]: only text parts are supported in a tool message",
								 mi, pi);
		if (!json_is_string(text))
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "messages[%zu].content[%zu].text is not a string", mi, pi);
		if (!aigov_tx_sb_add(sb, json_string_value(text),
							 json_string_length(text)))
			return oom(cx);
	}
	return true;
}


/* ---------------------------------------------------------------------
 * Turns, tool calls and tool results
 * ---------------------------------------------------------------------
 */

/*
 * Append blocks as a turn of the given role, merging into the previous turn
 * when it has the same role: Anthropic wants strictly alternating roles
 * and all tool_result blocks of one step in one user message; Gemini
 * wants all functionResponse parts of one step in one turn.  Steals blocks.
 */
static bool
append_turn(TxCtx *cx, json_t *turns, const char *role, json_t *blocks)
{
	const char *key = cx->target == AIGOV_API_ANTHROPIC ? "content" : "parts";
	size_t		n = json_array_size(turns);
	json_t	   *last;

	if (blocks == NULL)
		return oom(cx);
	if (json_array_size(blocks) == 0)
	{
		json_decref(blocks);
		return true;
	}
	last = n > 0 ? json_array_get(turns, n - 1) : NULL;
	if (last != NULL &&
		strcmp(json_string_value(json_object_get(last, "role")), role) == 0)
	{
		int			rc = json_array_extend(json_object_get(last, key), blocks);

		json_decref(blocks);
		return rc == 0 || oom(cx);
	}
	return push(cx, turns, json_pack("{s:s,s:o}", "role", role, key, blocks));
}

/*
 * Anthropic tool_use ids must match [a-zA-Z0-9_-]+; replace anything else
 * with '_' (applied identically to tool_use and tool_result ids, so pairs
 * stay matched).
 */
static json_t *
anthropic_tool_id(const json_t *id)
{
	size_t		n = json_string_length(id);
	char	   *s = malloc(n + 1);
	json_t	   *r;

	if (s == NULL)
		return NULL;
	memcpy(s, json_string_value(id), n + 1);
	for (size_t i = 0; i < n; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-'))
			s[i] = '_';
	}
	r = json_stringn(s, n);
	free(s);
	return r;
}

/* An assistant message's tool_calls -> tool_use blocks / functionCall parts. */
static bool
convert_tool_calls(TxCtx *cx, const json_t *calls, size_t mi, ReqParts *rp,
				   json_t *blocks)
{
	size_t		ci;
	json_t	   *call;

	if (!json_is_array(calls))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "messages[%zu].tool_calls is not an array", mi);
	json_array_foreach(calls, ci, call)
	{
		json_t	   *id = get(call, "id");
		const char *type = json_string_value(get(call, "type"));
		json_t	   *fn = get(call, "function");
		json_t	   *name = get(fn, "name");
		json_t	   *args = get(fn, "arguments");
		json_t	   *input;
		char		what[96];

		if (!json_is_string(id) || json_string_length(id) == 0)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "messages[%zu].tool_calls[%zu].id is missing",
								 mi, ci);
		if (type != NULL && strcmp(type, "function") != 0)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
								 "messages[%zu].tool_calls[%zu]: type \"%.*s\" is not supported",
								 mi, ci, QUOTE_MAX, type);
		if (!json_is_string(name) || json_string_length(name) == 0)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "messages[%zu].tool_calls[%zu].function.name is missing",
								 mi, ci);
		snprintf(what, sizeof(what),
				 "messages[%zu].tool_calls[%zu].function.arguments", mi, ci);
		if (args == NULL)
			input = aigov_tx_parse_object_text(cx, "", 0, what);
		else if (json_is_string(args))
			input = aigov_tx_parse_object_text(cx, json_string_value(args),
											   json_string_length(args), what);
		else if (json_is_object(args))
			input = json_incref(args);
		else
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "%s is not a JSON string",
								 what);
		if (input == NULL)
			return false;

		if (cx->target == AIGOV_API_ANTHROPIC)
		{
			json_t	   *tid = anthropic_tool_id(id);

			if (tid == NULL)
			{
				json_decref(input);
				return oom(cx);
			}
			if (!push(cx, blocks,
					  json_pack("{s:s,s:o,s:O,s:o}", "type", "tool_use",
								"id", tid, "name", name, "input", input)))
				return false;
		}
		else
		{
			if (!push(cx, blocks,
					  json_pack("{s:{s:O,s:o}}", "functionCall",
								"name", name, "args", input)))
				return false;
			/* Gemini matches responses by name: remember id -> name */
			if (json_object_set(rp->call_names, json_string_value(id), name) != 0)
				return oom(cx);
		}
	}
	return true;
}

/* A tool message -> Anthropic tool_result block / Gemini functionResponse. */
static bool
convert_tool_message(TxCtx *cx, const json_t *msg, size_t mi, ReqParts *rp,
					 json_t *blocks)
{
	json_t	   *id = get(msg, "tool_call_id");
	json_t	   *content = get(msg, "content");
	StrBuf		sb = {0};
	bool		ok = false;

	if (!json_is_string(id) || json_string_length(id) == 0)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "messages[%zu].tool_call_id is missing", mi);
	if (content != NULL && !content_text(cx, content, mi, &sb))
		goto done;
	if (!aigov_tx_sb_add(&sb, "", 0))	/* make sb.data non-NULL */
	{
		oom(cx);
		goto done;
	}

	if (cx->target == AIGOV_API_ANTHROPIC)
	{
		json_t	   *tid = anthropic_tool_id(id);
		json_t	   *blk;

		if (tid == NULL)
		{
			oom(cx);
			goto done;
		}
		blk = json_pack("{s:s,s:o}", "type", "tool_result", "tool_use_id", tid);
		if (blk != NULL && sb.len > 0 &&
			json_object_set_new(blk, "content", str_n(sb.data, sb.len)) != 0)
		{
			json_decref(blk);
			blk = NULL;
		}
		ok = push(cx, blocks, blk);
	}
	else
	{
		json_t	   *name = json_object_get(rp->call_names, json_string_value(id));
		json_t	   *response;
		json_error_t jerr;

		if (name == NULL)
		{
			aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						  "messages[%zu].tool_call_id \"%.*s\" matches no earlier tool call",
						  mi, QUOTE_MAX, json_string_value(id));
			goto done;
		}

		/*
		 * functionResponse.response must be an object: a tool that returned a
		 * JSON object is passed as such, anything else is wrapped as
		 * {"output": text}.
		 */
		response = json_loadb(sb.data, sb.len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(response))
		{
			json_decref(response);
			response = json_pack("{s:s%}", "output", sb.data, sb.len);
		}
		if (response == NULL)
		{
			oom(cx);
			goto done;
		}
		ok = push(cx, blocks,
				  json_pack("{s:{s:O,s:o}}", "functionResponse",
							"name", name, "response", response));
	}
done:
	free(sb.data);
	return ok;
}

/*
 * The fields of a message besides its content: what cannot be carried is
 * refused, what does not matter to the target is noted as ignored.
 * Message names are noted by the caller.
 */
static bool
check_message_fields(TxCtx *cx, const json_t *msg, size_t mi)
{
	const char *key;
	json_t	   *val;

	json_object_foreach((json_t *) msg, key, val)
	{
		if (json_is_null(val) || strcmp(key, "role") == 0 ||
			strcmp(key, "content") == 0 || strcmp(key, "name") == 0 ||
			strcmp(key, "tool_calls") == 0 ||
			strcmp(key, "tool_call_id") == 0 || strcmp(key, "refusal") == 0)
			continue;
		if (strcmp(key, "audio") == 0)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
								 "messages[%zu].audio: an earlier audio reply cannot be sent to %s",
								 mi, aigov_tx_style_name(cx->target));
		if (strcmp(key, "function_call") == 0)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
								 "messages[%zu].function_call: legacy function calling is not supported; use tool_calls",
								 mi);
		{
			char		feature[64];

			snprintf(feature, sizeof(feature), "messages.%.40s", key);
			aigov_tx_note(cx, feature, "ignored");
		}
	}
	return true;
}

/*
 * An assistant message's refusal (the text OpenAI returns instead of
 * content when the model declines) is what the assistant said: it goes on
 * as text, as a refusal content part does.
 */
static bool
add_refusal(TxCtx *cx, const json_t *msg, size_t mi, json_t *blocks)
{
	json_t	   *r = get(msg, "refusal");

	if (r == NULL)
		return true;
	if (!json_is_string(r))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "messages[%zu].refusal is not a string", mi);
	return aigov_tx_add_text(cx, blocks, json_string_value(r),
							 json_string_length(r));
}

/* Walk messages[], filling rp->system and rp->turns. */
bool
aigov_tx_convert_messages(TxCtx *cx, const json_t *messages, ReqParts *rp)
{
	size_t		mi;
	json_t	   *msg;
	bool		anthropic = cx->target == AIGOV_API_ANTHROPIC;

	if (!json_is_array(messages))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "messages is missing or not an array");
	if (json_array_size(messages) == 0)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "messages is empty");

	json_array_foreach(messages, mi, msg)
	{
		const char *role;
		json_t	   *content;
		json_t	   *blocks;
		json_t	   *calls;

		if (!json_is_object(msg))
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "messages[%zu] is not an object", mi);
		role = json_string_value(get(msg, "role"));
		if (role == NULL)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "messages[%zu].role is missing or not a string", mi);
		content = get(msg, "content");
		if (json_is_string(get(msg, "name")))
			aigov_tx_note(cx, "messages.name", "ignored");
		if (!check_message_fields(cx, msg, mi))
			return false;

		if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)
		{
			/*
			 * Both targets take one system prompt ahead of the conversation;
			 * an instruction given mid-conversation loses its position.
			 */
			if (rp->seen_turn &&
				!aigov_tx_degrade(cx, "system", "moved_to_top",
								  "a system message after the first turn has no equivalent position"))
				return false;
			if (!convert_content(cx, content, MSG_SYSTEM, mi, rp->system))
				return false;
			continue;
		}

		rp->seen_turn = true;
		blocks = json_array();
		if (blocks == NULL)
			return oom(cx);
		if (strcmp(role, "user") == 0)
		{
			if (!convert_content(cx, content, MSG_USER, mi, blocks))
				goto fail_blocks;
			if (!append_turn(cx, rp->turns, "user", blocks))
				return false;
		}
		else if (strcmp(role, "assistant") == 0)
		{
			if (!convert_content(cx, content, MSG_ASSISTANT, mi, blocks) ||
				!add_refusal(cx, msg, mi, blocks))
				goto fail_blocks;
			calls = get(msg, "tool_calls");
			if (calls != NULL &&
				!convert_tool_calls(cx, calls, mi, rp, blocks))
				goto fail_blocks;

			/* a trailing assistant turn is checked by aigov_tx_ensure_turns */
			if (!append_turn(cx, rp->turns, anthropic ? "assistant" : "model",
							 blocks))
				return false;
		}
		else if (strcmp(role, "tool") == 0)
		{
			if (!convert_tool_message(cx, msg, mi, rp, blocks))
				goto fail_blocks;
			if (!append_turn(cx, rp->turns, "user", blocks))
				return false;
		}
		else if (strcmp(role, "function") == 0)
		{
			json_decref(blocks);
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
								 "messages[%zu]: role \"function\" (legacy function calling) is not supported",
								 mi);
		}
		else
		{
			json_decref(blocks);
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "messages[%zu].role \"%.*s\" is unknown",
								 mi, QUOTE_MAX, role);
		}
		continue;
fail_blocks:
		json_decref(blocks);
		return false;
	}
	return true;
}

/*
 * With no user/assistant content left (e.g. a lone developer message,
 * which OpenAI answers), the instructions must travel as the user turn.
 * A conversation that ends with an assistant turn is an approximation.
 */
bool
aigov_tx_ensure_turns(TxCtx *cx, ReqParts *rp)
{
	size_t		n = json_array_size(rp->turns);

	if (n > 0)
	{
		const char *last = json_string_value(json_object_get(json_array_get(rp->turns, n - 1),
															 "role"));

		/*
		 * OpenAI answers a conversation that ends with an assistant message
		 * with a new message; Anthropic and Gemini continue that message
		 * instead (a prefill), so the reply would hold only its rest.
		 */
		if (strcmp(last, "user") != 0 &&
			!aigov_tx_degrade(cx, "messages.last_assistant", "continued",
							  "the target continues a final assistant message instead of answering it"))
			return false;
		return true;
	}
	if (json_array_size(rp->system) == 0)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "messages contain no content to send");
	if (!aigov_tx_degrade(cx, "system", "sent_as_user",
						  "the conversation has no user turn"))
		return false;
	if (!append_turn(cx, rp->turns, "user", json_incref(rp->system)))
		return false;
	json_decref(rp->system);
	rp->system = json_array();
	return rp->system != NULL || oom(cx);
}
