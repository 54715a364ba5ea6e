# t/011_chaos.pl: every provider call has its attempts row, whenever a
# worker dies.  Under load, dispatcher workers are killed with SIGKILL at
# random moments; afterwards no job is lost, and for each job the calls the
# emulator received (counted per Idempotency-Key from its request log) are
# no more than its attempts rows, its attempts rows are exactly its claims
# that went on the wire, and its calls are bounded by its requeues.  Then
# the Idempotency-Key's installation id: a restored dump draws its own, and
# so does a recreated extension, whose job ids start again at 1.
#
# The kill moments come from a seed printed in the log; set
# AIGOV_CHAOS_SEED to replay a run.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $jobs = 4000;
my $max_kills = 8;
my $seed = $ENV{AIGOV_CHAOS_SEED} // 11;
note("chaos seed $seed (replay with AIGOV_CHAOS_SEED=$seed)");
srand($seed);

my $emu = start_emulator({
	models => [ { name => 'gpt-test', provider => 'openai', max_output_tokens => 4096 } ],
	keys => [ { secret => 'sk-1', label => 'oa-1', provider => 'openai',
				faults => { latency_ms => 50, jitter_ms => 150 } } ] },
	request_log => 1);

my $node = new_aigov_node('chaos',
	'aigov.workers' => 2,
	'aigov.max_in_flight' => 150,
	'aigov.max_attempts' => 50,
	'restart_after_crash' => 'on');
configure_providers($node, $emu, [ 'openai', 'oa-1', 'sk-1' ]);

