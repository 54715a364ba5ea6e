/*-------------------------------------------------------------------------
 * tokens.c
 *	  Token estimation of chat-completion requests, in pure C.
 *
 * The text estimator imitates the pre-tokenizer of OpenAI's BPE vocabularies
 * (o200k_base, cl100k_base) without their vocabulary: it splits the text into
 * the same kinds of pieces (words, digit groups, punctuation runs, whitespace
 * runs, CJK runs) in one pass over the bytes, counts them, and weighs each
 * count with a cost fitted against exact o200k_base counts of the corpus in
 * test/tokens/. docs/token-estimation.md gives the method, the weights' origin
 * and the measured error per kind of text.
 *
 * The request estimator parses the body with jansson, validates the fields
 * aigov relies on and adds up the texts of messages, tool calls, tool
 * definitions and the response schema, plus the fixed costs in tokens.h.
 * Nothing here allocates memory that outlives a call: jansson's parse tree
 * is released before returning.
 *
 * IDENTIFICATION
 *	  src/tokens.c
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "tokens.h"

/* What one code point (or one invalid byte) is, for the scanner. */
typedef enum TokensCharClass
{
	TCC_SPACE,					/* space, tab, vertical tab, form feed */
	TCC_NEWLINE,				/* \n, \r */
	TCC_LOWER,					/* a-z */
	TCC_UPPER,					/* A-Z */
	TCC_DIGIT,					/* 0-9 */
	TCC_PUNCT,					/* other ASCII, control characters included */
	TCC_LATIN,					/* accented Latin letters, combining marks */
	TCC_CYRILLIC,
	TCC_ALPHA,					/* other alphabets: Greek, Hebrew, Arabic,
								 * Indic, Thai, Georgian, ... */
	TCC_HAN,					/* CJK ideographs */
	TCC_KANA,					/* hiragana, katakana */
	TCC_HANGUL,
	TCC_CJK_PUNCT,				/* CJK punctuation, fullwidth forms */
	TCC_SYMBOL,					/* other non-ASCII punctuation and symbols */
	TCC_EMOJI,
	TCC_JOINER,					/* zero-width joiner, variation selectors, tag
								 * characters */
	TCC_INVALID,				/* a byte that does not start valid UTF-8 */
	TCC_END
} TokensCharClass;

/*
 * The pieces the scanner counts. Each has a cost in thousandths of a token
 * (feature_cost below); the estimate is the weighted sum.
 */
typedef enum TokensFeature
{
	TF_WORD,					/* a Latin-script word, or a camelCase part */
	TF_WORD_LONG,				/* letters of such a word beyond the sixth */
	TF_BLOB_CHAR,				/* a character of a random-looking string */
	TF_LATIN,					/* accented Latin letters */
	TF_CYR_WORD,				/* a Cyrillic word */
	TF_CYR_LETTER,				/* its letters */
	TF_ALPHA_WORD,				/* a word in another alphabet */
	TF_ALPHA_LETTER,			/* its letters */
	TF_HAN_ZH,					/* an ideograph in text without much kana */
	TF_HAN_JA,					/* an ideograph in Japanese text */
	TF_KANA,
	TF_HANGUL_WORD,				/* a run of hangul syllables */
	TF_HANGUL,					/* a hangul syllable or jamo */
	TF_DIGIT_GROUP,				/* up to three digits */
	TF_PUNCT_RUN,				/* a run of punctuation, symbols, emoji */
	TF_PUNCT_CHAR,				/* an ASCII punctuation character in it */
	TF_CJK_PUNCT,
	TF_SYMBOL,
	TF_EMOJI,
	TF_JOINER,
	TF_SPACE_RUN,				/* a whitespace piece of its own */
	TF_NEWLINE_RUN,				/* a run of line breaks */
	TF_INVALID,					/* an invalid UTF-8 byte */
	TF_COUNT
} TokensFeature;

