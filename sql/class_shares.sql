-- class_shares: workload classes in the fair queue.  Each class of a key
-- pool has its own range of tags, read as one range of
-- requests_queued_idx; a claim asks each backlogged class for its minimum
-- share (aigov.class_shares), and what a class cannot use goes to the
-- others.  No worker serves this database, so nothing claims but the
-- statements below, and the pool's state across classes stays where it
-- starts (level): each claim splits by the shares alone.

-- The shares are checked when they are set.
ALTER SYSTEM SET aigov.class_shares = 'interactive=50,bulk=50';
ALTER SYSTEM SET aigov.class_shares = 'interactive=50,interactive=10';
ALTER SYSTEM SET aigov.class_shares = 'interactive=0,batch=50';
ALTER SYSTEM SET aigov.class_shares = 'interactive=70,batch=40';
ALTER SYSTEM SET aigov.class_shares = 'interactive=70,batch=30';
ALTER SYSTEM SET aigov.class_shares = 'interactive:70';
-- only the server's configuration sets them, not a session
SET aigov.class_shares = 'interactive=80';
SHOW aigov.class_shares;

INSERT INTO aigov.tiers (tier, rpm, tpm, tpd, weight) VALUES
	('cs_w1', 1000, 1000000, 10000000, 1);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('cs_a', 'cs_w1'), ('cs_b', 'cs_w1');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('cs_p', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('cs_p', 'cs-model', 128000, 4096);

-- One tenant floods the pool with batch work first, then both add
-- interactive and background jobs.
INSERT INTO aigov.requests (tenant_id, body, workload_class)
SELECT 'cs_a', '{"model": "cs-model", "max_tokens": 20, "messages": [{"role": "user", "content": "x"}]}', 'batch'
  FROM generate_series(1, 40);
INSERT INTO aigov.requests (tenant_id, body, workload_class)
SELECT t, '{"model": "cs-model", "max_tokens": 20, "messages": [{"role": "user", "content": "x"}]}', c
  FROM unnest(ARRAY['cs_a', 'cs_b']) t, unnest(ARRAY['interactive', 'background']) c,
	   generate_series(1, 10);

-- Each class's tags lie in a range of its own (2^61 wide), and within a
-- class each tenant starts at the class's clock: cs_a's interactive jobs
-- are not behind its batch jobs.
SELECT workload_class, min(floor(vstart / (2::numeric ^ 61))) AS range_lo,
	   max(floor(vstart / (2::numeric ^ 61))) AS range_hi, count(*)
  FROM aigov.requests WHERE model = 'cs-model'
 GROUP BY 1 ORDER BY 2;
SELECT tenant_id, workload_class,
	   min(vstart - floor(vstart / (2::numeric ^ 61)) * (2::numeric ^ 61)) = 0 AS starts_at_class_clock
  FROM aigov.requests WHERE model = 'cs-model'
 GROUP BY 1, 2 ORDER BY 1, 2;

-- The plan of a claim of 10 with level classes: 50/30/20.
SELECT workload_class, jobs_asked FROM aigov._class_plan('cs-model', 10);

-- A claim of 10 takes them so, and within each class the jobs in tag
-- order, so cs_a and cs_b alternate.
SELECT workload_class, count(*), string_agg(tenant_id, ',' ORDER BY vstart, id) AS tenants
  FROM aigov._claim_batch(10, 999999) GROUP BY 1 ORDER BY 1;

-- Interactive has only 2 jobs left: the claim takes both and the rest of
-- its share goes to the other classes.
UPDATE aigov.requests SET state = 'cancelled'
 WHERE id IN (SELECT id FROM aigov.requests
			   WHERE model = 'cs-model' AND state = 'queued' AND workload_class = 'interactive'
			   ORDER BY vstart OFFSET 2);
SELECT workload_class, count(*) FROM aigov._claim_batch(10, 999999) GROUP BY 1 ORDER BY 1;

-- Batch alone: it takes the whole claim.
UPDATE aigov.requests SET state = 'cancelled'
 WHERE model = 'cs-model' AND state = 'queued' AND workload_class <> 'batch';
SELECT workload_class, count(*) FROM aigov._claim_batch(10, 999999) GROUP BY 1 ORDER BY 1;

-- Each class is one range scan of requests_queued_idx.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT q.id FROM aigov.requests q
 WHERE q.state = 'queued' AND q.model = 'cs-model'
   AND q.vstart >= 4611686018427387904 AND q.vstart <= 6917529027641081855
   AND q.not_before <= now()
 ORDER BY q.vstart, q.id LIMIT 5;
RESET enable_seqscan;

DELETE FROM aigov.requests WHERE model = 'cs-model';
DELETE FROM aigov.models WHERE provider = 'cs_p';
DELETE FROM aigov.providers WHERE provider = 'cs_p';
DELETE FROM aigov.tenants WHERE tenant_id LIKE 'cs\_%';
DELETE FROM aigov.tiers WHERE tier LIKE 'cs\_%';
