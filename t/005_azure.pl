# t/005_azure.pl: the dispatcher against the emulator's Azure OpenAI
# dialect: deployment URLs with api-version (the default and one given in
# base_url), api-key auth, replies normalised to a chat completion, the
# limit/remaining headers recorded without resets, 429s whose sub-type is
# only in the prose ("call" = RPM, "token" = TPM) rescheduled at the time
# retry-after-ms names, and the -1 sentinel headers read as "unknown".
#
# What the extension must do for api_style 'azure' (base_url B, model M):
#   POST B/openai/deployments/M/chat/completions?api-version=2024-10-21,
#   or with the api-version of a "?api-version=..." query in B;
#   header "api-key: <secret>" (no Authorization header);
#   the OpenAI chat body.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# Emulator deployments ("models" of provider azure).  gpt-az-gone is
# configured in aigov only, so the emulator answers DeploymentNotFound.
my @deployments = qw(gpt-az gpt-az-prev gpt-az-badver gpt-az-auth gpt-az-rpm
  gpt-az-tpm gpt-az-sentinel);
my $emu = start_emulator({
	models => [ map { { name => $_, provider => 'azure', max_output_tokens => 4096 } } @deployments ],
	keys => [
		# 6000 RPM on Azure's 10 s windows: x-ratelimit-limit-requests 1000
		{ secret => 'az-main', label => 'az-main', provider => 'azure',
		  models => ['gpt-az'], rpm => 6000, tpm => 1000000 },
		{ secret => 'az-prev', label => 'az-prev', provider => 'azure',
		  models => ['gpt-az-prev'], rpm => 6000, tpm => 1000000 },
		{ secret => 'az-badver', label => 'az-badver', provider => 'azure',
		  models => ['gpt-az-badver'] },
		{ secret => 'az-auth-real', label => 'az-auth', provider => 'azure',
		  models => ['gpt-az-auth'] },
		# 12 RPM = 2 requests per 10 s window, one back every 5 s.  Blind
		# (no headers), so aigov can only learn from the 429s.
		{ secret => 'az-rpm', label => 'az-rpm', provider => 'azure',
		  models => ['gpt-az-rpm'], rpm => 12, tpm => 1000000,
		  faults => { no_ratelimit_headers => JSON::PP::true } },
		# 200 TPM: four jobs of ~46 tokens, then ~3.3 tokens a second
		{ secret => 'az-tpm', label => 'az-tpm', provider => 'azure',
		  models => ['gpt-az-tpm'], rpm => 6000, tpm => 200,
		  faults => { no_ratelimit_headers => JSON::PP::true } },
		# token headers say -1 / -1 / reset 0, as Azure has been seen to
		{ secret => 'az-sentinel', label => 'az-sentinel', provider => 'azure',
		  models => ['gpt-az-sentinel'], rpm => 6000, tpm => 1000000,
		  faults => { sentinel_headers => JSON::PP::true } },
	] });

my $node = new_aigov_node('azure',
	'aigov.max_attempts' => 3,
	'aigov.request_timeout' => "'5s'");

# One aigov provider per scenario, so each model is served by one key.
my $url = $emu->{url};
$node->safe_psql('postgres', qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('std', 100000, 100000000, 1000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'std');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES
  ('azure', 'azure', '$url'),
  ('az_prev', 'azure', '$url?api-version=2024-12-01-preview'),
  ('az_badver', 'azure', '$url?api-version=not-a-version'),
  ('az_auth', 'azure', '$url'),
  ('az_rpm', 'azure', '$url'),
  ('az_tpm', 'azure', '$url'),
  ('az_sentinel', 'azure', '$url');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES
  ('azure', 'gpt-az', 128000, 4096), ('azure', 'gpt-az-gone', 128000, 4096),
  ('az_prev', 'gpt-az-prev', 128000, 4096), ('az_badver', 'gpt-az-badver', 128000, 4096),
  ('az_auth', 'gpt-az-auth', 128000, 4096), ('az_rpm', 'gpt-az-rpm', 128000, 4096),
  ('az_tpm', 'gpt-az-tpm', 128000, 4096), ('az_sentinel', 'gpt-az-sentinel', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret) VALUES
  ('azure', 'az-main', 'az-main'), ('az_prev', 'az-prev', 'az-prev'),
  ('az_badver', 'az-badver', 'az-badver'), ('az_auth', 'az-auth', 'az-wrong-secret'),
  ('az_rpm', 'az-rpm', 'az-rpm'), ('az_tpm', 'az-tpm', 'az-tpm'),
  ('az_sentinel', 'az-sentinel', 'az-sentinel');
});

