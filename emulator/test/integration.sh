#!/bin/bash
#-------------------------------------------------------------------------
# integration.sh
#	  Drives a running aigov-emulator with curl, one API style after the
#	  other, and checks status codes, headers and bodies against
#	  the providers' documented wire formats (docs/emulator.md).  Prints
#	  TAP; exits non-zero on failure.
#
# Usage: integration.sh [path/to/aigov-emulator]
#
# Only bash, curl, grep and sed: no jq or python.  The emulator is started
# on a free port in 18000-18999 and always killed on exit.
#
# IDENTIFICATION
#	  emulator/test/integration.sh
#-------------------------------------------------------------------------
set -u

BIN=${1:-./aigov-emulator}
TMP=$(mktemp -d /tmp/emu-it.XXXXXX)
PID=
N=0
FAILED=0

cleanup() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { N=$((N + 1)); echo "ok $N - $1"; }
notok() {
	N=$((N + 1)); FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	echo "#   status=$STATUS rc=$RC"
	sed 's/^/#   /' "$TMP/h" 2>/dev/null | head -30
	head -c 1500 "$TMP/b" 2>/dev/null | sed 's/^/#   /'
	echo
}
# check DESC COMMAND...: ok if the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }

cat > "$TMP/config.json" <<'JSON'
{
  "org": "org-it",
  "models": [
    {"name": "gpt-4o-mini", "provider": "openai", "max_output_tokens": 4096},
    {"name": "gpt-5-nano", "provider": "azure"},
    {"name": "gpt-4o-dep", "provider": "azure", "max_output_tokens": 4096}
  ],
  "keys": [
    {"secret": "sk-it-main", "label": "k1", "provider": "openai", "rpm": 600, "tpm": 60000},
    {"secret": "sk-it-rpm", "label": "k-rpm", "provider": "openai", "rpm": 2, "tpm": 100000},
    {"secret": "sk-it-tpm", "label": "k-tpm", "provider": "openai", "rpm": 600, "tpm": 100},
    {"secret": "sk-it-rpd", "label": "k-rpd", "provider": "openai", "rpm": 600, "rpd": 1},
    {"secret": "sk-it-bill", "label": "k-bill", "provider": "openai", "rpm": 600, "insufficient_quota": true},
    {"secret": "sk-it-fault", "label": "k-fault", "provider": "openai", "rpm": 100000, "tpm": 10000000},
    {"secret": "sk-ant-main", "label": "a1", "provider": "anthropic", "rpm": 50, "itpm": 40000, "otpm": 8000},
    {"secret": "sk-ant-otpm", "label": "a-otpm", "provider": "anthropic", "rpm": 50, "itpm": 40000, "otpm": 5},
    {"secret": "sk-ant-itpm", "label": "a-itpm", "provider": "anthropic", "rpm": 50, "itpm": 20, "otpm": 8000},
    {"secret": "gm-main", "label": "g1", "provider": "gemini", "rpm": 100, "tpm": 100000},
    {"secret": "gm-rpm", "label": "g-rpm", "provider": "gemini", "rpm": 1},
    {"secret": "gm-rpd", "label": "g-rpd", "provider": "gemini", "rpm": 1000, "rpd": 1, "free_tier": true},
    {"secret": "az-main", "label": "z1", "provider": "azure", "rpm": 600, "tpm": 100000},
    {"secret": "az-rpm", "label": "z-rpm", "provider": "azure", "rpm": 6, "tpm": 100000},
    {"secret": "az-tpm", "label": "z-tpm", "provider": "azure", "rpm": 600, "tpm": 100},
    {"secret": "az-fault", "label": "z-fault", "provider": "azure", "rpm": 60000, "tpm": 10000000}
  ]
}
JSON

# Start on a free port: try random ports until one binds.
PORT=
for attempt in $(seq 1 40); do
	p=$((18000 + RANDOM % 1000))
	"$BIN" --listen "127.0.0.1:$p" --config "$TMP/config.json" \
		--pidfile "$TMP/pid" --request-log "$TMP/requests.log" \
		>"$TMP/out" 2>"$TMP/err" &
	PID=$!
	for i in $(seq 1 100); do
		if grep -q "listening on 127.0.0.1:$p" "$TMP/out" 2>/dev/null; then
			PORT=$p
			break
		fi
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$PORT" ] && break
	kill "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
done
if [ -z "$PORT" ]; then
	echo "Bail out! could not start $BIN: $(cat "$TMP/err" 2>/dev/null)"
	exit 1
fi
BASE="http://127.0.0.1:$PORT"

