# t/017_drop_extension.pl: DROP EXTENSION aigov while the dispatchers are
# busy.  Each worker cycle locks the extension before any of its tables, in
# the order DROP EXTENSION locks them, so a DROP never meets a cycle in a
# deadlock: it waits for the cycle to commit, the workers see the
# extension gone and stop, and once it is created again they serve it.
# The retention stage locks the extension first too: it runs here every
# 100 ms and moves jobs a second after they finish, and its first step after
# each CREATE EXTENSION creates the history partitions (which locks the
# schema, as DROP does).
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $rounds = 6;
my $jobs = 400;

my $emu = start_emulator({
	models => [ { name => 'gpt-test', provider => 'openai', max_output_tokens => 4096 } ],
	keys => [ { secret => 'sk-1', label => 'oa-1', provider => 'openai',
				faults => { latency_ms => 10, jitter_ms => 40 } } ] });

my $node = new_aigov_node('dropext',
	'aigov.workers' => 2,
	'aigov.max_in_flight' => 100,
	'aigov.claim_batch' => 20,
	'aigov.retention_interval' => '100ms',
	'aigov.history_after' => '1s');

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

# Jobs move to the history a second after they finish: count both.
sub wait_for_succeeded
{
	my ($n, $timeout) = @_;
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		return 1 if $node->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM aigov.requests WHERE state = 'succeeded')
     + (SELECT count(*) FROM aigov.requests_history WHERE state = 'succeeded')}) >= $n;
		usleep(50_000);
	}
	return 0;
}

my $log_offset = -s $node->logfile;
my @failed_drops;
my $busy_drops = 0;
for my $round (1 .. $rounds)
{
	configure_providers($node, $emu, [ 'openai', 'oa-1', 'sk-1' ]);
	enqueue($jobs, "round $round");
	ok(wait_for_succeeded(20, 60), "round $round: jobs flow");

	# Drop while the workers claim, send and write results: one try only.
	my $stderr;
	my $ret = $node->psql('postgres', qq{
SELECT count(*) FROM aigov.requests WHERE state IN ('queued', 'in_flight');
DROP EXTENSION aigov;}, stdout => \my $open_jobs, stderr => \$stderr);
	push @failed_drops, "round $round: $stderr" if $ret != 0;
	$busy_drops++ if $ret == 0 && $open_jobs > 0;
	# after a failure, try again so that the next rounds still run
	for (my $try = 1; $ret != 0 && $try <= 10; $try++)
	{
		$ret = $node->psql('postgres', 'DROP EXTENSION aigov');
	}
	last if $ret != 0;
	$node->safe_psql('postgres', 'CREATE EXTENSION aigov');
}
is(scalar(@failed_drops), 0, "each of $rounds DROP EXTENSION succeeded at the first try")
  or diag(join("\n", @failed_drops));
cmp_ok($busy_drops, '>=', $rounds / 2,
	"$busy_drops of the drops met jobs still queued or in flight");

my $log = substr(slurp_file($node->logfile), $log_offset);
unlike($log, qr/deadlock detected/, 'no deadlock between DROP EXTENSION and a worker');
like($log, qr/aigov dispatcher \d stops: the extension was dropped from database "postgres"/,
	'a worker says it stops because the extension was dropped');

# --- the workers serve the extension created again ---
configure_providers($node, $emu, [ 'openai', 'oa-1', 'sk-1' ]);
enqueue(20, 'after');
ok(wait_for_succeeded(20, 60), 'the recreated extension is served');

# --- the retention step holds the extension's lock, as a cycle does ---
# The rounds above meet a retention step only by chance.  Here one is
# caught for sure: a session holds the history table, so the step that
# moves the jobs enqueued next waits for it, and while it waits its locks
# show whether it took the extension's first.
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; LOCK TABLE aigov.requests_history IN ACCESS EXCLUSIVE MODE');
enqueue(20, 'held');
my $waiting = '';
for (my $i = 0; $i < 200 && $waiting eq ''; $i++)
{
	# one read of pg_locks: the step gives up after lock_timeout and retries
	$waiting = $node->safe_psql('postgres', q{
SELECT w.pid, EXISTS (SELECT 1 FROM pg_locks e
						WHERE e.pid = w.pid AND e.granted AND e.locktype = 'object'
						  AND e.classid = 'pg_extension'::regclass
						  AND e.objid = (SELECT oid FROM pg_extension WHERE extname = 'aigov'))
  FROM pg_locks w
 WHERE w.relation = 'aigov.requests_history'::regclass AND NOT w.granted
   AND w.pid IN (SELECT pid FROM pg_stat_activity WHERE backend_type = 'aigov dispatcher')
 LIMIT 1});
	usleep(50_000) if $waiting eq '';
}
isnt($waiting, '', 'a retention step waits for the history table');
like($waiting, qr/\|t$/, 'and holds the extension lock, taken before any table');
$holder->query_safe('ROLLBACK');
$holder->quit;
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'aigov dispatcher'"),
	'2', 'both dispatchers run');

$node->stop;
done_testing();
