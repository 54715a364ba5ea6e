# t/022_fallback.pl: the fallback orchestrator and the providers' breakers
# against the emulator.
#
# (a) Outage: provider A (openai) answers 503.  A's provider breaker opens
# after aigov.breaker_failures failed calls; chat jobs move to provider B
# (anthropic, rank 2 in aigov.compat), degraded, each announced by NOTIFY
# aigov_degraded; a structured job whose only validated row is A's fails
# fast with no_compatible_fallback (interactive) or waits for A (batch); a
# job submitted with fallback => false waits for A too.  When A answers
# again its breaker half-opens and closes within a longest cool-down, and
# no job is lost or served twice (the emulator's calls per Idempotency-Key
# equal the attempts rows).
# (b) Quota: 429s of A's exhausted minute window never move A's provider
# breaker, and batch jobs stay on A, served as its window refills.
# (c) Out of credit and daily quota: billing and daily 429s on A move
# compatible work to B.
#
# Breaker timings are small GUC values and every bound below is computed
# from them; no step sleeps for a fixed time, each polls for its condition.
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
				{ name => 'gpt-q', provider => 'openai', max_output_tokens => 4096 },
				{ name => 'gpt-x', provider => 'openai', max_output_tokens => 4096 },
				{ name => 'gpt-d', provider => 'openai', max_output_tokens => 4096 },
				{ name => 'claude-test', provider => 'anthropic', max_output_tokens => 8192 } ],
	keys => [ { secret => 'sk-a', label => 'oa-a', provider => 'openai',
				models => ['gpt-test'], faults => { latency_ms => 20 } },
			  { secret => 'sk-b', label => 'an-b', provider => 'anthropic',
				models => ['claude-test'], faults => { latency_ms => 20 } },
			  { secret => 'sk-q', label => 'oa-q', provider => 'openai',
				models => ['gpt-q'], rpm => $quota_rpm,
				faults => { no_ratelimit_headers => JSON::PP::true } },
			  { secret => 'sk-x', label => 'oa-x', provider => 'openai',
				models => ['gpt-x'], insufficient_quota => JSON::PP::true },
			  { secret => 'sk-d', label => 'oa-d', provider => 'openai',
				models => ['gpt-d'], rpd => 2 } ] },
	request_log => 1);

my $node = new_aigov_node('fallback',
	'aigov.workers' => 1,
	'aigov.max_in_flight' => 1,
	'aigov.max_attempts' => 100,
	'aigov.breaker_failures' => $failures,
	'aigov.breaker_cooldown' => "'${cooldown_s}s'",
	'aigov.breaker_max_cooldown' => "'${max_cooldown_s}s'");
configure_providers($node, $emu, [ 'openai', 'oa-a', 'sk-a' ],
	[ 'anthropic', 'an-b', 'sk-b' ]);
# The quota, credit and daily keys have providers of their own, so that
# each provider breaker sees one kind of trouble.
$node->safe_psql('postgres', qq{
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES
  ('openai-q', 'openai', '$emu->{url}'), ('openai-x', 'openai', '$emu->{url}'),
  ('openai-d', 'openai', '$emu->{url}');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES
  ('openai-q', 'gpt-q', 128000, 4096), ('openai-x', 'gpt-x', 128000, 4096),
  ('openai-d', 'gpt-d', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret, rpm_limit) VALUES
  ('openai-q', 'oa-q', 'sk-q', 6000), ('openai-x', 'oa-x', 'sk-x', 6000),
  ('openai-d', 'oa-d', 'sk-d', 6000);
-- chat: A first, validated for structured output and tools; B may take
-- plain chat only.  credit and daily: the key out of credit, or the one
-- out of its daily quota, then B.
INSERT INTO aigov.compat (task_type, provider, model, rank, structured_output, tool_use, validated) VALUES
  ('chat', 'openai', 'gpt-test', 1, true, true, true),
  ('chat', 'anthropic', 'claude-test', 2, false, false, false),
  ('credit', 'openai-x', 'gpt-x', 1, false, false, true),
  ('credit', 'anthropic', 'claude-test', 2, false, false, true),
  ('daily', 'openai-d', 'gpt-d', 1, false, false, true),
  ('daily', 'anthropic', 'claude-test', 2, false, false, true);
});