STATUS=
RC=0
# call PATH CURL-ARGS...: body in $TMP/b, headers in $TMP/h, $STATUS, $RC
call() {
	local path=$1
	shift
	RC=0
	: >"$TMP/h"
	: >"$TMP/b"
	STATUS=$(curl -s -o "$TMP/b" -D "$TMP/h" -w '%{http_code}' --max-time 5 \
		"$@" "$BASE$path") || RC=$?
}
hdr() { grep -i "^$1:" "$TMP/h" | head -1 | sed 's/^[^:]*: *//; s/\r$//'; }
has() { grep -qF -- "$1" "$TMP/b"; }
lacks() { ! grep -qF -- "$1" "$TMP/b"; }
hdr_is() { [ "$(hdr "$1")" = "$2" ]; }
hdr_matches() { hdr "$1" | grep -Eq "$2"; }
no_hdr() { ! grep -qi "^$1:" "$TMP/h"; }
status_is() { [ "$STATUS" = "$1" ]; }
between() { [ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

openai() {	# openai SECRET BODY [extra curl args]
	local s=$1 b=$2
	shift 2
	call /v1/chat/completions -H "Authorization: Bearer $s" \
		-H 'Content-Type: application/json' --data-binary "$b" "$@"
}
anthropic() {
	local s=$1 b=$2
	shift 2
	call /v1/messages -H "x-api-key: $s" -H 'anthropic-version: 2023-06-01' \
		-H 'Content-Type: application/json' --data-binary "$b" "$@"
}
gemini() {	# gemini SECRET MODEL BODY
	local s=$1 m=$2 b=$3
	shift 3
	call "/v1beta/models/$m:generateContent" -H "x-goog-api-key: $s" \
		-H 'Content-Type: application/json' --data-binary "$b" "$@"
}
AZV=2024-10-21
azure() {	# azure SECRET DEPLOYMENT BODY [extra curl args]
	local s=$1 d=$2 b=$3
	shift 3
	call "/openai/deployments/$d/chat/completions?api-version=$AZV" \
		-H "api-key: $s" -H 'Content-Type: application/json' \
		--data-binary "$b" "$@"
}
admin() {	# admin PATH [JSON]
	if [ $# -ge 2 ]; then
		call "/admin/$1" -X POST --data-binary "$2"
	else
		call "/admin/$1"
	fi
}
# stat LABEL FIELD: a counter of /admin/stats (first match in the key's part)
stat() {
	curl -s --max-time 5 "$BASE/admin/stats" |
		grep -o "\"$1\":{\"provider\"[^}]*}[^}]*" |
		grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2
}
chat() { echo "{\"model\":\"gpt-4o-mini\",\"max_tokens\":${2:-10},\"messages\":[{\"role\":\"user\",\"content\":\"$1\"}]}"; }
msg() { echo "{\"model\":\"claude-test\",\"max_tokens\":${2:-100},\"messages\":[{\"role\":\"user\",\"content\":\"$1\"}]}"; }
gem() { echo "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"$1\"}]}]}"; }
RFC3339='^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z$'

# ---------------------------------------------------------------- OpenAI
openai sk-it-main "$(chat 'hello job 17')"
check "openai: 200 with the echoed text" eval 'status_is 200 && has "\"content\":\"echo: hello job 17\""'
check "openai: chat.completion shape" eval 'has "\"object\":\"chat.completion\"" && has "\"finish_reason\":\"stop\"" && has "\"role\":\"assistant\""'
# "hello job 17": 12 bytes -> 3 tokens + 2 for the message; reply 18 bytes -> 5
check "openai: usage in OpenAI shape" eval 'has "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":5,\"total_tokens\":10"'
check "openai: request headers of the minute window" eval 'hdr_is x-ratelimit-limit-requests 600 && hdr_is x-ratelimit-remaining-requests 599 && hdr_is x-ratelimit-limit-tokens 60000'
# prompt 5 + max_tokens 10 charged; 1 token/ms flows back in
check "openai: tokens charged at request time (prompt + max_tokens)" between "$(hdr x-ratelimit-remaining-tokens)" 59985 59995
check "openai: Go-style reset durations" eval 'hdr_matches x-ratelimit-reset-requests "^(100|[1-9]?[0-9])ms$" && hdr_matches x-ratelimit-reset-tokens "^[0-9]+ms$"'
check "openai: x-request-id and JSON content type" eval 'hdr_matches x-request-id "^req_" && hdr_matches content-type "^application/json"'

openai sk-wrong "$(chat x)"
check "openai: unknown key is 401 invalid_api_key" eval 'status_is 401 && has "\"code\":\"invalid_api_key\"" && lacks "sk-wrong"'
call /v1/chat/completions --data-binary "$(chat x)"
check "openai: missing key is 401" eval 'status_is 401 && has "You didn'"'"'t provide an API key"'
openai sk-it-main '{"model": "gpt-4o-mini", "messages": [}'
check "openai: bad JSON is 400 in OpenAI shape" eval 'status_is 400 && has "We could not parse the JSON body" && has "\"type\":\"invalid_request_error\""'
openai sk-it-main '{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}'
check "openai: unknown model is 404 model_not_found" eval 'status_is 404 && has "\"code\":\"model_not_found\""'
openai sk-it-main '{"model":"gpt-4o-mini","max_tokens":999999,"messages":[{"role":"user","content":"x"}]}'
check "openai: max_tokens above the model cap is 400" eval 'status_is 400 && has "invalid_request_error"'

SCHEMA='{"type":"object","properties":{"answer":{"type":"string"},"score":{"type":"integer"}},"required":["answer","score"],"additionalProperties":false}'
openai sk-it-main "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"job 18\"}],\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"r\",\"strict\":true,\"schema\":$SCHEMA}}}"
check "openai: json_schema reply conforms" eval 'status_is 200 && has "\"content\":\"{\\\"answer\\\":\\\"echo: job 18\\\",\\\"score\\\":0}\""'
openai sk-it-main "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"job 19\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":$SCHEMA}}]}"
check "openai: tools give a tool call with string arguments" eval 'status_is 200 && has "\"finish_reason\":\"tool_calls\"" && has "\"name\":\"get_weather\",\"arguments\":\"{\\\"answer\\\":\\\"echo: job 19\\\",\\\"score\\\":0}\""'

openai sk-it-rpm "$(chat a)"; s1=$STATUS
openai sk-it-rpm "$(chat b)"; s2=$STATUS
openai sk-it-rpm "$(chat c)"
check "openai: RPM 429 after the limit" eval '[ "$s1$s2" = 200200 ] && status_is 429'
check "openai: RPM 429 body" eval 'has "Rate limit reached for gpt-4o-mini in organization org-it on requests per min (RPM): Limit 2, Used 2, Requested 1. Please try again in" && has "\"type\":\"requests\"" && has "\"code\":\"rate_limit_exceeded\""'
check "openai: RPM 429 retry-after and retry-after-ms" eval 'between "$(hdr retry-after)" 1 30 && between "$(hdr retry-after-ms)" 1 30000'
check "openai: RPM 429 still carries the headers" eval 'hdr_is x-ratelimit-remaining-requests 0 && hdr_is x-ratelimit-limit-requests 2'

openai sk-it-tpm "$(chat x 1000)"
check "openai: request above TPM is 'Request too large', no retry-after" eval 'status_is 429 && has "Request too large for gpt-4o-mini in organization org-it on tokens per min (TPM): Limit 100, Requested 1003." && no_hdr retry-after'
openai sk-it-tpm "$(chat x 60)"; s1=$STATUS
openai sk-it-tpm "$(chat y 60)"
check "openai: TPM 429 names tokens per min" eval '[ "$s1" = 200 ] && status_is 429 && has "on tokens per min (TPM): Limit 100, Used 63, Requested 63." && has "\"type\":\"tokens\""'

openai sk-it-rpd "$(chat x)"; s1=$STATUS
openai sk-it-rpd "$(chat y)"
check "openai: RPD 429 body names requests per day" eval '[ "$s1" = 200 ] && status_is 429 && has "on requests per day (RPD): Limit 1, Used 1, Requested 1. Please try again in 24h0m."'
# The minute bucket (600 RPM) refills one request per 100 ms, so it shows
# 599 or, on a slow machine, 600 again; the day's bucket would show 0.
check "openai: RPD 429 reset header shows the minute bucket (trap)" eval 'hdr_matches x-ratelimit-reset-requests "^[0-9]+ms$" && hdr_matches x-ratelimit-remaining-requests "^(599|600)$"'

openai sk-it-bill "$(chat x)"
check "openai: insufficient_quota 429 without retry-after" eval 'status_is 429 && has "\"type\":\"insufficient_quota\"" && has "You exceeded your current quota" && no_hdr retry-after'

# ------------------------------------------------------------- Anthropic
anthropic sk-ant-main "$(msg 'hello job 21')"
check "anthropic: 200 message with the echoed text" eval 'status_is 200 && has "\"type\":\"message\"" && has "\"content\":[{\"type\":\"text\",\"text\":\"echo: hello job 21\"}]" && has "\"stop_reason\":\"end_turn\""'
check "anthropic: usage in Anthropic shape" eval 'has "\"usage\":{\"input_tokens\":5,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":5}"'
check "anthropic: RFC 3339 resets on every family" eval 'hdr_matches anthropic-ratelimit-requests-reset "$RFC3339" && hdr_matches anthropic-ratelimit-input-tokens-reset "$RFC3339" && hdr_matches anthropic-ratelimit-output-tokens-reset "$RFC3339" && hdr_matches anthropic-ratelimit-tokens-reset "$RFC3339"'
check "anthropic: exact requests, tokens rounded to thousands" eval 'hdr_is anthropic-ratelimit-requests-remaining 49 && hdr_is anthropic-ratelimit-input-tokens-remaining 40000 && hdr_is anthropic-ratelimit-output-tokens-remaining 8000'
check "anthropic: combined tokens family = input + output" eval 'hdr_is anthropic-ratelimit-tokens-limit 48000 && hdr_is anthropic-ratelimit-tokens-remaining 48000'
check "anthropic: request-id header" eval 'hdr_matches request-id "^req_" && no_hdr x-ratelimit-limit-requests'

call /v1/messages -H 'x-api-key: sk-ant-main' --data-binary "$(msg x)"
check "anthropic: missing anthropic-version is 400" eval 'status_is 400 && has "\"type\":\"invalid_request_error\"" && has "anthropic-version"'
anthropic sk-nope "$(msg x)"
check "anthropic: unknown key is 401 authentication_error" eval 'status_is 401 && has "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\""'
anthropic sk-ant-main '{"model":"c","messages":[{"role":"user","content":"x"}]}'
check "anthropic: max_tokens is required" eval 'status_is 400 && has "max_tokens: Field required"'

LONG='a question long enough to make many output tokens'
# OTPM 5: max_tokens 100 would not fit if it were charged up front
anthropic sk-ant-otpm "$(msg "$LONG" 100)"
check "anthropic: max_tokens is not charged to OTPM" eval 'status_is 200 && has "\"output_tokens\":14}"'
anthropic sk-ant-otpm "$(msg x)"
check "anthropic: OTPM 429 names output tokens" eval 'status_is 429 && has "\"type\":\"rate_limit_error\"" && has "of 5 output tokens per minute." && hdr_matches retry-after "^[0-9]+$" && hdr_is anthropic-ratelimit-output-tokens-remaining 0'

anthropic sk-ant-itpm "$(msg 'twelve tokens of prompt text here xxxxxxxx')"; s1=$STATUS
anthropic sk-ant-itpm "$(msg 'twelve tokens of prompt text here xxxxxxxx')"
check "anthropic: ITPM 429 names input tokens" eval '[ "$s1" = 200 ] && status_is 429 && has "of 20 input tokens per minute." && hdr_matches retry-after "^[1-9][0-9]*$"'

anthropic sk-ant-main "{\"model\":\"c\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"job 22\"}],\"tools\":[{\"name\":\"get_weather\",\"input_schema\":$SCHEMA}]}"
check "anthropic: tools give a tool_use block with object input" eval 'status_is 200 && has "\"name\":\"get_weather\",\"input\":{\"answer\":\"echo: job 22\",\"score\":0}}]" && has "\"stop_reason\":\"tool_use\""'
anthropic sk-ant-main "{\"model\":\"c\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"job 23\"}],\"output_config\":{\"format\":{\"type\":\"json_schema\",\"schema\":$SCHEMA}}}"
check "anthropic: structured output is conforming JSON text" eval 'status_is 200 && has "\"text\":\"{\\\"answer\\\":\\\"echo: job 23\\\",\\\"score\\\":0}\""'

admin faults '{"key":"a1","error_rate":1}'
anthropic sk-ant-main "$(msg x)"
check "anthropic: injected overload is 529 overloaded_error" eval 'status_is 529 && has "\"type\":\"overloaded_error\",\"message\":\"Overloaded\""'
admin faults '{"key":"a1","clear":true}'
anthropic sk-ant-main "$(msg x)"
check "anthropic: clearing the fault ends the outage" status_is 200

# ---------------------------------------------------------------- Gemini
gemini gm-main gemini-2.5-flash "$(gem 'hello job 31')"
check "gemini: 200 with the echoed text" eval 'status_is 200 && has "\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"echo: hello job 31\"}],\"role\":\"model\"},\"finishReason\":\"STOP\""'
check "gemini: usageMetadata" eval 'has "\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":5,\"totalTokenCount\":10}" && has "\"modelVersion\":\"gemini-2.5-flash\""'
check "gemini: no rate-limit headers on success" eval '! grep -qi ratelimit "$TMP/h"'
call "/v1beta/models/gemini-2.5-flash:generateContent?key=gm-main" --data-binary "$(gem 'by query')"
check "gemini: ?key= authenticates" eval 'status_is 200 && has "echo: by query"'
gemini gm-bad gemini-2.5-flash "$(gem x)"
check "gemini: invalid key is 400 API_KEY_INVALID" eval 'status_is 400 && has "\"status\":\"INVALID_ARGUMENT\"" && has "API_KEY_INVALID"'
call /v1beta/models/gemini-2.5-flash:generateContent --data-binary "$(gem x)"
check "gemini: missing key is 403 PERMISSION_DENIED" eval 'status_is 403 && has "PERMISSION_DENIED"'
gemini gm-main gemini-2.5-flash '{"contents": ['
check "gemini: bad JSON is 400 INVALID_ARGUMENT" eval 'status_is 400 && has "\"code\":400" && has "INVALID_ARGUMENT"'

gemini gm-rpm gemini-2.5-flash "$(gem a)"; s1=$STATUS
gemini gm-rpm gemini-2.5-flash "$(gem b)"
check "gemini: RPM 429 RESOURCE_EXHAUSTED with QuotaFailure" eval '[ "$s1" = 200 ] && status_is 429 && has "\"status\":\"RESOURCE_EXHAUSTED\"" && has "\"quotaId\":\"GenerateRequestsPerMinutePerProjectPerModel\"" && has "\"quotaValue\":\"1\""'
check "gemini: RPM 429 RetryInfo and no headers" eval 'grep -Eq "\"retryDelay\":\"(60|59)s\"" "$TMP/b" && has "Please retry in" && ! grep -qi "ratelimit\|retry-after" "$TMP/h"'
gemini gm-rpd gemini-2.5-flash "$(gem a)"; s1=$STATUS
gemini gm-rpd gemini-2.5-flash "$(gem b)"
DELAY=$(grep -o '"retryDelay":"[0-9]*s"' "$TMP/b" | grep -o '[0-9]*')
check "gemini: daily 429 has a PerDay quotaId (free tier)" eval '[ "$s1" = 200 ] && status_is 429 && has "\"quotaId\":\"GenerateRequestsPerDayPerProjectPerModel-FreeTier\""'
check "gemini: daily 429 still carries a short retryDelay (trap)" between "$DELAY" 1 60

gemini gm-main gemini-2.5-flash "{\"contents\":[{\"parts\":[{\"text\":\"job 32\"}]}],\"generationConfig\":{\"responseMimeType\":\"application/json\",\"responseSchema\":{\"type\":\"OBJECT\",\"properties\":{\"answer\":{\"type\":\"STRING\"}},\"required\":[\"answer\"]}}}"
check "gemini: responseSchema reply conforms" eval 'status_is 200 && has "\"text\":\"{\\\"answer\\\":\\\"echo: job 32\\\"}\""'
gemini gm-main gemini-2.5-flash "{\"contents\":[{\"parts\":[{\"text\":\"job 33\"}]}],\"tools\":[{\"functionDeclarations\":[{\"name\":\"get_weather\",\"parameters\":$SCHEMA}]}]}"
check "gemini: tools give a functionCall with object args" eval 'status_is 200 && has "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"answer\":\"echo: job 33\",\"score\":0}}}"'
admin faults '{"provider":"gemini","error_rate":1}'
gemini gm-main gemini-2.5-flash "$(gem x)"
check "gemini: provider-wide outage is 503 UNAVAILABLE" eval 'status_is 503 && has "\"status\":\"UNAVAILABLE\""'
admin faults '{"provider":"gemini","clear":true}'
gemini gm-main gemini-2.5-flash "$(gem x)"
check "gemini: outage ends" status_is 200

# ----------------------------------------------------------------- Azure
UUID='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
AZ='{"messages":[{"content":"Hello!","role":"user"}],"model":"gpt-5-nano"}'
azure az-main gpt-5-nano "$AZ"
check "azure: 200 chat.completion with the echoed text" eval 'status_is 200 && has "\"object\":\"chat.completion\"" && has "\"content\":\"echo: Hello!\"" && has "\"model\":\"gpt-5-nano\""'
check "azure: content filter results on prompt and choice" eval 'has "\"finish_reason\":\"stop\",\"content_filter_results\":{}" && has "\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}]"'
check "azure: usage as in the capture (Hello! = 4 prompt tokens)" eval 'has "\"usage\":{\"prompt_tokens\":4,"'
# 600 RPM on 10 s windows: the header shows the window's 100, as a real
# deployment of that size does
check "azure: limit and remaining headers (RPM per 10 s window)" eval 'hdr_is x-ratelimit-limit-requests 100 && hdr_is x-ratelimit-remaining-requests 99 && hdr_is x-ratelimit-limit-tokens 100000'
check "azure: tokens charged at admission" between "$(hdr x-ratelimit-remaining-tokens)" 99990 99996
check "azure: no reset headers" eval 'no_hdr x-ratelimit-reset-requests && no_hdr x-ratelimit-reset-tokens'
check "azure: x-ms-region, x-ms-deployment-name, request ids" eval 'hdr_is x-ms-region "East US 2" && hdr_is x-ms-deployment-name gpt-5-nano && hdr_matches apim-request-id "$UUID" && hdr_matches x-request-id "$UUID" && hdr_is x-ms-rai-invoked true'
azure az-main gpt-4o-dep '{"messages":[{"role":"user","content":"job 61"}],"model":"ignored"}'
check "azure: the deployment is the model, body model ignored" eval 'status_is 200 && has "\"model\":\"gpt-4o-dep\"" && has "echo: job 61"'
azure az-main gpt-4o-dep "{\"messages\":[{\"role\":\"user\",\"content\":\"job 62\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":$SCHEMA}}]}"
check "azure: tools give an OpenAI tool call" eval 'status_is 200 && has "\"name\":\"get_weather\",\"arguments\":\"{\\\"answer\\\":\\\"echo: job 62\\\",\\\"score\\\":0}\""'

