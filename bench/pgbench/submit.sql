-- bench/pgbench/submit.sql: one aigov.submit() of a chat job, with its
-- answer logged in bench_submits (pgbench itself cannot read results).
--
-- A template: bench/quota.sh replaces @TENANT@, @MAX_TOKENS@ and @REPEAT@
-- before pgbench reads a copy.  The prompt is @REPEAT@ copies of a 5-byte
-- filler plus a ~48-byte sentence made unique by a random number, so the
-- emulator (ceil(bytes / 4) + 2 tokens per message, plus max_tokens) charges
-- about 14 + @MAX_TOKENS@ tokens with @REPEAT@ = 0, and 1 more per 4 bytes
-- of filler.  called_at is the statement's start, answered_at a time taken
-- after submit() returned.
\set n random(100000000, 999999999)
INSERT INTO bench_submits (tenant_id, called_at, answered_at, job_id, status, retry_at, reason)
SELECT '@TENANT@', statement_timestamp(), clock_timestamp(), s.job_id, s.status, s.retry_at, s.reason
  FROM aigov.submit('@TENANT@',
         jsonb_build_object('model', 'gpt-4o-mini', 'max_tokens', @MAX_TOKENS@,
           'messages', jsonb_build_array(jsonb_build_object('role', 'user',
             'content', repeat('abcd ', @REPEAT@) || 'Summarise support ticket ' || :n || ' in one line.')))) s;
