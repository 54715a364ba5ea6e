# t/001_dispatch.pl: the dispatcher against the emulator, one outcome each:
# success in every API style, 429 rescheduling, 5xx backoff, 400/404,
# 401 key disabling, timeouts, refused connections and malformed replies.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my @models = (
	{ name => 'gpt-test', provider => 'openai', max_output_tokens => 4096 },
	{ name => 'gpt-rl', provider => 'openai', max_output_tokens => 4096 },
	{ name => 'gpt-known', provider => 'openai', max_output_tokens => 4096 },
	{ name => 'gpt-flaky', provider => 'openai', max_output_tokens => 4096 },
	{ name => 'gpt-hang', provider => 'openai', max_output_tokens => 4096 },
	{ name => 'gpt-bad', provider => 'openai', max_output_tokens => 4096 },
	{ name => 'gpt-auth', provider => 'openai', max_output_tokens => 4096 },
	{ name => 'claude-test', provider => 'anthropic', max_output_tokens => 8192 },
	{ name => 'gemini-test', provider => 'gemini', max_output_tokens => 8192 });
my $emu = start_emulator({
	models => \@models,
	keys => [
		{ secret => 'sk-oa-1', label => 'oa-1', provider => 'openai', models => ['gpt-test'], rpm => 10000, tpm => 10000000 },
		{ secret => 'sk-an-1', label => 'an-1', provider => 'anthropic', rpm => 10000, itpm => 10000000, otpm => 1000000 },
		{ secret => 'gm-1', label => 'gm-1', provider => 'gemini' },
		{ secret => 'sk-rl', label => 'oa-rl', provider => 'openai', models => ['gpt-rl'], rpm => 60,
		  faults => { no_ratelimit_headers => JSON::PP::true } },
		{ secret => 'sk-known', label => 'oa-known', provider => 'openai', models => ['gpt-known'], rpm => 60 },
		{ secret => 'sk-flaky', label => 'oa-flaky', provider => 'openai', models => ['gpt-flaky'],
		  faults => { error_rate => 1.0, error_status => 503 } },
		{ secret => 'sk-hang', label => 'oa-hang', provider => 'openai', models => ['gpt-hang'],
		  faults => { hang_rate => 1.0 } },
		{ secret => 'sk-bad', label => 'oa-bad', provider => 'openai', models => ['gpt-bad'],
		  faults => { malformed_rate => 1.0 } },
		{ secret => 'sk-auth-real', label => 'oa-auth', provider => 'openai', models => ['gpt-auth'] },
	] });

my $node = new_aigov_node('dispatch',
	'aigov.max_attempts' => 3,
	'aigov.request_timeout' => "'1s'");

# One aigov provider per scenario, so each model is served by one key.
my $url = $emu->{url};
my $closed_port = AigovTest::free_port();
$node->safe_psql('postgres', qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('std', 100000, 100000000, 1000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'std');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES
  ('openai', 'openai', '$url'), ('anthropic', 'anthropic', '$url'),
  ('gemini', 'gemini', '$url/'), ('oa_rl', 'openai', '$url'), ('oa_known', 'openai', '$url'),
  ('oa_flaky', 'openai', '$url'), ('oa_hang', 'openai', '$url'),
  ('oa_bad', 'openai', '$url'), ('oa_auth', 'openai', '$url'),
  ('oa_closed', 'openai', 'http://127.0.0.1:$closed_port');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES
  ('openai', 'gpt-test', 128000, 4096), ('openai', 'gpt-missing', 128000, 4096),
  ('anthropic', 'claude-test', 200000, 8192), ('gemini', 'gemini-test', 1000000, 8192),
  ('oa_rl', 'gpt-rl', 128000, 4096), ('oa_known', 'gpt-known', 128000, 4096),
  ('oa_flaky', 'gpt-flaky', 128000, 4096),
  ('oa_hang', 'gpt-hang', 128000, 4096), ('oa_bad', 'gpt-bad', 128000, 4096),
  ('oa_auth', 'gpt-auth', 128000, 4096), ('oa_closed', 'gpt-closed', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret) VALUES
  ('openai', 'oa-1', 'sk-oa-1'), ('anthropic', 'an-1', 'sk-an-1'), ('gemini', 'gm-1', 'gm-1'),
  ('oa_rl', 'oa-rl', 'sk-rl'), ('oa_known', 'oa-known', 'sk-known'), ('oa_flaky', 'oa-flaky', 'sk-flaky'),
  ('oa_hang', 'oa-hang', 'sk-hang'), ('oa_bad', 'oa-bad', 'sk-bad'),
  ('oa_auth', 'oa-auth', 'sk-wrong-secret'), ('oa_closed', 'oa-closed', 'sk-x');
});

