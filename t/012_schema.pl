# t/012_schema.pl: structured-output replies are held to the job's
# response_format JSON schema before the job may succeed.  Against the
# emulator: conforming replies succeed (OpenAI as sent, Anthropic once
# translated); replies that are valid JSON but break the schema, or are
# not JSON at all, end failed as schema_mismatch with the validator's
# message, after one call, never as succeeded; jobs without a schema on
# the same keys are untouched; a schema the validator refuses never
# reaches the queue.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP ();

my $per_model = 3;

# One key per behaviour: [model, emulator provider, aigov api_style, faults]
my %keys = (
	'gpt-good' => [ 'openai', 'openai', {} ],
	'gpt-wrong' => [ 'openai', 'openai', { nonconforming_json => JSON::PP::true } ],
	'gpt-text' => [ 'openai', 'openai', { nonjson_structured => JSON::PP::true } ],
	'claude-good' => [ 'anthropic', 'anthropic', {} ],
	'claude-wrong' => [ 'anthropic', 'anthropic', { nonconforming_json => JSON::PP::true } ]);

my (@models, @ekeys);
for my $m (sort keys %keys)
{
	my ($provider, undef, $faults) = @{ $keys{$m} };
	push @models, { name => $m, provider => $provider, max_output_tokens => 4096 };
	push @ekeys, { secret => "sk-$m", label => "k-$m", provider => $provider,
		models => [$m], faults => $faults };
}
my $emu = start_emulator({ models => \@models, keys => \@ekeys });
my $node = new_aigov_node('schema');

my $url = $emu->{url};
my $sql = qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('std', 100000, 100000000, 1000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'std');
};
for my $m (sort keys %keys)
{
	my (undef, $style) = @{ $keys{$m} };
	$sql .= qq{
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('p-$m', '$style', '$url');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
  VALUES ('p-$m', '$m', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret) VALUES ('p-$m', 'k-$m', 'sk-$m');
};
}
$node->safe_psql('postgres', $sql);

my $schema = q{{"type": "object", "additionalProperties": false,
  "required": ["city", "temp", "tags"],
  "properties": {"city": {"type": "string", "minLength": 1},
    "temp": {"type": "number", "minimum": -90, "maximum": 60},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3}}}};

sub offer
{
	my ($model, $n, $tag, $with_schema) = @_;
	my $rf = $with_schema ? qq{, 'response_format', jsonb_build_object('type', 'json_schema',
    'json_schema', jsonb_build_object('name', 'weather', 'strict', true, 'schema', '$schema'::jsonb))} : '';
	$node->safe_psql('postgres', qq{
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'acme', jsonb_build_object('model', '$model', 'max_tokens', 256,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', '$tag ' || i))$rf)
  FROM generate_series(1, $n) i});
}

offer($_, $per_model, 'job', 1) for sort keys %keys;
offer('gpt-wrong', 2, 'plain', 0);
offer('gpt-text', 2, 'plain', 0);
my $total = $per_model * scalar(keys %keys) + 4;
ok(wait_for_jobs($node, "state NOT IN ('queued', 'in_flight')", $total, 90),
	'every job reaches a final state');

# --- conforming replies succeed, and what they hold conforms ---
for my $m ('gpt-good', 'claude-good')
{
	is($node->safe_psql('postgres', qq{
SELECT string_agg(DISTINCT state || ' ' || coalesce(error_class, '-') || ' ' || attempts, ', ')
  FROM aigov.requests WHERE model = '$m'}), 'succeeded - 1', "$m: conforming replies succeed");
	is($node->safe_psql('postgres', qq{
SELECT count(*) FROM aigov.requests
 WHERE model = '$m'
   AND (response->'choices'->0->'message'->>'content')::jsonb ?& array['city', 'temp', 'tags']}),
		$per_model, "$m: each stored reply carries the schema's properties");
}

# --- non-conforming replies never succeed ---
my %why = (
	'gpt-wrong' => qr/^the reply does not match the response_format schema: \S+: /,
	'claude-wrong' => qr/^the reply does not match the response_format schema: \S+: /,
	'gpt-text' => qr/^the reply's content is not JSON \(error at character \d+\)$/);
my $stats = emulator_stats($emu);
for my $m (sort keys %why)
{
	is($node->safe_psql('postgres', qq{
SELECT string_agg(DISTINCT state || ' ' || error_class || ' ' || attempts || ' '
                  || (response IS NULL)::text || ' ' || (error->>'http_status'), ', ')
  FROM aigov.requests WHERE model = '$m' AND body ? 'response_format'}),
		'failed schema_mismatch 1 true 502',
		"$m: failed as schema_mismatch after one call, the reply not kept");
	my @msgs = split /\n/, $node->safe_psql('postgres', qq{
SELECT error->>'message' FROM aigov.requests
 WHERE model = '$m' AND body ? 'response_format' ORDER BY id});
	is(scalar(@msgs), $per_model, "$m: every job has a message");
	like($_, $why{$m}, "$m: the validator's message") for @msgs;
	unlike(join(' ', @msgs), qr/echo:|job \d/, "$m: no reply content in the messages");
	is(key_stat($stats, "k-$m", 'requests'), $per_model + ($m =~ /^gpt/ ? 2 : 0),
		"$m: the provider saw one call per job, none retried");
	is($node->safe_psql('postgres', qq{
SELECT string_agg(DISTINCT a.error_class, ',') FROM aigov.attempts a
  JOIN aigov.requests r ON r.id = a.job_id
 WHERE r.model = '$m' AND r.body ? 'response_format'}), 'schema_mismatch',
		"$m: the attempts record the class");
}
is($node->safe_psql('postgres', qq{
SELECT count(*) FROM aigov.requests
 WHERE body ? 'response_format' AND model IN ('gpt-wrong', 'gpt-text', 'claude-wrong')
   AND state = 'succeeded'}), '0', 'no non-conforming reply yields a succeeded job');
my ($mismatch_id) = $node->safe_psql('postgres', qq{
SELECT min(id) FROM aigov.requests WHERE model = 'gpt-wrong' AND body ? 'response_format'});
is($node->safe_psql('postgres', "SELECT state || ' ' || http_status FROM aigov.result($mismatch_id)"),
	'failed 502', 'result() answers failed with 502');

# --- jobs without a schema on the same keys are not held to one ---
is($node->safe_psql('postgres', qq{
SELECT string_agg(DISTINCT state, ',') FROM aigov.requests WHERE NOT body ? 'response_format'}),
	'succeeded', 'plain jobs on the same keys succeed');

# --- a schema the validator refuses never reaches the queue ---
my ($rc, $out, $err) = $node->psql('postgres', q{
INSERT INTO aigov.requests (tenant_id, body) VALUES ('acme',
  '{"model": "gpt-good", "messages": [{"role": "user", "content": "x"}],
    "response_format": {"type": "json_schema", "json_schema": {"name": "w",
      "schema": {"type": "object", "properties": {"a": {"dependentSchemas": {}}}}}}}')});
isnt($rc, 0, 'an unsupported keyword is refused at enqueue');
like($err, qr/JSON schema keyword "dependentSchemas" of response_format is not supported/,
	'the error names the keyword');
like($err, qr{#/properties/a/dependentSchemas}, 'and where it is');

$node->stop;
done_testing();
