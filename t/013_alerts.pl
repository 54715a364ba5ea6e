# t/013_alerts.pl: the utilisation alerts and the views against the
# emulator.  A key whose provider bucket another client drains (the test,
# calling the emulator directly with the key's secret) is driven through
# 70% and 90% of its requests per minute and back; the alert rows and the
# NOTIFY aigov_alert payloads are exactly one per change of level, for the
# key and for its provider's aggregate.  Then the views' per-key counts
# match the emulator's own statistics for a run of jobs.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $rpm = 100;
my $emu = start_emulator({
	models => [ map { { name => $_, provider => 'openai', max_output_tokens => 4096 } }
		  qw(gpt-al gpt-cnt) ],
	keys => [
		{ secret => 'sk-al', label => 'al', provider => 'openai', models => ['gpt-al'],
		  rpm => $rpm },
		{ secret => 'sk-cnt', label => 'cnt', provider => 'openai', models => ['gpt-cnt'],
		  rpm => 100000 },
	] });
my $node = new_aigov_node('alerts');
$node->safe_psql('postgres', qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('big', 100000, 100000000, 1000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('t_al', 'big'), ('t_cnt', 'big');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES
  ('p_al', 'openai', '$emu->{url}'), ('p_cnt', 'openai', '$emu->{url}');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES
  ('p_al', 'gpt-al', 128000, 4096), ('p_cnt', 'gpt-cnt', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret, rpm_limit) VALUES ('p_al', 'al', 'sk-al', $rpm);
INSERT INTO aigov.keys (provider, label, secret) VALUES ('p_cnt', 'cnt', 'sk-cnt');
});

# The workers' key cache holds both keys (their shared state exists)
# before the first job is submitted.
$node->poll_query_until('postgres',
	"SELECT count(breaker_state) = 2 FROM aigov.key_usage")
  or die "the workers never loaded the keys";

# A session that listens; psql prints the notifications it has received
# after the next query it runs.
my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN aigov_alert');

