# t/007_runbook.pl: every ```sql block of docs/operations.md runs against a
# cluster with aigov and a worker, and the runbook's quota queries find the
# jobs that wait for their tenant's quota: one booked by aigov.submit() and
# one booked by a worker when it claimed an INSERTed job.
#
# The project rule is that a runbook query is run by a test before it is
# printed; this is that test.  The blocks run as printed, one psql session
# each, after the quota queries are checked against the booked jobs.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# test/run-tests.sh copies docs/ beside t/ and sets TESTDIR to that folder.
my ($runbook) = grep { -f $_ } (
	defined $ENV{TESTDIR} ? "$ENV{TESTDIR}/docs/operations.md" : (),
	"$FindBin::RealBin/../docs/operations.md");
BAIL_OUT('docs/operations.md not found beside t/ or in $TESTDIR/docs')
  unless defined $runbook;

# The ```sql blocks of a page, in order, with the line each starts on.
sub sql_blocks
{
	my ($file) = @_;
	my (@found, $sql, $start);
	open(my $fh, '<', $file) or die "could not open $file: $!";
	while (my $line = <$fh>)
	{
		if (!defined $sql && $line =~ /^\s*```sql\s*$/)
		{
			($sql, $start) = ('', $. + 1);
		}
		elsif (defined $sql && $line =~ /^\s*```\s*$/)
		{
			push @found, { sql => $sql, line => $start };
			undef $sql;
		}
		elsif (defined $sql)
		{
			$sql .= $line;
		}
	}
	close $fh;
	die "unterminated ```sql block at line $start of $file" if defined $sql;
	return @found;
}
my @blocks = sql_blocks($runbook);

# docs/runbooks.md, the alerts' runbook entries, sits beside it.
(my $alert_runbook = $runbook) =~ s/operations\.md$/runbooks.md/;
my @alert_blocks = sql_blocks($alert_runbook);
{
	open(my $fh, '<', $alert_runbook) or die "could not open $alert_runbook: $!";
	my %entries = map { /^## (\w+)\s*$/ ? ($1 => 1) : () } <$fh>;
	close $fh;
	ok($entries{$_}, "docs/runbooks.md has an entry for alert kind $_")
	  for qw(key_utilisation tenant_utilisation provider_utilisation
	  tenant_soft_limit key_disabled);
}
cmp_ok(scalar @blocks, '>', 10, 'the runbook has its SQL blocks');

# The emulator serves the first job of each tenant, so its charge stays
# taken (a job that fails without a call gives its charge back).
my $emu = start_emulator({
	models => [ map { { name => $_, provider => 'openai', max_output_tokens => 4096 } }
		  qw(gpt-test gpt-4o-mini) ],
	keys => [
		{ secret => 'sk-rb', label => 'rb', provider => 'openai',
		  models => [ 'gpt-test', 'gpt-4o-mini' ], rpm => 100000 },
	] });
my $node = new_aigov_node('runbook');

# Tenants with one request per minute and no hard cap: the second job of
# each waits about a minute for its slot, longer than this test runs.
# 'acme' and gpt-4o-mini are the names the runbook's examples use.
$node->safe_psql('postgres', qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES
  ('one_rpm', 1, 100000, 10000000), ('std', 100000, 100000000, 1000000000);
INSERT INTO aigov.tenants (tenant_id, tier, hard_cap) VALUES
  ('rb_submit', 'one_rpm', false), ('rb_insert', 'one_rpm', false), ('acme', 'std', true);
INSERT INTO aigov.providers (provider, api_style, base_url)
  VALUES ('openai', 'openai', '$emu->{url}');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
  VALUES ('openai', 'gpt-test', 128000, 4096), ('openai', 'gpt-4o-mini', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret) VALUES ('openai', 'rb', 'sk-rb');
});

my $body = q{'{"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}'};
$node->safe_psql('postgres', "SELECT aigov.submit('rb_submit', $body)") for 1 .. 2;
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM aigov.requests
 WHERE tenant_id = 'rb_submit' AND state = 'queued' AND admitted
   AND claimed_at IS NULL AND not_before > now() + interval '30 seconds'}),
	'1',
	'submit booked the second job a slot ahead, charged (admitted)');

