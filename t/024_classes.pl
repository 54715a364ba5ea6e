# t/024_classes.pl: keys reserved for a workload class or a tenant group,
# and jobs whose deadline cannot be met, end to end against the emulator.
#
# (a) Reserved keys: of three keys serving one model, one is reserved for
# batch work and one for tenant group "gold".  Jobs of other classes or
# groups never use a reserved key (aigov.attempts names the key of each
# call), and jobs of the class or group do.  A job that no key may serve
# fails at once as no_route, saying which class and group found none.
# (b) Deadlines: a job that cannot go before its deadline expires as soon
# as a worker sees that, long before the deadline, with the reason and
# the earliest time it could have gone (error->>'earliest_at'): held back
# by its tenant's quota, by its only key's configured rate, and by its
# only key's open circuit breaker.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;

my $per_group = 16;			# jobs of each kind in (a)
my $deadline_s = 20;		# deadlines in (b), seconds after enqueue
my $key_rpm = 1;			# the rate-bound key of (b): a minute between calls
my $cooldown_s = 60;		# the open breaker of (b)

my $emu = start_emulator({
	models => [ map { { name => $_, provider => 'openai', max_output_tokens => 4096 } }
		qw(gpt-r gpt-rb gpt-d gpt-b) ],
	keys => [
		{ secret => 'sk-any', label => 'r-any', provider => 'openai', models => ['gpt-r'] },
		{ secret => 'sk-batch', label => 'r-batch', provider => 'openai', models => ['gpt-r'] },
		{ secret => 'sk-gold', label => 'r-gold', provider => 'openai', models => ['gpt-r'] },
		{ secret => 'sk-rb', label => 'rb-batch', provider => 'openai', models => ['gpt-rb'] },
		{ secret => 'sk-d', label => 'd-slow', provider => 'openai', models => ['gpt-d'] },
		{ secret => 'sk-b', label => 'b-down', provider => 'openai', models => ['gpt-b'],
		  faults => { error_rate => 1, error_status => 503 } },
	] });

my $node = new_aigov_node('classes',
	'aigov.workers' => 1,
	'aigov.breaker_failures' => 1,
	'aigov.breaker_cooldown' => "'${cooldown_s}s'",
	'aigov.breaker_max_cooldown' => "'${cooldown_s}s'");
my $url = $emu->{url};
$node->safe_psql('postgres', qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES
  ('std', 100000, 100000000, 1000000000), ('slow', 1, 100000000, 1000000000);
INSERT INTO aigov.tenants (tenant_id, tier, tenant_group) VALUES
  ('acme', 'std', NULL), ('goldco', 'std', 'gold'), ('slowco', 'slow', NULL);
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES
  ('p_r', 'openai', '$url'), ('p_rb', 'openai', '$url'), ('p_d', 'openai', '$url'),
  ('p_b', 'openai', '$url');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES
  ('p_r', 'gpt-r', 128000, 4096), ('p_rb', 'gpt-rb', 128000, 4096),
  ('p_d', 'gpt-d', 128000, 4096), ('p_b', 'gpt-b', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret, workload_class, tenant_group) VALUES
  ('p_r', 'r-any', 'sk-any', NULL, NULL), ('p_r', 'r-batch', 'sk-batch', 'batch', NULL),
  ('p_r', 'r-gold', 'sk-gold', NULL, 'gold'), ('p_rb', 'rb-batch', 'sk-rb', 'batch', NULL),
  ('p_b', 'b-down', 'sk-b', NULL, NULL);
INSERT INTO aigov.keys (provider, label, secret, rpm_limit) VALUES ('p_d', 'd-slow', 'sk-d', $key_rpm);
});

sub enqueue
{
	my ($tenant, $class, $model, $n, $extra) = @_;
	$extra //= 'NULL';
	return $node->safe_psql('postgres', qq{
INSERT INTO aigov.requests (tenant_id, workload_class, body, deadline)
SELECT '$tenant', '$class', jsonb_build_object('model', '$model', 'max_tokens', 8,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'job ' || i))), $extra
  FROM generate_series(1, $n) i RETURNING id});
}

# --- (a) reserved keys ---
enqueue('acme', 'interactive', 'gpt-r', $per_group);
enqueue('acme', 'batch', 'gpt-r', $per_group);
enqueue('goldco', 'interactive', 'gpt-r', $per_group);
ok(wait_for_jobs($node, "model = 'gpt-r' AND state = 'succeeded'", 3 * $per_group, 60),
   'every job of the reserved-key pool succeeded');

