-- tenant_bounds: a tenant id is bounded in bytes, as shared memory keys
-- it; a job's priority is bounded by its tenant's tier; a not_before in the
-- past does not move a job ahead of the queue.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd, max_priority)
	VALUES ('capped', 1, 400000, 10000000, 3);
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('openai', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-test', 128000, 4096);

-- 200 bytes fit, in one-byte or two-byte characters; 101 two-byte
-- characters (202 bytes) do not.
\set VERBOSITY terse
INSERT INTO aigov.tenants (tenant_id, tier) VALUES (repeat('a', 200), 'capped');
INSERT INTO aigov.tenants (tenant_id, tier) VALUES (repeat('a', 201), 'capped');
INSERT INTO aigov.tenants (tenant_id, tier) VALUES (repeat(U&'\00E9', 100), 'capped');
INSERT INTO aigov.tenants (tenant_id, tier) VALUES (repeat(U&'\00E9', 101), 'capped');
\set VERBOSITY default
SELECT length(tenant_id) AS characters, octet_length(tenant_id) AS bytes
  FROM aigov.tenants ORDER BY 2, 1;

-- Shared memory refuses an id longer than its key rather than cut it: two
-- such ids, alike in their first 207 bytes, would share one tenant's
-- buckets.  Only a superuser who drops the check can make one.
BEGIN;
ALTER TABLE aigov.tenants DROP CONSTRAINT tenants_tenant_id_check;
INSERT INTO aigov.tenants (tenant_id, tier)
	VALUES (repeat('b', 250) || '1', 'capped'), (repeat('b', 250) || '2', 'capped');
SELECT status FROM aigov.submit(repeat('b', 250) || '1',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');
ROLLBACK;
BEGIN;
ALTER TABLE aigov.tenants DROP CONSTRAINT tenants_tenant_id_check;
INSERT INTO aigov.tenants (tenant_id, tier)
	VALUES (repeat('b', 250) || '1', 'capped'), (repeat('b', 250) || '2', 'capped');
SELECT status FROM aigov.submit(repeat('b', 250) || '2',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');
ROLLBACK;

-- max_priority: 10 unless set, never negative.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('plain', 60, 40000, 1000000);
\set VERBOSITY terse
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd, max_priority) VALUES ('neg', 60, 40000, 1000000, -1);
\set VERBOSITY default
SELECT tier, max_priority FROM aigov.tiers ORDER BY tier;

-- The tier's max_priority bounds submit and INSERT alike; a lower priority
-- is always accepted.
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('prio', 'capped');
UPDATE aigov.tiers SET rpm = 600 WHERE tier = 'capped';
SELECT status FROM aigov.submit('prio',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}', priority => 3);
SELECT * FROM aigov.submit('prio',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}', priority => 4);
INSERT INTO aigov.requests (tenant_id, body, priority)
	VALUES ('prio', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}', 4);
INSERT INTO aigov.requests (tenant_id, body, priority)
	VALUES ('prio', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}', -100);
SELECT priority, count(*) FROM aigov.requests GROUP BY priority ORDER BY priority;

-- A not_before in the past is taken as the start of the transaction (the
-- default created_at); one in the future is kept.
INSERT INTO aigov.requests (tenant_id, body, not_before)
	VALUES ('prio', '{"model": "gpt-test", "messages": [{"role": "user", "content": "old"}]}',
			'2000-01-01 00:00:00+00');
INSERT INTO aigov.requests (tenant_id, body, not_before)
	VALUES ('prio', '{"model": "gpt-test", "messages": [{"role": "user", "content": "later"}]}',
			now() + interval '1 hour');
SELECT body->'messages'->0->>'content' AS content, not_before = created_at AS not_before_is_created_at,
	   not_before > created_at AS not_before_later
  FROM aigov.requests WHERE body->'messages'->0->>'content' IN ('old', 'later')
 ORDER BY 1;

DELETE FROM aigov.requests;
DELETE FROM aigov.models;
DELETE FROM aigov.providers;
DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
