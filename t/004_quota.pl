# t/004_quota.pl: layers 1 and 2 at small scale against the emulator: a
# token-bound key is never overrun, a key pool shares load by headroom
# without 429s, two equal keys share it about evenly, and a noisy tenant
# is rejected while its neighbours are not.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my @models = map { { name => $_, provider => 'openai', max_output_tokens => 4096 } }
  qw(gpt-tok gpt-pool gpt-noisy gpt-day gpt-even);
my $emu = start_emulator({
	models => \@models,
	keys => [
		{ secret => 'sk-tok', label => 'tok', provider => 'openai', models => ['gpt-tok'],
		  rpm => 10000, tpm => 40000 },
		{ secret => 'sk-p1', label => 'pool-big', provider => 'openai', models => ['gpt-pool'], rpm => 120 },
		{ secret => 'sk-p2', label => 'pool-mid', provider => 'openai', models => ['gpt-pool'], rpm => 60 },
		{ secret => 'sk-p3', label => 'pool-small', provider => 'openai', models => ['gpt-pool'], rpm => 30 },
		{ secret => 'sk-n', label => 'noisy', provider => 'openai', models => ['gpt-noisy'], rpm => 10000 },
		{ secret => 'sk-day', label => 'day', provider => 'openai', models => ['gpt-day'] },
		{ secret => 'sk-e1', label => 'even-1', provider => 'openai', models => ['gpt-even'], rpm => 100000 },
		{ secret => 'sk-e2', label => 'even-2', provider => 'openai', models => ['gpt-even'], rpm => 100000 },
	] });

my $node = new_aigov_node('quota', 'aigov.workers' => 2);
my $url = $emu->{url};
$node->safe_psql('postgres', qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES
  ('big', 100000, 100000000, 1000000000), ('small', 10, 100000, 10000000), ('mid', 100, 1000000, 100000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('bulk', 'big'), ('tenant_a', 'small'),
  ('tenant_b', 'mid'), ('tenant_c', 'mid');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES
  ('p_tok', 'openai', '$url'), ('p_pool', 'openai', '$url'), ('p_noisy', 'openai', '$url'),
  ('p_day', 'openai', '$url'), ('p_even', 'openai', '$url');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES
  ('p_tok', 'gpt-tok', 128000, 4096), ('p_pool', 'gpt-pool', 128000, 4096),
  ('p_noisy', 'gpt-noisy', 128000, 4096), ('p_day', 'gpt-day', 128000, 4096),
  ('p_even', 'gpt-even', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret, tpm_limit) VALUES ('p_tok', 'tok', 'sk-tok', 40000);
INSERT INTO aigov.keys (provider, label, secret, tpd_limit) VALUES ('p_day', 'day', 'sk-day', 3000);
INSERT INTO aigov.keys (provider, label, secret) VALUES
  ('p_pool', 'pool-big', 'sk-p1'), ('p_pool', 'pool-mid', 'sk-p2'), ('p_pool', 'pool-small', 'sk-p3'),
  ('p_noisy', 'noisy', 'sk-n');
INSERT INTO aigov.keys (provider, label, secret, rpm_limit, tpm_limit) VALUES
  ('p_even', 'even-1', 'sk-e1', 100000, 100000000), ('p_even', 'even-2', 'sk-e2', 100000, 100000000);
});

# --- token-bound: jobs of ~8,000 tokens on a 40,000 TPM key ---
# max_tokens makes each job cost about 8,000 tokens at the provider;
# seven of them are more than the key's minute.
$node->safe_psql('postgres', q{
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'bulk', jsonb_build_object('model', 'gpt-tok', 'max_tokens', 4000,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user',
    'content', 'tok ' || i || ' ' || repeat('lorem ipsum dolor sit amet ', 600))))
  FROM generate_series(1, 7) i});
ok(wait_for_jobs($node, "model = 'gpt-tok' AND state = 'succeeded'", 7, 150),
	'token-heavy jobs beyond the key\'s minute are all served');
my $stats = emulator_stats($emu);
is($stats->{keys}{tok}{rate_limited}{tpm}, 0, 'no TPM 429 from the provider');
cmp_ok(key_stat($stats, 'tok', 'tokens_charged'), '>', 40000,
	'more than one minute of the key\'s tokens went through');

