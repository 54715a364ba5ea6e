# t/016_breaker.pl: a key's circuit breaker against emulator outages.
#
# (a) Outage: jobs flow to a key; the emulator switches it to 503.  The
# key's breaker opens after aigov.breaker_failures failures in a row; while
# it is open the emulator receives only the half-open probes (at most one
# per cool-down); no job fails or is lost, they wait in the queue.  When the
# key answers again the breaker closes within a probe period and every job
# succeeds exactly once.
# (b) Quota: 429s of an exhausted minute window and a key out of credit
# never move a breaker, and the traffic resumes as the window refills.
#
# The breaker timings are small GUC values so that the test runs in well
# under a minute; every bound below is computed from them.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use JSON::PP;

my $failures = 3;			# aigov.breaker_failures
my $cooldown_s = 1;			# aigov.breaker_cooldown
my $max_cooldown_s = 2;		# aigov.breaker_max_cooldown
my $quota_rpm = 30;			# the emulator's limit on the quota key

my $emu = start_emulator({
	models => [ { name => 'gpt-test', provider => 'openai', max_output_tokens => 4096 },
				{ name => 'gpt-q', provider => 'openai', max_output_tokens => 4096 } ],
	keys => [ { secret => 'sk-a', label => 'oa-a', provider => 'openai',
				models => ['gpt-test'], faults => { latency_ms => 20 } },
			  { secret => 'sk-q', label => 'oa-q', provider => 'openai',
				models => ['gpt-q'], rpm => $quota_rpm,
				faults => { no_ratelimit_headers => JSON::PP::true } },
			  { secret => 'sk-x', label => 'oa-x', provider => 'openai',
				models => ['gpt-q'], insufficient_quota => JSON::PP::true } ] },
	request_log => 1);

my $node = new_aigov_node('breaker',
	'aigov.workers' => 1,
	'aigov.max_in_flight' => 1,
	'aigov.max_attempts' => 100,
	'aigov.breaker_failures' => $failures,
	'aigov.breaker_cooldown' => "'${cooldown_s}s'",
	'aigov.breaker_max_cooldown' => "'${max_cooldown_s}s'");
configure_providers($node, $emu, [ 'openai', 'oa-a', 'sk-a' ]);
# The quota keys sit under a provider of their own, so that gpt-q jobs meet
# only them.  aigov believes oa-q allows far more than the emulator does,
# and the emulator sends no rate-limit headers to correct it: 429s follow.
$node->safe_psql('postgres', qq{
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('openai-q', 'openai', '$emu->{url}');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES ('openai-q', 'gpt-q', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret, rpm_limit) VALUES
  ('openai-q', 'oa-q', 'sk-q', 6000), ('openai-q', 'oa-x', 'sk-x', 6000);
});
my %key_id = map { split /\|/ } split /\n/,
  $node->safe_psql('postgres', 'SELECT label, key_id FROM aigov.keys');

sub enqueue
{
	my ($n, $model, $tag) = @_;
	$node->safe_psql('postgres', qq{
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'acme', jsonb_build_object('model', '$model', 'max_tokens', 8,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', '$tag ' || i)))
  FROM generate_series(1, $n) i});
}

# breaker($label) -> { state, consecutive_failures, window_failures, opened_total }
sub breaker
{
	my ($label) = @_;
	my $row = $node->safe_psql('postgres', qq{
SELECT state, consecutive_failures, window_failures, opened_total
  FROM aigov.key_breakers() WHERE key_id = $key_id{$label}});
	return undef if $row eq '';
	my @f = split /\|/, $row;
	return { state => $f[0], consecutive => $f[1], window_failures => $f[2],
			 opened_total => $f[3] };
}

sub wait_for_state
{
	my ($label, $state, $timeout) = @_;
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		my $b = breaker($label);
		return 1 if defined $b && $b->{state} eq $state;
		usleep(20_000);
	}
	return 0;
}

sub calls_total
{
	my $calls = emulator_calls($emu);
	my $n = 0;
	$n += $_ for values %$calls;
	return $n;
}

# --- (a) outage ---
enqueue(5, 'gpt-test', 'warm');
ok(wait_for_jobs($node, "state = 'succeeded'", 5, 30), 'jobs flow to the key');
is(breaker('oa-a')->{state}, 'closed', 'its breaker is closed');

emulator_post($emu, '/admin/faults', { key => 'oa-a', error_rate => 1, error_status => 503 });
my $outage_jobs = 20;
enqueue($outage_jobs, 'gpt-test', 'outage');
ok(wait_for_state('oa-a', 'open', 20), 'the breaker opens when the key answers 503');
# Each reopening is one failed probe; the rest of the 503s opened it.  A
# probe in flight may be logged before its verdict: read again then.
my ($failed_calls, $opens);
for my $try (1 .. 50)
{
	($failed_calls, $opens) = split /\|/, $node->safe_psql('postgres', qq{
SELECT (SELECT count(*) FROM aigov.attempts WHERE key_id = $key_id{'oa-a'} AND http_status = 503),
       opened_total FROM aigov.key_breakers() WHERE key_id = $key_id{'oa-a'}});
	last if $failed_calls - ($opens - 1) == $failures;
	usleep(50_000);
}
is($failed_calls - ($opens - 1), $failures,
	"it opened after exactly aigov.breaker_failures = $failures failed calls ($failed_calls 503s, $opens opens)");