call /openai/deployments/gpt-5-nano/chat/completions -H 'api-key: az-main' --data-binary "$AZ"
check "azure: missing api-version is 404 Resource not found" eval 'status_is 404 && has "{\"error\":{\"code\":\"404\",\"message\":\"Resource not found\"}}"'
AZV=2024-10 azure az-main gpt-5-nano "$AZ"
check "azure: malformed api-version is 400" eval 'status_is 400 && has "API version not supported"'
AZV=2024-12-01-preview azure az-main gpt-5-nano "$AZ"
check "azure: preview api-version accepted" status_is 200
azure az-wrong gpt-5-nano "$AZ"
check "azure: wrong key is 401 in Azure shape" eval 'status_is 401 && has "\"code\":\"401\"" && has "invalid subscription key" && lacks "\"type\"" && lacks az-wrong'
call "/openai/deployments/gpt-5-nano/chat/completions?api-version=$AZV" -H 'Authorization: Bearer az-main' --data-binary "$AZ"
check "azure: a bearer token is no api-key (401)" eval 'status_is 401 && has "missing subscription key"'
azure sk-it-main gpt-5-nano "$AZ"
check "azure: an OpenAI key is unknown on the Azure path" status_is 401
openai az-main "$(chat x)"
check "azure: an Azure key is unknown on the OpenAI path" status_is 401
azure az-main gpt-9-dep "$AZ"
check "azure: unknown deployment is 404 DeploymentNotFound" eval 'status_is 404 && has "\"code\":\"DeploymentNotFound\""'
call "/openai/deployments/gpt-5-nano/completions?api-version=$AZV" -H 'api-key: az-main' --data-binary "$AZ"
check "azure: other operations are unknown URLs" status_is 404