sub enqueue
{
	my ($n, $model, $tag, $class, $task) = @_;
	$class //= 'interactive';
	$task //= 'chat';
	$node->safe_psql('postgres', qq{
INSERT INTO aigov.requests (tenant_id, body, workload_class, task_type)
SELECT 'acme', jsonb_build_object('model', '$model', 'max_tokens', 8,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', '$tag ' || i))),
  '$class', '$task'
  FROM generate_series(1, $n) i});
}

sub structured
{
	my ($class, $tag) = @_;
	return $node->safe_psql('postgres', qq{
SELECT job_id FROM aigov.submit('acme', '{"model": "gpt-test", "max_tokens": 50,
  "messages": [{"role": "user", "content": "$tag"}],
  "response_format": {"type": "json_schema", "json_schema": {"name": "r", "strict": true,
    "schema": {"type": "object", "properties": {"a": {"type": "string"}},
               "required": ["a"], "additionalProperties": false}}}}',
  workload_class => '$class')});
}

# provider_breaker($provider) -> { state, consecutive, window_failures, opened_total }
sub provider_breaker
{
	my ($provider) = @_;
	my $row = $node->safe_psql('postgres', qq{
SELECT state, consecutive_failures, window_failures, opened_total
  FROM aigov.provider_breakers() WHERE provider = '$provider'});
	return undef if $row eq '';
	my @f = split /\|/, $row;
	return { state => $f[0], consecutive => $f[1], window_failures => $f[2],
			 opened_total => $f[3] };
}

sub wait_for_breaker
{
	my ($provider, $state, $timeout) = @_;
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		my $b = provider_breaker($provider);
		return 1 if defined $b && $b->{state} eq $state;
		usleep(20_000);
	}
	return 0;
}

sub job
{
	my ($id) = @_;
	my @f = split /\|/, $node->safe_psql('postgres', qq{
SELECT state, coalesce(error_class, ''), degraded, coalesce(served_provider, ''),
       coalesce(served_model, '')
  FROM aigov.requests WHERE id = $id});
	return { state => $f[0], error_class => $f[1], degraded => $f[2],
			 provider => $f[3], model => $f[4] };
}

# --- (a) outage ---
enqueue(3, 'gpt-test', 'warm');
ok(wait_for_jobs($node, "state = 'succeeded'", 3, 20), 'chat jobs flow to provider A');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM aigov.requests WHERE served_provider = 'openai' AND NOT degraded}),
	'3', 'served by A, not degraded');

emulator_post($emu, '/admin/faults', { key => 'oa-a', error_rate => 1, error_status => 503 });
my $outage_jobs = 12;
# One session listens while the outage jobs are enqueued and waits for them:
# the notifications are printed as each of its statements ends.
my $listen_out = $node->safe_psql('postgres', qq{
LISTEN aigov_degraded;
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'acme', jsonb_build_object('model', 'gpt-test', 'max_tokens', 8,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'outage ' || i)))
  FROM generate_series(1, $outage_jobs) i;
SELECT count(*) FROM aigov.requests r, LATERAL aigov.wait(r.id, '20 s') w
 WHERE r.body->'messages'->0->>'content' LIKE 'outage %' AND w.state = 'succeeded';
SELECT 1;
});
ok(wait_for_breaker('openai', 'open', 5) || provider_breaker('openai')->{opened_total} > 0,
	"A's provider breaker opened");
my ($failed_calls) = $node->safe_psql('postgres', q{
SELECT count(*) FROM aigov.attempts WHERE provider = 'openai' AND http_status = 503
   AND finished_at <= (SELECT min(finished_at) FROM aigov.attempts WHERE provider = 'anthropic')});
is($failed_calls, $failures,
	"it opened after aigov.breaker_failures = $failures failed calls, before any job moved");

my ($moved, $moved_degraded) = split /\|/, $node->safe_psql('postgres', q{
SELECT count(*), count(*) FILTER (WHERE degraded AND served_model = 'claude-test')
  FROM aigov.requests WHERE body->'messages'->0->>'content' LIKE 'outage %'
   AND state = 'succeeded' AND served_provider = 'anthropic'});
is($moved, $outage_jobs, 'every outage job was served by provider B');
is($moved_degraded, $outage_jobs, 'each is marked degraded and carries the alternative model');