/*
 * Costs in thousandths of a token. The free ones were fitted by least
 * squares of the relative error against the o200k_base counts of
 * test/tokens/counts.tsv, then rounded; the others were set from what
 * o200k_base does with such a piece alone and kept fixed while fitting:
 * a digit group, a line-break run, a joiner and an invalid byte are one
 * token, a CJK punctuation mark one, an emoji two, a hangul syllable and a
 * Cyrillic letter about 0.55 and 0.17 beyond their word's first token.
 * Fixing those keeps the estimate sane on text unlike the corpus (Chinese
 * without punctuation, very long words) at little cost in fit.
 */
static const int32_t feature_cost[TF_COUNT] = {
	[TF_WORD] = 930,
	[TF_WORD_LONG] = 285,
	[TF_BLOB_CHAR] = 275,
	[TF_LATIN] = 585,
	[TF_CYR_WORD] = 680,
	[TF_CYR_LETTER] = 170,
	[TF_ALPHA_WORD] = 0,		/* the fit puts it all in the letters */
	[TF_ALPHA_LETTER] = 395,
	[TF_HAN_ZH] = 740,
	[TF_HAN_JA] = 1265,
	[TF_KANA] = 465,
	[TF_HANGUL_WORD] = 535,
	[TF_HANGUL] = 550,
	[TF_DIGIT_GROUP] = 1000,
	[TF_PUNCT_RUN] = 870,
	[TF_PUNCT_CHAR] = 135,
	[TF_CJK_PUNCT] = 1000,
	[TF_SYMBOL] = 1050,
	[TF_EMOJI] = 2000,
	[TF_JOINER] = 1000,
	[TF_SPACE_RUN] = 1510,
	[TF_NEWLINE_RUN] = 1000,
	[TF_INVALID] = 1000,
};

/* A word costs one token up to this many letters, then more per letter. */
#define WORD_SHORT_LETTERS 6

/* Shortest alphanumeric run that can count as random data. */
#define BLOB_MIN_CHARS 16

/*
 * Punctuation and whitespace runs longer than this are repetitive (rules,
 * indentation, padding) and merge into long tokens, so only every this-many
 * further characters cost again.
 */
#define LONG_RUN_CHARS 16

/* Feature counts of a text, added to as the scanner goes. */
typedef struct TokensCounts
{
	int64_t		n[TF_COUNT];
} TokensCounts;

/* A read position in a text. */
typedef struct TokensCursor
{
	const unsigned char *s;
	size_t		len;
	size_t		pos;
} TokensCursor;

/*
 * Decode the UTF-8 sequence at s[pos] into *cp and return its length, or 0
 * when the bytes there are not a valid, shortest-form, non-surrogate
 * sequence. Never reads at or past s[len].
 */
static int
decode_utf8(const unsigned char *s, size_t len, size_t pos, uint32_t *cp)
{
	unsigned char b = s[pos];
	unsigned char lo = 0x80;
	unsigned char hi = 0xBF;
	uint32_t	c;
	int			more;

	if (b < 0x80)
	{
		*cp = b;
		return 1;
	}
	if (b >= 0xC2 && b <= 0xDF)
	{
		more = 1;
		c = b & 0x1F;
	}
	else if (b >= 0xE0 && b <= 0xEF)
	{
		more = 2;
		c = b & 0x0F;
		if (b == 0xE0)
			lo = 0xA0;			/* overlong */
		else if (b == 0xED)
			hi = 0x9F;			/* surrogates */
	}
	else if (b >= 0xF0 && b <= 0xF4)
	{
		more = 3;
		c = b & 0x07;
		if (b == 0xF0)
			lo = 0x90;			/* overlong */
		else if (b == 0xF4)
			hi = 0x8F;			/* beyond U+10FFFF */
	}
	else
		return 0;

	if (len - pos <= (size_t) more)
		return 0;
	for (int k = 1; k <= more; k++)
	{
		unsigned char t = s[pos + k];

		if (t < (k == 1 ? lo : 0x80) || t > (k == 1 ? hi : 0xBF))
			return 0;
		c = (c << 6) | (t & 0x3F);
	}
	*cp = c;
	return more + 1;
}

