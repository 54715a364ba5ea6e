/*-------------------------------------------------------------------------
 * reply.c
 *	  Request parsing and response bodies of the provider dialects.
 *
 * The reply is a deterministic function of the request: "echo: " followed
 * by the last user text (at most EMU_ECHO_MAX bytes), so a test can tell
 * that job 17 got job 17's answer.  A request asking for structured output
 * gets JSON built from its schema (schema.c) with that text in the first
 * free string; one offering tools gets a call of the chosen tool.
 *
 * Token estimate, reported as prompt usage and charged to the buckets:
 * ceil(text bytes / 4) + 2 per message (the system prompt counts as one).
 * It gives 4 tokens for "Hello!", what a real capture charged.  Completion
 * tokens are ceil(reply bytes / 4), capped by the request's output limit.
 *
 * Azure OpenAI takes the OpenAI body (the deployment in the URL is the
 * model; a "model" member is ignored) and answers the OpenAI body plus
 * content-filter results.  Its own errors (auth, unknown deployment, rate
 * limits) use {"error":{"code":"<string>","message":...}} without "type".
 *
 * Bodies are written with printf into an EmuBuf (fast); jansson is used
 * only to read requests and to build schema instances.
 *
 * IDENTIFICATION
 *	  emulator/reply.c
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "headers.h"
#include "reply.h"
#include "schema.h"

#define PER_MESSAGE_TOKENS	2

/* Accumulates message text while a request is scanned. */
typedef struct TextScan
{
	int64_t		chars;			/* all text bytes */
	int64_t		messages;
} TextScan;

/* Set err to a message and return EMU_PARSE_INVALID. */
static EmuParseStatus
invalid(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return EMU_PARSE_INVALID;
}

/*
 * Largest prefix of s[0..len) of at most "max" bytes that ends on a UTF-8
 * character boundary.
 */
size_t
emu_utf8_cut(const char *s, size_t len, size_t max)
{
	size_t		n;

	if (len <= max)
		return len;
	n = max;
	while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* Copy up to EMU_ECHO_MAX bytes of text into req->echo. */
static void
set_echo(EmuRequest *req, const char *text, size_t len)
{
	size_t		n = emu_utf8_cut(text, len, EMU_ECHO_MAX);

	memcpy(req->echo, text, n);
	req->echo[n] = '\0';
}

/*
 * Text of a content value: a string, or an array of parts whose "text"
 * members are taken when their type is one of text/input_text (or absent,
 * as in Gemini parts).  Counts every byte into "scan"; when "collect" is
 * not NULL also gathers the text there, parts separated by newlines.
 * Returns true if any text was found.
 */
static bool
content_text(json_t *content, TextScan *scan, EmuBuf *collect)
{
	bool		found = false;
	size_t		i;
	json_t	   *part;

	if (json_is_string(content))
	{
		size_t		n = json_string_length(content);

		scan->chars += (int64_t) n;
		if (collect)
			emu_buf_append(collect, json_string_value(content), n);
		return true;
	}
	if (!json_is_array(content))
		return false;
	json_array_foreach(content, i, part)
	{
		const char *type = json_string_value(json_object_get(part, "type"));
		json_t	   *text = json_object_get(part, "text");

		if (json_is_string(text) &&
			(type == NULL || strcmp(type, "text") == 0 ||
			 strcmp(type, "input_text") == 0))
		{
			if (collect && found)
				emu_buf_append(collect, "\n", 1);
			content_text(text, scan, collect);
			found = true;
		}
		else if (type != NULL && strcmp(type, "tool_result") == 0)
			content_text(json_object_get(part, "content"), scan, NULL);
		else if (json_is_object(json_object_get(part, "functionResponse")))
		{
			char	   *dump = json_dumps(json_object_get(part, "functionResponse"),
										  JSON_COMPACT);

			if (dump)
			{
				scan->chars += (int64_t) strlen(dump);
				free(dump);
			}
		}
	}
	return found;
}

/*
 * Read an optional positive integer output cap into *out.  Returns false
 * (with err set) if present but not an integer >= 1.
 */
static bool
read_max_tokens(json_t *v, const char *name, int64_t *out, char *err,
				size_t errlen)
{
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 1)
	{
		snprintf(err, errlen,
				 "Invalid '%s': expected an integer >= 1.", name);
		return false;
	}
	*out = (int64_t) json_integer_value(v);
	return true;
}

static void
set_tool(EmuRequest *req, const char *name, json_t *schema)
{
	snprintf(req->tool_name, sizeof(req->tool_name), "%s",
			 name != NULL ? name : "tool");
	req->tool_schema = schema;
	req->out = EMU_OUT_TOOL;
}

/*
 * Parse an OpenAI chat body.  "path_model" (Azure: the deployment named in
 * the URL) replaces the body's "model", which may then be absent.
 */