sub submit
{
	my ($model, $text, $max_tokens) = @_;
	$max_tokens //= 64;
	return $node->safe_psql('postgres', qq{
SELECT job_id FROM aigov.submit('acme',
  '{"model": "$model", "messages": [{"role": "user", "content": "$text"}], "max_tokens": $max_tokens}')});
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

# --- success: several jobs, each normalised to an OpenAI chat completion ---
my @ids = map { submit('gpt-az', "hello from azure job $_") } 1 .. 4;
for my $i (0 .. $#ids)
{
	my $id = $ids[$i];
	my $n = $i + 1;
	ok(wait_final($id), "azure job $n finishes");
	is(job($id, 'state'), 'succeeded', "azure job $n succeeded");
	like(job($id, "response->'choices'->0->'message'->>'content'"),
		qr/^echo: hello from azure job $n$/, "azure job $n got its own answer");
}
my $id = $ids[0];
is(job($id, "response->>'object'"), 'chat.completion', 'the reply is a chat completion');
is(job($id, "response->'choices'->0->>'finish_reason'"), 'stop', 'finish_reason kept');
is(job($id, 'served_provider'), 'azure', 'the azure provider served it');
is(job($id, "response->>'model'"), 'gpt-az', 'the deployment is the model');
ok(job($id, 'prompt_tokens') > 0 && job($id, 'completion_tokens') > 0, 'usage recorded');
is($node->safe_psql('postgres', "SELECT http_status FROM aigov.result($id)"), '200',
	'result() answers 200');

# The limit/remaining pairs are recorded; Azure sends no reset headers, so
# none are invented.  Limits are the emulator's: 1000 requests (the 10 s
# window of 6000 RPM) and 1,000,000 tokens.
is($node->safe_psql('postgres', qq{
SELECT count(*) FROM aigov.attempts
 WHERE job_id IN (@{[ join(',', @ids) ]}) AND http_status = 200 AND error_class = 'success'
   AND limit_requests = 1000 AND remaining_requests BETWEEN 0 AND 999
   AND limit_tokens = 1000000 AND remaining_tokens BETWEEN 0 AND 999999
   AND reset_requests IS NULL AND reset_tokens IS NULL}), '4',
	'every attempt recorded the x-ratelimit limit/remaining headers and no resets');

my $stats = emulator_stats($emu);
is(key_stat($stats, 'az-main', 'successes'), 4, 'the emulator answered four successes');
is(key_stat($stats, 'az-main', 'client_errors'), 0,
	'no 400/404: the URL had the deployment and an api-version');
is($stats->{totals}{unauthorized}, 0, 'every call carried the api-key header');

# --- an api-version in base_url replaces the default ---
$id = submit('gpt-az-prev', 'preview version');
ok(wait_final($id), 'job on a preview api-version finishes');
is(job($id, 'state'), 'succeeded', 'base_url ?api-version=2024-12-01-preview works');
$id = submit('gpt-az-badver', 'bad version');
ok(wait_final($id), 'job on a malformed api-version finishes');
is(job($id, "state || ' ' || error_class || ' ' || attempts"), 'failed client_error 1',
	"base_url's api-version is the one sent (the emulator refuses it with a 400)");
like(job($id, "error::text"), qr/API version not supported/, "Azure's message is kept");

# --- unknown deployment: 404 DeploymentNotFound fails at once ---
$id = submit('gpt-az-gone', 'no such deployment');
ok(wait_final($id), 'job on a missing deployment finishes');
is(job($id, "state || ' ' || error_class || ' ' || attempts"), 'failed client_error 1',
	'a 404 fails the job at once');
like(job($id, "error::text"), qr/DeploymentNotFound|deployment for this resource does not exist/,
	"Azure's 404 is kept");

# --- 401 in Azure's envelope: the job fails, the key leaves the rotation ---
$id = submit('gpt-az-auth', 'wrong key');
ok(wait_final($id), '401 job finishes');
is(job($id, "state || ' ' || error_class"), 'failed auth', 'a 401 fails the job');
is($node->safe_psql('postgres', "SELECT enabled FROM aigov.keys WHERE label = 'az-auth'"),
	'f', 'the key is disabled');
unlike($node->safe_psql('postgres', qq{
SELECT coalesce(r.error::text, '') || coalesce(k.disabled_reason, '')
  FROM aigov.requests r, aigov.keys k WHERE r.id = $id AND k.label = 'az-auth'}),
	qr/az-wrong-secret/, 'the secret appears in no error');

# --- sentinel headers (-1): the key is unknown, not exhausted ---
@ids = map { submit('gpt-az-sentinel', "sentinel job $_") } 1 .. 3;
ok($node->poll_query_until('postgres', qq{
SELECT count(*) = 3 FROM aigov.requests
 WHERE id IN (@{[ join(',', @ids) ]}) AND state = 'succeeded'}),
	'jobs on a key whose token headers say -1 are all served');
is(key_stat(emulator_stats($emu), 'az-sentinel', 'requests'), 3,
	'one call each: -1 was not read as "no tokens left"');

# --- 429s: rescheduled at the time named, then served ---
sub offer
{
	my ($model, $n, $max_tokens) = @_;
	$node->safe_psql('postgres', qq{
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'acme', jsonb_build_object('model', '$model', 'max_tokens', $max_tokens,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', '$model ' || i)))
  FROM generate_series(1, $n) i});
}

# $class: the aigov class the Azure prose maps to; $max_wait: the longest
# retry-after-ms the emulator can name for this key (5 s and 13.5 s),
# plus some slack for jitter.  The two keys are separate keys of separate
# providers, so both cases are offered at once and wait side by side; each
# check reads only its own model's rows and its own key's counters.
# Three jobs on az-rpm are enough: its bucket holds two requests and the
# emulator refills it continuously, so the third, sent with them, is
# always refused, rescheduled and then served.  More jobs only queue
# behind aigov's pacing of the limit it learned from the 429 (a minute or
# so each), and give the checks nothing new.
my @cases = ([ 'gpt-az-rpm', 'az-rpm', 'rate_limit_rpm', 'rpm', 3, 8, '7 seconds' ],
	[ 'gpt-az-tpm', 'az-tpm', 'rate_limit_tpm', 'tpm', 6, 40, '16 seconds' ]);
offer($_->[0], $_->[4], $_->[5]) for @cases;
for my $case (@cases)
{
	my ($model, $label, $class, $dim, $n, $max_tokens, $max_wait) = @$case;

	ok(wait_for_jobs($node, "model = '$model' AND state = 'succeeded'", $n, 180),
		"$label: every rate-limited job is eventually served");
	my $limited = $node->safe_psql('postgres',
		"SELECT count(*) FROM aigov.attempts WHERE model = '$model' AND http_status = 429");
	ok($limited > 0, "$label: the quota was hit ($limited 429s)");
	is($node->safe_psql('postgres', qq{
SELECT count(*) FROM aigov.attempts
 WHERE model = '$model' AND http_status = 429 AND error_class <> '$class'}), '0',
		"$label: every 429 is classed $class");
	is($node->safe_psql('postgres', qq{
SELECT count(*) FROM aigov.attempts
 WHERE model = '$model' AND http_status = 429
   AND (retry_after IS NULL OR retry_after < started_at
        OR retry_after > finished_at + interval '$max_wait')}), '0',
		"$label: every 429 has a retry_after within the wait the provider named");
	is($node->safe_psql('postgres', qq{
SELECT count(*) FROM aigov.attempts a JOIN aigov.attempts b
  ON b.job_id = a.job_id AND b.id > a.id
 WHERE a.model = '$model' AND a.http_status = 429
   AND b.started_at < a.retry_after}), '0',
		"$label: no job is sent again before its retry time");
	ok($node->safe_psql('postgres', qq{
SELECT count(DISTINCT a.job_id) FROM aigov.attempts a JOIN aigov.attempts b
  ON b.job_id = a.job_id AND b.id > a.id AND b.error_class = 'success'
 WHERE a.model = '$model' AND a.http_status = 429}) > 0,
		"$label: a job went back to the queue after its 429 and then succeeded");
	is($node->safe_psql('postgres',
		"SELECT max(failures) FROM aigov.requests WHERE model = '$model'"), '0',
		"$label: 429s do not count as failures");
	$stats = emulator_stats($emu);
	is($stats->{keys}{$label}{rate_limited}{$dim}, $limited,
		"$label: aigov recorded every 429 the provider sent");
	is(key_stat($stats, $label, 'successes'), $n, "$label: the provider served each job once");
}

$node->stop;
done_testing();
