# t/010_faults.pl: every fault a provider (or whatever answers in its place)
# can inflict ends its job in a named error class, and the worker that met
# it lives on with bounded memory: connection resets, hangs, truncated and
# malformed JSON, oversized bodies, oversized headers, a slow drip past the
# request timeout, a non-JSON error page, a 403, and a provider refusing
# a prompt too long for the model's context window.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# Two jobs per fault: four failed calls at most per key, one short of what
# opens its circuit breaker (which would hold the rest back for 30 s).
my $per_fault = 2;

# One key (and one aigov provider and model) per fault, so that each job
# meets exactly one of them.
my %faults = (
	reset => { reset_rate => 1 },
	hang => { hang_rate => 1 },
	truncated => { truncated_rate => 1 },
	malformed => { malformed_rate => 1 },
	oversized => { oversized_rate => 1, oversized_bytes => 2 * 1024 * 1024 },
	bigheaders => { big_headers_rate => 1, big_headers_bytes => 256 * 1024 },
	drip => { drip_rate => 1, drip_ms => 400 },
	html => { error_rate => 1, error_status => 502 },
	forbidden => { error_rate => 1, error_status => 403 },
	# no fault: the emulator's model has a context window of 20 tokens
	context => {});

# What each fault must end as: state, error_class, calls per job.
my %expect = (
	reset => [ 'failed', 'connection', 2 ],
	hang => [ 'failed', 'timeout', 2 ],
	truncated => [ 'failed', 'bad_response', 2 ],
	malformed => [ 'failed', 'bad_response', 2 ],
	oversized => [ 'failed', 'response_too_large', 1 ],
	bigheaders => [ 'failed', 'response_too_large', 1 ],
	drip => [ 'failed', 'timeout', 2 ],
	html => [ 'failed', 'server_error', 2 ],
	forbidden => [ 'failed', 'forbidden', 1 ],
	context => [ 'failed', 'context_window', 1 ]);

my (@keys, @models);
for my $f (sort keys %faults)
{
	push @models, { name => "gpt-$f", provider => 'openai', max_output_tokens => 4096,
		$f eq 'context' ? (context_window => 20) : () };
	push @keys, { secret => "sk-$f", label => "oa-$f", provider => 'openai',
		models => ["gpt-$f"], faults => $faults{$f} };
}
push @models, { name => 'gpt-ok', provider => 'openai', max_output_tokens => 4096 };
push @keys, { secret => 'sk-ok', label => 'oa-ok', provider => 'openai', models => ['gpt-ok'] };
my $emu = start_emulator({ models => \@models, keys => \@keys }, request_log => 1);

my $node = new_aigov_node('faults',
	'aigov.max_attempts' => 2,
	'aigov.request_timeout' => "'1s'",
	'aigov.max_response_bytes' => "'64kB'");

my $url = $emu->{url};
my $sql = qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('std', 100000, 100000000, 1000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'std');
};
for my $f ((sort keys %faults), 'ok')
{
	$sql .= qq{
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('p_$f', 'openai', '$url');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
  VALUES ('p_$f', 'gpt-$f', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret) VALUES ('p_$f', 'oa-$f', 'sk-$f');
};
}
$node->safe_psql('postgres', $sql);