/* The class of a non-ASCII code point. */
static TokensCharClass
classify_non_ascii(uint32_t c)
{
	if (c == 0x200D || (c >= 0xFE00 && c <= 0xFE0F) ||
		(c >= 0xE0000 && c <= 0xE007F))
		return TCC_JOINER;
	if ((c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) ||
		(c >= 0x300 && c <= 0x36F) || (c >= 0x1E00 && c <= 0x1EFF))
		return TCC_LATIN;
	if (c >= 0x400 && c <= 0x52F)
		return TCC_CYRILLIC;
	if ((c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
		(c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3FFFF))
		return TCC_HAN;
	if ((c >= 0x3040 && c <= 0x30FF) || (c >= 0x31F0 && c <= 0x31FF) ||
		(c >= 0xFF66 && c <= 0xFF9F))
		return TCC_KANA;
	if ((c >= 0xAC00 && c <= 0xD7AF) || (c >= 0x1100 && c <= 0x11FF) ||
		(c >= 0x3130 && c <= 0x318F))
		return TCC_HANGUL;
	if ((c >= 0x3000 && c <= 0x303F) || (c >= 0xFF00 && c <= 0xFF65))
		return TCC_CJK_PUNCT;
	if ((c >= 0x1F000 && c <= 0x1FAFF) || (c >= 0x2600 && c <= 0x27BF))
		return TCC_EMOJI;
	/* Greek through Georgian, Ethiopic, Khmer, ...: letters, by and large */
	if (c >= 0x370 && c <= 0x1FFF)
		return TCC_ALPHA;
	return TCC_SYMBOL;
}

/*
 * The class of the character at the cursor; *n gets its length in bytes.
 * ASCII, by far the most common, is classified before any decoding.
 */
static TokensCharClass
peek_class(const TokensCursor *cur, int *n)
{
	unsigned char b;
	uint32_t	c;
	int			k;

	if (cur->pos >= cur->len)
	{
		*n = 0;
		return TCC_END;
	}
	b = cur->s[cur->pos];
	if (b < 0x80)
	{
		*n = 1;
		if (b >= 'a' && b <= 'z')
			return TCC_LOWER;
		if (b >= 'A' && b <= 'Z')
			return TCC_UPPER;
		if (b >= '0' && b <= '9')
			return TCC_DIGIT;
		if (b == ' ' || b == '\t' || b == '\v' || b == '\f')
			return TCC_SPACE;
		if (b == '\n' || b == '\r')
			return TCC_NEWLINE;
		return TCC_PUNCT;
	}
	k = decode_utf8(cur->s, cur->len, cur->pos, &c);
	if (k == 0)
	{
		*n = 1;
		return TCC_INVALID;
	}
	*n = k;
	return classify_non_ascii(c);
}

static bool
is_letter(TokensCharClass c)
{
	return c == TCC_LOWER || c == TCC_UPPER || c == TCC_LATIN ||
		c == TCC_CYRILLIC || c == TCC_ALPHA;
}

static bool
is_cjk(TokensCharClass c)
{
	return c == TCC_HAN || c == TCC_KANA || c == TCC_HANGUL;
}

/*
 * Punctuation, symbols, emoji and undecodable bytes: what o200k_base's
 * pre-tokenizer groups into one run of "neither letter, digit nor space".
 */
static bool
is_symbolic(TokensCharClass c)
{
	return c == TCC_PUNCT || c == TCC_CJK_PUNCT || c == TCC_SYMBOL ||
		c == TCC_EMOJI || c == TCC_JOINER || c == TCC_INVALID;
}

/* Which family of word a letter starts or continues. */
static TokensFeature
word_feature(TokensCharClass c)
{
	if (c == TCC_CYRILLIC)
		return TF_CYR_WORD;
	if (c == TCC_ALPHA)
		return TF_ALPHA_WORD;
	return TF_WORD;
}

/*
 * A run of ASCII letters and digits, across the word pieces and digit
 * groups it is made of. One that is long and mixes lowercase, capitals and
 * digits ("eyJhbGciOiJIUzI1NiJ9", an API key) is random data: BPE finds few
 * merges in it, so each of its characters costs extra.
 */
typedef struct TokensAlnumRun
{
	int64_t		chars;
	bool		lower;
	bool		upper;
	bool		digit;
} TokensAlnumRun;

/* Charge a finished alphanumeric run if it looks random, and reset it. */
static void
close_alnum_run(TokensAlnumRun *run, TokensCounts *acc)
{
	if (run->chars >= BLOB_MIN_CHARS && run->lower && run->upper && run->digit)
		acc->n[TF_BLOB_CHAR] += run->chars;
	run->chars = 0;
	run->lower = run->upper = run->digit = false;
}

/* Cost of a run of n characters that merges well once long. */
static int64_t
run_pieces(int64_t n)
{
	return 1 + (n > LONG_RUN_CHARS ? (n - 1) / LONG_RUN_CHARS : 0);
}

/*
 * Scan len bytes of UTF-8 text and add its feature counts to *acc, in one
 * pass and without allocating. Invalid bytes are counted one by one and
 * never make the scan read past the end.
 *
 * The pieces follow the o200k_base pre-tokenizer: a word is a run of
 * letters, split where a lowercase letter is followed by an uppercase one
 * (camelCase) or where the script changes; digits go in groups of three; a
 * single punctuation character before a word joins that word; line breaks
 * right after punctuation join the punctuation; a single space joins the
 * piece after it unless that is a number.
 */
static void
scan_text(const unsigned char *s, size_t len, TokensCounts *acc)
{
	TokensCursor cur = {s, len, 0};
	TokensCharClass c;
	TokensAlnumRun run = {0, false, false, false};
	int			n;

	c = peek_class(&cur, &n);
	while (c != TCC_END)
	{
		if (!is_letter(c) && c != TCC_DIGIT)
			close_alnum_run(&run, acc);

		if (is_letter(c))
		{
			TokensFeature family = word_feature(c);
			TokensCharClass prev = c;
			int64_t		letters = 0;

			acc->n[family]++;
			while (is_letter(c))
			{
				if (word_feature(c) != family ||
					(prev == TCC_LOWER && c == TCC_UPPER))
				{
					if (family == TF_WORD && letters > WORD_SHORT_LETTERS)
						acc->n[TF_WORD_LONG] += letters - WORD_SHORT_LETTERS;
					family = word_feature(c);
					acc->n[family]++;
					letters = 0;
				}
				letters++;
				if (c == TCC_LOWER || c == TCC_UPPER)
				{
					run.chars++;
					if (c == TCC_LOWER)
						run.lower = true;
					else
						run.upper = true;
				}
				else
				{
					close_alnum_run(&run, acc);
					if (c == TCC_LATIN)
						acc->n[TF_LATIN]++;
					else if (c == TCC_CYRILLIC)
						acc->n[TF_CYR_LETTER]++;
					else
						acc->n[TF_ALPHA_LETTER]++;
				}
				prev = c;
				cur.pos += n;
				c = peek_class(&cur, &n);
			}
			if (family == TF_WORD && letters > WORD_SHORT_LETTERS)
				acc->n[TF_WORD_LONG] += letters - WORD_SHORT_LETTERS;
		}
		else if (is_cjk(c))
		{
			bool		in_hangul = false;

			while (is_cjk(c))
			{
				if (c == TCC_HANGUL)
				{
					if (!in_hangul)
						acc->n[TF_HANGUL_WORD]++;
					acc->n[TF_HANGUL]++;
				}
				else if (c == TCC_KANA)
					acc->n[TF_KANA]++;
				else
					acc->n[TF_HAN_ZH]++;	/* split from TF_HAN_JA later */
				in_hangul = (c == TCC_HANGUL);
				cur.pos += n;
				c = peek_class(&cur, &n);
			}
		}
		else if (c == TCC_DIGIT)
		{
			int64_t		digits = 0;

			while (c == TCC_DIGIT)
			{
				digits++;
				run.chars++;
				run.digit = true;
				cur.pos += n;
				c = peek_class(&cur, &n);
			}
			acc->n[TF_DIGIT_GROUP] += (digits + 2) / 3;
		}
		else if (is_symbolic(c))
		{
			int64_t		chars = 0;
			int64_t		ascii = 0;

			while (is_symbolic(c))
			{
				chars++;
				switch (c)
				{
					case TCC_PUNCT:
						ascii++;
						break;
					case TCC_CJK_PUNCT:
						acc->n[TF_CJK_PUNCT]++;
						break;
					case TCC_EMOJI:
						acc->n[TF_EMOJI]++;
						break;
					case TCC_JOINER:
						acc->n[TF_JOINER]++;
						break;
					case TCC_INVALID:
						acc->n[TF_INVALID]++;
						break;
					default:
						acc->n[TF_SYMBOL]++;
						break;
				}
				cur.pos += n;
				c = peek_class(&cur, &n);
			}
			if (chars > 1 || !(is_letter(c) || is_cjk(c)))
				acc->n[TF_PUNCT_RUN]++;
			if (ascii > LONG_RUN_CHARS)
				ascii = LONG_RUN_CHARS + run_pieces(ascii - LONG_RUN_CHARS);
			acc->n[TF_PUNCT_CHAR] += ascii;
			while (c == TCC_NEWLINE)
			{
				cur.pos += n;
				c = peek_class(&cur, &n);
			}
		}
		else
		{
			/* TCC_SPACE or TCC_NEWLINE, the only classes left */
			int64_t		breaks = 0;
			int64_t		blanks = 0; /* since the last line break */

			while (c == TCC_SPACE || c == TCC_NEWLINE)
			{
				if (c == TCC_NEWLINE)
				{
					breaks++;
					blanks = 0;
				}
				else
					blanks++;
				cur.pos += n;
				c = peek_class(&cur, &n);
			}
			if (breaks > 0)
				acc->n[TF_NEWLINE_RUN] += run_pieces(breaks);
			/* the last blank joins a following word or punctuation */
			if (c == TCC_END || c == TCC_DIGIT)
			{
				if (blanks > 0)
					acc->n[TF_SPACE_RUN] += run_pieces(blanks);
			}
			else if (blanks > 1)
				acc->n[TF_SPACE_RUN] += run_pieces(blanks - 1);
		}
	}
	close_alnum_run(&run, acc);
}

/*
 * Weigh the counts into tokens, rounded to nearest. Ideographs cost more in
 * Japanese than in Chinese text (o200k_base has more Chinese words), and the
 * scanner cannot know which until the end, so the split happens here: text
 * with at least one kana per four ideographs counts as Japanese.
 */
static int64_t
counts_to_tokens(const TokensCounts *acc)
{
	TokensCounts w = *acc;
	int64_t		milli = 0;
	int64_t		pieces = 0;

	if (w.n[TF_KANA] * 4 >= w.n[TF_HAN_ZH])
	{
		w.n[TF_HAN_JA] += w.n[TF_HAN_ZH];
		w.n[TF_HAN_ZH] = 0;
	}
	for (int f = 0; f < TF_COUNT; f++)
	{
		milli += w.n[f] * feature_cost[f];
		pieces += w.n[f];
	}
	/* any non-empty text is at least one token */
	if (pieces > 0 && milli < 1000)
		return 1;
	return (milli + 500) / 1000;
}

int64_t
aigov_tokens_estimate_text(const char *utf8, size_t len)
{
	TokensCounts acc = {{0}};

	if (utf8 == NULL || len == 0)
		return 0;
	scan_text((const unsigned char *) utf8, len, &acc);
	return counts_to_tokens(&acc);
}

/*
 * JSON text estimation: jansson serialises a value in pieces through a
 * callback; pieces are gathered in a fixed buffer and scanned when it
 * fills, so no serialised copy is ever allocated.
 */
#define DUMP_BUFFER_SIZE 2048

/*
 * What the request walk gathers beside the token estimate, for the
 * provider-side character estimate (see tokens.h): the bytes of the
 * messages' texts, and the fixed costs of parts (images) that have none.
 */
typedef struct RequestScan
{
	int64_t		text_bytes;
	int64_t		fixed_tokens;
	int64_t		messages;
} RequestScan;

typedef struct TokensDump
{
	TokensCounts *acc;
	size_t		used;
	int64_t		bytes;			/* everything emitted so far */
	unsigned char buf[DUMP_BUFFER_SIZE];
} TokensDump;

static void
dump_flush(TokensDump *d)
{
	if (d->used > 0)
		scan_text(d->buf, d->used, d->acc);
	d->used = 0;
}

/* json_dump_callback sink; never fails. */
static int
dump_piece(const char *piece, size_t size, void *data)
{
	TokensDump *d = (TokensDump *) data;

	d->bytes += (int64_t) size;
	if (size > DUMP_BUFFER_SIZE - d->used)
	{
		dump_flush(d);
		if (size > DUMP_BUFFER_SIZE)
		{
			/* a long string: scan it in place */
			scan_text((const unsigned char *) piece, size, d->acc);
			return 0;
		}
	}
	memcpy(d->buf + d->used, piece, size);
	d->used += size;
	return 0;
}

/*
 * Add the counts of a value's compact JSON text to *acc; returns the text's
 * length in bytes.
 */
static int64_t
count_json_text(const json_t *value, TokensCounts *acc)
{
	TokensDump	d;

	d.acc = acc;
	d.used = 0;
	d.bytes = 0;
	/* on an impossible failure, whatever was emitted still counts */
	(void) json_dump_callback(value, dump_piece, &d,
							  JSON_COMPACT | JSON_ENCODE_ANY |
							  JSON_REAL_PRECISION(15));
	dump_flush(&d);
	return d.bytes;
}

/* Tokens of a value's compact JSON text. */
static int64_t
json_text_tokens(RequestScan *scan, const json_t *value)
{
	TokensCounts acc = {{0}};

	scan->text_bytes += count_json_text(value, &acc);
	return counts_to_tokens(&acc);
}

/* Tokens of a JSON string's text; 0 for anything that is not a string. */
static int64_t
string_tokens(RequestScan *scan, const json_t *value)
{
	if (!json_is_string(value))
		return 0;
	scan->text_bytes += (int64_t) json_string_length(value);
	return aigov_tokens_estimate_text(json_string_value(value),
									  json_string_length(value));
}

/* Tokens of one content part of a message. */
static int64_t
part_tokens(RequestScan *scan, const json_t *part)
{
	const char *type = json_string_value(json_object_get(part, "type"));

	if (type != NULL && strcmp(type, "text") == 0 &&
		json_is_string(json_object_get(part, "text")))
		return string_tokens(scan, json_object_get(part, "text"));
	if (type != NULL && strcmp(type, "image_url") == 0)
	{
		const json_t *image = json_object_get(part, "image_url");
		const char *detail = json_string_value(json_object_get(image, "detail"));

		int64_t		tokens = (detail != NULL && strcmp(detail, "low") == 0) ?
			AIGOV_TOKENS_IMAGE_LOW : AIGOV_TOKENS_IMAGE_HIGH;

		scan->fixed_tokens += tokens;
		return tokens;
	}

	/*
	 * Audio, files and unknown parts: limiters do not count their encoded
	 * bytes (a recorded audio request was charged for its text part only).
	 */
	{
		int64_t		bytes = scan->text_bytes;
		int64_t		tokens = json_text_tokens(scan, part);

		scan->text_bytes = bytes;
		return tokens;
	}
}

/* Tokens of a message's content: a string, null, or an array of parts. */
static int64_t
content_tokens(RequestScan *scan, const json_t *content)
{
	int64_t		total = 0;
	size_t		i;
	json_t	   *part;

	if (content == NULL || json_is_null(content))
		return 0;
	if (json_is_string(content))
		return string_tokens(scan, content);
	if (!json_is_array(content))
		return json_text_tokens(scan, content);
	json_array_foreach(content, i, part)
		total += part_tokens(scan, part);
	return total;
}

/* Tokens of a call's name and arguments ({"name":..., "arguments":...}). */
static int64_t
call_tokens(RequestScan *scan, const json_t *call)
{
	return AIGOV_TOKENS_PER_TOOL_CALL +
		string_tokens(scan, json_object_get(call, "name")) +
		string_tokens(scan, json_object_get(call, "arguments"));
}

/* Tokens of one assistant tool call; non-function calls by their JSON. */
static int64_t
tool_call_tokens(RequestScan *scan, const json_t *tool_call)
{
	const json_t *function = json_object_get(tool_call, "function");

	if (json_is_object(function))
		return call_tokens(scan, function);
	return AIGOV_TOKENS_PER_TOOL_CALL + json_text_tokens(scan, tool_call);
}

/* Tokens of one message, which must be an object with a "role" string. */
static int64_t
message_tokens(RequestScan *scan, const json_t *message)
{
	const json_t *name = json_object_get(message, "name");
	const json_t *tool_calls = json_object_get(message, "tool_calls");
	const json_t *function_call = json_object_get(message, "function_call");
	const json_t *role = json_object_get(message, "role");
	int64_t		total;

	/* the role is framing to a character count: not part of its text */
	scan->messages++;
	total = AIGOV_TOKENS_PER_MESSAGE +
		aigov_tokens_estimate_text(json_string_value(role),
								   json_string_length(role)) +
		content_tokens(scan, json_object_get(message, "content"));
	if (json_is_string(name))
		total += AIGOV_TOKENS_PER_NAME + string_tokens(scan, name);
	if (json_is_array(tool_calls))
	{
		size_t		i;
		json_t	   *call;

		json_array_foreach(tool_calls, i, call)
			total += tool_call_tokens(scan, call);
	}
	if (json_is_object(function_call))
		total += call_tokens(scan, function_call);
	return total;
}

/* Tokens of a function definition: name, description, parameters' JSON. */
static int64_t
function_tokens(RequestScan *scan, const json_t *function)
{
	const json_t *parameters = json_object_get(function, "parameters");

	return string_tokens(scan, json_object_get(function, "name")) +
		string_tokens(scan, json_object_get(function, "description")) +
		(parameters != NULL ? json_text_tokens(scan, parameters) : 0);
}

/*
 * Tokens of the tool definitions: "tools" (function tools by their parts,
 * others by their JSON) and the legacy "functions"; 0 when there are none.
 */
static int64_t
tools_tokens(RequestScan *scan, const json_t *body)
{
	const json_t *tools = json_object_get(body, "tools");
	const json_t *functions = json_object_get(body, "functions");
	int64_t		total = 0;
	int64_t		count = 0;
	size_t		i;
	json_t	   *item;

	if (json_is_array(tools))
	{
		json_array_foreach(tools, i, item)
		{
			const json_t *function = json_object_get(item, "function");
			const char *type = json_string_value(json_object_get(item, "type"));

			if (type != NULL && strcmp(type, "function") == 0 &&
				json_is_object(function))
				total += function_tokens(scan, function);
			else
				total += json_text_tokens(scan, item);
			count++;
		}
	}
	if (json_is_array(functions))
	{
		json_array_foreach(functions, i, item)
		{
			total += function_tokens(scan, item);
			count++;
		}
	}
	if (count == 0)
		return 0;
	return AIGOV_TOKENS_TOOLS_BASE + count * AIGOV_TOKENS_PER_TOOL + total;
}

/* Tokens of a response_format json_schema's schema; 0 when there is none. */
static int64_t
response_schema_tokens(RequestScan *scan, const json_t *body)
{
	const json_t *format = json_object_get(body, "response_format");
	const char *type = json_string_value(json_object_get(format, "type"));
	const json_t *schema;

	if (type == NULL || strcmp(type, "json_schema") != 0)
		return 0;
	schema = json_object_get(json_object_get(format, "json_schema"), "schema");
	if (schema == NULL)
		return 0;
	return AIGOV_TOKENS_RESPONSE_SCHEMA + json_text_tokens(scan, schema);
}

/*
 * Check an optional output budget field: absent and null are fine (*value
 * untouched), a positive integer is stored in *value, anything else fails.
 */
static bool
read_budget(const json_t *body, const char *field, int64_t *value)
{
	const json_t *v = json_object_get(body, field);

	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return false;
	*value = (int64_t) json_integer_value(v);
	return true;
}

/*
 * Validate and estimate an OpenAI chat-completions body (see tokens.h).
 * Checks run in the order of the status codes, so the first problem found
 * is the one reported; messages are checked in order, and the index of the
 * first bad one is returned. Duplicate keys make the body bad JSON, as
 * elsewhere in aigov.
 */
AigovTokensStatus
aigov_tokens_estimate_request(const char *json, size_t len,
							  AigovTokenEstimate *out)
{
	AigovTokenEstimate est = {0, -1, -1, 0};
	RequestScan scan = {0, 0, 0};
	AigovTokensStatus status = AIGOV_TOKENS_OK;
	json_error_t error;
	json_t	   *body;
	const json_t *model;
	const json_t *messages;
	int64_t		completion_budget = -1;
	int64_t		legacy_budget = -1;

	if (out != NULL)
		*out = est;
	if (json == NULL)
		return AIGOV_TOKENS_BAD_JSON;
	body = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &error);
	if (body == NULL)
		return AIGOV_TOKENS_BAD_JSON;

	model = json_object_get(body, "model");
	messages = json_object_get(body, "messages");
	if (!json_is_object(body))
		status = AIGOV_TOKENS_NOT_OBJECT;
	else if (!json_is_string(model) || json_string_length(model) == 0)
		status = AIGOV_TOKENS_NO_MODEL;
	else if (!json_is_array(messages) || json_array_size(messages) == 0)
		status = AIGOV_TOKENS_NO_MESSAGES;
	else
	{
		size_t		i;
		json_t	   *message;

		est.prompt_tokens = AIGOV_TOKENS_REPLY_PRIMING;
		json_array_foreach(messages, i, message)
		{
			const json_t *role = json_object_get(message, "role");

			if (!json_is_object(message) || !json_is_string(role) ||
				json_string_length(role) == 0)
			{
				status = AIGOV_TOKENS_BAD_MESSAGE;
				est.bad_message_index = (int) i;
				break;
			}
			est.prompt_tokens += message_tokens(&scan, message);
		}
	}
	if (status == AIGOV_TOKENS_OK &&
		(!read_budget(body, "max_completion_tokens", &completion_budget) ||
		 !read_budget(body, "max_tokens", &legacy_budget)))
		status = AIGOV_TOKENS_BAD_MAX_TOKENS;
	if (status == AIGOV_TOKENS_OK)
	{
		int64_t		message_bytes = scan.text_bytes;

		/* recorded exchanges show tools and schemas are not charged */
		est.prompt_tokens += tools_tokens(&scan, body) + response_schema_tokens(&scan, body);
		scan.text_bytes = message_bytes;
		est.max_output_tokens = completion_budget >= 0 ?
			completion_budget : legacy_budget;
		est.charged_prompt_tokens = (scan.text_bytes + 3) / 4 +
			scan.messages * AIGOV_CHARGE_PER_MESSAGE + scan.fixed_tokens;
	}
	else
	{
		est.prompt_tokens = 0;
		est.max_output_tokens = -1;
	}
	json_decref(body);

	if (out != NULL)
		*out = est;
	return status;
}

