-- context_window: a job whose estimated prompt plus max_tokens cannot fit
-- in its model's context window is refused at enqueue, by submit() and by
-- INSERT alike (SQLSTATE 54000).  The estimate can over-count a prompt, so
-- only a job that cannot fit even allowing for that is refused.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('cw_tier', 600, 4000000, 100000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('cw_acme', 'cw_tier');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('cw_small', 'openai', 'http://127.0.0.1:18080'),
	       ('cw_big', 'openai', 'http://127.0.0.1:18081');
-- the model is served with a 1000-token window; a disabled provider's
-- larger window does not count
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('cw_small', 'gpt-cw', 1000, 4096),
	       ('cw_big', 'gpt-cw', 100000, 4096);
UPDATE aigov.providers SET enabled = false WHERE provider = 'cw_big';

CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;

CREATE TEMP TABLE cw_bodies (name text PRIMARY KEY, body jsonb);
INSERT INTO cw_bodies VALUES
	('small', '{"model": "gpt-cw", "messages": [{"role": "user", "content": "hi"}]}'),
	-- estimated over the window, but within the estimator's over-count
	('near', jsonb_build_object('model', 'gpt-cw', 'messages',
		jsonb_build_array(jsonb_build_object('role', 'user', 'content', repeat('hello ', 1200))))),
	('long', jsonb_build_object('model', 'gpt-cw', 'messages',
		jsonb_build_array(jsonb_build_object('role', 'user', 'content', repeat('hello ', 2000)))));

-- The premises, from the estimate itself rather than from fixed figures.
SELECT name, aigov.estimate_tokens(body) > 1000 AS over_window,
       aigov.estimate_tokens(body) * 100 / 125 + 1 > 1000 AS surely_over
  FROM cw_bodies ORDER BY name;

-- A prompt that fits, with or without max_tokens.
SELECT status FROM aigov.submit('cw_acme', (SELECT body FROM cw_bodies WHERE name = 'small'));
SELECT status FROM aigov.submit('cw_acme',
	(SELECT body || '{"max_tokens": 900}' FROM cw_bodies WHERE name = 'small'));
SELECT status FROM aigov.submit('cw_acme', (SELECT body FROM cw_bodies WHERE name = 'near'));

-- Too long a prompt, and a max_tokens that leaves the prompt no room.
SELECT * FROM aigov.submit('cw_acme', (SELECT body FROM cw_bodies WHERE name = 'long'));
SELECT * FROM aigov.submit('cw_acme',
	(SELECT body || '{"max_tokens": 1000}' FROM cw_bodies WHERE name = 'small'));
SELECT * FROM aigov.submit('cw_acme',
	(SELECT body || '{"max_completion_tokens": 1000}' FROM cw_bodies WHERE name = 'small'));

-- A plain INSERT is held to the same rule, with the same SQLSTATE.
INSERT INTO aigov.requests (tenant_id, body)
	SELECT 'cw_acme', body FROM cw_bodies WHERE name = 'long';
SELECT pg_temp.sqlstate_of($q$INSERT INTO aigov.requests (tenant_id, body)
	SELECT 'cw_acme', body FROM cw_bodies WHERE name = 'long'$q$) AS insert_long,
       pg_temp.sqlstate_of($q$SELECT aigov.submit('cw_acme',
	(SELECT body || '{"max_tokens": 1000}' FROM cw_bodies WHERE name = 'small'))$q$) AS submit_budget,
       pg_temp.sqlstate_of($q$INSERT INTO aigov.requests (tenant_id, body)
	SELECT 'cw_acme', body FROM cw_bodies WHERE name = 'near'$q$) AS insert_near;

-- Enabling the provider with the larger window lets the long prompt in.
UPDATE aigov.providers SET enabled = true WHERE provider = 'cw_big';
SELECT status FROM aigov.submit('cw_acme', (SELECT body FROM cw_bodies WHERE name = 'long'));

SELECT count(*) AS queued FROM aigov.requests WHERE model = 'gpt-cw';

-- clean up
DELETE FROM aigov.requests WHERE model = 'gpt-cw';
DELETE FROM aigov.models WHERE model = 'gpt-cw';
DELETE FROM aigov.providers WHERE provider IN ('cw_small', 'cw_big');
DELETE FROM aigov.tenants WHERE tenant_id = 'cw_acme';
DELETE FROM aigov.tiers WHERE tier = 'cw_tier';