static EmuParseStatus
parse_openai(EmuRequest *req, const char *path_model, char *err,
			 size_t errlen)
{
	json_t	   *root = req->root;
	json_t	   *msgs = json_object_get(root, "messages");
	json_t	   *rf = json_object_get(root, "response_format");
	json_t	   *tools = json_object_get(root, "tools");
	json_t	   *choice = json_object_get(root, "tool_choice");
	const char *model = json_string_value(json_object_get(root, "model"));
	TextScan	scan = {0, 0};
	EmuBuf		last;
	bool		last_is_tool = false;
	size_t		i;
	json_t	   *m;

	if (path_model != NULL)
		model = path_model;
	if (model == NULL)
		return invalid(err, errlen, "you must provide a model parameter");
	snprintf(req->model, sizeof(req->model), "%s", model);
	if (!json_is_array(msgs) || json_array_size(msgs) == 0)
		return invalid(err, errlen, "[] is too short - 'messages'");
	if (json_is_true(json_object_get(root, "stream")))
		return invalid(err, errlen,
					   "stream=true is not supported by the emulator");
	if (!read_max_tokens(json_object_get(root, "max_tokens"), "max_tokens",
						 &req->max_tokens, err, errlen) ||
		!read_max_tokens(json_object_get(root, "max_completion_tokens"),
						 "max_completion_tokens", &req->max_tokens, err,
						 errlen))
		return EMU_PARSE_INVALID;

	emu_buf_init(&last);
	json_array_foreach(msgs, i, m)
	{
		const char *role = json_string_value(json_object_get(m, "role"));
		json_t	   *calls = json_object_get(m, "tool_calls");
		size_t		j;
		json_t	   *c;

		if (!json_is_object(m) || role == NULL)
		{
			emu_buf_free(&last);
			return invalid(err, errlen,
						   "Missing required parameter: 'messages[].role'.");
		}
		scan.messages++;
		if (strcmp(role, "user") == 0)
		{
			emu_buf_reset(&last);
			content_text(json_object_get(m, "content"), &scan, &last);
		}
		else
			content_text(json_object_get(m, "content"), &scan, NULL);
		json_array_foreach(calls, j, c)
		{
			json_t	   *args = json_object_get(json_object_get(c, "function"),
											   "arguments");

			if (json_is_string(args))
				scan.chars += (int64_t) json_string_length(args);
		}
		last_is_tool = strcmp(role, "tool") == 0;
	}
	set_echo(req, last.data ? last.data : "", last.len);
	emu_buf_free(&last);
	req->prompt_tokens = emu_ceil_div(scan.chars, 4) +
		PER_MESSAGE_TOKENS * scan.messages;

	if (json_is_object(rf))
	{
		const char *t = json_string_value(json_object_get(rf, "type"));

		if (t != NULL && strcmp(t, "json_schema") == 0)
		{
			req->out = EMU_OUT_JSON_SCHEMA;
			req->schema = json_object_get(json_object_get(rf, "json_schema"),
										  "schema");
		}
		else if (t != NULL && strcmp(t, "json_object") == 0)
			req->out = EMU_OUT_JSON_OBJECT;
	}

	/*
	 * Tools win over response_format, as a model that decides to call a tool
	 * does.  After a tool result the model answers in text unless the caller
	 * forces a call.
	 */
	if (json_is_array(tools) && json_array_size(tools) > 0)
	{
		const char *cs = json_string_value(choice);
		const char *forced = json_string_value(
											   json_object_get(json_object_get(choice, "function"), "name"));
		bool		force = forced != NULL || (cs && strcmp(cs, "required") == 0);
		json_t	   *tool = json_array_get(tools, 0);

		if (cs != NULL && strcmp(cs, "none") == 0)
			return EMU_PARSE_OK;
		if (last_is_tool && !force)
			return EMU_PARSE_OK;
		if (forced != NULL)
		{
			json_array_foreach(tools, i, m)
			{
				const char *n = json_string_value(
												  json_object_get(json_object_get(m, "function"), "name"));

				if (n != NULL && strcmp(n, forced) == 0)
					tool = m;
			}
		}
		set_tool(req,
				 json_string_value(json_object_get(json_object_get(tool, "function"), "name")),
				 json_object_get(json_object_get(tool, "function"), "parameters"));
	}
	return EMU_PARSE_OK;
}

static EmuParseStatus
parse_anthropic(EmuRequest *req, char *err, size_t errlen)
{
	json_t	   *root = req->root;
	json_t	   *msgs = json_object_get(root, "messages");
	json_t	   *tools = json_object_get(root, "tools");
	json_t	   *choice = json_object_get(root, "tool_choice");
	json_t	   *fmt;
	const char *model = json_string_value(json_object_get(root, "model"));
	TextScan	scan = {0, 0};
	EmuBuf		last;
	bool		last_is_tool = false;
	size_t		i;
	json_t	   *m;

	if (model == NULL)
		return invalid(err, errlen, "model: Field required");
	snprintf(req->model, sizeof(req->model), "%s", model);
	if (json_object_get(root, "max_tokens") == NULL)
		return invalid(err, errlen, "max_tokens: Field required");
	if (!read_max_tokens(json_object_get(root, "max_tokens"), "max_tokens",
						 &req->max_tokens, err, errlen))
		return EMU_PARSE_INVALID;
	if (!json_is_array(msgs) || json_array_size(msgs) == 0)
		return invalid(err, errlen, "messages: at least one message is required");
	if (json_is_true(json_object_get(root, "stream")))
		return invalid(err, errlen,
					   "stream: streaming is not supported by the emulator");
	if (json_object_get(root, "system") != NULL)
	{
		content_text(json_object_get(root, "system"), &scan, NULL);
		scan.messages++;
	}

	emu_buf_init(&last);
	json_array_foreach(msgs, i, m)
	{
		const char *role = json_string_value(json_object_get(m, "role"));
		json_t	   *content = json_object_get(m, "content");
		EmuBuf		text;
		size_t		j;
		json_t	   *b;

		if (role == NULL ||
			(strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0))
		{
			emu_buf_free(&last);
			return invalid(err, errlen,
						   "messages: roles must be 'user' or 'assistant'");
		}
		scan.messages++;
		last_is_tool = false;
		json_array_foreach(content, j, b)
		{
			const char *t = json_string_value(json_object_get(b, "type"));

			if (t != NULL && strcmp(t, "tool_result") == 0)
				last_is_tool = true;
		}
		emu_buf_init(&text);
		/* the last user message that has text, skipping pure tool results */
		if (content_text(content, &scan, &text) && strcmp(role, "user") == 0)
		{
			emu_buf_free(&last);
			last = text;
		}
		else
			emu_buf_free(&text);
	}
	set_echo(req, last.data ? last.data : "", last.len);
	emu_buf_free(&last);
	req->prompt_tokens = emu_ceil_div(scan.chars, 4) +
		PER_MESSAGE_TOKENS * scan.messages;

	/* GA output_config.format, or the earlier beta output_format */
	fmt = json_object_get(json_object_get(root, "output_config"), "format");
	if (fmt == NULL)
		fmt = json_object_get(root, "output_format");
	if (json_is_object(fmt))
	{
		const char *t = json_string_value(json_object_get(fmt, "type"));

		if (t != NULL && strcmp(t, "json_schema") == 0)
		{
			req->out = EMU_OUT_JSON_SCHEMA;
			req->schema = json_object_get(fmt, "schema");
		}
	}

	if (json_is_array(tools) && json_array_size(tools) > 0)
	{
		const char *ct = json_string_value(json_object_get(choice, "type"));
		const char *forced = NULL;
		bool		force;
		json_t	   *tool = json_array_get(tools, 0);

		if (ct != NULL && strcmp(ct, "none") == 0)
			return EMU_PARSE_OK;
		if (ct != NULL && strcmp(ct, "tool") == 0)
			forced = json_string_value(json_object_get(choice, "name"));
		force = forced != NULL || (ct != NULL && strcmp(ct, "any") == 0);
		if (last_is_tool && !force)
			return EMU_PARSE_OK;
		if (forced != NULL)
		{
			json_array_foreach(tools, i, m)
			{
				const char *n = json_string_value(json_object_get(m, "name"));

				if (n != NULL && strcmp(n, forced) == 0)
					tool = m;
			}
		}
		set_tool(req, json_string_value(json_object_get(tool, "name")),
				 json_object_get(tool, "input_schema"));
	}
	return EMU_PARSE_OK;
}