sub submit
{
	my ($model, $text, $extra) = @_;
	$extra //= '';
	return $node->safe_psql('postgres', qq{
SELECT job_id FROM aigov.submit('acme',
  '{"model": "$model", "messages": [{"role": "user", "content": "$text"}], "max_tokens": 64$extra}')});
}

sub job
{
	my ($id, $cols) = @_;
	return $node->safe_psql('postgres', "SELECT $cols FROM aigov.requests WHERE id = $id");
}

sub wait_final
{
	my ($id) = @_;
	return $node->poll_query_until('postgres',
		"SELECT state NOT IN ('queued', 'in_flight') FROM aigov.requests WHERE id = $id");
}

# --- success in each API style, normalised to the OpenAI shape ---
for my $case ([ 'gpt-test', 'openai', 't' ], [ 'claude-test', 'anthropic', 't' ],
	[ 'gemini-test', 'gemini', 'f' ])
{
	my ($model, $provider, $has_headers) = @$case;
	my $id = submit($model, "hello from job $model");
	ok(wait_final($id), "$provider job finishes");
	is(job($id, 'state'), 'succeeded', "$provider job succeeded");
	like(job($id, "response->'choices'->0->'message'->>'content'"),
		qr/hello from job $model/, "$provider reply is this job's answer");
	is(job($id, "response->>'object'"), 'chat.completion', "$provider reply normalised to a chat completion");
	is(job($id, 'served_provider'), $provider, "$provider served it");
	ok(job($id, 'prompt_tokens') > 0 && job($id, 'completion_tokens') > 0,
		"$provider usage recorded");
	is(job($id, "raw_response IS NOT NULL"), $provider eq 'openai' ? 'f' : 't',
		"$provider raw reply kept when it differs");
	is($node->safe_psql('postgres',
		"SELECT http_status || ' ' || error_class || ' ' || CASE WHEN limit_requests IS NOT NULL THEN 't' ELSE 'f' END
		   FROM aigov.attempts WHERE job_id = $id"),
		"200 success $has_headers", "$provider attempt recorded with its rate-limit headers");
	is(job($id, "(SELECT pg_catalog.count(*) FROM aigov.result($id) WHERE http_status = 200)"),
		'1', "$provider result() answers 200");
}

# The failing jobs below each go to their own key and are checked by their
# own id, so they are all submitted first and their retries and timeouts
# run side by side.
my %failing = (missing => submit('gpt-missing', 'nobody serves this'),
	auth => submit('gpt-auth', 'wrong key'),
	flaky => submit('gpt-flaky', 'always 503'),
	hang => submit('gpt-hang', 'never answered'),
	closed => submit('gpt-closed', 'nobody listens'),
	bad => submit('gpt-bad', 'broken json'));

# --- 400/404: fails at once with the provider's message ---
my $id = $failing{missing};
ok(wait_final($id), 'unknown model finishes');
is(job($id, "state || ' ' || error_class || ' ' || attempts"), 'failed client_error 1',
	'a 404 fails the job at once');
like(job($id, "error->>'message'"), qr/gpt-missing/, "the provider's message is kept");
is($node->safe_psql('postgres', "SELECT http_status FROM aigov.result($id)"), '404',
	'result() passes the 404 through');

# --- 401: the job fails and the key leaves the rotation with an alert ---
$id = $failing{auth};
ok(wait_final($id), '401 job finishes');
is(job($id, "state || ' ' || error_class"), 'failed auth', 'a 401 fails the job');
is($node->safe_psql('postgres', "SELECT enabled FROM aigov.keys WHERE label = 'oa-auth'"),
	'f', 'the key is disabled');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.alert_events a JOIN aigov.keys k USING (key_id)
	  WHERE k.label = 'oa-auth' AND a.kind = 'key_disabled'"), '1', 'one alert row');
unlike($node->safe_psql('postgres',
	"SELECT string_agg(coalesce(error::text, '') || disabled_reason || message, ' ')
	   FROM aigov.requests, aigov.keys, aigov.alert_events WHERE label = 'oa-auth'"),
	qr/sk-wrong-secret/, 'the secret appears in no error or alert');
my ($disabled_log) = slurp_file($node->logfile) =~
  /([^\n]*taken out of rotation: auth\n[^\n]*DETAIL:[^\n]*\n[^\n]*CONTEXT:[^\n]*\n)/;
like($disabled_log // '', qr/CONTEXT:\s+while dispatching request $id\n/,
	"the worker's log line names the job it was on");
# (the setup's INSERT is in the statement log; aigov's own lines must not be)
unlike($disabled_log // '', qr/sk-wrong-secret/, "the worker's log line does not name the secret");

# --- 5xx: capped, jittered backoff, then failure after max_attempts ---
$id = $failing{flaky};
ok(wait_final($id), '503 job finishes');
is(job($id, "state || ' ' || attempts"), 'failed 3', 'a 503 is retried up to aigov.max_attempts');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.attempts WHERE job_id = $id AND http_status = 503"), '3',
	'three provider calls');
ok($node->safe_psql('postgres', qq{
SELECT bool_and(gap >= interval '250 milliseconds') FROM (
  SELECT started_at - lag(finished_at) OVER (ORDER BY id) AS gap
    FROM aigov.attempts WHERE job_id = $id) g WHERE gap IS NOT NULL}) eq 't',
	'retries wait for a backoff');
is($node->safe_psql('postgres', "SELECT http_status FROM aigov.result($id)"), '502',
	'result() answers 502');

# --- timeouts ---
$id = $failing{hang};
ok(wait_final($id), 'hanging job finishes');
is(job($id, "state || ' ' || error_class || ' ' || attempts"), 'failed timeout 3',
	'a call that never answers times out and is retried');
is($node->safe_psql('postgres', "SELECT http_status FROM aigov.result($id)"), '504',
	'result() answers 504 after timeouts');

# --- refused connections ---
$id = $failing{closed};
ok(wait_final($id), 'refused job finishes');
is(job($id, "state || ' ' || error_class"), 'failed connection', 'a refused connection fails after retries');

# --- malformed replies are bad responses, not crashes ---
$id = $failing{bad};
ok(wait_final($id), 'malformed job finishes');
is(job($id, "state || ' ' || error_class"), 'failed bad_response', 'a malformed 200 is a bad response');

sub offer
{
	my ($model, $n) = @_;
	$node->safe_psql('postgres', qq{
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'acme', jsonb_build_object('model', '$model', 'max_tokens', 16,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', '$model ' || i)))
  FROM generate_series(1, $n) i});
}

# --- limits learned from headers: more than a minute's quota, no 429 ---
offer('gpt-known', 70);
ok(wait_for_jobs($node, "model = 'gpt-known' AND state = 'succeeded'", 70, 120),
	'jobs beyond the key\'s minute quota are all served');
is(key_stat(emulator_stats($emu), 'oa-known', 'rate_limited_total'), 0,
	'the key learned from its headers was never overrun (no 429)');

# --- a blind key (no headers): 429s reschedule at the time named, then served ---
offer('gpt-rl', 70);
ok(wait_for_jobs($node, "model = 'gpt-rl' AND state = 'succeeded'", 70, 120),
	'every rate-limited job is eventually served');
my $limited = $node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.attempts WHERE model = 'gpt-rl' AND error_class = 'rate_limit_rpm'");
ok($limited > 0, "the blind key's quota was hit ($limited 429s)");
is($node->safe_psql('postgres', qq{
SELECT count(*) FROM aigov.attempts a JOIN aigov.attempts b
  ON b.job_id = a.job_id AND b.id > a.id
 WHERE a.model = 'gpt-rl' AND a.error_class = 'rate_limit_rpm'
   AND b.started_at < a.retry_after}), '0', 'no job is sent again before its retry time');
is($node->safe_psql('postgres',
	"SELECT max(failures) FROM aigov.requests WHERE model = 'gpt-rl'"), '0',
	'429s do not count as failures');
is(key_stat(emulator_stats($emu), 'oa-rl', 'rate_limited_total'), $limited,
	'aigov recorded every 429 the provider sent');

$node->stop;
done_testing();