$node->safe_psql('postgres',
	"INSERT INTO aigov.requests (tenant_id, body) SELECT 'rb_insert', $body FROM generate_series(1, 2)");
ok( $node->poll_query_until(
		'postgres', q{
SELECT count(*) = 1 FROM aigov.requests
 WHERE tenant_id = 'rb_insert' AND state = 'queued' AND admitted
   AND claimed_at IS NOT NULL AND not_before > now() + interval '30 seconds'}),
	'a worker booked the second INSERTed job a slot ahead, charged (admitted)');

# Runs SQL in a database; returns psql's exit code, output and errors.
sub run_sql
{
	my ($db, $sql) = @_;
	my ($ret, $out, $err) = $node->psql($db, $sql, on_error_stop => 1);
	return ($ret, $out, $err);
}

# The statements of a block, without their terminating semicolons.
sub statements
{
	my ($sql) = @_;
	return grep { /\S/ } split /;\s*(?:\n|\z)/, $sql;
}

# The quota queries first: the runbook's UPDATEs, run below, may move the
# booked jobs.  Each query is taken from the document as it is printed.
my ($quota_block) = grep { $_->{sql} =~ /\bAS waiting\b/ } @blocks;
ok(defined $quota_block, 'the runbook has a query of tenants waiting for their quota');
if (defined $quota_block)
{
	my ($stmt) = grep { /\bAS waiting\b/ } statements($quota_block->{sql});
	my ($ret, $out, $err) = run_sql('postgres', "$stmt;");
	my %waiting = map { (split /\|/)[ 0, 1 ] } split /\n/, $out;
	is($waiting{rb_submit}, 1,
		'the quota query finds the job aigov.submit() booked ahead');
	is($waiting{rb_insert}, 1,
		'the quota query finds the job a worker booked ahead');
}

my ($reason_block) = grep { $_->{sql} =~ /\bAS reason\b/ } @blocks;
ok(defined $reason_block, 'the runbook has a query of the reasons of waits');
if (defined $reason_block)
{
	my ($stmt) = grep { /\bAS reason\b/ } statements($reason_block->{sql});
	my ($ret, $out, $err) = run_sql('postgres',
		"SELECT reason, jobs FROM ($stmt) w WHERE reason LIKE 'tenant quota%' ORDER BY reason;");
	is($out, "tenant quota|1\ntenant quota, key room or circuit breaker|1",
		'the reasons query names the tenant quota for both booked jobs');
}

# The alerts' runbook queries, as printed; they only read.  The tenant
# query lists the tenants the worker has seen.
for my $b (@alert_blocks)
{
	my ($ret, $out, $err) = run_sql('postgres', $b->{sql});
	is($ret, 0, "docs/runbooks.md SQL at line $b->{line} runs")
	  or diag("block:\n$b->{sql}\nerror:\n$err");
	like($out, qr/^rb_submit\|/m, 'the tenant query lists rb_submit')
	  if $b->{sql} =~ /FROM aigov\.tenant_usage/;
}
cmp_ok(scalar @alert_blocks, '>=', 5, 'docs/runbooks.md has its SQL blocks');

# Then every block as printed, in order.  The install step's CREATE
# EXTENSION runs in a database of its own, which has no aigov yet.
$node->safe_psql('postgres', 'CREATE DATABASE runbook_install');
for my $b (@blocks)
{
	my $db = $b->{sql} =~ /CREATE EXTENSION/ ? 'runbook_install' : 'postgres';
	my ($ret, $out, $err) = run_sql($db, $b->{sql});
	is($ret, 0, "runbook SQL at line $b->{line} runs")
	  or diag("block:\n$b->{sql}\nerror:\n$err");
}

# The runbook raised aigov.shutdown_grace; give the default back.
$node->safe_psql('postgres', 'ALTER SYSTEM RESET aigov.shutdown_grace');
$node->stop;
done_testing();