static EmuParseStatus
parse_gemini(EmuRequest *req, const char *path_model, char *err,
			 size_t errlen)
{
	json_t	   *root = req->root;
	json_t	   *contents = json_object_get(root, "contents");
	json_t	   *gc = json_object_get(root, "generationConfig");
	json_t	   *tools = json_object_get(root, "tools");
	json_t	   *fcc = json_object_get(json_object_get(root, "toolConfig"),
									  "functionCallingConfig");
	const char *mime = json_string_value(json_object_get(gc, "responseMimeType"));
	TextScan	scan = {0, 0};
	EmuBuf		last;
	bool		last_is_tool = false;
	size_t		i;
	json_t	   *c;

	snprintf(req->model, sizeof(req->model), "%s",
			 path_model != NULL ? path_model : "");
	if (!json_is_array(contents) || json_array_size(contents) == 0)
		return invalid(err, errlen,
					   "* GenerateContentRequest.contents: contents is not specified\n");
	if (!read_max_tokens(json_object_get(gc, "maxOutputTokens"),
						 "generation_config.max_output_tokens",
						 &req->max_tokens, err, errlen))
		return EMU_PARSE_INVALID;
	if (json_object_get(root, "systemInstruction") != NULL)
	{
		content_text(json_object_get(json_object_get(root, "systemInstruction"),
									 "parts"), &scan, NULL);
		scan.messages++;
	}

	emu_buf_init(&last);
	json_array_foreach(contents, i, c)
	{
		const char *role = json_string_value(json_object_get(c, "role"));
		json_t	   *parts = json_object_get(c, "parts");
		EmuBuf		text;
		size_t		j;
		json_t	   *p;

		if (!json_is_array(parts))
		{
			emu_buf_free(&last);
			return invalid(err, errlen,
						   "* GenerateContentRequest.contents[].parts: contents.parts must not be empty.\n");
		}
		scan.messages++;
		last_is_tool = false;
		json_array_foreach(parts, j, p)
		{
			if (json_object_get(p, "functionResponse") != NULL)
				last_is_tool = true;
		}
		emu_buf_init(&text);
		if (content_text(parts, &scan, &text) &&
			(role == NULL || strcmp(role, "user") == 0))
		{
			emu_buf_free(&last);
			last = text;
		}
		else
			emu_buf_free(&text);
	}
	set_echo(req, last.data ? last.data : "", last.len);
	emu_buf_free(&last);
	req->prompt_tokens = emu_ceil_div(scan.chars, 4) +
		PER_MESSAGE_TOKENS * scan.messages;

	if (mime != NULL && strcmp(mime, "application/json") == 0)
	{
		json_t	   *schema = json_object_get(gc, "responseJsonSchema");

		if (schema == NULL)
			schema = json_object_get(gc, "responseSchema");
		if (schema == NULL)
			schema = json_object_get(gc, "_responseJsonSchema");
		req->out = schema != NULL ? EMU_OUT_JSON_SCHEMA : EMU_OUT_JSON_OBJECT;
		req->schema = schema;
	}

	if (json_is_array(tools))
	{
		const char *mode = json_string_value(json_object_get(fcc, "mode"));
		const char *forced = json_string_value(
											   json_array_get(json_object_get(fcc, "allowedFunctionNames"), 0));
		bool		force = mode != NULL && strcmp(mode, "ANY") == 0;
		json_t	   *tool = NULL;
		json_t	   *t;

		if (mode != NULL && strcmp(mode, "NONE") == 0)
			return EMU_PARSE_OK;
		if (last_is_tool && !force)
			return EMU_PARSE_OK;
		json_array_foreach(tools, i, t)
		{
			json_t	   *decls = json_object_get(t, "functionDeclarations");
			size_t		j;
			json_t	   *d;

			json_array_foreach(decls, j, d)
			{
				const char *n = json_string_value(json_object_get(d, "name"));

				if (tool == NULL ||
					(forced != NULL && n != NULL && strcmp(n, forced) == 0))
					tool = d;
			}
		}
		if (tool != NULL)
		{
			json_t	   *params = json_object_get(tool, "parametersJsonSchema");

			if (params == NULL)
				params = json_object_get(tool, "parameters");
			set_tool(req, json_string_value(json_object_get(tool, "name")),
					 params);
		}
	}
	return EMU_PARSE_OK;
}

/*
 * Parse a request body of dialect p.  "path_model" is the model taken from
 * the URL (Gemini, and Azure's deployment).  On EMU_PARSE_OK the caller
 * must call emu_request_free; on failure nothing is left to free and "err"
 * holds the provider-style message.
 */
EmuParseStatus
emu_request_parse(EmuProvider p, const char *body, size_t len,
				  const char *path_model, EmuRequest *req, char *err,
				  size_t errlen)
{
	json_error_t jerr;
	EmuParseStatus st;

	memset(req, 0, sizeof(*req));
	req->max_tokens = -1;
	err[0] = '\0';
	req->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req->root == NULL || !json_is_object(req->root))
	{
		snprintf(err, errlen, "%s", req->root ? "body is not a JSON object" : jerr.text);
		json_decref(req->root);
		req->root = NULL;
		return EMU_PARSE_BAD_JSON;
	}
	switch (p)
	{
		case EMU_PROVIDER_OPENAI:
			st = parse_openai(req, NULL, err, errlen);
			break;
		case EMU_PROVIDER_AZURE:
			st = parse_openai(req, path_model, err, errlen);
			break;
		case EMU_PROVIDER_ANTHROPIC:
			st = parse_anthropic(req, err, errlen);
			break;
		default:
			st = parse_gemini(req, path_model, err, errlen);
			break;
	}
	if (st != EMU_PARSE_OK)
		emu_request_free(req);
	return st;
}

void
emu_request_free(EmuRequest *req)
{
	json_decref(req->root);
	req->root = NULL;
	req->schema = NULL;
	req->tool_schema = NULL;
}

/*
 * Tokens charged at admission.  OpenAI and Gemini charge the prompt
 * estimate plus the output cap (absent cap: nothing for the output), or
 * with EMU_CHARGE_MAX the larger of the two (OpenAI and Azure, which
 * describes its estimate the same way).  Anthropic charges the input only;
 * its output is charged after the reply.
 */
int64_t
emu_request_charge(EmuProvider p, const EmuRequest *req, EmuChargeMode mode)
{
	int64_t		out = req->max_tokens > 0 ? req->max_tokens : 0;

	switch (p)
	{
		case EMU_PROVIDER_ANTHROPIC:
			return req->prompt_tokens;
		case EMU_PROVIDER_OPENAI:
		case EMU_PROVIDER_AZURE:
			if (mode == EMU_CHARGE_MAX)
				return out > req->prompt_tokens ? out : req->prompt_tokens;
			return req->prompt_tokens + out;
		default:
			return req->prompt_tokens + out;
	}
}

/* The deterministic text reply: "echo: " + last user text. */
void
emu_reply_text(const EmuRequest *req, char *buf, size_t len)
{
	snprintf(buf, len, "echo: %s", req->echo);
}

/* Completion tokens of a reply of n bytes: ceil(n/4), at least 1. */
static int64_t
tokens_of(size_t n)
{
	int64_t		t = emu_ceil_div((int64_t) n, 4);

	return t < 1 ? 1 : t;
}

