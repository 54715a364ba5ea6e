# t/018_history.pl: the dispatchers run the retention pass while jobs keep
# flowing, and nothing is lost: every job submitted is found exactly once
# in aigov.requests or aigov.requests_history, final, with all its
# attempts rows in aigov.attempts or aigov.attempts_history, and
# aigov.result() answers for the moved ones.  Small settings make the pass
# run often and in small batches: aigov.history_after 1 s,
# aigov.retention_interval 200 ms, aigov.retention_batch 50.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $rounds = 20;
my $per_round = 100;
my $jobs = $rounds * $per_round;

my $emu = start_emulator({
	models => [ { name => 'gpt-test', provider => 'openai', max_output_tokens => 4096 } ],
	keys => [ { secret => 'sk-1', label => 'oa-1', provider => 'openai',
				faults => { latency_ms => 10, jitter_ms => 20 } } ] });

my $node = new_aigov_node('history',
	'aigov.workers' => 2,
	'aigov.max_attempts' => 50,
	'aigov.history_after' => "'1s'",
	'aigov.retention_interval' => "'200ms'",
	'aigov.retention_batch' => 50);
configure_providers($node, $emu, [ 'openai', 'oa-1', 'sk-1' ]);
$node->safe_psql('postgres', 'CREATE TABLE public.submitted (id bigint PRIMARY KEY)');

sub submit_round
{
	my ($round) = @_;
	$node->safe_psql('postgres', qq{
WITH s AS (
  INSERT INTO aigov.requests (tenant_id, body)
  SELECT CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'beta' END,
    jsonb_build_object('model', 'gpt-test', 'max_tokens', 8,
    'messages', jsonb_build_array(jsonb_build_object('role', 'user',
      'content', 'round $round job ' || i)))
    FROM generate_series(1, $per_round) i
  RETURNING id)
INSERT INTO public.submitted SELECT id FROM s});
}

# Half the jobs go in; the pass must move some before the rest follow.
for my $round (1 .. $rounds / 2)
{
	submit_round($round);
	usleep(50_000);
}
ok($node->poll_query_until('postgres', 'SELECT count(*) > 0 FROM aigov.requests_history'),
	'the workers move finished jobs to the history while jobs flow');
my $moved_early = $node->safe_psql('postgres', 'SELECT count(*) FROM aigov.requests_history');
for my $round ($rounds / 2 + 1 .. $rounds)
{
	submit_round($round);
	usleep(50_000);
}

ok($node->poll_query_until('postgres',
		"SELECT count(*) = $jobs FROM aigov.requests_history", 't'),
	"all $jobs jobs reach the history")
  or diag($node->safe_psql('postgres',
	  'SELECT state, count(*) FROM aigov.requests GROUP BY state ORDER BY 1'));
note("moved while the first half flowed: $moved_early");

is($node->safe_psql('postgres', q{
SELECT count(*) FROM public.submitted s
 WHERE (SELECT count(*) FROM aigov.requests r WHERE r.id = s.id)
	 + (SELECT count(*) FROM aigov.requests_history h WHERE h.id = s.id) <> 1}),
	'0', 'every job submitted is in the queue or the history exactly once');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM (SELECT id FROM aigov.requests UNION ALL
					  SELECT id FROM aigov.requests_history) x
 WHERE id NOT IN (SELECT id FROM public.submitted)}),
	'0', 'and nothing else is there');
# Every moved job is final.  (Most succeed; a job a worker claims before
# its first key cache reload after the configuration was written may
# fail as no_route, a start-up race this test does not judge.)
is($node->safe_psql('postgres', q{
SELECT count(*) FROM aigov.requests_history
 WHERE state NOT IN ('succeeded', 'failed', 'cancelled', 'expired', 'rejected')}),
	'0', 'every moved job is final');
cmp_ok($node->safe_psql('postgres',
		"SELECT count(*) FROM aigov.requests_history WHERE state = 'succeeded'"),
	'>=', $jobs - $per_round, 'and nearly all succeeded');

# Each job's attempts rows moved with it: as many as its attempts count,
# all in the history, none left behind.
is($node->safe_psql('postgres', q{
SELECT count(*) FROM aigov.requests_history h
 WHERE h.attempts <> (SELECT count(*) FROM aigov.attempts_history a
					   WHERE a.job_id = h.id AND a.tenant_id = h.tenant_id)}),
	'0', 'each moved job has all its attempts rows in the history');
is($node->safe_psql('postgres', 'SELECT count(*) FROM aigov.attempts'),
	'0', 'no attempts row is left in aigov.attempts');

# The rollup the scrape reads counted each moved job and call once, while
# the dispatchers moved them in small concurrent batches.
is($node->safe_psql('postgres', q{
SELECT (SELECT sum(n) FROM aigov._history_totals WHERE family = 'jobs') || ' '
	|| (SELECT sum(n) FROM aigov._history_totals WHERE family = 'attempts') || ' '
	|| (SELECT sum(n) FROM aigov._history_totals WHERE family = 'provider_latency')}),
	$node->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM aigov.requests_history) || ' '
	|| (SELECT count(*) FROM aigov.attempts_history WHERE provider IS NOT NULL) || ' '
	|| (SELECT count(*) FROM aigov.attempts_history
		 WHERE provider IS NOT NULL AND latency_ms IS NOT NULL)}),
	'aigov._history_totals counts every moved job and call exactly once');

# The moved jobs still answer, under their tenant's rules.
my $id = $node->safe_psql('postgres',
	"SELECT min(id) FROM aigov.requests_history WHERE tenant_id = 'acme' AND state = 'succeeded'");
is($node->safe_psql('postgres',
		"SELECT state || ' ' || http_status FROM aigov.result($id)"),
	'succeeded 200', 'aigov.result() answers for a job in the history');
is($node->safe_psql('postgres', "SELECT aigov.cancel($id)"),
	'f', 'aigov.cancel() says it already finished');

# The day partitions were made ahead, and the worker logged no failed step.
cmp_ok($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_inherits WHERE inhparent = 'aigov.requests_history'::regclass}),
	'>=', 2, "today's and tomorrow's partitions exist");
my $log = slurp_file($node->logfile);
unlike($log, qr/retention step failed/, 'no retention step failed');

# A dump restores with the history: its partitions, their rows and keys.
my $dump = $node->basedir . '/history.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', 'postgres', '-f', $dump ], 'pg_dump with history');
$node->safe_psql('postgres', 'CREATE DATABASE history_copy');
{
	local $ENV{PGOPTIONS} = '-c session_replication_role=replica';
	$node->command_ok([ 'pg_restore', '--single-transaction', '-d', 'history_copy', $dump ],
		'pg_restore of the history partitions');
}
my $count_sql = q{SELECT (SELECT count(*) FROM aigov.requests_history) || ' '
	|| (SELECT count(*) FROM aigov.attempts_history) || ' '
	|| (SELECT sum(n) FROM aigov._history_totals) || ' '
	|| (SELECT count(*) FROM pg_index i JOIN pg_inherits p ON p.inhrelid = i.indrelid
		 WHERE i.indisprimary
		   AND p.inhparent IN ('aigov.requests_history'::regclass, 'aigov.attempts_history'::regclass))};
is($node->safe_psql('history_copy', $count_sql), $node->safe_psql('postgres', $count_sql),
	'the copy has the same history rows, rollup and a primary key on every partition');

$node->stop;
stop_emulator($emu);
done_testing();