# 6 RPM is one request per 10 s window: the second of a burst is refused
azure az-rpm gpt-5-nano "$AZ"; s1=$STATUS
azure az-rpm gpt-5-nano "$AZ"
check "azure: RPM 429 on the 10 s window" eval '[ "$s1" = 200 ] && status_is 429'
check "azure: RPM 429 body says call rate limit, code \"429\", no type" eval 'has "{\"error\":{\"code\":\"429\",\"message\":\"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after " && lacks "\"type\""'
check "azure: RPM 429 retry-after and retry-after-ms" eval 'between "$(hdr retry-after)" 1 10 && between "$(hdr retry-after-ms)" 1 10000 && has "Please retry after $(hdr retry-after) second"'
check "azure: RPM 429 carries limit/remaining headers" eval 'hdr_is x-ratelimit-limit-requests 1 && hdr_is x-ratelimit-remaining-requests 0 && no_hdr x-ratelimit-reset-requests'

azure az-tpm gpt-5-nano '{"messages":[{"role":"user","content":"x"}],"max_tokens":60}'; s1=$STATUS
azure az-tpm gpt-5-nano '{"messages":[{"role":"user","content":"y"}],"max_tokens":60}'
check "azure: TPM 429 says token rate limit" eval '[ "$s1" = 200 ] && status_is 429 && has "have exceeded token rate limit" && between "$(hdr retry-after)" 1 60 && between "$(hdr retry-after-ms)" 1 60000'
azure az-tpm gpt-5-nano '{"messages":[{"role":"user","content":"x"}],"max_tokens":1000}'
check "azure: a request above TPM is told 86400 seconds" eval 'status_is 429 && has "Please retry after 86400 seconds." && hdr_is retry-after 86400 && hdr_is retry-after-ms 86400000'