# calls per (tenant, class, key label)
my %calls;
for my $row (split /\n/, $node->safe_psql('postgres', q{
SELECT r.tenant_id || '/' || r.workload_class, k.label, count(*)
  FROM aigov.attempts a JOIN aigov.requests r ON r.id = a.job_id
  JOIN aigov.keys k ON k.key_id = a.key_id
 WHERE r.model = 'gpt-r' GROUP BY 1, 2}))
{
	my ($who, $label, $n) = split /\|/, $row;
	$calls{$who}{$label} = $n;
}
note explain \%calls;
is_deeply([ sort keys %{ $calls{'acme/interactive'} } ], ['r-any'],
		  'interactive jobs of a tenant outside the group use neither reserved key');
ok(!exists $calls{'acme/batch'}{'r-gold'}, 'batch jobs of a tenant outside the group never use the gold key');
ok(($calls{'acme/batch'}{'r-batch'} // 0) > 0, 'batch jobs use the key reserved for batch');
ok(!exists $calls{'goldco/interactive'}{'r-batch'}, 'interactive jobs never use the batch key');
ok(($calls{'goldco/interactive'}{'r-gold'} // 0) > 0, 'jobs of the gold group use the gold key');

# a model whose only key is reserved for batch
my ($bad) = enqueue('acme', 'interactive', 'gpt-rb', 1);
my ($good) = enqueue('acme', 'batch', 'gpt-rb', 1);
ok(wait_for_jobs($node, "id IN ($bad, $good) AND state IN ('failed', 'succeeded')", 2, 30),
   'both jobs of the batch-only model finished');
is($node->safe_psql('postgres', "SELECT state || ' ' || error_class || ' ' || (error->>'message') FROM aigov.requests WHERE id = $bad"),
   'failed no_route no enabled key serves model "gpt-rb" for workload class "interactive" with room for '
	 . $node->safe_psql('postgres', "SELECT est_tokens FROM aigov.requests WHERE id = $bad") . ' tokens',
   'an interactive job with only a batch key fails at once as no_route');
is($node->safe_psql('postgres', qq{
SELECT r.state, k.label FROM aigov.requests r JOIN aigov.keys k ON k.key_id = r.key_id WHERE r.id = $good}),
   'succeeded|rb-batch', 'the batch job goes out on the batch key');

# --- (b) deadlines met early ---
# expired_early($id, $cls, $why_re): the job expired within a few seconds
# of its enqueue, well before its deadline, with class $cls, a message
# matching $why_re, and an earliest time after its deadline.
sub expired_early
{
	my ($id, $cls, $why_re, $name) = @_;
	ok(wait_for_jobs($node, "id = $id AND state <> 'queued' AND state <> 'in_flight'", 1, $deadline_s - 5),
	   "$name: finished before its deadline");
	my $row = $node->safe_psql('postgres', qq{
SELECT state, error_class, error->>'message',
	   extract(epoch FROM finished_at - created_at) < $deadline_s / 2,
	   (error->>'earliest_at')::timestamptz > deadline,
	   strpos(error->>'message', error->>'earliest_at') > 0
  FROM aigov.requests WHERE id = $id});
	my ($state, $c, $msg, $soon, $after, $stated) = split /\|/, $row;
	is("$state $c", "expired $cls", "$name: expired as $cls");
	like($msg, $why_re, "$name: the message says why");
	is("$soon $after $stated", 't t t',
	   "$name: expired in under half its wait, and states the earliest time, after the deadline");
}

# tenant quota: slowco may send one request a minute
enqueue('slowco', 'interactive', 'gpt-r', 1);
my ($tq) = enqueue('slowco', 'interactive', 'gpt-r', 1, "now() + interval '$deadline_s s'");
expired_early($tq, 'tenant_rpm', qr/tenant's quota allows the job only after its deadline/, 'tenant quota');

# key exhaustion: the key's configured rate allows one call a minute
enqueue('acme', 'interactive', 'gpt-d', 1);
ok(wait_for_jobs($node, "model = 'gpt-d' AND state = 'succeeded'", 1, 20), 'the slow key took a call');
my ($kx) = enqueue('acme', 'interactive', 'gpt-d', 1, "now() + interval '$deadline_s s'");
expired_early($kx, 'deadline', qr/every key serving the job is exhausted past its deadline/, 'key exhaustion');

# breaker: the only key fails once and its breaker opens for a minute
my ($first) = enqueue('acme', 'interactive', 'gpt-b', 1);
ok(wait_for_jobs($node, "id = $first AND failures > 0", 1, 20), 'the failing key failed a job');
my ($bo) = enqueue('acme', 'interactive', 'gpt-b', 1, "now() + interval '$deadline_s s'");
expired_early($bo, 'deadline', qr/circuit breaker open past its deadline/, 'breaker open');
$node->safe_psql('postgres', "SELECT aigov.cancel($first)");

$node->stop;
stop_emulator($emu);
done_testing();
