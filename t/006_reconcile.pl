# t/006_reconcile.pl: a tenant's soft limit crossed when a reply's usage
# is reconciled (the provider counted more than the estimate) writes its
# alert, like a crossing at admission does.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $emu = start_emulator({
	models => [ { name => 'gpt-soft', provider => 'openai', max_output_tokens => 4096 } ],
	keys => [ { secret => 'sk-soft', label => 'soft', provider => 'openai',
				models => ['gpt-soft'], rpm => 10000, tpm => 10000000 } ] });

# An output budget of one token: the estimate is the prompt, plus 1.
my $node = new_aigov_node('reconcile', 'aigov.default_max_tokens' => 1);
my $url = $emu->{url};
$node->safe_psql('postgres', qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('soft', 1000, 1000, 10000000);
INSERT INTO aigov.tenants (tenant_id, tier, soft_limit_pct) VALUES ('acme', 'soft', 50);
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('openai', 'openai', '$url');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
  VALUES ('openai', 'gpt-soft', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret) VALUES ('openai', 'soft', 'sk-soft');
});

# A run of one punctuation character: aigov's tokenizer model counts it
# as the few pieces a BPE tokenizer makes of it, the emulator charges a
# token per four characters, so the provider reports far more than the
# estimate.
my $body = q{jsonb_build_object('model', 'gpt-soft',
  'messages', jsonb_build_array(jsonb_build_object('role', 'user',
    'content', repeat('.', 2400))))};
my $est = $node->safe_psql('postgres', "SELECT aigov.estimate_tokens($body)");
ok($est > 0 && $est < 500, "the estimate ($est tokens) stays under the 50% soft limit of 1,000 TPM");

my $id = $node->safe_psql('postgres', "SELECT job_id FROM aigov.submit('acme', $body)");
ok(wait_for_jobs($node, "id = $id AND state = 'succeeded'", 1, 60), 'the job succeeded');
my $used = $node->safe_psql('postgres',
	"SELECT prompt_tokens + completion_tokens FROM aigov.requests WHERE id = $id");
ok($used >= 500, "the provider counted $used tokens, over half the tenant's TPM");
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM aigov.alert_events
 WHERE kind = 'tenant_soft_limit' AND tenant_id = 'acme' AND detail->>'axis' = 'tenant_tpm'}),
	'the crossing found at reconcile wrote one tpm soft-limit alert');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.alert_events WHERE kind = 'tenant_soft_limit'"),
	'1', 'and no other');

$node->stop;
stop_emulator($emu);
done_testing();