sub worker_pids
{
	return $node->safe_psql('postgres',
		"SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity
		  WHERE backend_type = 'aigov dispatcher'");
}

# RssAnon of a process, in kB: the worker's own heap, what a leak grows.
sub rss_anon_kb
{
	my ($pid) = @_;
	my $status = slurp_file("/proc/$pid/status");
	return $status =~ /^RssAnon:\s+(\d+) kB/m ? $1 : die "no RssAnon for $pid";
}

sub offer
{
	my ($model, $n, $tag) = @_;
	$node->safe_psql('postgres', qq{
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'acme', jsonb_build_object('model', '$model', 'max_tokens', 64,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', '$tag ' || i)))
  FROM generate_series(1, $n) i});
}

# Warm the worker up (libcurl, the key cache, its contexts) before the
# memory baseline is taken.
offer('gpt-ok', 20, 'warm');
ok(wait_for_jobs($node, "model = 'gpt-ok' AND state = 'succeeded'", 20, 60),
	'the worker serves healthy jobs');
my $pids = worker_pids();
like($pids, qr/^\d+$/, 'one dispatcher runs');
my $rss_before = rss_anon_kb($pids);

# --- every fault at once, several jobs each ---
offer("gpt-$_", $per_fault, $_) for sort keys %faults;
ok(wait_for_jobs($node,
	"model <> 'gpt-ok' AND state NOT IN ('queued', 'in_flight')",
	$per_fault * scalar(keys %faults), 90),
	'every faulty job reaches a final state');

my $stats = emulator_stats($emu);
for my $f (sort keys %faults)
{
	my ($state, $class, $calls) = @{ $expect{$f} };
	is($node->safe_psql('postgres', qq{
SELECT string_agg(DISTINCT state || ' ' || error_class || ' ' || attempts, ', ')
  FROM aigov.requests WHERE model = 'gpt-$f'}),
		"$state $class $calls", "$f: every job ends $state as $class after $calls call(s)");
	is($node->safe_psql('postgres',
		"SELECT count(*) FROM aigov.attempts WHERE model = 'gpt-$f' AND error_class = '$class'"),
		$per_fault * $calls, "$f: one attempts row per call");
	is(key_stat($stats, "oa-$f", 'requests'), $per_fault * $calls,
		"$f: the provider saw exactly those calls");
}

# Each job, not only each fault in total, made as many calls as it has
# attempts rows.  A reset on a reused keep-alive connection is where libcurl
# would send the request a second time on its own, unseen by the job.
my $inst = $node->safe_psql('postgres', 'SELECT id FROM aigov._installation');
my $calls = emulator_calls($emu);
my @uneven;
for my $line (split /\n/, $node->safe_psql('postgres', q{
SELECT r.id, r.model, count(a.id)
  FROM aigov.requests r LEFT JOIN aigov.attempts a ON a.job_id = r.id
 WHERE r.model <> 'gpt-ok'
 GROUP BY r.id, r.model ORDER BY r.id}))
{
	my ($id, $model, $rows) = split /\|/, $line;
	my $seen = $calls->{"aigov-$inst-$id"} // 0;
	push @uneven, "$model job $id: $seen calls, $rows rows" if $seen != $rows;
}
is(scalar(@uneven), 0, 'every faulty job: the provider saw one call per attempts row')
  or diag(join("\n", @uneven));

# --- what each error says ---
like($node->safe_psql('postgres',
	"SELECT DISTINCT error->>'message' FROM aigov.requests WHERE model = 'gpt-oversized'"),
	qr/^response exceeds aigov\.max_response_bytes \(65536 bytes\)$/,
	'oversized body: the error names the setting');
like($node->safe_psql('postgres',
	"SELECT DISTINCT error->>'message' FROM aigov.requests WHERE model = 'gpt-bigheaders'"),
	qr/^response headers exceed 65536 bytes$/, 'oversized headers: the error says so');
like($node->safe_psql('postgres', qq{
SELECT DISTINCT (error->>'http_status') || ' ' || (error->>'code') || ' ' || (error->>'message')
  FROM aigov.requests WHERE model = 'gpt-html'}),
	qr/^502 not_json the provider's reply is not JSON \(\d+ bytes, not stored\)$/,
	'non-JSON error page: status and class kept, none of its bytes');
unlike($node->safe_psql('postgres', qq{
SELECT string_agg(r::text || ' ' || a::text, ' ')
  FROM aigov.requests r JOIN aigov.attempts a ON a.job_id = r.id WHERE r.model = 'gpt-html'}),
	qr/<html|Bad Gateway|cloudflare/i, 'no byte of the page is in the job or its attempts');
is($node->safe_psql('postgres', "SELECT DISTINCT http_status FROM aigov.result(
  (SELECT min(id) FROM aigov.requests WHERE model = 'gpt-forbidden'))"), '502',
	'403: result() answers 502');
is($node->safe_psql('postgres', qq{
SELECT enabled::text || ' ' || (SELECT count(*) FROM aigov.alert_events a WHERE a.key_id = k.key_id)
  FROM aigov.keys k WHERE label = 'oa-forbidden'}), 'true 0',
	'403: the key stays in rotation, without an alert');

is($node->safe_psql('postgres', qq{
SELECT DISTINCT r.http_status || ' ' || (r.error->>'code')
  FROM aigov.requests q, aigov.result(q.id) r WHERE q.model = 'gpt-context'}),
	'413 context_length_exceeded',
	"context window: result() answers 413 with the provider's code");
is($node->safe_psql('postgres', qq{
SELECT enabled::text || ' ' || (SELECT count(*) FROM aigov.alert_events a WHERE a.key_id = k.key_id)
  FROM aigov.keys k WHERE label = 'oa-context'}), 'true 0',
	'context window: the key stays in rotation, without an alert');

# --- the worker met all of that and lives on, its memory bounded ---
is(worker_pids(), $pids, 'the same dispatcher is still running');
offer('gpt-ok', 20, 'after');
ok(wait_for_jobs($node, "model = 'gpt-ok' AND state = 'succeeded'", 40, 60),
	'and it serves healthy jobs afterwards');
my $rss_after = rss_anon_kb($pids);
cmp_ok($rss_after - $rss_before, '<', 32 * 1024,
	"its anonymous memory grew by less than 32 MB ($rss_before kB to $rss_after kB)");

# --- a configuration whose replies would not fit is lowered, with a warning ---
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "ALTER SYSTEM SET aigov.max_response_bytes = '256MB'");
$node->reload;
offer('gpt-ok', 1, 'budget');
ok(wait_for_jobs($node, "model = 'gpt-ok' AND state = 'succeeded'", 41, 60),
	'jobs still run with the large setting');
like(substr(slurp_file($node->logfile), $log_offset),
	qr/WARNING:  aigov keeps at most 4 calls in flight per worker, not 1000/,
	'the worker says it keeps fewer calls in flight');

$node->stop;
done_testing();
