-- submit: aigov.submit() accepts a valid job and refuses each kind of bad
-- input with its own error.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('basic', 60, 40000, 1000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'basic');
INSERT INTO aigov.tenants (tenant_id, tier, enabled) VALUES ('sleepy', 'basic', false);
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('openai', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.providers (provider, api_style, base_url, enabled)
	VALUES ('closed', 'openai', 'http://127.0.0.1:18081', false);
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-test', 128000, 4096);
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('closed', 'gpt-closed', 128000, 4096);

-- A valid job is accepted with 202 and a poll statement.
SELECT status, http_status, retry_at, reason,
	   poll = format('SELECT * FROM aigov.result(%s)', job_id) AS poll_names_job
  FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "Hello there"}], "max_tokens": 100}');

SELECT tenant_id, task_type, workload_class, priority, model, state, attempts,
	   est_tokens = aigov.estimate_tokens(body) + 100 AS est_includes_max_tokens,
	   deadline IS NULL AS no_deadline
  FROM aigov.requests ORDER BY id;

-- Without max_tokens the output budget is aigov.default_max_tokens.
SET aigov.default_max_tokens = 500;
SELECT status FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "Hi"}]}',
								'summarise', 'batch', '5 minutes', 7);
SELECT task_type, workload_class, priority,
	   est_tokens = aigov.estimate_tokens(body) + 500 AS est_uses_default,
	   deadline = created_at + interval '5 minutes' AS deadline_from_max_wait
  FROM aigov.requests WHERE task_type = 'summarise';
RESET aigov.default_max_tokens;

-- The estimate grows with the prompt.
SELECT aigov.estimate_tokens('{"model": "m", "messages": [{"role": "user", "content": "a"}]}')
	 < aigov.estimate_tokens('{"model": "m", "messages": [{"role": "user", "content": "a much longer message with many more words in it"}]}')
	   AS longer_costs_more;

-- Unknown and disabled tenants.
SELECT * FROM aigov.submit('nobody', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');
SELECT * FROM aigov.submit('sleepy', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');
SELECT * FROM aigov.submit(NULL, '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');

-- Bodies that are not chat-completion requests.
SELECT * FROM aigov.submit('acme', NULL);
SELECT * FROM aigov.submit('acme', '[1, 2]');
SELECT * FROM aigov.submit('acme', '"text"');
SELECT * FROM aigov.submit('acme', '{"messages": [{"role": "user", "content": "x"}]}');
SELECT * FROM aigov.submit('acme', '{"model": "", "messages": [{"role": "user", "content": "x"}]}');
SELECT * FROM aigov.submit('acme', '{"model": 42, "messages": [{"role": "user", "content": "x"}]}');
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test"}');
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": []}');
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": "hello"}');
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}, 7]}');
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"content": "x"}]}');
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}');
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "max_tokens": "many"}');

SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "max_tokens": 123456789012345678901234567890}');

-- Models nobody serves, or only disabled providers serve.
SELECT * FROM aigov.submit('acme', '{"model": "gpt-unknown", "messages": [{"role": "user", "content": "x"}]}');
SELECT * FROM aigov.submit('acme', '{"model": "gpt-closed", "messages": [{"role": "user", "content": "x"}]}');

-- Output above the model's limit, by either name of the field.
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5000}');
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 4097}');

-- Workload class, task type and max_wait.
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}', 'chat', 'urgent');
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}', 'chat', NULL);
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}', '');
SELECT * FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}', 'chat', 'interactive', '-1 second');

-- Bodies over aigov.max_body_bytes.
SET aigov.max_body_bytes = 1024;
SELECT * FROM aigov.submit('acme', jsonb_build_object('model', 'gpt-test', 'messages',
	jsonb_build_array(jsonb_build_object('role', 'user', 'content', repeat('x', 2000)))));
RESET aigov.max_body_bytes;
SET aigov.max_body_bytes = 10;

-- Nothing bad was enqueued.
SELECT count(*) AS jobs FROM aigov.requests;

DELETE FROM aigov.requests;
DELETE FROM aigov.models;
DELETE FROM aigov.providers;
DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