admin faults '{"key":"z-fault","error_rate":1}'
azure az-fault gpt-5-nano "$AZ"
check "azure: injected error is 500 InternalServerError" eval 'status_is 500 && has "\"code\":\"InternalServerError\""'
admin faults '{"key":"z-fault","clear":true,"sentinel_headers":true}'
azure az-fault gpt-5-nano "$AZ"
check "azure: sentinel mode sends -1 token headers" eval 'status_is 200 && hdr_is x-ratelimit-limit-tokens -1 && hdr_is x-ratelimit-remaining-tokens -1 && hdr_is x-ratelimit-reset-tokens 0 && hdr_is x-ratelimit-limit-requests 10000'
admin faults '{"key":"z-fault","clear":true,"no_ratelimit_headers":true}'
azure az-fault gpt-5-nano "$AZ"
check "azure: no rate-limit headers mode" eval 'status_is 200 && ! grep -qi "^x-ratelimit" "$TMP/h"'
admin faults '{"provider":"azure","no_retry_after":true}'
azure az-rpm gpt-5-nano "$AZ"
check "azure: no_retry_after drops both retry headers" eval 'status_is 429 && no_hdr retry-after && no_hdr retry-after-ms'
admin faults '{"provider":"azure","clear":true}'
check "stats: Azure 429s by dimension" eval '[ "$(stat z-rpm rpm)" = 2 ] && [ "$(stat z-tpm tpm)" = 1 ] && [ "$(stat z-tpm too_large)" = 1 ] && [ "$(stat z1 client_errors)" = 3 ]'
admin keys '{"key":"z1","rpd":10}'
check "admin: Azure keys have no daily limits" status_is 400
admin keys '{"key":"z1","insufficient_quota":true}'
check "admin: Azure keys have no billing state" status_is 400
admin keys '{"key":"z-rpm","rpm":60,"refill":true}'
azure az-rpm gpt-5-nano "$AZ"
check "admin: a changed Azure RPM shows the window's share" eval 'status_is 200 && hdr_is x-ratelimit-limit-requests 10 && hdr_is x-ratelimit-remaining-requests 9'