# --- key pool: three keys of different sizes, shared by headroom ---
$node->safe_psql('postgres', q{
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'bulk', jsonb_build_object('model', 'gpt-pool', 'max_tokens', 8,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'pool ' || i)))
  FROM generate_series(1, 150) i});
ok(wait_for_jobs($node, "model = 'gpt-pool' AND state = 'succeeded'", 150, 120),
	'the pool served every job');
$stats = emulator_stats($emu);
my ($big, $mid, $small) = map { key_stat($stats, $_, 'successes') } qw(pool-big pool-mid pool-small);
is(key_stat($stats, $_, 'rate_limited_total'), 0, "key $_ was never overrun") for qw(pool-big pool-mid pool-small);
ok($big > $mid && $mid > $small && $small > 0,
	"each key took a share in the order of its size ($big / $mid / $small)");

# --- two equal keys far from their limits share the load about evenly ---
# The choice is random in proportion to headroom, so each should take half
# of 100 jobs; below 20 or above 80 has a chance of about 1e-9.  (Random
# draws of too few bits once sent nearly everything to the first key.)
$node->safe_psql('postgres', q{
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'bulk', jsonb_build_object('model', 'gpt-even', 'max_tokens', 8,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'even ' || i)))
  FROM generate_series(1, 100) i});
ok(wait_for_jobs($node, "model = 'gpt-even' AND state = 'succeeded'", 100, 60),
	'the two equal keys served every job');
$stats = emulator_stats($emu);
for my $k (qw(even-1 even-2))
{
	my $n = key_stat($stats, $k, 'successes');
	ok($n >= 20 && $n <= 80, "key $k took its share of 100 jobs ($n)");
}

# --- noisy neighbour: A far over its tier is refused, B and C are not ---
my $submit = sub {
	my ($tenant, $n) = @_;
	return $node->safe_psql('postgres', qq{
SELECT status || ' ' || COALESCE(reason, '-') || ' ' ||
       COALESCE((retry_at > clock_timestamp()
                 AND retry_at <= clock_timestamp() + interval '6 seconds')::text, '-')
  FROM generate_series(1, $n) i,
  LATERAL aigov.submit('$tenant', jsonb_build_object('model', 'gpt-noisy', 'max_tokens', 8,
    'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', '$tenant ' || i))))});
};
my @a = split /\n/, $submit->('tenant_a', 50);
my @b = split /\n/, $submit->('tenant_b', 20);
my @c = split /\n/, $submit->('tenant_c', 20);
my $a_ok = grep { /^accepted/ } @a;
my @a_rejected = grep { /^rejected/ } @a;
ok($a_ok >= 10 && $a_ok < 15, "tenant A got about its tier's 10 requests a minute ($a_ok accepted)");
my @bad = grep { !/^rejected tenant_rpm true$/ } @a_rejected;
is(scalar(@bad), 0,
	'every rejection of A names tenant_rpm and a retry time within one refill (6 s)')
  or diag("for example: $bad[0]");
is(scalar(grep { !/^accepted/ } @b, @c), 0, 'tenants B and C saw no rejection');
ok(wait_for_jobs($node, "tenant_id IN ('tenant_b', 'tenant_c') AND state = 'succeeded'", 40, 60),
	'all of B\'s and C\'s jobs were served');

# --- a restart does not hand out a second day of a key's daily quota ---
my $day_job = q{
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'bulk', jsonb_build_object('model', 'gpt-day', 'max_tokens', 1000,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'day ' || i)))
  FROM generate_series(1, 2) i};
$node->safe_psql('postgres', $day_job);
ok(wait_for_jobs($node, "model = 'gpt-day' AND state = 'succeeded'", 2, 60),
	'two jobs spend two thirds of the key\'s 3,000 tokens a day');
$node->restart;
$node->safe_psql('postgres', $day_job);
ok($node->poll_query_until('postgres', qq{
SELECT count(*) = 2 FROM aigov.requests
 WHERE model = 'gpt-day' AND state = 'queued' AND attempts = 0
   AND not_before > now() + interval '10 minutes'}),
	'after a restart the next jobs wait for the daily window, not a second day');
is(key_stat(emulator_stats($emu), 'day', 'requests'), 2, 'the provider saw only the first two');

$node->stop;
done_testing();
