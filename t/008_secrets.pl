# t/008_secrets.pl: secrets stay where they belong, and calls go only where
# aigov.allowed_hosts allows.
#
# Keys get their secrets through aigov.set_key_secret() and from the
# server's environment (env:AIGOV_KEY_...); env: names outside
# aigov.secret_env_names are refused when written, and disabled by the
# workers when a restore slipped them in.  Jobs run: successes, a 401,
# and, after the cluster is restarted with an empty aigov.allowed_hosts,
# calls to 127.0.0.1 and to "localhost" that are refused at connect time
# without the emulator seeing a byte.  Then every secret is looked for in
# the server log (log_statement = 'mod'), pg_stat_activity, every view of
# schema aigov, aigov.attempts, aigov.alert_events, the jobs and the keys'
# disabled_reason.  Last, who the workers run as, and that the library
# refuses to load unless preloaded.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my %secret = (
	lit => 'sk-lit-SECRET-0001',
	env => 'sk-env-SECRET-0002',
	k401 => 'sk-401-SECRET-0003',
	hidden => 'sk-hidden-SECRET-0004',
	lh => 'sk-lh-SECRET-0005',
	typo => 'sk-typo-SECRET-0006');

# The workers inherit the postmaster's environment, which inherits ours.
$ENV{AIGOV_KEY_TAP} = $secret{env};
$ENV{SECRET_NOT_ALLOWED} = $secret{hidden};

my @models = map { { name => $_, provider => 'openai', max_output_tokens => 4096 } }
  qw(gpt-lit gpt-env gpt-401 gpt-localhost);
my $emu = start_emulator({
	models => \@models,
	keys => [
		{ secret => $secret{lit}, label => 'lit', provider => 'openai', models => ['gpt-lit'] },
		{ secret => $secret{env}, label => 'env', provider => 'openai', models => ['gpt-env'] },
		{ secret => $secret{lh}, label => 'lh', provider => 'openai', models => ['gpt-localhost'] },
	] });
my $port = $emu->{port};

my $node = new_aigov_node('secrets',
	'log_statement' => "'mod'",
	'log_min_error_statement' => 'error');

# One provider per key, so each model is served by exactly one key.
$node->safe_psql('postgres', qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('std', 100000, 100000000, 1000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'std');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES
  ('p_lit', 'openai', 'http://127.0.0.1:$port'), ('p_env', 'openai', 'http://127.0.0.1:$port'),
  ('p_401', 'openai', 'http://127.0.0.1:$port'), ('p_unset', 'openai', 'http://127.0.0.1:$port'),
  ('p_hidden', 'openai', 'http://127.0.0.1:$port');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES
  ('p_lit', 'gpt-lit', 128000, 4096), ('p_env', 'gpt-env', 128000, 4096),
  ('p_401', 'gpt-401', 128000, 4096), ('p_unset', 'gpt-unset', 128000, 4096),
  ('p_hidden', 'gpt-hidden', 128000, 4096);
-- placeholders, replaced below without an UPDATE statement in the log
INSERT INTO aigov.keys (provider, label, secret, enabled) VALUES
  ('p_lit', 'lit', 'placeholder', false), ('p_401', 'k401', 'placeholder', false);
INSERT INTO aigov.keys (provider, label, secret) VALUES
  ('p_env', 'envkey', 'env:AIGOV_KEY_TAP'), ('p_unset', 'unset', 'env:AIGOV_KEY_NOT_SET');
});

