# t/003_crash.pl: nothing is lost when workers die.  Under load, workers
# are killed with SIGKILL at random moments and the server is stopped in
# immediate mode; afterwards every job has succeeded exactly once, and
# what the crashes cost is bounded: a job is requeued at most once per
# crash, and each call sent again follows a requeue.
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
my $crashes = 0;
for my $round (1 .. 6)
{
	usleep(100_000 + int(rand(400_000)));
	if ($round == 4)
	{
		# the whole server, not just a worker
		$node->stop('immediate');
		$node->start;
		$crashes++;
		next;
	}
	my $pids = $node->safe_psql('postgres',
		"SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE backend_type = 'aigov dispatcher'");
	my @pids = split ' ', $pids;
	next unless @pids;
	my $victim = $pids[ int(rand(@pids)) ];
	kill 'KILL', $victim;
	$kills++;
	$crashes++;
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

# What the crashes cost.  A worker that dies (or a server stopped at once)
# leaves its jobs in flight; they are requeued, each requeue counted as one
# of the job's failures, and only a requeued job is ever sent again.
my ($requeues, $most, $requeued_jobs) = split /\|/, $node->safe_psql('postgres',
	"SELECT sum(failures), max(failures), count(*) FILTER (WHERE failures > 0)
	   FROM aigov.requests");
my $resent = $requests - $jobs;
ok($requeues > 0, "the crashes requeued jobs ($requeues requeues of $requeued_jobs jobs)");
ok($most <= $crashes,
	"no job was requeued more than once per crash ($most at most, $crashes crashes)");
ok($resent <= $requeues,
	"every call sent again follows a requeue ($resent calls again, $requeues requeues)");
is($node->safe_psql('postgres', "SELECT count(*) FROM aigov.requests WHERE attempts <> failures + 1"),
	'0', 'each job took one claim for its success and one per requeue, no more');
diag("provider calls: $requests for $jobs jobs; $resent were sent again after "
	  . "$crashes crashes, $requeues requeues");

$node->stop;
done_testing();
