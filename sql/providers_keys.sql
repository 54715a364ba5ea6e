-- providers_keys: constraints on providers, keys, models and the
-- compatibility matrix.
\set VERBOSITY terse
-- Calls may go to the emulator's address and to a name of the examples
-- (listed, so it is not resolved: see egress_secrets for the checks).
SET aigov.allowed_hosts = '127.0.0.1, api.example.com';
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('openai', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('anthropic', 'anthropic', 'https://api.example.com');

-- Unknown API style; base URLs that are not http(s).
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('x', 'cohere', 'http://h');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('x', 'openai', 'ftp://h');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('x', 'openai', 'not a url');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('x', 'openai', 'http://');

INSERT INTO aigov.keys (provider, label, secret, rpm_limit, tpm_limit)
	VALUES ('openai', 'oa-1', 'sk-test-1', 600, 60000);
INSERT INTO aigov.keys (provider, label, secret, workload_class)
	VALUES ('anthropic', 'an-batch', 'sk-ant-test', 'batch');

-- A key of an unknown provider, bad limits, bad class, duplicate label.
INSERT INTO aigov.keys (provider, label, secret) VALUES ('mistral', 'm-1', 's');
INSERT INTO aigov.keys (provider, label, secret, rpm_limit) VALUES ('openai', 'k0', 's', 0);
INSERT INTO aigov.keys (provider, label, secret, tpm_limit) VALUES ('openai', 'k1', 's', -10);
INSERT INTO aigov.keys (provider, label, secret, tpd_limit) VALUES ('openai', 'k2', 's', 0);
INSERT INTO aigov.keys (provider, label, secret, weight) VALUES ('openai', 'k3', 's', 0);
INSERT INTO aigov.keys (provider, label, secret, workload_class) VALUES ('openai', 'k4', 's', 'urgent');
INSERT INTO aigov.keys (provider, label, secret) VALUES ('openai', 'oa-1', 's');

INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-test', 128000, 4096);
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'bad', 0, 10);
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'bad', 10, -1);
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('nobody', 'm', 10, 10);

INSERT INTO aigov.compat (task_type, provider, model, rank, structured_output, tool_use, validated)
	VALUES ('extract', 'openai', 'gpt-test', 1, true, true, true);
INSERT INTO aigov.compat (task_type, provider, model, rank)
	VALUES ('extract', 'anthropic', 'unknown-model', 2);
INSERT INTO aigov.compat (task_type, provider, model, rank)
	VALUES ('extract', 'openai', 'gpt-test', 0);

-- The key columns that views and dashboards may show; no secret here.
SELECT provider, label, workload_class, tenant_group, rpm_limit, tpm_limit, weight, enabled
  FROM aigov.keys ORDER BY label;

-- Dropping a provider that still has keys is refused.
DELETE FROM aigov.providers WHERE provider = 'openai';

DELETE FROM aigov.compat;
DELETE FROM aigov.models;
DELETE FROM aigov.keys;
DELETE FROM aigov.providers;
