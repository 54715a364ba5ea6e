# t/014_fairness.pl: fair share of a saturated key pool, at small scale
# against the emulator.  Two pools, each one key, run side by side: on the
# first, four tenants of equal weight each offer twice what the pool
# allows; on the second, three tenants of weights 1, 2 and 4 do the same.
# Over a middle window (after the backlog has formed, before the load
# stops), the completed jobs must give Jain's fairness index >= 0.99 on
# the first pool and shares within 5% of 1:2:4 on the second.  Then a
# restart: the tags of new jobs continue from the queue.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use IPC::Run qw(start);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# The pool's limit, the load and the window.  Every job has the same
# cost, so shares are counts of jobs.
my $rpm = 600;                 # each pool's one key
my $offer_factor = 2;          # each tenant offers this many times the pool
my $load_seconds = 60;
# seconds after the load began: 45 s, so that a job or two at a window's
# edge stays well under 5% of the smallest share
my ($window_from, $window_to) = (12, 57);
my $tick = 0.5;                # the load generator's period
my $per_tick = int($offer_factor * $rpm / 60 * $tick);

my $emu = start_emulator({
	models => [ map { { name => $_, provider => 'openai', max_output_tokens => 4096 } }
		qw(gpt-equal gpt-weighted) ],
	keys => [
		{ secret => 'sk-eq', label => 'equal', provider => 'openai', models => ['gpt-equal'],
		  rpm => $rpm, tpm => 100000000 },
		{ secret => 'sk-wt', label => 'weighted', provider => 'openai', models => ['gpt-weighted'],
		  rpm => $rpm, tpm => 100000000 },
	] });

my $node = new_aigov_node('fairness', 'aigov.workers' => 2);
my $url = $emu->{url};
$node->safe_psql('postgres', qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd, weight) VALUES
  ('w1', 100000, 1000000000, 10000000000, 1),
  ('w2', 100000, 1000000000, 10000000000, 2),
  ('w4', 100000, 1000000000, 10000000000, 4);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES
  ('eq_1', 'w1'), ('eq_2', 'w1'), ('eq_3', 'w1'), ('eq_4', 'w1'),
  ('wt_1', 'w1'), ('wt_2', 'w2'), ('wt_4', 'w4'), ('late', 'w1');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES
  ('p_eq', 'openai', '$url'), ('p_wt', 'openai', '$url');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES
  ('p_eq', 'gpt-equal', 128000, 4096), ('p_wt', 'gpt-weighted', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret, rpm_limit, tpm_limit) VALUES
  ('p_eq', 'equal', 'sk-eq', $rpm, 100000000), ('p_wt', 'weighted', 'sk-wt', $rpm, 100000000);
});

