# t/015_prometheus.pl: the real prometheus-postgres-exporter scrapes aigov
# with contrib/prometheus/queries.yaml after a few jobs, as the dashboard
# role; its aigov series match aigov.metrics() and the emulator's own
# figures; promtool accepts the alerting rules and the exposition.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use HTTP::Tiny;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $root = "$FindBin::RealBin/..";

# The exporter is stopped however the test ends, so a failure leaves no
# process behind.
my $exporter;
END { $exporter->kill_kill if $exporter; }
my $queries = "$root/contrib/prometheus/queries.yaml";
my $rules = "$root/contrib/prometheus/aigov-rules.yml";

sub which { my ($cmd) = @_; return (grep { -x "$_/$cmd" } split /:/, $ENV{PATH})[0]; }

plan skip_all => 'prometheus-postgres-exporter is not installed (Debian package prometheus-postgres-exporter)'
  unless which('prometheus-postgres-exporter');
plan skip_all => 'promtool is not installed (Debian package prometheus)'
  unless which('promtool');

# promtool accepts the rules, and their thresholds fire as documented.
my ($out, $err) = ('', '');
ok(IPC::Run::run([ 'promtool', 'check', 'rules', $rules ], '>', \$out, '2>', \$err),
	'promtool check rules accepts aigov-rules.yml') or diag("$out$err");
like($out, qr/SUCCESS: 6 rules found/, 'all six rules are read');
($out, $err) = ('', '');
ok(IPC::Run::run([ 'promtool', 'test', 'rules', "$root/contrib/prometheus/aigov-rules.test.yml" ],
		'>', \$out, '2>', \$err),
	'promtool test rules: 70% and 90% fire, and nothing fires below') or diag("$out$err");

my $jobs = 6;
my $emu = start_emulator({
	models => [ { name => 'gpt-test', provider => 'openai', max_output_tokens => 4096 } ],
	keys => [ { secret => 'sk-oa-1', label => 'oa-1', provider => 'openai' } ] });
my $node = new_aigov_node('prometheus');
configure_providers($node, $emu, [ 'openai', 'oa-1', 'sk-oa-1' ]);

for my $i (1 .. $jobs)
{
	$node->safe_psql('postgres', qq{SELECT status FROM aigov.submit('acme',
		'{"model": "gpt-test", "messages": [{"role": "user", "content": "job $i"}], "max_tokens": 8}')});
}
ok(wait_for_jobs($node, "state = 'succeeded' AND tenant_id = 'acme'", $jobs), "the $jobs jobs succeed")
  or diag($node->safe_psql('postgres',
	"SELECT id, state, error_class, error FROM aigov.requests WHERE state <> 'succeeded'"));

# The dashboard role set of docs/observability.md, with a login.
$node->safe_psql('postgres', q{
CREATE ROLE prom_dash LOGIN IN ROLE aigov_admin;
GRANT USAGE ON SCHEMA aigov TO prom_dash;
GRANT SELECT (key_id, provider, label, workload_class, tenant_group,
              rpm_limit, tpm_limit, tpd_limit, weight, enabled,
              disabled_reason, disabled_at)
   ON aigov.keys TO prom_dash;
GRANT SELECT (id, tenant_id, task_type, workload_class, priority, model,
              est_tokens, state, attempts, failures, not_before, deadline,
              created_at, finished_at, key_id, served_provider, served_model,
              degraded, admitted, error_class, prompt_tokens,
              completion_tokens, claimed_by, claimed_at)
   ON aigov.requests TO prom_dash;
GRANT SELECT (id, tenant_id, task_type, workload_class, priority, model,
              est_tokens, state, attempts, failures, not_before, deadline,
              created_at, finished_at, key_id, served_provider, served_model,
              degraded, admitted, error_class, prompt_tokens,
              completion_tokens, claimed_by, claimed_at)
   ON aigov.requests_history TO prom_dash;
GRANT SELECT ON aigov.tiers, aigov.tenants, aigov.providers, aigov.attempts, aigov.attempts_history,
                aigov._history_totals, aigov.key_usage, aigov.tenant_usage, aigov.provider_health,
                aigov.queue_depth
   TO prom_dash;
GRANT EXECUTE ON FUNCTION aigov.key_state(), aigov.tenant_state(), aigov.provider_breakers(),
                          aigov.queue_wait_histogram(),
                          aigov.provider_latency_histogram(), aigov.metrics()
   TO prom_dash;
});

my $port = AigovTest::free_port();
my $dsn = sprintf('host=%s port=%d user=prom_dash dbname=postgres sslmode=disable',
	$node->host, $node->port);
local $ENV{DATA_SOURCE_NAME} = $dsn;
my $exporter_log = "$PostgreSQL::Test::Utils::tmp_check/exporter.log";
$exporter = IPC::Run::start(
	[ 'prometheus-postgres-exporter', "--extend.query-path=$queries",
	  "--web.listen-address=127.0.0.1:$port", '--disable-settings-metrics' ],
	'>', $exporter_log, '2>&1');

# Scrapes until the exporter answers with aigov's series.
my $http = HTTP::Tiny->new(timeout => 10);
my $body = '';
for (1 .. 100)
{
	my $res = $http->get("http://127.0.0.1:$port/metrics");
	if ($res->{success} && $res->{content} =~ /^aigov_key_completed_total/m)
	{
		$body = $res->{content};
		last;
	}
	usleep(200_000);
}
ok($body ne '', 'the exporter serves /metrics with aigov series')
  or diag(slurp_file($exporter_log));