int64_t
aigov_tokens_total(const AigovTokenEstimate *est, int64_t default_output_tokens)
{
	int64_t		prompt;
	int64_t		output;

	if (est == NULL)
		return 0;
	prompt = est->prompt_tokens > 0 ? est->prompt_tokens : 0;
	output = est->max_output_tokens >= 0 ?
		est->max_output_tokens : default_output_tokens;
	if (output < 0)
		output = 0;
	if (prompt > INT64_MAX - output)
		return INT64_MAX;
	return prompt + output;
}

const char *
aigov_tokens_status_message(AigovTokensStatus status)
{
	switch (status)
	{
		case AIGOV_TOKENS_OK:
			return "ok";
		case AIGOV_TOKENS_BAD_JSON:
			return "request body is not valid JSON";
		case AIGOV_TOKENS_NOT_OBJECT:
			return "request body is not a JSON object";
		case AIGOV_TOKENS_NO_MODEL:
			return "\"model\" is missing or not a non-empty string";
		case AIGOV_TOKENS_NO_MESSAGES:
			return "\"messages\" is missing, not an array, or empty";
		case AIGOV_TOKENS_BAD_MESSAGE:
			return "a message is not an object or has no \"role\" string";
		case AIGOV_TOKENS_BAD_MAX_TOKENS:
			return "\"max_tokens\" or \"max_completion_tokens\" is not a positive integer";
	}
	return "unknown token estimation status";
}