# The load: every tick, each tenant enqueues its share of the offer, in one
# transaction per tick, from a session of its own.
my $iterations = int($load_seconds / $tick);
my $load = qq{
DO \$\$
BEGIN
FOR i IN 1 .. $iterations LOOP
	INSERT INTO aigov.requests (tenant_id, body)
	SELECT t.tenant, jsonb_build_object('model', t.model, 'max_tokens', 8,
		'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'fair')))
	  FROM (VALUES ('eq_1', 'gpt-equal'), ('eq_2', 'gpt-equal'), ('eq_3', 'gpt-equal'),
				   ('eq_4', 'gpt-equal'), ('wt_1', 'gpt-weighted'), ('wt_2', 'gpt-weighted'),
				   ('wt_4', 'gpt-weighted')) AS t(tenant, model),
		   generate_series(1, $per_tick);
	COMMIT;
	PERFORM pg_sleep($tick);
END LOOP;
END
\$\$;};
my $started = $node->safe_psql('postgres', 'SELECT extract(epoch FROM clock_timestamp())');
my ($lout, $lerr) = ('', '');
my $gen = start([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
	'-c', $load ], '>', \$lout, '2>', \$lerr);
ok($gen->finish, 'the load generator ran') or diag($lerr);

# Completed jobs per tenant in the window, by the time their call ended.
sub served
{
	my ($model) = @_;
	my %n = map { split /\|/ } split /\n/, $node->safe_psql('postgres', qq{
SELECT tenant_id, count(*) FROM aigov.requests
 WHERE model = '$model' AND state = 'succeeded'
   AND finished_at >= to_timestamp($started + $window_from)
   AND finished_at < to_timestamp($started + $window_to)
 GROUP BY tenant_id});
	return \%n;
}

my $window = $window_to - $window_from;
my $paced = $rpm / 60 * $window * 0.97;    # what aigov's pacer lets through

my $eq = served('gpt-equal');
my @x = map { $eq->{"eq_$_"} // 0 } 1 .. 4;
my ($sum, $sq) = (0, 0);
$sum += $_ for @x;
$sq += $_ * $_ for @x;
my $jain = $sq > 0 ? $sum * $sum / (4 * $sq) : 0;
diag(sprintf('equal weights: served %s in %d s (pool paced at %.0f); Jain index %.4f',
	join(' ', @x), $window, $paced, $jain));
cmp_ok($sum, '>=', 0.9 * $paced, 'the equal-weight pool was kept busy');
cmp_ok($jain, '>=', 0.99, "four equal tenants share the pool fairly (Jain's index)");

my $wt = served('gpt-weighted');
my %w = (wt_1 => 1, wt_2 => 2, wt_4 => 4);
my $total = 0;
$total += $wt->{$_} // 0 for keys %w;
diag(sprintf('weights 1:2:4: served %s in %d s (pool paced at %.0f)',
	join(' ', map { $wt->{$_} // 0 } sort keys %w), $window, $paced));
cmp_ok($total, '>=', 0.9 * $paced, 'the weighted pool was kept busy');
for my $t (sort keys %w)
{
	my $expected = $total * $w{$t} / 7;
	my $got = $wt->{$t} // 0;
	my $err = $expected > 0 ? abs($got / $expected - 1) : 1;
	diag(sprintf('%s: %d served, %.1f expected, off by %.1f%%', $t, $got, $expected, 100 * $err));
	cmp_ok($err, '<=', 0.05, "tenant of weight $w{$t} gets its share within 5%");
}
my $stats = emulator_stats($emu);
is(key_stat($stats, $_, 'rate_limited_total'), 0, "key $_ was never overrun") for qw(equal weighted);

# --- after a restart, tags continue from the queue ---
# The backlog is still queued.  A backlogged tenant's next job comes after
# all its queued ones; a tenant new to the pool starts at the virtual clock
# rebuilt from the queue, not at 0 ahead of everyone.
my $before = $node->safe_psql('postgres', q{
SELECT max(vstart) FILTER (WHERE tenant_id = 'wt_1'), min(vstart)
  FROM aigov.requests WHERE model = 'gpt-weighted' AND state IN ('queued', 'in_flight')});
my ($wt1_max, $pool_min) = split /\|/, $before;
cmp_ok($pool_min, '>', 0, 'the backlog is still queued before the restart');
$node->restart;
$node->safe_psql('postgres', q{
INSERT INTO aigov.requests (tenant_id, body) VALUES
  ('wt_1', '{"model": "gpt-weighted", "max_tokens": 8, "messages": [{"role": "user", "content": "fair"}]}'),
  ('late', '{"model": "gpt-weighted", "max_tokens": 8, "messages": [{"role": "user", "content": "fair"}]}')});
my %after = map { split /\|/ } split /\n/, $node->safe_psql('postgres', q{
SELECT DISTINCT ON (tenant_id) tenant_id, vstart FROM aigov.requests
 WHERE tenant_id IN ('wt_1', 'late') ORDER BY tenant_id, id DESC});
cmp_ok($after{wt_1}, '>', $wt1_max, 'a backlogged tenant\'s new job is tagged after its queued ones');
cmp_ok($after{late}, '>=', $pool_min, 'a new tenant starts at the rebuilt virtual clock');
cmp_ok($after{late}, '<', $after{wt_1}, 'and ahead of the backlog of a busy tenant');

$node->stop;
done_testing();