my $jobs = 0;
sub run_job
{
	my ($tenant, $model) = @_;
	$jobs++;
	my $id = $node->safe_psql('postgres', qq{
SELECT job_id FROM aigov.submit('$tenant', '{"model": "$model", "max_tokens": 4,
  "messages": [{"role": "user", "content": "job $jobs"}]}')});
	ok(wait_for_jobs($node, "id = $id AND state = 'succeeded'", 1, 60), "job $jobs succeeded");
}

# What the emulator's bucket of key al has left.
sub al_remaining
{
	return emulator_stats($emu)->{keys}{al}{buckets}{rpm}{remaining};
}

# Spend the emulator's bucket of key al directly, as another client of the
# key would, until at most $left remain (the bucket refills meanwhile, so
# in rounds of parallel calls).
my $direct = 0;
sub drain_to
{
	my ($left) = @_;
	for (1 .. 20)
	{
		my $n = al_remaining() - $left;
		return if $n <= 0;
		my $out = '';
		IPC::Run::run(['curl', '-s', '-Z', '--parallel-max', '32',
			'-w', '%{http_code}\n', '-H', 'Authorization: Bearer sk-al',
			'-H', 'Content-Type: application/json',
			'--data-binary', '{"model": "gpt-al", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]}',
			map { ('-o', '/dev/null', "$emu->{url}/v1/chat/completions") } 1 .. $n], '>', \$out)
		  or die "curl failed";
		$direct += () = $out =~ /^200$/mg;
	}
	die "could not drain key al to $left";
}

sub alert_rows
{
	return $node->safe_psql('postgres', q{
SELECT string_agg(kind || ' ' || subject || ' ' || axis || ' ' || previous_level || '->' || level,
				  ', ' ORDER BY id)
  FROM aigov.alerts WHERE kind LIKE '%\_utilisation'});
}

sub wait_alert_rows
{
	my ($want, $timeout) = @_;
	my $deadline = time() + $timeout;
	my $got;
	while (time() < $deadline)
	{
		$got = alert_rows();
		return $got if $got eq $want;
		usleep(100_000);
	}
	return $got;
}

# The key becomes known to the workers, well under its limits: no alert.
run_job('t_al', 'gpt-al');
is($node->safe_psql('postgres', q{
SELECT rpm_configured || ' ' || rpm_limit || ' ' || rpm_learned || ' ' || breaker_state || ' '
	   || (rpm_utilisation_pct < 70)
  FROM aigov.key_usage WHERE label = 'al'}), "$rpm $rpm $rpm closed true",
	'key_usage shows the configured and learned limit of the key');

# 70%: the next reply's headers tell aigov that 22 requests are left.
drain_to(23);
run_job('t_al', 'gpt-al');
my $up70 = 'key_utilisation al rpm 0->70, provider_utilisation p_al rpm 0->70';
is(wait_alert_rows($up70, 30), $up70, 'crossing 70% raised one alert for the key and its provider');
my $pct = $node->safe_psql('postgres', "SELECT rpm_utilisation_pct FROM aigov.key_usage WHERE label = 'al'");
cmp_ok($pct, '>=', 65, "key_usage shows the key at $pct%");

# 90%: 4 left.
drain_to(5);
run_job('t_al', 'gpt-al');
my $up90 = "$up70, key_utilisation al rpm 70->90, provider_utilisation p_al rpm 70->90";
is(wait_alert_rows($up90, 30), $up90, 'crossing 90% raised one more alert for each');
is($node->safe_psql('postgres', q{
SELECT severity || ' ' || level || ' ' || runbook FROM aigov.alerts
 WHERE kind = 'key_utilisation' ORDER BY id DESC LIMIT 1}),
	'critical 90 docs/runbooks.md#key_utilisation', 'the 90% alert is critical and names its runbook');

# The terminal dashboard, once, while the key is at 90%: every section is
# there, the key's bar and its open alert are shown, and no line is wider
# than 100 columns.
my $top = '';
IPC::Run::run([ "$FindBin::RealBin/../contrib/dashboard/aigov-top", '--once',
	'-d', $node->connstr('postgres') ], '>', \$top, '2>&1')
  or die "aigov-top failed: $top";
note($top);
for my $section ('KEYS:', 'TENANTS:', 'PROVIDERS:', 'QUEUE:', 'ALERTS:')
{
	like($top, qr/^\Q$section\E/m, "aigov-top shows its $section section");
}
like($top, qr/^al\s+p_al\s+rpm\s+(9\d|1\d\d)\.\d\s+#{14}\|#{3}/m,
	'aigov-top: key al past the 90% mark on its rpm bar');
like($top, qr/^\S+\s+critical\s+key_utilisation\s+al\s+rpm\s+70->90/m,
	'aigov-top: the open 90% alert of key al');
like($top, qr/^interactive\s/m, 'aigov-top: queue by workload class');
my @wide = grep { length($_) > 100 } split /\n/, $top;
is(scalar(@wide), 0, 'aigov-top: every line fits in 100 columns')
  or diag(join("\n", @wide));

# Back: the bucket refills by itself, under 85% (level 70), then under 65%.
my $all = "$up90, key_utilisation al rpm 90->70, provider_utilisation p_al rpm 90->70, "
  . "key_utilisation al rpm 70->0, provider_utilisation p_al rpm 70->0";
is(wait_alert_rows($all, 90), $all, 'falling back under 85% and 65% cleared each level once');
is($node->safe_psql('postgres', q{
SELECT string_agg(severity, ' ' ORDER BY id) FROM aigov.alerts WHERE kind = 'key_utilisation'}),
	'warning critical info info', 'severities: warning, critical, then info as levels clear');

# The notifications: the same eight changes, with their JSON payloads.
my $out = $listener->query_safe('SELECT 1');
my @notes = $out =~ /Asynchronous notification "aigov_alert" with payload "(.*?)" received/g;
my @seen = map {
	my $p = json_decode_text($_);
	for my $f (qw(kind subject axis level previous_level utilisation at runbook id))
	{
		die "payload without $f: $_" unless defined $p->{$f};
	}
	"$p->{kind} $p->{subject} $p->{axis} $p->{previous_level}->$p->{level}"
} @notes;
is(join(', ', @seen), $all, 'one NOTIFY aigov_alert per alert row, in order, with every field');
$listener->quit;

# --- the views agree with the emulator ---
my $n = 40;
$node->safe_psql('postgres', qq{
SELECT aigov.submit('t_cnt', jsonb_build_object('model', 'gpt-cnt', 'max_tokens', 4,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'cnt ' || i))))
  FROM generate_series(1, $n) i});
ok(wait_for_jobs($node, "tenant_id = 't_cnt' AND state = 'succeeded'", $n, 120), "$n jobs served");
my $stats = emulator_stats($emu);
is($node->safe_psql('postgres', "SELECT completed || ' ' || rate_limited FROM aigov.key_usage WHERE label = 'cnt'"),
	key_stat($stats, 'cnt', 'successes') . ' ' . key_stat($stats, 'cnt', 'rate_limited_total'),
	'key_usage: successes and 429s of key cnt are the emulator\'s');
is($node->safe_psql('postgres', "SELECT completed FROM aigov.key_usage WHERE label = 'al'"),
	key_stat($stats, 'al', 'successes') - $direct,
	'key_usage: key al\'s successes are the emulator\'s less the direct calls');
is($node->safe_psql('postgres', "SELECT calls_5m || ' ' || successes_5m FROM aigov.provider_health WHERE provider = 'p_cnt'"),
	key_stat($stats, 'cnt', 'requests') . ' ' . key_stat($stats, 'cnt', 'successes'),
	'provider_health: calls of the last five minutes are the requests the emulator received');
is($node->safe_psql('postgres', q{
SELECT accepted || ' ' || rejected || ' ' || queued || ' ' || in_flight || ' ' || started_5m
	   || ' ' || (queue_wait_p50_s <= queue_wait_p99_s)
  FROM aigov.tenant_usage WHERE tenant_id = 't_cnt'}),
	"$n 0 0 0 $n true", 'tenant_usage: every job accepted and started, waits measured');
is($node->safe_psql('postgres', "SELECT count(*) FROM aigov.queue_depth"), '0', 'queue_depth: nothing waits');

done_testing();