my %notified;
for my $line (split /\n/, $listen_out)
{
	next unless $line =~ /Asynchronous notification "aigov_degraded" with payload "(.*)" received/;
	my $p = decode_json($1);
	$notified{ $p->{job_id} } = $p if $p->{tenant_id} eq 'acme';
}
my @degraded_ids = split /\n/, $node->safe_psql('postgres',
	q{SELECT id FROM aigov.requests WHERE degraded ORDER BY id});
cmp_ok(scalar(@degraded_ids), '>=', $outage_jobs, 'the degraded jobs are the moved ones');
is(scalar(grep { $notified{$_} } @degraded_ids), scalar(@degraded_ids),
	'NOTIFY aigov_degraded named each degraded job and its tenant')
  or diag($listen_out);

# B's key serves only claude-test (the emulator answers 404 to any other
# model): its successes show that the body carried the alternative model.
my $stats = emulator_stats($emu);
cmp_ok(key_stat($stats, 'an-b', 'successes'), '>=', $outage_jobs,
	'provider B answered the moved calls');
is(key_stat($stats, 'an-b', 'client_errors'), 0, 'none of them named a model B does not serve');

# A structured job may only go to a validated row: A's.  Interactive fails
# fast, naming when A frees up; batch waits for A.
my $si = structured('interactive', 'structured interactive');
my $sb = structured('batch', 'structured batch');
my $opt_out = $node->safe_psql('postgres', q{
SELECT job_id FROM aigov.submit('acme', '{"model": "gpt-test", "max_tokens": 8,
  "messages": [{"role": "user", "content": "opted out"}]}', fallback => false)});
ok(wait_for_jobs($node, "id = $si AND state = 'failed'", 1, 10),
	'the interactive structured job failed fast');
my $j = job($si);
is($j->{error_class}, 'no_compatible_fallback', 'with error_class no_compatible_fallback');
my ($retry_at) = $node->safe_psql('postgres', "SELECT retry_at IS NOT NULL FROM aigov.result($si)");
is($retry_at, 't', 'and the time the preferred provider frees up as retry_at');
like($node->safe_psql('postgres', "SELECT error->>'message' FROM aigov.requests WHERE id = $si"),
	qr/anthropic\/claude-test: the job asks for structured output/, 'the message says why B was refused');
for my $id ($sb, $opt_out)
{
	$j = job($id);
	ok($j->{state} ne 'succeeded' && $j->{state} ne 'failed' && $j->{degraded} eq 'f',
		"job $id waits for A during the outage ($j->{state})");
}
is($node->safe_psql('postgres', "SELECT fallback FROM aigov.requests WHERE id = $opt_out"),
	'f', 'fallback => false is recorded on the job');

# Recovery: A's next probe succeeds and closes its breaker.  Fresh chat
# jobs keep arriving, so that a probe never waits for a job's backoff.
emulator_post($emu, '/admin/faults', { key => 'oa-a', clear => JSON::PP::true, latency_ms => 20 });
my $t0 = time();
my $closed = 0;
while (!$closed && time() < $t0 + $max_cooldown_s + 5)
{
	enqueue(1, 'gpt-test', 'recovery');
	$closed = wait_for_breaker('openai', 'closed', 0.2);
}
ok($closed, "A's breaker closes after recovery");
my $recovered = time() - $t0;
cmp_ok($recovered, '<=', $max_cooldown_s + 2,
	sprintf('it closed %.1f s after recovery, within one longest cool-down and a claim', $recovered));
ok(wait_for_jobs($node, "id IN ($sb, $opt_out) AND state = 'succeeded' AND NOT degraded"
	  . " AND served_provider = 'openai'", 2, 20),
	'the batch structured job and the opted-out job are served by A, not degraded');
like($node->safe_psql('postgres',
		"SELECT response->'choices'->0->'message'->>'content' FROM aigov.requests WHERE id = $sb"),
	qr/^\{"a":/, 'the structured reply conforms');

# Exactly once: one success per job, one attempts row per call received.
my $inst = $node->safe_psql('postgres', 'SELECT id FROM aigov._installation');
my $calls = emulator_calls($emu);
my (@not_once, @unrecorded);
for my $line (split /\n/, $node->safe_psql('postgres', q{
SELECT r.id, r.state, count(a.id), count(a.id) FILTER (WHERE a.error_class = 'success')
  FROM aigov.requests r LEFT JOIN aigov.attempts a ON a.job_id = r.id
 GROUP BY r.id, r.state}))
{
	my ($id, $state, $rows, $succ) = split /\|/, $line;
	push @not_once, "$id ($state, $succ)" if $succ != ($state eq 'succeeded' ? 1 : 0);
	my $c = $calls->{"aigov-$inst-$id"} // 0;
	push @unrecorded, "$id ($c calls, $rows rows)" if $c != $rows;
}
is(scalar(@not_once), 0, 'each succeeded job has exactly one success, others none') or diag("@not_once");
is(scalar(@unrecorded), 0, 'each call the providers received has its attempts row')
  or diag("@unrecorded");

# --- (b) quota exhaustion on A ---
# Calls in parallel from here on, so that a burst meets the window.
$node->safe_psql('postgres', 'ALTER SYSTEM SET aigov.max_in_flight = 8; SELECT pg_reload_conf();');
my $quota_jobs = $quota_rpm + 2;
enqueue($quota_jobs, 'gpt-q', 'quota', 'batch');
ok(wait_for_jobs($node, "state = 'succeeded' AND body->>'model' = 'gpt-q'", $quota_jobs, 25),
	'every quota job succeeded');
my ($rl, $after, $elsewhere) = split /\|/, $node->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM aigov.attempts WHERE provider = 'openai-q' AND error_class LIKE 'rate_limit%'),
       (SELECT count(*) FROM aigov.attempts WHERE provider = 'openai-q' AND error_class = 'success'
           AND finished_at > (SELECT min(finished_at) FROM aigov.attempts
                               WHERE provider = 'openai-q' AND error_class LIKE 'rate_limit%')),
       (SELECT count(*) FROM aigov.requests WHERE body->>'model' = 'gpt-q'
           AND (degraded OR served_provider <> 'openai-q'))});