# ---------------------------------------------------------------- faults
admin faults '{"key":"k-fault","reset_rate":1}'
openai sk-it-fault "$(chat x)"
check "fault: connection reset (curl 56)" eval '[ "$RC" = 56 ]'
admin faults '{"key":"k-fault","clear":true,"hang_rate":1}'
openai sk-it-fault "$(chat x)" --max-time 1
check "fault: hang never answers (curl timeout 28)" eval '[ "$RC" = 28 ]'
admin faults '{"key":"k-fault","clear":true,"truncated_rate":1}'
openai sk-it-fault "$(chat x)"
check "fault: truncated body (curl 18)" eval '[ "$RC" = 18 ]'
admin faults '{"key":"k-fault","clear":true,"malformed_rate":1}'
openai sk-it-fault "$(chat x)"
check "fault: malformed JSON with status 200" eval 'status_is 200 && [ "$(tail -c 1 "$TMP/b")" = "," ]'
admin faults '{"key":"k-fault","clear":true,"error_rate":1,"error_status":502}'
openai sk-it-fault "$(chat x)"
check "fault: 502 is an HTML page" eval 'status_is 502 && hdr_matches content-type "^text/html" && has "502 Bad Gateway"'
admin faults '{"key":"k-fault","clear":true,"error_rate":1,"error_status":503}'
openai sk-it-fault "$(chat x)"
check "fault: 503 in OpenAI shape" eval 'status_is 503 && has "\"code\":\"server_is_overloaded\""'
admin faults '{"key":"k-fault","clear":true,"error_rate":1,"error_status":403}'
openai sk-it-fault "$(chat x)"
check "fault: 403 in OpenAI shape" eval 'status_is 403 && has "\"code\":\"unsupported_country_region_territory\""'
admin faults '{"key":"k-fault","clear":true,"oversized_rate":1,"oversized_bytes":300000}'
openai sk-it-fault "$(chat 'big one')"
check "fault: oversized body is valid JSON of the asked size" eval 'status_is 200 && [ "$(wc -c < "$TMP/b")" = 300000 ] && has "echo: big one" && [ "$(tail -c 2 "$TMP/b")" = "\"}" ] && has ",\"emu_padding\":\"xxxx"'
admin faults '{"key":"k-fault","clear":true,"big_headers_rate":1,"big_headers_bytes":200000}'
openai sk-it-fault "$(chat 'headers')"
HB=$(wc -c < "$TMP/h")
check "fault: oversized headers, then the reply" eval 'status_is 200 && [ "$HB" -ge 200000 ] && grep -qi "^x-emu-padding-0: xxx" "$TMP/h" && has "echo: headers"'
admin faults '{"key":"k-fault","clear":true,"drip_rate":1,"drip_ms":200}'
openai sk-it-fault "$(chat x)" --max-time 1
DRIPPED=$(wc -c < "$TMP/b")
check "fault: slow drip sends a byte per drip_ms (curl timeout 28)" eval '[ "$RC" = 28 ] && status_is 200 && [ "$DRIPPED" -ge 2 ] && [ "$DRIPPED" -le 10 ]'
admin faults '{"key":"k-fault","clear":true,"drip_rate":1,"drip_ms":1}'
openai sk-it-fault "$(chat 'drip')"
check "fault: a fast drip delivers the whole reply" eval 'status_is 200 && has "echo: drip" && [ "$RC" = 0 ]'
admin faults '{"key":"k-fault","clear":true,"drip_rate":0.5,"oversized_rate":0.6}'
check "admin: new fault rates count in the sum" eval 'status_is 400 && has "more than 1"'
admin faults '{"key":"k-fault","clear":true,"error_status":404}'
check "admin: error_status names the statuses it takes" eval 'status_is 400 && has "403, 500, 502, 503 or 529"'
admin faults '{"key":"k-fault","clear":true,"no_ratelimit_headers":true}'
openai sk-it-fault "$(chat x)"
check "fault: no rate-limit headers mode" eval 'status_is 200 && ! grep -qi "^x-ratelimit" "$TMP/h"'
admin faults '{"key":"k-fault","clear":true,"nonconforming_json":true}'
openai sk-it-fault "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"job 40\"}],\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"r\",\"schema\":$SCHEMA}}}"
check "fault: nonconforming JSON switch" eval 'status_is 200 && has "unexpected_field" && lacks "\\\"score\\\""'
admin faults '{"key":"k-fault","clear":true,"nonjson_structured":true}'
openai sk-it-fault "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"job 41\"}],\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"r\",\"schema\":$SCHEMA}}}"
check "fault: plain-text structured reply switch" eval 'status_is 200 && has "\"content\":\"echo: job 41\"" && lacks "\\\"score\\\""'
admin faults '{"key":"k-fault","clear":true,"latency_ms":300}'
T=$(curl -s -o /dev/null -w '%{time_total}' -H 'Authorization: Bearer sk-it-fault' --data-binary "$(chat x)" "$BASE/v1/chat/completions")
MS=$(echo "$T" | sed 's/^\([0-9]*\)\.\([0-9]\{3\}\).*/\1\2/')
check "fault: latency delays the answer (>= 300 ms)" eval '[ $((10#$MS)) -ge 300 ]'
admin faults '{"key":"k-fault","clear":true}'
admin faults '{"key":"k-fault","error_rate":2}'
check "admin: invalid fault is 400" eval 'status_is 400 && has "between 0 and 1"'
admin faults '{"key":"nobody","error_rate":1}'
check "admin: unknown key label is 404" status_is 404
admin faults
check "admin: GET /admin/faults lists every key" eval 'status_is 200 && has "\"k-fault\":{\"latency_ms\":0"'

