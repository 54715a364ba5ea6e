# t/021_throttle.pl: the provider throttle (layer 3) at work.
#
# One emulator key of $rpm requests a minute, configured in aigov.keys.
# A backlog of batch jobs fills the key past aigov.throttle_start_pct,
# then interactive jobs keep arriving at about half the key's rate.  The throttle must hold the batch jobs back in the
# queue (never failing them, never a provider 429) so that interactive
# jobs go out without waiting behind them; the throttle level seen in
# aigov.provider_health rises while it works and comes back to 0 once the
# demand stops.  A small key and a short flood keep it to about 25 s on an
# idle machine.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $rpm = 120;					# the key's hidden limit: 2 requests/s
my $batch_jobs = 150;			# more than the key allows in the test
my $interactive_gap_s = 1.0;	# one interactive job a second: half the key
my $flood_s = 8;				# how long interactive jobs keep coming

my $emu = start_emulator({
	models => [ { name => 'gpt-test', provider => 'openai', max_output_tokens => 4096 } ],
	keys => [ { secret => 'sk-t', label => 'oa-t', provider => 'openai',
				rpm => $rpm, faults => { latency_ms => 50 } } ] });

my $node = new_aigov_node('throttle',
	'aigov.workers' => 1,
	'aigov.throttle_start_pct' => 70);
configure_providers($node, $emu, [ 'openai', 'oa-t', 'sk-t' ]);
# The limit is configured, so the throttle knows it from the first job (a
# limit learned from the first reply's headers arrives as a step, which is
# the unit tests' business).
$node->safe_psql('postgres', "UPDATE aigov.keys SET rpm_limit = $rpm WHERE label = 'oa-t'");

sub enqueue
{
	my ($n, $class, $tag) = @_;
	$node->safe_psql('postgres', qq{
INSERT INTO aigov.requests (tenant_id, workload_class, body)
SELECT 'acme', '$class', jsonb_build_object('model', 'gpt-test', 'max_tokens', 8,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', '$tag ' || i)))
  FROM generate_series(1, $n) i});
}

sub health_level
{
	return $node->safe_psql('postgres',
		"SELECT COALESCE(throttle_level, 0) FROM aigov.provider_health WHERE provider = 'openai'");
}

# The flood: the batch backlog at once; it fills the key past the knee
# (the bucket starts full, so the first 70% go out as fast as the key's
# pacer allows), then interactive jobs arrive one by one.
enqueue($batch_jobs, 'batch', 'b');
my $engaged = 'f';
my $t_wait = time() + 20;
while ($engaged ne 't' && time() < $t_wait)
{
	usleep(100_000);
	$engaged = $node->safe_psql('postgres', q{
SELECT COALESCE(bool_or(engaged), false) FROM aigov.throttle_state() WHERE provider = 'openai'});
}
is($engaged, 't', 'the batch backlog engaged the throttle');
my $max_level = 0;
my $t_end = time() + $flood_s;
my $i = 0;
while (time() < $t_end)
{
	enqueue(1, 'interactive', "i$i");
	$i++;
	my $level = health_level();
	$max_level = $level if $level > $max_level;
	usleep($interactive_gap_s * 1_000_000);
}
ok(wait_for_jobs($node, "workload_class = 'interactive' AND state = 'succeeded'", $i, 10),
	"all $i interactive jobs succeeded");

my $state = $node->safe_psql('postgres', q{
SELECT workload_class, held, released FROM aigov.throttle_state()
 WHERE provider = 'openai' ORDER BY workload_class});
note "throttle_state (class|held|released):\n$state";
my %held = map { (split /\|/)[0, 1] } split /\n/, $state;
cmp_ok($held{batch}, '>', 0, 'the throttle held batch jobs back');
# Interactive work is slowed last: only while the fill overshoots the knee
# right after the batch flood may its pacer hold one back.
cmp_ok($held{interactive}, '<=', 2,
	"interactive jobs were held back at most twice ($held{interactive})");
cmp_ok($max_level, '>', 0, "provider_health.throttle_level rose ($max_level)");

# Interactive jobs did not wait behind the batch backlog: the median
# queue wait of the interactive jobs is below that of the batch jobs sent
# while interactive ones were arriving.  (An absolute bound would measure
# the machine: at a load average of 20 one claim cycle takes seconds.)
my $waits = $node->safe_psql('postgres', q{
SELECT r.workload_class,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.started_at - r.created_at))::numeric, 2),
	   count(*)
  FROM aigov.attempts a JOIN aigov.requests r ON r.id = a.job_id
 WHERE a.attempt = 1
   AND a.started_at >= (SELECT min(created_at) FROM aigov.requests WHERE workload_class = 'interactive')
 GROUP BY 1 ORDER BY 1});
note "median queue wait (class|s|jobs) while interactive jobs arrived:\n$waits";
my %median = map { (split /\|/)[0, 1] } split /\n/, $waits;
cmp_ok($median{interactive}, '<', $median{batch} // 0,
	'interactive jobs waited less than the batch jobs sent meanwhile');

my $failed = $node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.requests WHERE state IN ('failed', 'expired')");
is($failed, 0, 'no job failed or expired: held jobs wait in the queue');
my $queued = $node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.requests WHERE workload_class = 'batch' AND state = 'queued'");
cmp_ok($queued, '>', 0, "batch jobs still wait ($queued), slowed below the key's rate");
is(key_stat(emulator_stats($emu), 'oa-t', 'rate_limited_total'), 0,
	'the emulator answered no 429');

# Demand stops: cancel the backlog; the level comes back to 0.
$node->safe_psql('postgres',
	"SELECT aigov.cancel(id) FROM aigov.requests WHERE state = 'queued'");
my $deadline = time() + 15;
my $level = health_level();
while ($level > 0 && time() < $deadline)
{
	usleep(200_000);
	$level = health_level();
}
is($level, 0, 'the throttle level came back to 0 once the demand stopped');

$node->stop;
stop_emulator($emu);
done_testing();
