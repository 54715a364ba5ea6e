-- insert_batch: a plain INSERT goes through the same validation as
-- aigov.submit(), in batches of 10,000 rows, and cannot forge results.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('basic', 60, 40000, 1000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'basic'), ('beta', 'basic');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('openai', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-test', 128000, 4096);

INSERT INTO aigov.requests (tenant_id, body, workload_class)
SELECT CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'beta' END,
	   jsonb_build_object('model', 'gpt-test', 'max_tokens', 50,
						  'messages', jsonb_build_array(jsonb_build_object(
							'role', 'user', 'content', 'question number ' || i))),
	   'batch'
  FROM generate_series(1, 10000) AS i;

SELECT tenant_id, state, count(*), min(est_tokens) > 50 AS estimated,
	   bool_and(model = 'gpt-test') AS model_filled
  FROM aigov.requests GROUP BY tenant_id, state ORDER BY tenant_id;

-- One bad row fails the whole statement.
INSERT INTO aigov.requests (tenant_id, body)
SELECT CASE WHEN i = 3 THEN 'ghost' ELSE 'acme' END,
	   '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}'
  FROM generate_series(1, 5) AS i;
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}'),
		   ('acme', '{"model": "gpt-test"}');
INSERT INTO aigov.requests (tenant_id, body, workload_class)
	VALUES ('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}', 'urgent');
INSERT INTO aigov.requests (tenant_id, body, deadline)
	VALUES ('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}', '2000-01-01 00:00:00+00');
INSERT INTO aigov.requests (tenant_id, body) VALUES (NULL, '{"model": "gpt-test", "messages": []}');
INSERT INTO aigov.requests (tenant_id, body) VALUES ('acme', NULL);
SELECT count(*) AS jobs FROM aigov.requests;

-- Job ids are aigov's: an INSERT cannot choose one (or reuse another's).
INSERT INTO aigov.requests (id, tenant_id, body)
	VALUES (1, 'beta', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');
SELECT count(DISTINCT id) = count(*) AS ids_unique FROM aigov.requests;

-- Worker-owned columns cannot be forged by an INSERT.
INSERT INTO aigov.requests (tenant_id, body, state, attempts, response, error_class,
							key_id, served_provider, degraded, est_tokens, model)
	VALUES ('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "max_tokens": 10}',
			'succeeded', 9, '{"forged": true}', 'auth', 1, 'openai', true, 1, 'other');
SELECT state, attempts, response, error_class, key_id, served_provider, degraded,
	   est_tokens > 10 AS estimated, model
  FROM aigov.requests WHERE body->>'max_tokens' = '10';

-- What an OpenAI-style limiter will count for the prompt: message text
-- bytes / 4, rounded up, plus 2 a message; roles and tool definitions are
-- not counted ("Hello!": 2 + 2; with a system message of 28 bytes: 7 + 2
-- more, the tool changing nothing).
INSERT INTO aigov.requests (tenant_id, body) VALUES
	('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "Hello!"}]}'),
	('acme', '{"model": "gpt-test", "messages": [{"role": "system", "content": "You are a helpful assistant."},
		{"role": "user", "content": "Hello!"}],
		"tools": [{"type": "function", "function": {"name": "lookup", "description": "Finds a record by its id", "parameters": {"type": "object"}}}]}');
SELECT jsonb_array_length(body->'messages') AS messages, body ? 'tools' AS tools,
	   est_charged_prompt_tokens, est_prompt_tokens > est_charged_prompt_tokens AS tokens_counted_more
  FROM aigov.requests WHERE body->'messages'->-1->>'content' = 'Hello!' ORDER BY id;
DELETE FROM aigov.requests WHERE body->'messages'->-1->>'content' = 'Hello!';

-- Tenant and model lookups are reused within one statement only: a change
-- made by an earlier statement of the same transaction is seen by the next.
BEGIN;
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');
UPDATE aigov.tenants SET enabled = false WHERE tenant_id = 'acme';
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');
ROLLBACK;
BEGIN;
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "max_tokens": 4000}');
UPDATE aigov.models SET max_output_tokens = 1000;
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "max_tokens": 4000}');
ROLLBACK;

-- More tenants in one statement than the lookups keep: each is still
-- checked, and a bad one after them still fails the statement.
INSERT INTO aigov.tenants (tenant_id, tier)
SELECT 'many-' || i, 'basic' FROM generate_series(1, 12) AS i;
UPDATE aigov.tenants SET enabled = false WHERE tenant_id = 'many-12';
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'many-' || (1 + i % 11),
	   '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}'
  FROM generate_series(1, 40) AS i;
SELECT count(DISTINCT tenant_id) AS tenants FROM aigov.requests WHERE tenant_id LIKE 'many-%';
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'many-' || (1 + i % 12),
	   '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}'
  FROM generate_series(0, 40) AS i;

DELETE FROM aigov.requests;
DELETE FROM aigov.models;
DELETE FROM aigov.providers;
DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