sub enqueue
{
	my ($n, $tag) = @_;
	$node->safe_psql('postgres', qq{
INSERT INTO aigov.requests (tenant_id, body)
SELECT CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'beta' END,
  jsonb_build_object('model', 'gpt-test', 'max_tokens', 8,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', '$tag ' || i)))
  FROM generate_series(1, $n) i});
}

# Waits until both dispatchers run again after a crash restart.  Each try
# is a fresh connection that may fail while the server recovers (see
# t/003_crash.pl for why not poll_query_until).
sub wait_for_workers
{
	my $deadline = time() + 120;
	while (time() < $deadline)
	{
		my $up = eval {
			$node->safe_psql('postgres',
				"SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'aigov dispatcher'");
		};
		return 1 if defined $up && $up eq 't';
		usleep(100_000);
	}
	return 0;
}

enqueue($jobs, 'chaos');

# --- kill dispatchers at random moments while the jobs flow ---
my $kills = 0;
my $kills_in_flight = 0;
while ($kills < $max_kills)
{
	usleep(50_000 + int(rand(600_000)));
	# Most kills should find calls on the wire.  On a loaded machine the
	# dispatchers may still be starting after the last crash restart, so
	# wait a little for calls to go out (for at most 5 s) before killing.
	my ($pids, $in_flight);
	for (my $i = 0; $i < 100; $i++)
	{
		($pids, $in_flight) = split /\|/, $node->safe_psql('postgres',
			"SELECT (SELECT string_agg(pid::text, ' ' ORDER BY pid) FROM pg_stat_activity
			          WHERE backend_type = 'aigov dispatcher'),
			        (SELECT count(*) FROM aigov.requests WHERE state = 'in_flight')");
		last if $in_flight > 0;
		usleep(50_000);
	}
	my @pids = split ' ', ($pids // '');
	last if $in_flight == 0 && $node->safe_psql('postgres',
		"SELECT count(*) FROM aigov.requests WHERE state = 'queued'") == 0;
	next unless @pids;
	my $victim = $pids[ int(rand(@pids)) ];
	kill 'KILL', $victim;
	$kills++;
	$kills_in_flight++ if $in_flight > 0;
	wait_for_workers() or BAIL_OUT('the dispatchers did not come back after a kill');
}
cmp_ok($kills_in_flight, '>=', 3, "killed $kills workers, $kills_in_flight of them with calls in flight");

ok(wait_for_jobs($node, "state = 'succeeded'", $jobs, 180), 'every job eventually succeeded');
is($node->safe_psql('postgres', "SELECT count(*) FROM aigov.requests WHERE state <> 'succeeded'"),
	'0', 'no job failed or was lost');

# --- every call has its row ---
my $inst = $node->safe_psql('postgres', 'SELECT id FROM aigov._installation');
like($inst, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
	'the installation has a random id');
my $calls = emulator_calls($emu);
my %calls_of;
my @strangers;
for my $key (keys %$calls)
{
	if ($key =~ /^aigov-\Q$inst\E-(\d+)$/) { $calls_of{$1} += $calls->{$key}; }
	else { push @strangers, $key; }
}
is(scalar(@strangers), 0, 'every call carried Idempotency-Key aigov-<installation>-<job id>')
  or diag("other keys: @strangers[0 .. ($#strangers < 4 ? $#strangers : 4)]");

my %rows;
for my $line (split /\n/, $node->safe_psql('postgres', q{
SELECT r.id, r.attempts, r.failures, count(a.id),
       count(a.id) FILTER (WHERE a.error_class = 'success'),
       count(a.id) FILTER (WHERE a.error_class = 'worker_lost')
  FROM aigov.requests r LEFT JOIN aigov.attempts a ON a.job_id = r.id
 GROUP BY r.id, r.attempts, r.failures}))
{
	my ($id, $attempts, $failures, $n, $succ, $lost) = split /\|/, $line;
	$rows{$id} = { attempts => $attempts, failures => $failures, rows => $n,
				   success => $succ, lost => $lost };
}
is(scalar(keys %rows), $jobs, 'each job exists once');

my (@unrecorded, @unclaimed, @unbounded, @not_once, @unlost);
my ($total_calls, $total_rows, $most_calls) = (0, 0, 0);
for my $id (sort { $a <=> $b } keys %rows)
{
	my $r = $rows{$id};
	my $c = $calls_of{$id} // 0;
	$total_calls += $c;
	$total_rows += $r->{rows};
	$most_calls = $c if $c > $most_calls;
	push @unrecorded, "$id ($c calls, $r->{rows} rows)" if $c > $r->{rows};
	push @unclaimed, "$id ($r->{attempts} claims, $r->{rows} rows)" if $r->{rows} != $r->{attempts};
	push @unbounded, "$id ($c calls, $r->{failures} requeues)"
	  if $c > $r->{failures} + 1 || $c > $kills + 1;
	push @not_once, "$id ($r->{success} successes)" if $r->{success} != 1;
	push @unlost, "$id ($r->{lost} worker_lost rows, $r->{failures} requeues)"
	  if $r->{lost} != $r->{failures};
}
my %known = map { $_ => 1 } keys %rows;
my @phantom = grep { !$known{$_} } keys %calls_of;
is(scalar(@phantom), 0, 'every call the provider saw belongs to a job');
is(scalar(@unrecorded), 0,
	"every call the provider received has its attempts row ($total_calls calls, $total_rows rows)")
  or diag("calls without rows: @unrecorded[0 .. ($#unrecorded < 9 ? $#unrecorded : 9)]");
is(scalar(@unclaimed), 0, 'each job has one attempts row per claim that went on the wire')
  or diag("@unclaimed[0 .. ($#unclaimed < 9 ? $#unclaimed : 9)]");
is(scalar(@unbounded), 0,
	"a job is sent again only after a requeue, at most once per kill ($most_calls calls at most, $kills kills)")
  or diag("@unbounded[0 .. ($#unbounded < 9 ? $#unbounded : 9)]");
is(scalar(@not_once), 0, 'each job has exactly one success row');
is(scalar(@unlost), 0, 'each requeue after a kill left one worker_lost row')
  or diag("@unlost[0 .. ($#unlost < 9 ? $#unlost : 9)]");
my $lost_rows = $node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.attempts WHERE error_class = 'worker_lost'");
cmp_ok($lost_rows, '>', 0, "the kills left calls in flight ($lost_rows worker_lost rows)");
diag("chaos seed $seed: $kills kills, $total_calls provider calls for $jobs jobs, "
	  . "$total_rows attempts rows, $lost_rows worker_lost");

# --- a restored dump is a new installation ---
my $dump = $node->basedir . '/chaos.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', 'postgres', '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE chaos_copy');
{
	local $ENV{PGOPTIONS} = '-c session_replication_role=replica';
	$node->command_ok([ 'pg_restore', '--single-transaction', '-d', 'chaos_copy', $dump ],
		'pg_restore into another database');
}
is($node->safe_psql('chaos_copy', 'SELECT count(*) FROM aigov.requests'), $jobs,
	'the copy has the jobs');
my $copy_inst = $node->safe_psql('chaos_copy', 'SELECT id FROM aigov._installation');
ok($copy_inst ne '' && $copy_inst ne $inst,
	'the restored copy drew its own installation id, so its keys never repeat the original\'s');

# --- a recreated extension draws a new id: job 1 again, another key ---
# The workers lock the extension before its tables, as DROP EXTENSION
# does, so the drop succeeds at once (t/017_drop_extension.pl).
my $drop_err;
is($node->psql('postgres', 'DROP EXTENSION aigov; CREATE EXTENSION aigov;',
	stderr => \$drop_err), 0, 'the extension was dropped and created again')
  or diag($drop_err);
configure_providers($node, $emu, [ 'openai', 'oa-1', 'sk-1' ]);
my $new_inst = $node->safe_psql('postgres', 'SELECT id FROM aigov._installation');
isnt($new_inst, $inst, 'the recreated extension drew a new installation id');
enqueue(1, 'again');
is($node->safe_psql('postgres', 'SELECT min(id) FROM aigov.requests'), '1', 'job ids start again at 1');
ok(wait_for_jobs($node, "state = 'succeeded'", 1, 60), 'the new job 1 succeeded');
$calls = emulator_calls($emu);
ok($calls->{"aigov-$inst-1"} && $calls->{"aigov-$new_inst-1"},
	'job 1 of each installation went out under its own Idempotency-Key');

$node->stop;
done_testing();