/* Short deterministic id suffix from the sequence number. */
static uint64_t
mix64(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

/*
 * The content of the reply as a string: the text (possibly cut at the
 * output cap) or compact JSON.  Sets *truncated when the cap cut it.
 */
static char *
reply_content(const EmuRequest *req, const EmuReplyOpts *o, size_t *len,
			  int64_t *ctoks, bool *truncated)
{
	char		text[EMU_ECHO_MAX + 16];
	char	   *s;
	json_t	   *v = NULL;

	*truncated = false;
	emu_reply_text(req, text, sizeof(text));
	switch (o->nonjson && req->out != EMU_OUT_TOOL ? EMU_OUT_TEXT : req->out)
	{
		case EMU_OUT_JSON_SCHEMA:
			v = emu_schema_instance(req->schema, text, !o->nonconforming);
			break;
		case EMU_OUT_TOOL:
			v = emu_schema_instance(req->tool_schema ? req->tool_schema :
									NULL, text, !o->nonconforming);
			/* arguments are always an object, even for an empty schema */
			if (!json_is_object(v))
			{
				json_decref(v);
				v = json_pack("{s:s}", "input", text);
			}
			break;
		case EMU_OUT_JSON_OBJECT:
			v = o->nonconforming ? json_pack("[s]", text) :
				json_pack("{s:s}", "echo", text);
			break;
		default:
			break;
	}
	if (v != NULL)
	{
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(v);
		if (s == NULL)
			return NULL;
		*len = strlen(s);
		*ctoks = tokens_of(*len);
		if (req->max_tokens > 0 && *ctoks > req->max_tokens)
			*ctoks = req->max_tokens;
		return s;
	}
	*len = strlen(text);
	*ctoks = tokens_of(*len);
	if (req->max_tokens > 0 && *ctoks > req->max_tokens)
	{
		*len = emu_utf8_cut(text, *len, (size_t) req->max_tokens * 4);
		*ctoks = req->max_tokens;
		*truncated = true;
	}
	s = malloc(*len + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, text, *len);
	s[*len] = '\0';
	return s;
}

/*
 * The OpenAI chat.completion body.  Azure's ("azure") adds the content
 * filter verdicts of the prompt and of each choice, empty objects as in a
 * recorded reply, and has no service_tier.
 */
static void
build_openai(const EmuRequest *req, const EmuReplyOpts *o, const char *s,
			 size_t n, int64_t ctoks, bool truncated, bool azure,
			 EmuBuf *out)
{
	const char *choice_extra = azure ? ",\"content_filter_results\":{}" : "";

	uint64_t	id = mix64(o->seq);

	emu_buf_printf(out, "{\"id\":\"chatcmpl-emu%016" PRIx64 "\","
				   "\"object\":\"chat.completion\",\"created\":%" PRId64
				   ",\"model\":", id, o->created);
	emu_buf_json_str(out, req->model, strlen(req->model));
	emu_buf_puts(out, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",");
	if (req->out == EMU_OUT_TOOL)
	{
		emu_buf_printf(out, "\"content\":null,\"refusal\":null,\"tool_calls\":"
					   "[{\"id\":\"call_emu%016" PRIx64 "\",\"type\":\"function\","
					   "\"function\":{\"name\":", mix64(id));
		emu_buf_json_str(out, req->tool_name, strlen(req->tool_name));
		/* OpenAI sends tool arguments as a JSON string */
		emu_buf_puts(out, ",\"arguments\":");
		emu_buf_json_str(out, s, n);
		emu_buf_printf(out, "}}],\"annotations\":[]},\"logprobs\":null,"
					   "\"finish_reason\":\"tool_calls\"%s}]", choice_extra);
	}
	else
	{
		emu_buf_puts(out, "\"content\":");
		emu_buf_json_str(out, s, n);
		emu_buf_printf(out, ",\"refusal\":null,\"annotations\":[]},"
					   "\"logprobs\":null,\"finish_reason\":\"%s\"%s}]",
					   truncated ? "length" : "stop", choice_extra);
	}
	if (azure)
		emu_buf_puts(out, ",\"prompt_filter_results\":[{\"prompt_index\":0,"
					 "\"content_filter_results\":{}}]");
	emu_buf_printf(out, ",\"usage\":{\"prompt_tokens\":%" PRId64
				   ",\"completion_tokens\":%" PRId64 ",\"total_tokens\":%" PRId64
				   ",\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
				   "\"completion_tokens_details\":{\"reasoning_tokens\":0,"
				   "\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
				   "\"rejected_prediction_tokens\":0}},%s"
				   "\"system_fingerprint\":null}",
				   req->prompt_tokens, ctoks, req->prompt_tokens + ctoks,
				   azure ? "" : "\"service_tier\":\"default\",");
}

static void
build_anthropic(const EmuRequest *req, const EmuReplyOpts *o, const char *s,
				size_t n, int64_t ctoks, bool truncated, EmuBuf *out)
{
	uint64_t	id = mix64(o->seq);
	const char *stop;

	emu_buf_printf(out, "{\"id\":\"msg_emu%016" PRIx64 "\",\"type\":\"message\","
				   "\"role\":\"assistant\",\"model\":", id);
	emu_buf_json_str(out, req->model, strlen(req->model));
	if (req->out == EMU_OUT_TOOL)
	{
		/* tool input is an object, not a string */
		emu_buf_printf(out, ",\"content\":[{\"type\":\"tool_use\","
					   "\"id\":\"toolu_emu%016" PRIx64 "\",\"name\":", mix64(id));
		emu_buf_json_str(out, req->tool_name, strlen(req->tool_name));
		emu_buf_puts(out, ",\"input\":");
		emu_buf_append(out, s, n);
		emu_buf_puts(out, "}]");
		stop = "tool_use";
	}
	else
	{
		emu_buf_puts(out, ",\"content\":[{\"type\":\"text\",\"text\":");
		emu_buf_json_str(out, s, n);
		emu_buf_puts(out, "}]");
		stop = truncated ? "max_tokens" : "end_turn";
	}
	emu_buf_printf(out, ",\"stop_reason\":\"%s\",\"stop_sequence\":null,"
				   "\"usage\":{\"input_tokens\":%" PRId64
				   ",\"cache_creation_input_tokens\":0,"
				   "\"cache_read_input_tokens\":0,\"output_tokens\":%" PRId64 "}}",
				   stop, req->prompt_tokens, ctoks);
}

static void
build_gemini(const EmuRequest *req, const EmuReplyOpts *o, const char *s,
			 size_t n, int64_t ctoks, bool truncated, EmuBuf *out)
{
	emu_buf_puts(out, "{\"candidates\":[{\"content\":{\"parts\":[");
	if (req->out == EMU_OUT_TOOL)
	{
		emu_buf_puts(out, "{\"functionCall\":{\"name\":");
		emu_buf_json_str(out, req->tool_name, strlen(req->tool_name));
		emu_buf_puts(out, ",\"args\":");
		emu_buf_append(out, s, n);
		emu_buf_puts(out, "}}");
	}
	else
	{
		emu_buf_puts(out, "{\"text\":");
		emu_buf_json_str(out, s, n);
		emu_buf_puts(out, "}");
	}
	emu_buf_printf(out, "],\"role\":\"model\"},\"finishReason\":\"%s\","
				   "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":%" PRId64
				   ",\"candidatesTokenCount\":%" PRId64
				   ",\"totalTokenCount\":%" PRId64 "},\"modelVersion\":",
				   truncated ? "MAX_TOKENS" : "STOP",
				   req->prompt_tokens, ctoks, req->prompt_tokens + ctoks);
	emu_buf_json_str(out, req->model, strlen(req->model));
	emu_buf_printf(out, ",\"responseId\":\"emu%016" PRIx64 "\"}", mix64(o->seq));
}

/*
 * Write the success body of dialect p for "req" into "out" and report the
 * usage it carries.  Returns false if memory ran out.
 */
bool
emu_reply_build(EmuProvider p, const EmuRequest *req, const EmuReplyOpts *o,
				EmuBuf *out, EmuUsage *usage)
{
	size_t		n = 0;
	int64_t		ctoks = 0;
	bool		truncated;
	char	   *s = reply_content(req, o, &n, &ctoks, &truncated);

	if (s == NULL)
		return false;
	switch (p)
	{
		case EMU_PROVIDER_OPENAI:
		case EMU_PROVIDER_AZURE:
			build_openai(req, o, s, n, ctoks, truncated,
						 p == EMU_PROVIDER_AZURE, out);
			break;
		case EMU_PROVIDER_ANTHROPIC:
			build_anthropic(req, o, s, n, ctoks, truncated, out);
			break;
		default:
			build_gemini(req, o, s, n, ctoks, truncated, out);
			break;
	}
	free(s);
	usage->prompt_tokens = req->prompt_tokens;
	usage->completion_tokens = ctoks;
	return !out->oom;
}

/*
 * Break a JSON body while keeping it the same kind of response: drop its
 * last two bytes (the closing brackets) and end it with a stray comma, so
 * it no longer parses.  Content-Length still matches what is sent.
 */
void
emu_reply_malform(EmuBuf *b)
{
	if (b->len >= 2)
		b->len -= 2;
	emu_buf_append(b, ",", 1);
}

/* Mask a secret the way OpenAI prints it: "sk-****ab12". */
static void
mask_secret(const char *secret, char *buf, size_t len)
{
	size_t		n = secret ? strlen(secret) : 0;

	if (n <= 8)
		snprintf(buf, len, "****");
	else
		snprintf(buf, len, "%.3s****%s", secret, secret + n - 4);
}

static void
openai_error(EmuBuf *out, const char *msg, const char *type, const char *code)
{
	emu_buf_puts(out, "{\"error\":{\"message\":");
	emu_buf_json_str(out, msg, strlen(msg));
	emu_buf_printf(out, ",\"type\":\"%s\",\"param\":null,\"code\":", type);
	if (code)
		emu_buf_printf(out, "\"%s\"", code);
	else
		emu_buf_puts(out, "null");
	emu_buf_puts(out, "}}");
}

static void
anthropic_error(EmuBuf *out, const char *type, const char *msg,
				const char *request_id)
{
	emu_buf_printf(out, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":",
				   type);
	emu_buf_json_str(out, msg, strlen(msg));
	emu_buf_printf(out, "},\"request_id\":\"%s\"}", request_id ? request_id : "");
}

/* Azure's own envelope: a string code, a message, no type. */
static void
azure_error(EmuBuf *out, const char *code, const char *msg)
{
	emu_buf_puts(out, "{\"error\":{\"code\":");
	emu_buf_json_str(out, code, strlen(code));
	emu_buf_puts(out, ",\"message\":");
	emu_buf_json_str(out, msg, strlen(msg));
	emu_buf_puts(out, "}}");
}

static void
gemini_error(EmuBuf *out, int code, const char *msg, const char *status,
			 const char *details)
{
	emu_buf_printf(out, "{\"error\":{\"code\":%d,\"message\":", code);
	emu_buf_json_str(out, msg, strlen(msg));
	emu_buf_printf(out, ",\"status\":\"%s\"", status);
	if (details)
		emu_buf_printf(out, ",\"details\":%s", details);
	emu_buf_puts(out, "}}");
}

/*
 * Write a non-rate-limit error body of dialect p and return its HTTP
 * status.  For EMU_ERR_SERVER "status" picks 500/502/503/529; a 502 is the
 * HTML page a CDN returns, with *html set.  "detail" is the message of
 * EMU_ERR_INVALID, the model of EMU_ERR_MODEL and the secret (masked) of
 * EMU_ERR_BAD_KEY.
 */
int
emu_error_body(EmuProvider p, EmuErrKind kind, int status, const char *detail,
			   const char *request_id, EmuBuf *out, bool *html)
{
	char		msg[512];
	char		mask[32];

	*html = false;
	if (detail == NULL)
		detail = "";
	if (kind == EMU_ERR_SERVER && status == 502)
	{
		*html = true;
		emu_buf_puts(out, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
					 "<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
					 "<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n");
		return 502;
	}
	switch (p)
	{
		case EMU_PROVIDER_OPENAI:
			switch (kind)
			{
				case EMU_ERR_BAD_JSON:
					openai_error(out, "We could not parse the JSON body of your request. "
								 "(HINT: This likely means you aren't using your HTTP library "
								 "correctly. The OpenAI API expects a JSON payload, but what "
								 "was sent was not valid JSON. If you have trouble figuring "
								 "out how to fix this, please contact us through our help "
								 "center at help.openai.com.)",
								 "invalid_request_error", NULL);
					return 400;
				case EMU_ERR_INVALID:
					openai_error(out, detail, "invalid_request_error", NULL);
					return 400;
				case EMU_ERR_NO_KEY:
					openai_error(out, "You didn't provide an API key. You need to "
								 "provide your API key in an Authorization header using "
								 "Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You "
								 "can obtain an API key from "
								 "https://platform.openai.com/account/api-keys.",
								 "invalid_request_error", NULL);
					return 401;
				case EMU_ERR_BAD_KEY:
					mask_secret(detail, mask, sizeof(mask));
					snprintf(msg, sizeof(msg), "Incorrect API key provided: %s. "
							 "You can find your API key at "
							 "https://platform.openai.com/account/api-keys.", mask);
					openai_error(out, msg, "invalid_request_error", "invalid_api_key");
					return 401;
				case EMU_ERR_MODEL:
					snprintf(msg, sizeof(msg), "The model `%s` does not exist or "
							 "you do not have access to it.", detail);
					openai_error(out, msg, "invalid_request_error", "model_not_found");
					return 404;
				case EMU_ERR_TOO_BIG:
					openai_error(out, "Request body too large.",
								 "invalid_request_error", NULL);
					return 413;
				case EMU_ERR_SERVER:
					if (status == 500)
						openai_error(out, "The server had an error while processing "
									 "your request. Sorry about that!",
									 "server_error", NULL);
					else
						openai_error(out, "The server is overloaded or not ready yet.",
									 "service_unavailable_error",
									 "server_is_overloaded");
					return status;
				case EMU_ERR_FORBIDDEN:
					openai_error(out, "Country, region, or territory not supported",
								 "request_forbidden",
								 "unsupported_country_region_territory");
					return 403;
				case EMU_ERR_CONTEXT:
					openai_error(out, detail, "invalid_request_error",
								 "context_length_exceeded");
					return 400;
				case EMU_ERR_NO_API_VERSION:
				case EMU_ERR_BAD_API_VERSION:
					break;		/* Azure only */
			}
			break;
		case EMU_PROVIDER_AZURE:

			/*
			 * Body validation comes from the OpenAI model behind the
			 * deployment, in OpenAI's shape; the gateway's own refusals (key,
			 * route, deployment, version) in Azure's.
			 */
			switch (kind)
			{
				case EMU_ERR_BAD_JSON:
				case EMU_ERR_INVALID:
				case EMU_ERR_TOO_BIG:
				case EMU_ERR_CONTEXT:
					return emu_error_body(EMU_PROVIDER_OPENAI, kind, status,
										  detail, request_id, out, html);
				case EMU_ERR_NO_KEY:
					azure_error(out, "401", "Access denied due to missing "
								"subscription key. Make sure to include "
								"subscription key when making requests to an API.");
					return 401;
				case EMU_ERR_BAD_KEY:
					azure_error(out, "401", "Access denied due to invalid "
								"subscription key or wrong API endpoint. Make sure "
								"to provide a valid key for an active subscription "
								"and use a correct regional API endpoint for your "
								"resource.");
					return 401;
				case EMU_ERR_MODEL:
					azure_error(out, "DeploymentNotFound", "The API deployment "
								"for this resource does not exist. If you created "
								"the deployment within the last 5 minutes, please "
								"wait a moment and try again.");
					return 404;
				case EMU_ERR_NO_API_VERSION:
					/* a route without api-version does not exist at all */
					azure_error(out, "404", "Resource not found");
					return 404;
				case EMU_ERR_BAD_API_VERSION:
					azure_error(out, "BadRequest", "API version not supported");
					return 400;
				case EMU_ERR_SERVER:
					if (status == 500)
						azure_error(out, "InternalServerError", "The server had "
									"an error while processing your request. "
									"Sorry about that!");
					else
						azure_error(out, "ServiceUnavailable", "The service is "
									"temporarily unable to process your request. "
									"Please try again later.");
					return status;
				case EMU_ERR_FORBIDDEN:
					azure_error(out, "403", "Access denied due to Virtual "
								"Network/Firewall rules.");
					return 403;
			}
			break;
		case EMU_PROVIDER_ANTHROPIC:
			switch (kind)
			{
				case EMU_ERR_BAD_JSON:
					anthropic_error(out, "invalid_request_error",
									"There was an error parsing the body of your request.",
									request_id);
					return 400;
				case EMU_ERR_INVALID:
					anthropic_error(out, "invalid_request_error", detail, request_id);
					return 400;
				case EMU_ERR_NO_KEY:
					anthropic_error(out, "authentication_error",
									"x-api-key header is required", request_id);
					return 401;
				case EMU_ERR_BAD_KEY:
					anthropic_error(out, "authentication_error", "invalid x-api-key",
									request_id);
					return 401;
				case EMU_ERR_MODEL:
					snprintf(msg, sizeof(msg), "model: %s", detail);
					anthropic_error(out, "not_found_error", msg, request_id);
					return 404;
				case EMU_ERR_TOO_BIG:
					anthropic_error(out, "request_too_large",
									"Request exceeds the maximum allowed number of bytes.",
									request_id);
					return 413;
				case EMU_ERR_SERVER:
					if (status == 529)
						anthropic_error(out, "overloaded_error", "Overloaded", request_id);
					else
						anthropic_error(out, "api_error", "Internal server error",
										request_id);
					return status;
				case EMU_ERR_FORBIDDEN:
					anthropic_error(out, "permission_error", "Your API key does "
									"not have permission to use the specified "
									"resource.", request_id);
					return 403;
				case EMU_ERR_CONTEXT:
					anthropic_error(out, "invalid_request_error", detail, request_id);
					return 400;
				case EMU_ERR_NO_API_VERSION:
				case EMU_ERR_BAD_API_VERSION:
					break;		/* Azure only */
			}
			break;
		default:
			switch (kind)
			{
				case EMU_ERR_BAD_JSON:
					gemini_error(out, 400, "Invalid JSON payload received. "
								 "Unexpected token.", "INVALID_ARGUMENT", NULL);
					return 400;
				case EMU_ERR_INVALID:
					gemini_error(out, 400, detail, "INVALID_ARGUMENT", NULL);
					return 400;
				case EMU_ERR_NO_KEY:
					gemini_error(out, 403, "Method doesn't allow unregistered "
								 "callers (callers without established identity). "
								 "Please use API Key or other form of API consumer "
								 "identity to call this API.", "PERMISSION_DENIED",
								 NULL);
					return 403;
				case EMU_ERR_BAD_KEY:
					gemini_error(out, 400, "API key not valid. Please pass a valid "
								 "API key.", "INVALID_ARGUMENT",
								 "[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
								 "\"reason\":\"API_KEY_INVALID\",\"domain\":\"googleapis.com\","
								 "\"metadata\":{\"service\":\"generativelanguage.googleapis.com\"}}]");
					return 400;
				case EMU_ERR_MODEL:
					snprintf(msg, sizeof(msg), "models/%s is not found for API "
							 "version v1beta, or is not supported for generateContent. "
							 "Call ListModels to see the list of available models and "
							 "their supported methods.", detail);
					gemini_error(out, 404, msg, "NOT_FOUND", NULL);
					return 404;
				case EMU_ERR_TOO_BIG:
					gemini_error(out, 400, "Request payload size exceeds the limit.",
								 "INVALID_ARGUMENT", NULL);
					return 400;
				case EMU_ERR_SERVER:
					if (status == 500)
						gemini_error(out, 500, "An internal error has occurred. Please "
									 "retry or report in "
									 "https://developers.generativeai.google/guide/troubleshooting",
									 "INTERNAL", NULL);
					else
						gemini_error(out, status, "The model is overloaded. Please "
									 "try again later.", "UNAVAILABLE", NULL);
					return status;
				case EMU_ERR_FORBIDDEN:
					gemini_error(out, 403, "The caller does not have permission",
								 "PERMISSION_DENIED", NULL);
					return 403;
				case EMU_ERR_CONTEXT:
					gemini_error(out, 400, detail, "INVALID_ARGUMENT", NULL);
					return 400;
				case EMU_ERR_NO_API_VERSION:
				case EMU_ERR_BAD_API_VERSION:
					break;		/* Azure only */
			}
			break;
	}
	return 500;
}

/*
 * Whether a request is over its model's context window as the provider
 * judges it, and if so its refusal text in msg (for EMU_ERR_CONTEXT).
 * OpenAI and Anthropic count the prompt plus max_tokens, Gemini the input
 * only.  window <= 0: no limit.
 */
bool
emu_context_exceeded(EmuProvider p, int64_t prompt, int64_t max_tokens,
					 int64_t window, char *msg, size_t len)
{
	int64_t		out = max_tokens > 0 ? max_tokens : 0;

	if (window <= 0)
		return false;
	switch (p)
	{
		case EMU_PROVIDER_GEMINI:
			if (prompt <= window)
				return false;
			snprintf(msg, len, "The input token count (%" PRId64 ") exceeds "
					 "the maximum number of tokens allowed (%" PRId64 ").",
					 prompt, window);
			return true;
		case EMU_PROVIDER_ANTHROPIC:
			if (prompt + out <= window)
				return false;
			if (prompt > window)
				snprintf(msg, len, "prompt is too long: %" PRId64
						 " tokens > %" PRId64 " maximum", prompt, window);
			else
				snprintf(msg, len, "input length and `max_tokens` exceed "
						 "context limit: %" PRId64 " + %" PRId64 " > %" PRId64
						 ", decrease input length or `max_tokens` and try "
						 "again", prompt, out, window);
			return true;
		default:
			if (prompt + out <= window)
				return false;
			snprintf(msg, len, "This model's maximum context length is %" PRId64
					 " tokens. However, you requested %" PRId64 " tokens (%"
					 PRId64 " in the messages, %" PRId64 " in the completion). "
					 "Please reduce the length of the messages or completion.",
					 window, prompt + out, prompt, out);
			return true;
	}
}

/* OpenAI's name of a dimension in 429 texts, and its error type. */
static const char *
openai_dim_text(EmuDim d, const char **type)
{
	switch (d)
	{
		case EMU_DIM_RPM:
			*type = "requests";
			return "requests per min (RPM)";
		case EMU_DIM_RPD:
			*type = "requests";
			return "requests per day (RPD)";
		case EMU_DIM_TPD:
			*type = "tokens";
			return "tokens per day (TPD)";
		default:
			*type = "tokens";
			return "tokens per min (TPM)";
	}
}

static void
openai_limit_body(const EmuAdmit *a, const EmuLimitCtx *c, EmuBuf *out)
{
	char		msg[768];
	char		dur[32];
	const char *type;
	const char *what = openai_dim_text(a->dim, &type);

	if (a->status == EMU_ADMIT_BILLING)
	{
		openai_error(out, "You exceeded your current quota, please check your "
					 "plan and billing details. For more information on this "
					 "error, read the docs: "
					 "https://platform.openai.com/docs/guides/error-codes/api-errors.",
					 "insufficient_quota", "insufficient_quota");
		return;
	}
	if (a->status == EMU_ADMIT_TOO_LARGE)
	{
		snprintf(msg, sizeof(msg), "Request too large for %s in organization %s "
				 "on %s: Limit %" PRId64 ", Requested %" PRId64 ". The input or "
				 "output tokens must be reduced in order to run successfully. "
				 "Visit https://platform.openai.com/account/rate-limits to learn more.",
				 c->model, c->org, what, a->limit, a->requested);
		openai_error(out, msg, "tokens", "rate_limit_exceeded");
		return;
	}
	emu_fmt_wait_text(dur, sizeof(dur), a->wait_us);
	snprintf(msg, sizeof(msg), "Rate limit reached for %s in organization %s on "
			 "%s: Limit %" PRId64 ", Used %" PRId64 ", Requested %" PRId64
			 ". Please try again in %s. Visit "
			 "https://platform.openai.com/account/rate-limits to learn more.",
			 c->model, c->org, what, a->limit, a->used, a->requested, dur);
	openai_error(out, msg, type, "rate_limit_exceeded");
}

static void
anthropic_limit_body(const EmuAdmit *a, const EmuLimitCtx *c, EmuBuf *out)
{
	char		msg[1024];
	char		num[32];
	const char *what;

	if (a->status == EMU_ADMIT_BILLING)
	{
		time_t		t = (time_t) (c->wall_now_us / 1000000);
		struct tm	tm;
		int			y;
		int			mo;

		/* spend caps lift at 00:00 UTC on the first of the next month */
		gmtime_r(&t, &tm);
		y = tm.tm_year + 1900;
		mo = tm.tm_mon + 2;
		if (mo > 12)
		{
			mo = 1;
			y++;
		}
		snprintf(msg, sizeof(msg), "You have reached your API usage limits. "
				 "You will regain access on %04d-%02d-01 at 00:00 UTC.", y, mo);
		emu_buf_puts(out, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":");
		emu_buf_json_str(out, msg, strlen(msg));
		emu_buf_printf(out, ",\"details\":{\"error_code\":\"enforced_spend_limit_reached\"}},"
					   "\"request_id\":\"%s\"}", c->request_id ? c->request_id : "");
		return;
	}
	switch (a->dim)
	{
		case EMU_DIM_RPM:
			what = "requests per minute";
			break;
		case EMU_DIM_ITPM:
			what = "input tokens per minute";
			break;
		case EMU_DIM_OTPM:
			what = "output tokens per minute";
			break;
		case EMU_DIM_RPD:
			what = "requests per day";
			break;
		case EMU_DIM_TPD:
			what = "tokens per day";
			break;
		default:
			what = "tokens per minute";
			break;
	}
	emu_fmt_grouped(num, sizeof(num), a->limit);
	snprintf(msg, sizeof(msg), "This request would exceed the rate limit for "
			 "your organization (%s) of %s %s. For details, refer to: "
			 "https://docs.anthropic.com/en/api/rate-limits. You can see the "
			 "response headers for current usage. Please reduce the prompt "
			 "length or the maximum tokens requested, or try again later. You "
			 "may also contact sales at https://www.anthropic.com/contact-sales "
			 "to discuss your options for a rate limit increase.",
			 c->anthropic_org, num, what);
	anthropic_error(out, "rate_limit_error", msg, c->request_id);
}

/*
 * Gemini's RetryInfo.retryDelay.  The wait of the violated minute
 * dimensions when there is one; otherwise (a daily quota, or a request that
 * can never fit) a short 1-59 s delay derived from the real wait, because
 * real daily 429s carry such a short retryDelay: clients must classify by
 * quotaId, not by this value.
 */
int64_t
emu_gemini_retry_delay_us(const EmuAdmit *a)
{
	int64_t		s;

	if (a->minute_wait_us > 0 && a->minute_wait_us != EMU_WAIT_NEVER)
		return a->minute_wait_us;
	if (a->retry_us <= 0 || a->retry_us == EMU_WAIT_NEVER)
		return 60 * INT64_C(1000000);
	s = emu_ceil_div(a->retry_us, 1000000);
	return (1 + s % 59) * INT64_C(1000000);
}

static void
gemini_violation(EmuBuf *out, EmuBuf *lines, EmuDim d, int64_t limit,
				 const EmuLimitCtx *c, bool first)
{
	const char *metric;
	const char *qid;
	const char *sfx = c->gemini_free_tier ? "-FreeTier" : "";

	switch (d)
	{
		case EMU_DIM_RPM:
			metric = c->gemini_free_tier ? "generate_content_free_tier_requests" :
				"generate_content_requests";
			qid = "GenerateRequestsPerMinutePerProjectPerModel";
			break;
		case EMU_DIM_RPD:
			metric = c->gemini_free_tier ? "generate_content_free_tier_requests" :
				"generate_content_requests";
			qid = "GenerateRequestsPerDayPerProjectPerModel";
			break;
		case EMU_DIM_TPD:
			metric = c->gemini_free_tier ? "generate_content_free_tier_input_token_count" :
				"generate_content_input_token_count";
			qid = "GenerateContentInputTokensPerModelPerDay";
			break;
		default:
			metric = c->gemini_free_tier ? "generate_content_free_tier_input_token_count" :
				"generate_content_input_token_count";
			qid = "GenerateContentInputTokensPerModelPerMinute";
			break;
	}
	emu_buf_printf(out, "%s{\"quotaMetric\":\"generativelanguage.googleapis.com/%s\","
				   "\"quotaId\":\"%s%s\",\"quotaDimensions\":{\"location\":\"global\","
				   "\"model\":", first ? "" : ",", metric, qid, sfx);
	emu_buf_json_str(out, c->model, strlen(c->model));
	emu_buf_printf(out, "},\"quotaValue\":\"%" PRId64 "\"}", limit);
	emu_buf_printf(lines, "\n* Quota exceeded for metric: "
				   "generativelanguage.googleapis.com/%s, limit: %" PRId64
				   ", model: %s", metric, limit, c->model);
}

static void
gemini_limit_body(const EmuAdmit *a, const EmuLimitCtx *c, EmuBuf *out)
{
	EmuBuf		viol;
	EmuBuf		msg;
	char		secs[32];
	int64_t		delay = emu_gemini_retry_delay_us(a);
	bool		first = true;

	emu_buf_init(&viol);
	emu_buf_init(&msg);
	emu_buf_puts(&msg, "You exceeded your current quota, please check your plan "
				 "and billing details. For more information on this error, head "
				 "to: https://ai.google.dev/gemini-api/docs/rate-limits. To "
				 "monitor your current usage, head to: https://ai.dev/rate-limit. ");
	if (a->status == EMU_ADMIT_BILLING)
	{
		/* a key whose tier has no quota at all reports limit 0 */
		EmuLimitCtx fc = *c;

		fc.gemini_free_tier = true;
		gemini_violation(&viol, &msg, EMU_DIM_RPD, 0, &fc, true);
	}
	else
	{
		static const EmuDim order[] = {EMU_DIM_RPM, EMU_DIM_TPM, EMU_DIM_RPD,
		EMU_DIM_TPD};

		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		{
			if (!(a->violated & (1u << order[i])))
				continue;
			gemini_violation(&viol, &msg, order[i],
							 a->dim_limit[order[i]], c, first);
			first = false;
		}
	}
	emu_fmt_seconds_frac(secs, sizeof(secs), delay);
	emu_buf_printf(&msg, "\nPlease retry in %s.", secs);

	emu_buf_puts(out, "{\"error\":{\"code\":429,\"message\":");
	emu_buf_json_str(out, msg.data ? msg.data : "", msg.len);
	emu_buf_puts(out, ",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":["
				 "{\"@type\":\"type.googleapis.com/google.rpc.Help\",\"links\":"
				 "[{\"description\":\"Learn more about Gemini API quotas\","
				 "\"url\":\"https://ai.google.dev/gemini-api/docs/rate-limits\"}]},"
				 "{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\","
				 "\"violations\":[");
	emu_buf_append(out, viol.data ? viol.data : "", viol.len);
	emu_buf_printf(out, "]},{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\","
				   "\"retryDelay\":\"%" PRId64 "s\"}]}}",
				   emu_ceil_div(delay, 1000000));
	if (viol.oom || msg.oom)
		out->oom = true;
	emu_buf_free(&viol);
	emu_buf_free(&msg);
}

/*
 * Azure's 429: the dimension is only in the prose ("token rate limit" for
 * TPM, "call rate limit" for RPM), "code" is the string "429" and there is
 * no "type".  The wait is the retry-after header's, in whole seconds.  A
 * request that can never fit is told to come back in 86400 seconds, the
 * figure Azure gives a deployment without quota.
 */
static void
azure_limit_body(const EmuAdmit *a, const EmuLimitCtx *c, EmuBuf *out)
{
	char		msg[768];
	int64_t		secs;

	if (a->status == EMU_ADMIT_TOO_LARGE)
		secs = 86400;
	else
		secs = emu_retry_after_seconds(a->retry_us);
	snprintf(msg, sizeof(msg), "Requests to the ChatCompletions_Create "
			 "Operation under Azure OpenAI API version %s have exceeded %s "
			 "rate limit of your current %s pricing tier. Please retry after "
			 "%" PRId64 " second%s. Please go here: "
			 "https://aka.ms/oai/quotaincrease if you would like to further "
			 "increase the default rate limit.",
			 c->api_version ? c->api_version : "",
			 a->dim == EMU_DIM_RPM ? "call" : "token",
			 c->azure_tier ? c->azure_tier : "OpenAI S0",
			 secs, secs == 1 ? "" : "s");
	azure_error(out, "429", msg);
}

/*
 * Whether "v" is an api-version Azure would know the shape of:
 * YYYY-MM-DD, optionally followed by "-preview".  Any date of that shape
 * is accepted; the emulator does not keep a list of released versions.
 */
bool
emu_azure_api_version_ok(const char *v)
{
	static const char shape[] = "dddd-dd-dd";

	if (v == NULL)
		return false;
	for (int i = 0; shape[i] != '\0'; i++)
	{
		if (shape[i] == 'd' ? (v[i] < '0' || v[i] > '9') : v[i] != shape[i])
			return false;
	}
	return v[10] == '\0' || strcmp(v + 10, "-preview") == 0;
}

/*
 * Write the 429 body of dialect p for a refused admission "a" (LIMITED,
 * TOO_LARGE or BILLING).
 */
void
emu_ratelimit_body(EmuProvider p, const EmuAdmit *a, const EmuLimitCtx *c,
				   EmuBuf *out)
{
	switch (p)
	{
		case EMU_PROVIDER_OPENAI:
			openai_limit_body(a, c, out);
			break;
		case EMU_PROVIDER_ANTHROPIC:
			anthropic_limit_body(a, c, out);
			break;
		case EMU_PROVIDER_AZURE:
			azure_limit_body(a, c, out);
			break;
		default:
			gemini_limit_body(a, c, out);
			break;
	}
}