cmp_ok($rl, '>', 0, "A's quota key answered $rl rate-limit 429s");
cmp_ok($after, '>', 0, "$after jobs were served by A after its first 429, as its window refilled");
is($elsewhere, '0', 'no quota job left A');
my $qb = provider_breaker('openai-q');
ok(defined $qb && $qb->{state} eq 'closed' && $qb->{opened_total} == 0
	  && $qb->{consecutive} == 0 && $qb->{window_failures} == 0,
	"A's provider breaker never moved on 429s") or diag(explain($qb));

# --- (c) out of credit and daily quota on A move work to B ---
enqueue(3, 'gpt-x', 'credit', 'batch', 'credit');
enqueue(4, 'gpt-d', 'daily', 'batch', 'daily');
ok(wait_for_jobs($node, "state = 'succeeded' AND body->>'model' IN ('gpt-x', 'gpt-d')", 7, 20),
	'every credit and daily job succeeded');
my ($on_b, $iq, $daily) = split /\|/, $node->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM aigov.requests WHERE body->>'model' = 'gpt-x'
           AND degraded AND served_provider = 'anthropic'),
       (SELECT count(*) FROM aigov.attempts WHERE provider = 'openai-x' AND error_class = 'insufficient_quota'),
       (SELECT count(*) FROM aigov.attempts WHERE provider = 'openai-d' AND error_class IN ('rate_limit_rpd', 'rate_limit_tpd'))});
cmp_ok($iq, '>', 0, "the key out of credit answered $iq billing 429s");
is($on_b, '3', 'every job of the key out of credit moved to B, degraded');
cmp_ok($daily, '>', 0, "the key out of its daily quota answered $daily daily 429s");
is($node->safe_psql('postgres', q{
SELECT count(*) FROM aigov.requests WHERE body->>'model' = 'gpt-d'
   AND served_provider = 'anthropic' AND degraded}),
	$node->safe_psql('postgres', q{
SELECT count(*) FROM aigov.requests WHERE body->>'model' = 'gpt-d'
   AND id NOT IN (SELECT job_id FROM aigov.attempts WHERE provider = 'openai-d' AND error_class = 'success')}),
	'every daily job A did not serve moved to B, degraded');
for my $p ('openai-x', 'openai-d')
{
	my $pb = provider_breaker($p);
	ok(!defined $pb || ($pb->{state} eq 'closed' && $pb->{opened_total} == 0),
		"the provider breaker of $p never moved on billing or daily 429s");
}

$node->stop;
done_testing();
