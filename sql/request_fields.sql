-- request_fields: a body reaches an OpenAI-style provider as it is, so the
-- enqueue path accepts only the chat-completions fields aigov forwards,
-- refuses "stream": true, and counts "n" choices in the estimate.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('basic', 60, 400000, 10000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('rf_acme', 'basic');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('openai', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-test', 128000, 4096);

-- Every field of the list is accepted, null values included.
SELECT status FROM aigov.submit('rf_acme', '{
  "model": "gpt-test", "messages": [{"role": "user", "content": "x"}],
  "max_tokens": 10, "max_completion_tokens": 10, "temperature": 0.5,
  "top_p": 1, "n": 1, "stop": ["\n"], "seed": 7, "stream": false,
  "presence_penalty": 0, "frequency_penalty": 0, "logit_bias": {"50256": -100},
  "logprobs": true, "top_logprobs": 2, "response_format": {"type": "json_object"},
  "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
  "tool_choice": "auto", "parallel_tool_calls": false, "reasoning_effort": "low",
  "user": "u-1"}');
SELECT status FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "stream": null, "n": null, "temperature": null}');

-- Fields that would change a call's cost or destination are refused, by
-- submit and by INSERT alike.
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "store": true}');
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "service_tier": "priority"}');
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "metadata": {"a": "b"}}');
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "audio": {"voice": "alloy"}}');
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "web_search_options": {}}');
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "stream_options": null}');
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "Model": "other"}');
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "prediction": {"type": "content", "content": "y"}}');

-- Streaming is refused with its own error.
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "stream": true}');
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "stream": true}');
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}');

-- n multiplies the output budget: each choice may use all of it.
SELECT job_id AS n3_job
  FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "n"}], "max_tokens": 100, "n": 3}') \gset
SELECT est_tokens - aigov.estimate_tokens(body) AS output_budget
  FROM aigov.requests WHERE id = :n3_job;
SET aigov.default_max_tokens = 50;
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "n16"}], "n": 16}')
RETURNING est_tokens - aigov.estimate_tokens(body) AS output_budget;
RESET aigov.default_max_tokens;

-- n is bounded.
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "n": 17}');
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "n": 0}');
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "n": 2.5}');
SELECT * FROM aigov.submit('rf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "n": "2"}');

-- Only the accepted jobs are queued.
SELECT count(*) AS jobs FROM aigov.requests;

DELETE FROM aigov.requests;
DELETE FROM aigov.models;
DELETE FROM aigov.providers;
DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