# name{labels} -> value, with the labels sorted and the exporter's own
# (server) and empty ones left out, as Prometheus stores them.
sub parse_exposition
{
	my ($text) = @_;
	my %series;
	for my $line (split /\n/, $text)
	{
		next unless $line =~ /^(aigov_\w+)(?:\{(.*)\})? (\S+)$/;
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		my @pairs;
		while ($labels =~ /(\w+)="((?:[^"\\]|\\.)*)"/g)
		{
			push @pairs, "$1=\"$2\"" unless $1 eq 'server' || $2 eq '';
		}
		$series{ $name . '{' . join(',', sort @pairs) . '}' } = $value + 0;
	}
	return \%series;
}

my $scraped = parse_exposition($body);
my $direct = parse_exposition($node->safe_psql('postgres', 'SELECT aigov.metrics()'));

# Figures that stand still once the jobs are done must be equal; the quota
# figures refill by the second, so they are only checked to be ratios.
my $moving = qr/_quota_|^aigov_tenant_/;
my @stable = sort grep { !/$moving/ } keys %$direct;
cmp_ok(scalar(@stable), '>', 20, 'aigov.metrics() has the stable series');
is_deeply([ sort grep { !/$moving/ } keys %$scraped ], \@stable,
	'the exporter exposes the same stable series as aigov.metrics()');
is_deeply({ map { $_ => $scraped->{$_} } @stable }, { map { $_ => $direct->{$_} } @stable },
	'with the same values');
is_deeply([ sort grep { /$moving/ } keys %$scraped ], [ sort grep { /$moving/ } keys %$direct ],
	'and the same quota and tenant series');
my @ratios = grep { /_utilisation_ratio\{/ } keys %$scraped;
cmp_ok(scalar(@ratios), '>', 0, 'utilisation ratios are scraped');
ok(!(grep { $scraped->{$_} < 0 || $scraped->{$_} > 1 } @ratios), 'each between 0 and 1');

# The values, against the jobs sent and the emulator's own statistics.
my $stats = emulator_stats($emu);
is($scraped->{'aigov_key_completed_total{key="oa-1",provider="openai"}'},
	key_stat($stats, 'oa-1', 'successes'), 'completed calls match the emulator');
is($scraped->{'aigov_key_rate_limited_total{key="oa-1",provider="openai"}'},
	key_stat($stats, 'oa-1', 'rate_limited_total'), '429s match the emulator');
is($scraped->{'aigov_jobs_finished_total{state="succeeded",tenant="acme",workload_class="interactive"}'},
	$jobs, 'finished jobs by state');
is($scraped->{'aigov_provider_attempts_total{error_class="success",provider="openai"}'},
	key_stat($stats, 'oa-1', 'requests'), 'calls by outcome class match the emulator');
is($scraped->{'aigov_provider_latency_seconds_count{provider="openai"}'}, $jobs,
	'latency histogram counts every call');
is($scraped->{'aigov_provider_latency_seconds_bucket{le="+Inf",provider="openai"}'}, $jobs,
	'its +Inf bucket is its count');
is($scraped->{'aigov_queue_wait_seconds_count{workload_class="interactive"}'}, $jobs,
	'queue wait histogram counts every job');
is($scraped->{'aigov_tenant_submits_total{outcome="accepted",tenant="acme"}'}, $jobs,
	'accepted submits');
my @buckets = map { $scraped->{"aigov_provider_latency_seconds_bucket{le=\"$_\",provider=\"openai\"}"} }
  qw(0.05 0.1 0.25 0.5 1 2.5 5 10 30 60 +Inf);
ok(!(grep { !defined } @buckets), 'every latency bucket is scraped');
ok(!(grep { $buckets[$_] < $buckets[ $_ - 1 ] } 1 .. $#buckets), 'buckets are cumulative');
is($scraped->{'aigov_queue_jobs{state="queued",tenant="acme",workload_class="interactive"}'},
	undef, 'no job is left in the queue');

# A second scrape after more jobs: the counters only grew.
$node->safe_psql('postgres', q{SELECT status FROM aigov.submit('beta',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "more"}], "max_tokens": 8}')});
ok(wait_for_jobs($node, "state = 'succeeded' AND tenant_id = 'beta'", 1), 'one more job succeeds');
my $again = parse_exposition($http->get("http://127.0.0.1:$port/metrics")->{content});
is($again->{'aigov_provider_latency_seconds_count{provider="openai"}'}, $jobs + 1,
	'the histogram counted the new call');
ok(!(grep { defined $again->{$_} && $again->{$_} < $scraped->{$_} } grep { /_total\{|_count\{|_bucket\{/ } keys %$scraped),
	'no counter went down');

# promtool reads aigov.metrics() as valid exposition.
($out, $err) = ('', '');
my $exposition = $node->safe_psql('postgres', 'SELECT aigov.metrics()') . "\n";
ok(IPC::Run::run([ 'promtool', 'check', 'metrics' ], '<', \$exposition, '>', \$out, '2>', \$err),
	'promtool check metrics accepts aigov.metrics(), lint included') or diag("$out$err");

$exporter->kill_kill;
undef $exporter;
$node->stop;
stop_emulator($emu);
done_testing();
