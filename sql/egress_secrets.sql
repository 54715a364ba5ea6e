-- egress_secrets: where provider calls may go (aigov.allowed_hosts, checked
-- when a provider row is written) and which environment variables a key's
-- secret may name (aigov.secret_env_names); aigov.set_key_secret().
-- Literal addresses and listed names only: nothing here needs DNS.

-- An empty list allows public addresses only.
SET aigov.allowed_hosts = '';
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('metadata', 'openai', 'http://169.254.169.254/latest');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('redis', 'openai', 'http://127.0.0.1:6379');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('v6loop', 'openai', 'http://[::1]:8080');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('mapped', 'openai', 'http://[::ffff:127.0.0.1]/');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('private', 'openai', 'http://10.0.0.5/v1');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('cgnat', 'openai', 'http://100.64.1.1');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('ula', 'openai', 'http://[fd00::1]');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('public', 'openai', 'https://8.8.8.8/v1');

-- The check reads the host as libcurl would, or refuses the URL.
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('userinfo', 'openai', 'http://api.example.com@169.254.169.254/');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('pct', 'openai', 'http://169.254.169.254%2f/');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('zone', 'openai', 'http://[fe80::1%25eth0]/');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('port', 'openai', 'http://127.0.0.1:99999');
-- A URL that is not http(s) at all is the table CHECK's to refuse.
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('ftp', 'openai', 'ftp://127.0.0.1');

-- A listed address is allowed; a non-empty list without "public" allows
-- nothing else.
SET aigov.allowed_hosts = '127.0.0.1';
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('local', 'openai', 'http://127.0.0.1:6379');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('metadata', 'openai', 'http://169.254.169.254');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('public2', 'openai', 'https://8.8.4.4');
-- Rewriting base_url is checked again; other columns are not.
UPDATE aigov.providers SET base_url = 'http://169.254.169.254' WHERE provider = 'local';
UPDATE aigov.providers SET base_url = 'http://127.0.0.1:18080' WHERE provider = 'local';
SET aigov.allowed_hosts = '';
UPDATE aigov.providers SET enabled = false WHERE provider = 'local';

-- Networks, "public", host names and "*." domains.
SET aigov.allowed_hosts = '10.1.0.0/16, public, api.example.com, *.internal.test';
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('net', 'openai', 'http://10.1.2.3:8000');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('net2', 'openai', 'http://10.2.0.1:8000');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('public2', 'openai', 'https://8.8.4.4');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('named', 'openai', 'https://API.Example.com./v1');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('proxy', 'openai', 'http://llm.proxy.internal.test:8080');
SELECT provider, base_url FROM aigov.providers ORDER BY provider;

-- Settings that do not parse are refused; only superusers may set them.
SET aigov.allowed_hosts = '10.0.0.0/33';
SET aigov.allowed_hosts = 'bad!name';
SET aigov.secret_env_names = 'AIGOV-*';
CREATE ROLE aigov_regress_app;
SET ROLE aigov_regress_app;
SET aigov.allowed_hosts = '';
SET aigov.secret_env_names = '*';
RESET ROLE;

-- env: secrets may name only variables that aigov.secret_env_names allows.
SHOW aigov.secret_env_names;
INSERT INTO aigov.keys (provider, label, secret) VALUES ('local', 'pgdata', 'env:PGDATA');
INSERT INTO aigov.keys (provider, label, secret) VALUES ('local', 'empty', 'env:');
INSERT INTO aigov.keys (provider, label, secret) VALUES ('local', 'dash', 'env:BAD-NAME');
INSERT INTO aigov.keys (provider, label, secret) VALUES ('local', 'envkey', 'env:AIGOV_KEY_REGRESS');
INSERT INTO aigov.keys (provider, label, secret) VALUES ('local', 'literal', 'sk-regress-literal');
UPDATE aigov.keys SET secret = 'env:HOME' WHERE label = 'literal';
SET aigov.secret_env_names = 'AIGOV_KEY_*, OPENAI_*';
UPDATE aigov.keys SET secret = 'env:OPENAI_API_KEY' WHERE label = 'literal';
RESET aigov.secret_env_names;

-- aigov.set_key_secret() replaces a secret; its errors are clear.
SELECT aigov.set_key_secret('literal', 'sk-regress-new');
SELECT label, secret = 'sk-regress-new' AS replaced FROM aigov.keys ORDER BY label;
SELECT aigov.set_key_secret('nobody', 'sk-regress-x');
SELECT aigov.set_key_secret(NULL, 'sk-regress-x');
SELECT aigov.set_key_secret('literal', NULL);
SELECT aigov.set_key_secret('literal', 'env:PGDATA');

-- It runs as its caller: EXECUTE alone is not enough, and UPDATE (secret)
-- with SELECT (label) is, without the right to read any secret.
GRANT USAGE ON SCHEMA aigov TO aigov_regress_app;
SET ROLE aigov_regress_app;
SELECT aigov.set_key_secret('literal', 'sk-regress-app');
RESET ROLE;
GRANT EXECUTE ON FUNCTION aigov.set_key_secret(text, text) TO aigov_regress_app;
SET ROLE aigov_regress_app;
SELECT aigov.set_key_secret('literal', 'sk-regress-app');
RESET ROLE;
GRANT UPDATE (secret), SELECT (label) ON aigov.keys TO aigov_regress_app;
SET ROLE aigov_regress_app;
SELECT aigov.set_key_secret('literal', 'sk-regress-app');
SELECT secret FROM aigov.keys;
RESET ROLE;
SELECT label FROM aigov.keys WHERE secret = 'sk-regress-app';

REVOKE ALL ON aigov.keys FROM aigov_regress_app;
REVOKE ALL ON FUNCTION aigov.set_key_secret(text, text) FROM aigov_regress_app;
REVOKE ALL ON SCHEMA aigov FROM aigov_regress_app;
DROP ROLE aigov_regress_app;
DELETE FROM aigov.keys;
DELETE FROM aigov.providers;
RESET aigov.allowed_hosts;
