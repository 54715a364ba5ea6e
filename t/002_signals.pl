# t/002_signals.pl: wake-ups and signals of the dispatcher workers: the
# enqueue latch, SIGHUP reloads, SIGTERM drains, and a stop that abandons
# calls requeues their jobs.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $emu = start_emulator({
	models => [ { name => 'gpt-test', provider => 'openai', max_output_tokens => 4096 } ],
	keys => [ { secret => 'sk-1', label => 'oa-1', provider => 'openai' } ] });

# Idle polling is slowed to a minute, so only the latch can wake a worker.
my $node = new_aigov_node('signals',
	'aigov.idle_poll_interval' => "'60s'",
	'aigov.max_in_flight' => 1);
configure_providers($node, $emu, [ 'openai', 'oa-1', 'sk-1' ]);

sub submit_many
{
	my ($n, $tag) = @_;
	$node->safe_psql('postgres', qq{
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'acme', jsonb_build_object('model', 'gpt-test', 'max_tokens', 8,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', '$tag ' || i)))
  FROM generate_series(1, $n) i});
}

sub worker_pid
{
	return $node->safe_psql('postgres', 'SELECT pid FROM aigov.worker_status() WHERE worker = 0');
}

# --- the enqueue latch: an idle worker picks up a new job at once ---
ok($node->poll_query_until('postgres', 'SELECT pid IS NOT NULL FROM aigov.worker_status()'),
	'the dispatcher runs');
# let the worker go idle: its first claims find nothing
$node->poll_query_until('postgres', 'SELECT claimed = 0 AND in_flight = 0 FROM aigov.worker_status()');
my $start = time();
submit_many(1, 'latch');
ok(wait_for_jobs($node, "state = 'succeeded'", 1, 20), 'a job enqueued into an idle system is served');
my $took = time() - $start;
ok($took < 20, "it did not wait for the 60 s idle poll (took ${took}s)");

# --- SIGHUP: max_in_flight = 1 holds, then a reload raises it ---
emulator_post($emu, '/admin/faults', { key => 'oa-1', latency_ms => 300 });
emulator_post($emu, '/admin/reset', {});
submit_many(6, 'narrow');
ok(wait_for_jobs($node, "state = 'succeeded' AND body->'messages'->0->>'content' LIKE 'narrow%'", 6, 60),
	'six jobs served one at a time');
is(key_stat(emulator_stats($emu), 'oa-1', 'peak_concurrent'), 1,
	'aigov.max_in_flight = 1 kept one call in flight');

my $reloads = $node->safe_psql('postgres', 'SELECT config_reloads FROM aigov.worker_status()');
$node->safe_psql('postgres', 'ALTER SYSTEM SET aigov.max_in_flight = 50');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok($node->poll_query_until('postgres',
	"SELECT config_reloads > $reloads FROM aigov.worker_status()"), 'the worker reloaded on SIGHUP');
emulator_post($emu, '/admin/reset', {});
submit_many(6, 'wide');
ok(wait_for_jobs($node, "state = 'succeeded' AND body->'messages'->0->>'content' LIKE 'wide%'", 6, 60),
	'six more jobs served');
cmp_ok(key_stat(emulator_stats($emu), 'oa-1', 'peak_concurrent'), '>', 1,
	'after the reload several calls were in flight at once');

# --- SIGTERM: calls in flight finish within the grace period ---
emulator_post($emu, '/admin/faults', { key => 'oa-1', latency_ms => 1500 });
submit_many(10, 'drain');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 10 FROM aigov.requests WHERE state = 'in_flight'"), 'ten calls in flight');
my $pid = worker_pid();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok(wait_for_jobs($node, "state = 'succeeded' AND body->'messages'->0->>'content' LIKE 'drain%'", 10, 60),
	'the stopping worker let its calls finish');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.attempts a JOIN aigov.requests r ON r.id = a.job_id
	  WHERE r.body->'messages'->0->>'content' LIKE 'drain%'"), '10',
	'each drained job was sent once');
ok($node->poll_query_until('postgres', "SELECT pid IS NOT NULL AND pid <> $pid FROM aigov.worker_status()"),
	'the worker was restarted');

# --- SIGTERM past the grace period: abandoned calls go back to the queue ---
$node->safe_psql('postgres', "ALTER SYSTEM SET aigov.shutdown_grace = '100ms'");
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
emulator_post($emu, '/admin/faults', { key => 'oa-1', latency_ms => 4000 });
submit_many(5, 'abandon');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 5 FROM aigov.requests WHERE state = 'in_flight'"), 'five slow calls in flight');
$pid = worker_pid();
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres', "SELECT pid IS NOT NULL AND pid <> $pid FROM aigov.worker_status()"),
	'the worker stopped and was restarted');
ok($node->log_contains('aigov dispatcher 0 stopped', $log_offset), 'it stopped cleanly');
emulator_post($emu, '/admin/faults', { key => 'oa-1', clear => JSON::PP::true });
ok(wait_for_jobs($node, "state = 'succeeded' AND body->'messages'->0->>'content' LIKE 'abandon%'", 5, 60),
	'the abandoned jobs were requeued and served');
is($node->safe_psql('postgres',
	"SELECT max(failures) FROM aigov.requests WHERE body->'messages'->0->>'content' LIKE 'abandon%'"),
	'0', 'a clean stop does not count against the jobs');
# An abandoned call may have reached the provider: it keeps its row.
is($node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.attempts a JOIN aigov.requests r ON r.id = a.job_id
	  WHERE r.body->'messages'->0->>'content' LIKE 'abandon%' AND a.error_class = 'abandoned'"),
	'5', 'each abandoned call has its attempts row');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.requests r
	  WHERE r.body->'messages'->0->>'content' LIKE 'abandon%'
	    AND r.attempts <> (SELECT count(*) FROM aigov.attempts a WHERE a.job_id = r.id)"),
	'0', 'the abandoned jobs kept their attempt: one per call, each with its row');

$node->stop;
done_testing();
