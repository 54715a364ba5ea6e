-- fair_queue: the virtual start tags the enqueue trigger gives jobs, and
-- the order in which a claim takes them.  No worker serves this database,
-- so nothing claims but the statements below, and the key pool's virtual
-- clock stays where it is (0: the model is new to this server).  Tags are
-- shown in units of one job's cost at weight 1, so the figures do not
-- depend on the token estimator.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd, weight) VALUES
	('fq_w1', 1000, 1000000, 10000000, 1),
	('fq_w2', 1000, 1000000, 10000000, 2),
	('fq_w4', 1000, 1000000, 10000000, 4);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES
	('fq_a', 'fq_w1'), ('fq_b', 'fq_w2'), ('fq_c', 'fq_w4');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('fq_p', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('fq_p', 'fq-model', 128000, 4096);

-- Four equal jobs per tenant, enqueued tenant after tenant.
INSERT INTO aigov.requests (tenant_id, body)
SELECT t, '{"model": "fq-model", "max_tokens": 20, "messages": [{"role": "user", "content": "same"}]}'
  FROM unnest(ARRAY['fq_a', 'fq_b', 'fq_c']) t, generate_series(1, 4);

-- Every job has the same cost; each tenant starts at the clock (0) and
-- its tags advance by cost / weight: 1, 1/2 and 1/4.
SELECT count(DISTINCT est_tokens) AS costs FROM aigov.requests WHERE model = 'fq-model';
SELECT tenant_id, array_agg(round(vstart::numeric / (est_tokens * 1000000), 2) ORDER BY id) AS tags
  FROM aigov.requests WHERE model = 'fq-model'
 GROUP BY tenant_id ORDER BY tenant_id;

-- The claim reads the pool in tag order, whatever the order of enqueue:
-- seven claims give the three tenants 1, 2 and 4 jobs.
SELECT tenant_id, round(vstart::numeric / (est_tokens * 1000000), 2) AS tag
  FROM aigov._claim_batch(7, 999999) ORDER BY vstart, id;
SELECT tenant_id, count(*) FILTER (WHERE state = 'in_flight') AS claimed,
	   count(*) FILTER (WHERE state = 'queued') AS queued
  FROM aigov.requests WHERE model = 'fq-model'
 GROUP BY tenant_id ORDER BY tenant_id;

-- Priority orders a tenant's own jobs only.  fq_a adds a job of priority 3
-- behind its three queued ones (tag 4); the next claim of fq_a's place
-- takes it, and the job it displaced takes its tag.  Others keep theirs.
INSERT INTO aigov.requests (tenant_id, body, priority) VALUES
	('fq_a', '{"model": "fq-model", "max_tokens": 20, "messages": [{"role": "user", "content": "same"}]}', 3);
SELECT tenant_id, priority, round(vstart::numeric / (est_tokens * 1000000), 2) AS tag
  FROM aigov.requests WHERE model = 'fq-model' AND state = 'queued'
 ORDER BY vstart, id;
SELECT c.tenant_id, r.priority, round(c.vstart::numeric / (c.est_tokens * 1000000), 2) AS tag
  FROM aigov._claim_batch(2, 999999) c JOIN aigov.requests r USING (id)
 ORDER BY c.vstart, c.id;
SELECT tenant_id, priority, round(vstart::numeric / (est_tokens * 1000000), 2) AS tag
  FROM aigov.requests WHERE model = 'fq-model' AND state = 'queued'
 ORDER BY vstart, id;

-- A job of another key pool is tagged on that pool's clock, and a claim
-- serves every pool with queued jobs.
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('fq_p', 'fq-other', 128000, 4096);
INSERT INTO aigov.requests (tenant_id, body) VALUES
	('fq_a', '{"model": "fq-other", "max_tokens": 20, "messages": [{"role": "user", "content": "same"}]}');
SELECT model, vstart FROM aigov.requests WHERE model = 'fq-other';
SELECT model, count(*) FROM aigov._claim_batch(10, 999999) GROUP BY model ORDER BY model;

-- The claim reads the queue through its index.
SELECT indexdef FROM pg_indexes
 WHERE schemaname = 'aigov' AND indexname = 'requests_queued_idx';

DELETE FROM aigov.requests WHERE model IN ('fq-model', 'fq-other');
DELETE FROM aigov.models WHERE provider = 'fq_p';
DELETE FROM aigov.providers WHERE provider = 'fq_p';
DELETE FROM aigov.tenants WHERE tenant_id LIKE 'fq\_%';
DELETE FROM aigov.tiers WHERE tier LIKE 'fq\_%';
