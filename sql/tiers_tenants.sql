-- tiers_tenants: constraints refuse nonsense tiers and tenants.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd, weight) VALUES ('free', 60, 40000, 1000000, 1);
\set VERBOSITY terse
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd, weight) VALUES ('pro', 600, 400000, 10000000, 4);

-- Zero, negative and empty values are refused.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('zero', 0, 1, 1);
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('neg', 1, -5, 1);
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('nod', 1, 1, 0);
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd, weight) VALUES ('now', 1, 1, 1, 0);
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('', 1, 1, 1);

INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'pro');
INSERT INTO aigov.tenants (tenant_id, tier, rpm, soft_limit_pct, hard_cap)
	VALUES ('tiny', 'free', 10, 70, false);

-- Unknown tier, bad overrides, soft limit outside 1..100, empty id.
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('lost', 'gold');
INSERT INTO aigov.tenants (tenant_id, tier, rpm) VALUES ('t1', 'free', 0);
INSERT INTO aigov.tenants (tenant_id, tier, tpm) VALUES ('t2', 'free', -1);
INSERT INTO aigov.tenants (tenant_id, tier, tpd) VALUES ('t3', 'free', 0);
INSERT INTO aigov.tenants (tenant_id, tier, soft_limit_pct) VALUES ('t4', 'free', 0);
INSERT INTO aigov.tenants (tenant_id, tier, soft_limit_pct) VALUES ('t5', 'free', 101);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('', 'free');

-- A tier in use cannot be dropped; renaming it follows to its tenants.
DELETE FROM aigov.tiers WHERE tier = 'pro';
UPDATE aigov.tiers SET tier = 'business' WHERE tier = 'pro';
SELECT tenant_id, tier, rpm, tpm, tpd, soft_limit_pct, hard_cap, enabled
  FROM aigov.tenants ORDER BY tenant_id;

DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
