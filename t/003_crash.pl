# t/003_crash.pl: nothing is lost when workers die.  Under load, workers
# are killed with SIGKILL at random moments and the server is stopped in
# immediate mode; afterwards every job has succeeded exactly once, and the
# emulator's statistics say how many calls were sent twice.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $jobs = 3000;
my $emu = start_emulator({
	models => [ { name => 'gpt-test', provider => 'openai', max_output_tokens => 4096 } ],
	keys => [ { secret => 'sk-1', label => 'oa-1', provider => 'openai',
				faults => { latency_ms => 20, jitter_ms => 40 } } ] });

my $node = new_aigov_node('crash',
	'aigov.workers' => 2,
	'aigov.max_in_flight' => 200,
	'aigov.max_attempts' => 50,
	'restart_after_crash' => 'on');
configure_providers($node, $emu, [ 'openai', 'oa-1', 'sk-1' ]);

$node->safe_psql('postgres', qq{
INSERT INTO aigov.requests (tenant_id, body)
SELECT CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'beta' END,
  jsonb_build_object('model', 'gpt-test', 'max_tokens', 8,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'job ' || i)))
  FROM generate_series(1, $jobs) i});

srand(42);
my $kills = 0;
for my $round (1 .. 6)
{
	usleep(100_000 + int(rand(400_000)));
	if ($round == 4)
	{
		# the whole server, not just a worker
		$node->stop('immediate');
		$node->start;
		next;
	}
	my $pids = $node->safe_psql('postgres',
		"SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE backend_type = 'aigov dispatcher'");
	my @pids = split ' ', $pids;
	next unless @pids;
	my $victim = $pids[ int(rand(@pids)) ];
	kill 'KILL', $victim;
	$kills++;
	# A killed worker makes the postmaster restart every backend.  Not
	# poll_query_until: a psql that starts while the server is still in
	# recovery exits before it reads its query, and the write dies on
	# EPIPE; each try here is a fresh connection that may fail.
	my $deadline = time() + 120;
	while (time() < $deadline)
	{
		my $up = eval {
			$node->safe_psql('postgres',
				"SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'aigov dispatcher'");
		};
		last if defined $up && $up eq 't';
		usleep(100_000);
	}
}
ok($kills > 0, "killed $kills workers at random moments");

ok(wait_for_jobs($node, "state = 'succeeded'", $jobs, 240), 'every job eventually succeeded');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.requests WHERE state <> 'succeeded'"), '0', 'no job failed or was lost');
is($node->safe_psql('postgres', 'SELECT count(DISTINCT id) FROM aigov.requests'), $jobs,
	'each job exists exactly once');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM (SELECT job_id FROM aigov.attempts WHERE error_class = 'success'
	  GROUP BY job_id HAVING count(*) > 1) d"), '0', 'no job recorded two successes');

my $stats = emulator_stats($emu);
my $requests = key_stat($stats, 'oa-1', 'requests');
is($stats->{totals}{idempotency_keys}, $jobs,
	'the provider answered every job, each under its own idempotency key');
diag("provider calls: $requests for $jobs jobs; "
	  . ($requests - $jobs) . " were sent again after a crash");

$node->stop;
done_testing();