# ------------------------------------------------------- stats and admin
for i in $(seq 1 50); do
	[ "$(stat k-fault current_concurrent)" = 0 ] && break
	sleep 0.1
done
check "stats: hung request counted and released after the client left" eval '[ "$(stat k-fault hangs)" = 1 ] && [ "$(stat k-fault current_concurrent)" = 0 ]'
check "stats: resets, truncated, malformed, server_errors" eval '[ "$(stat k-fault resets)" = 1 ] && [ "$(stat k-fault truncated)" = 1 ] && [ "$(stat k-fault malformed)" = 1 ] && [ "$(stat k-fault server_errors)" = 2 ]'
check "stats: oversized, big_headers, drips" eval '[ "$(stat k-fault oversized)" = 1 ] && [ "$(stat k-fault big_headers)" = 1 ] && [ "$(stat k-fault drips)" = 2 ]'
check "stats: 429s by dimension" eval '[ "$(stat k-rpm rpm)" = 1 ] && [ "$(stat k-tpm tpm)" = 1 ] && [ "$(stat k-tpm too_large)" = 1 ] && [ "$(stat k-rpd rpd)" = 1 ] && [ "$(stat a-otpm otpm)" = 1 ] && [ "$(stat a-itpm itpm)" = 1 ] && [ "$(stat k-bill insufficient_quota)" = 1 ]'