# While open, only probes reach the provider: at most one per cool-down.
my $calls_before = calls_total();
my $t0 = time();
sleep(3 * $max_cooldown_s);
my $open_calls = calls_total() - $calls_before;
my $elapsed = time() - $t0;
my $bound = int($elapsed / $cooldown_s) + 1;
cmp_ok($open_calls, '<=', $bound,
	sprintf('while open the key received %d calls in %.1f s, at most one probe per %d s cool-down',
			$open_calls, $elapsed, $cooldown_s));
cmp_ok($open_calls, '>=', 1, 'the breaker did let probes through');
my $b = breaker('oa-a');
cmp_ok($b->{opened_total}, '>', 1, "failed probes reopened it ($b->{opened_total} opens)");
is($node->safe_psql('postgres', q{
SELECT count(*) FROM aigov.requests WHERE body->>'model' = 'gpt-test' AND state = 'failed'}),
	'0', 'no job failed during the outage');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM aigov.requests WHERE body->>'model' = 'gpt-test' AND state IN ('queued', 'in_flight')}),
	$outage_jobs, 'the outage jobs wait in the queue');

# Recovery: the next probe succeeds and closes the breaker.
emulator_post($emu, '/admin/faults', { key => 'oa-a', clear => JSON::PP::true, latency_ms => 20 });
$t0 = time();
ok(wait_for_state('oa-a', 'closed', $max_cooldown_s + 5), 'the breaker closes after recovery');
my $recovered = time() - $t0;
cmp_ok($recovered, '<=', $max_cooldown_s + 2,
	sprintf('it closed %.1f s after recovery, within one longest cool-down and a claim', $recovered));
ok(wait_for_jobs($node, "state = 'succeeded' AND body->>'model' = 'gpt-test'", 5 + $outage_jobs, 30),
	'every outage job succeeded');

# Exactly once: one success per job, one attempts row per call.
my $inst = $node->safe_psql('postgres', 'SELECT id FROM aigov._installation');
my $calls = emulator_calls($emu);
my (@not_once, @unrecorded);
for my $line (split /\n/, $node->safe_psql('postgres', q{
SELECT r.id, count(a.id), count(a.id) FILTER (WHERE a.error_class = 'success')
  FROM aigov.requests r LEFT JOIN aigov.attempts a ON a.job_id = r.id
 WHERE r.body->>'model' = 'gpt-test' GROUP BY r.id}))
{
	my ($id, $rows, $succ) = split /\|/, $line;
	push @not_once, "$id ($succ)" if $succ != 1;
	my $c = $calls->{"aigov-$inst-$id"} // 0;
	push @unrecorded, "$id ($c calls, $rows rows)" if $c != $rows;
}
is(scalar(@not_once), 0, 'each job has exactly one success') or diag("@not_once");
is(scalar(@unrecorded), 0, 'each call the provider received has its attempts row')
  or diag("@unrecorded");

# --- (b) quota: 429s and no credit never move a breaker ---
my $quota_jobs = $quota_rpm + 6;
enqueue($quota_jobs, 'gpt-q', 'quota');
ok(wait_for_jobs($node, "state = 'succeeded' AND body->>'model' = 'gpt-q'", $quota_jobs, 40),
	'every quota job succeeded');
my ($rl, $iq, $first_rl, $after) = split /\|/, $node->safe_psql('postgres', qq{
SELECT count(*) FILTER (WHERE error_class LIKE 'rate_limit%'),
       count(*) FILTER (WHERE error_class = 'insufficient_quota'),
       min(finished_at) FILTER (WHERE error_class LIKE 'rate_limit%'),
       count(*) FILTER (WHERE error_class = 'success' AND finished_at >
         (SELECT min(finished_at) FROM aigov.attempts WHERE error_class LIKE 'rate_limit%'))
  FROM aigov.attempts WHERE key_id IN ($key_id{'oa-q'}, $key_id{'oa-x'})});
cmp_ok($rl, '>', 0, "the quota key answered $rl rate-limit 429s");
cmp_ok($iq, '>', 0, "the key out of credit answered $iq insufficient_quota 429s");
cmp_ok($after, '>', 0, "$after jobs succeeded on the quota key after its first 429, as its window refilled");
for my $label ('oa-q', 'oa-x')
{
	my $qb = breaker($label);
	ok(defined $qb && $qb->{state} eq 'closed' && $qb->{opened_total} == 0
		  && $qb->{consecutive} == 0 && $qb->{window_failures} == 0,
		"the breaker of $label never moved")
	  or diag(explain($qb));
}

$node->stop;
done_testing();