# --- env: names outside aigov.secret_env_names are refused when written ---
my ($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO aigov.keys (provider, label, secret) VALUES ('p_hidden', 'pgdata', 'env:PGDATA')");
isnt($ret, 0, 'env:PGDATA is refused');
like($err, qr/environment variable "PGDATA" is not allowed as the secret of key "pgdata"/,
	'with a clear error');
($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO aigov.keys (provider, label, secret) VALUES ('p_hidden', 'hidden', 'env:SECRET_NOT_ALLOWED')");
isnt($ret, 0, 'an env: name the setting does not match is refused');

# A restore loads keys with triggers off: the workers check again.
$node->safe_psql('postgres', q{
SET session_replication_role = replica;
INSERT INTO aigov.keys (provider, label, secret) VALUES ('p_hidden', 'hidden', 'env:SECRET_NOT_ALLOWED');
});

# --- set_key_secret: the literal keys, kept out of the statement log ---
# One session stays open, so pg_stat_activity can be read while it idles.
my $admin = $node->background_psql('postgres');
$admin->query_safe("SELECT aigov.set_key_secret('lit', '$secret{lit}')");
$admin->query_safe("SELECT aigov.set_key_secret('k401', '$secret{k401}')");
my $activity = $node->safe_psql('postgres',
	q{SELECT pg_catalog.string_agg(COALESCE(query, ''), E'\n') FROM pg_stat_activity});
unlike($activity, qr/SECRET/, 'pg_stat_activity does not show the secret of the last call');
like($activity, qr/set_key_secret\(\.\.\.\) -- the arguments are not shown/,
	'it shows the call without its arguments');
($ret, $out, $err) = $node->psql('postgres',
	"SELECT aigov.set_key_secret('no-such-key', '$secret{typo}')");
like($err, qr/key "no-such-key" does not exist/, 'an unknown label is a clear error');
$admin->query_safe(q{UPDATE aigov.keys SET enabled = true WHERE label IN ('lit', 'k401')});
$admin->quit;

# The log does record a secret written with UPDATE, which is why
# set_key_secret exists; this also shows the log check below can fail.
$node->safe_psql('postgres', q{UPDATE aigov.keys SET secret = 'sk-logged-CONTROL' WHERE label = 'nobody'});
like(slurp_file($node->logfile), qr/sk-logged-CONTROL/,
	'log_statement = mod writes an UPDATE with its literal to the log');

sub submit
{
	my ($model) = @_;
	return $node->safe_psql('postgres', qq{
SELECT job_id FROM aigov.submit('acme',
  '{"model": "$model", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16}')});
}

sub final_state
{
	my ($id) = @_;
	$node->poll_query_until('postgres',
		"SELECT state NOT IN ('queued', 'in_flight') FROM aigov.requests WHERE id = $id")
	  or return 'timeout';
	return $node->safe_psql('postgres',
		"SELECT state || ' ' || COALESCE(error_class, '-') FROM aigov.requests WHERE id = $id");
}

is(final_state(submit('gpt-lit')), 'succeeded -', 'the key set with set_key_secret works');
is(final_state(submit('gpt-env')), 'succeeded -', 'the env:AIGOV_KEY_ key works');
is(final_state(submit('gpt-401')), 'failed auth', 'a refused key fails its job as auth');

# Keys whose secret the workers cannot have are taken out of rotation.
ok( $node->poll_query_until('postgres',
		q{SELECT count(*) = 2 FROM aigov.keys WHERE label IN ('unset', 'hidden') AND NOT enabled}),
	'keys whose env: secret is unset or not allowed are disabled');
is( $node->safe_psql('postgres', q{SELECT disabled_reason FROM aigov.keys WHERE label = 'hidden'}),
	'secret: the environment variable "SECRET_NOT_ALLOWED" is not allowed by aigov.secret_env_names',
	'a name the setting does not allow: the reason says so');
is( $node->safe_psql('postgres', q{SELECT disabled_reason FROM aigov.keys WHERE label = 'unset'}),
	q{secret: the environment variable "AIGOV_KEY_NOT_SET" is not set in the server's environment},
	'an unset variable: the reason says so');

# --- the write-time check of "localhost": it resolves to loopback ---
$node->safe_psql('postgres', "ALTER SYSTEM SET aigov.allowed_hosts = ''");
$node->restart;
($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('p_lh', 'openai', 'http://localhost:$port')");
like($err, qr/host "localhost" of provider "p_lh" resolves to "(127\.0\.0\.1|::1)", which aigov\.allowed_hosts does not allow/,
	'a name that resolves to loopback is refused when written');
($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('p_meta', 'openai', 'http://169.254.169.254')");
like($err, qr/address "169\.254\.169\.254" of provider "p_meta" is not allowed/,
	'the metadata address is refused');
($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('p_redis', 'openai', 'http://127.0.0.1:6379')");
like($err, qr/address "127\.0\.0\.1" of provider "p_redis" is not allowed/,
	'an unlisted loopback port is refused');

# --- the call-time check: the same, slipped in as a restore would ---
$node->safe_psql('postgres', qq{
SET session_replication_role = replica;
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('p_lh', 'openai', 'http://localhost:$port');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES ('p_lh', 'gpt-localhost', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret) VALUES ('p_lh', 'lh', 'placeholder');
});
$admin = $node->background_psql('postgres');
$admin->query_safe("SELECT aigov.set_key_secret('lh', '$secret{lh}')");

my $before = emulator_stats($emu)->{totals};
my $seen_before = $before->{requests} + ($before->{unauthorized} // 0);
for my $model ('gpt-lit', 'gpt-localhost')
{
	my $id = submit($model);
	is(final_state($id), 'failed host_not_allowed',
		"$model: the call is refused at connect time and the job fails");
	is( $node->safe_psql('postgres', "SELECT count(*) FROM aigov.attempts WHERE job_id = $id"),
		'0', "$model: no call, no attempt");
	unlike($node->safe_psql('postgres', "SELECT error::text FROM aigov.requests WHERE id = $id"),
		qr/127\.0\.0\.1|::1/, "$model: the job's error does not name the address");
}
my $after = emulator_stats($emu)->{totals};
is($after->{requests} + ($after->{unauthorized} // 0), $seen_before,
	'the emulator received nothing: no secret was sent');
is($node->safe_psql('postgres', q{SELECT enabled FROM aigov.keys WHERE label = 'lit'}),
	't', 'the key stays in rotation');
ok($node->log_contains(qr/aigov refused to connect to address "127\.0\.0\.1" of provider "p_lit"/),
	'the server log names the refused address');

# --- every secret, everywhere it must not be ---
my %places = (
	'server log' => slurp_file($node->logfile),
	'pg_stat_activity' => $node->safe_psql('postgres',
		q{SELECT pg_catalog.string_agg(COALESCE(query, ''), E'\n') FROM pg_stat_activity}),
	'aigov.attempts' => $node->safe_psql('postgres', 'SELECT a::text FROM aigov.attempts a'),
	'aigov.alert_events' => $node->safe_psql('postgres', 'SELECT e::text FROM aigov.alert_events e'),
	'aigov.requests' => $node->safe_psql('postgres', 'SELECT r::text FROM aigov.requests r'),
	'aigov.keys without secret' => $node->safe_psql('postgres',
		q{SELECT label || ' ' || COALESCE(disabled_reason, '') FROM aigov.keys}));
for my $view (split /\n/, $node->safe_psql('postgres',
	q{SELECT table_name FROM information_schema.views WHERE table_schema = 'aigov' ORDER BY 1}))
{
	$places{"view aigov.$view"} =
	  $node->safe_psql('postgres', qq{SELECT v::text FROM aigov."$view" v});
}
for my $name (sort keys %secret)
{
	for my $place (sort keys %places)
	{
		unlike($places{$place}, qr/\Q$secret{$name}\E/, "secret $name is not in $place");
	}
}
# The checks above looked at something: the jobs and alerts are there.
like($places{'aigov.alert_events'}, qr/key_disabled/, 'the alerts were read');
like($places{'aigov.requests'}, qr/host_not_allowed/, 'the jobs were read');

# --- the workers run as the bootstrap superuser (docs/security.md) ---
is($node->safe_psql('postgres', q{
SELECT bool_and(a.usesysid = 10 AND r.rolsuper)
  FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
 WHERE a.backend_type = 'aigov dispatcher'}),
	't', 'the dispatchers connect as the bootstrap superuser');

$admin->quit;
$node->stop;

# --- loaded any other way than preloaded, the library refuses ---
my ($in, $sout, $serr) = ("LOAD 'aigov';\n", '', '');
IPC::Run::run([ 'postgres', '--single', '-D', $node->data_dir,
	'-c', 'shared_preload_libraries=', 'postgres' ],
	'<', \$in, '>', \$sout, '2>', \$serr);
like($sout . $serr, qr/aigov must be loaded via "shared_preload_libraries"/,
	'LOAD without shared_preload_libraries is refused');
done_testing();