# Empty sk-it-rpm's bucket (2 RPM: it refills one request per 30 s) just
# before the reset, so the check below does not depend on how long the
# tests since the RPM checks took.
openai sk-it-rpm "$(chat x)"
openai sk-it-rpm "$(chat x)"
admin reset '{}'
check "admin: reset answers ok" eval 'status_is 200 && has "\"ok\":true"'
check "stats: reset zeroes the counters" eval '[ "$(stat k1 requests)" = 0 ] && [ "$(stat k-rpm rpm)" = 0 ]'
# "job 50": 6 bytes -> prompt 2 + 2 = 4 tokens, charged 4 + 10; reply 12 bytes -> 3
openai sk-it-main "$(chat 'job 50')" -H 'Idempotency-Key: job-50'
openai sk-it-main "$(chat 'job 50')" -H 'Idempotency-Key: job-50'
openai sk-it-main "$(chat 'job 51')" -H 'Idempotency-Key: job-51'
openai sk-it-main '{"broken'
check "stats: requests, successes, client errors, tokens" eval '[ "$(stat k1 requests)" = 4 ] && [ "$(stat k1 successes)" = 3 ] && [ "$(stat k1 client_errors)" = 1 ] && [ "$(stat k1 tokens_charged)" = 42 ] && [ "$(stat k1 prompt_tokens)" = 12 ] && [ "$(stat k1 completion_tokens)" = 9 ]'
check "stats: duplicate Idempotency-Key counted once" eval '[ "$(stat k1 duplicates)" = 1 ]'
check "request log: one line per request, by key label and Idempotency-Key" eval '[ "$(grep -c "^k1	job-50\$" "$TMP/requests.log")" = 2 ] && [ "$(grep -c "^k1	job-51\$" "$TMP/requests.log")" = 1 ]'
check "stats: peak concurrency seen" eval '[ "$(stat k1 peak_concurrent)" -ge 1 ]'
admin stats
check "stats: totals and buckets present" eval 'has "\"totals\":{\"requests\":" && has "\"buckets\":{\"rpm\":{\"limit\":600" && has "\"idempotency_keys\":2"'

openai sk-it-rpm "$(chat x)"
check "admin: buckets stay empty without {\"buckets\":true}" status_is 429
admin reset '{"buckets":true}'
openai sk-it-rpm "$(chat x)"
check "admin: reset with buckets refills them" status_is 200
admin keys '{"key":"k-rpm","rpm":120,"refill":true}'
openai sk-it-rpm "$(chat x)"
check "admin: changed limit shows in the headers" eval 'status_is 200 && hdr_is x-ratelimit-limit-requests 120 && hdr_is x-ratelimit-remaining-requests 119'
admin keys '{"key":"k-rpm","insufficient_quota":true}'
openai sk-it-rpm "$(chat x)"
check "admin: insufficient_quota switched on at run time" eval 'status_is 429 && has insufficient_quota'
admin keys '{"key":"k-rpm","insufficient_quota":false,"tpm":null}'
openai sk-it-rpm "$(chat x)"
check "admin: and off again; tpm removed" eval 'status_is 200 && no_hdr x-ratelimit-limit-tokens'
admin keys '{"key":"a1","tpm":5}'
check "admin: a limit the provider lacks is 400" status_is 400
admin keys
check "admin: GET /admin/keys shows limits without secrets" eval 'status_is 200 && has "\"k-rpm\":{\"provider\":\"openai\",\"rpm\":120,\"tpm\":null" && lacks "sk-it"'
call /admin/health
check "admin: health" eval 'status_is 200 && has "\"ok\":true"'
call /v1/unknown -X POST --data-binary '{}'
check "unknown URL is 404" status_is 404

kill "$PID"
wait "$PID" 2>/dev/null
PID=
check "SIGTERM stops the emulator and removes its pidfile" eval '[ ! -e "$TMP/pid" ]'

echo "1..$N"
[ "$FAILED" -eq 0 ]
