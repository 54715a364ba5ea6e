# t/019_config_race.pl: a job enqueued just after the configuration that
# serves it commits must be served, even when a dispatcher's cycle read
# the configuration generation before that commit and claims the job after
# it.  Each round adds a new model and at once submits a job for it, from
# one session with no pause, while other jobs keep the dispatchers cycling;
# no job may fail as no_route.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rounds = 40;

my $emu = start_emulator({
	models => [ map { { name => $_, provider => 'openai', max_output_tokens => 4096 } }
				('gpt-test', map { "gpt-new-$_" } 1 .. $rounds) ],
	keys => [ { secret => 'sk-1', label => 'oa-1', provider => 'openai',
				faults => { latency_ms => 5, jitter_ms => 10 } } ] });

my $node = new_aigov_node('configrace',
	'aigov.workers' => 2,
	'aigov.max_in_flight' => 200,
	'aigov.claim_batch' => 20);
configure_providers($node, $emu, [ 'openai', 'oa-1', 'sk-1' ]);

# background traffic, so that the dispatchers are always mid-cycle
$node->safe_psql('postgres', q{
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'beta', jsonb_build_object('model', 'gpt-test', 'max_tokens', 8,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'load ' || i)))
  FROM generate_series(1, 4000) i});
ok(wait_for_jobs($node, "state = 'succeeded'", 50, 60), 'background jobs flow');

my $sql = '';
for my $i (1 .. $rounds)
{
	$sql .= qq{
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
  VALUES ('openai', 'gpt-new-$i', 128000, 4096);
INSERT INTO aigov.requests (tenant_id, body) VALUES ('acme',
  '{"model": "gpt-new-$i", "max_tokens": 8, "messages": [{"role": "user", "content": "new $i"}]}');
SELECT pg_sleep(0.02);
};
}
$node->safe_psql('postgres', $sql);

ok(wait_for_jobs($node, "tenant_id = 'acme' AND state NOT IN ('queued', 'in_flight')", $rounds, 120),
	'every job for a new model finished');
my $by_state = $node->safe_psql('postgres', q{
SELECT string_agg(state || coalesce('/' || error_class, '') || ' ' || n, ', ' ORDER BY state)
  FROM (SELECT state, error_class, count(*) AS n FROM aigov.requests
         WHERE tenant_id = 'acme' GROUP BY 1, 2) s});
is($by_state, "succeeded $rounds", 'no job for a just-added model fails as no_route');

$node->stop;
stop_emulator($emu);
done_testing();
