# t/020_redirect.pl: a provider that answers with a redirect does not get
# its call followed.  A listener of the test's own answers every request
# with "307 Temporary Redirect" (and "302 Found") pointing at the
# emulator, which stands for an internal service the redirect aims at;
# the jobs must end in a named error class, the emulator must receive no
# request, and so no secret leaves for the redirect's target.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib $FindBin::RealBin;

use AigovTest;
use IO::Socket::INET;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $emu = start_emulator({
	models => [ { name => 'gpt-test', provider => 'openai', max_output_tokens => 4096 } ],
	keys => [ { secret => 'sk-redirect-1', label => 'r1', provider => 'openai' } ] });

# The redirecting provider: a child process answering each connection.
my $listener = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	Proto => 'tcp', Listen => 16, ReuseAddr => 1) or die "listen: $!";
my $redirect_port = $listener->sockport;
my $answered = 0;
my $child = fork() // die "fork: $!";
if ($child == 0)
{
	my $n = 0;
	while (my $c = $listener->accept)
	{
		my ($line, $len) = ('', 0);
		while (defined($line = <$c>) && $line ne "\r\n")
		{
			$len = $1 if $line =~ /^content-length:\s*(\d+)/i;
		}
		read($c, my $body, $len) if $len;
		my $status = ($n++ % 2) ? '302 Found' : '307 Temporary Redirect';
		print $c "HTTP/1.1 $status\r\nLocation: $emu->{url}/v1/chat/completions\r\n"
		  . "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
		close $c;
	}
	exit 0;
}
close $listener;

my $node = new_aigov_node('redirect');
$node->safe_psql('postgres', qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('std', 100000, 100000000, 1000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'std');
INSERT INTO aigov.providers (provider, api_style, base_url)
  VALUES ('openai', 'openai', 'http://127.0.0.1:$redirect_port');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
  VALUES ('openai', 'gpt-test', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret) VALUES ('openai', 'r1', 'sk-redirect-1');
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'acme', jsonb_build_object('model', 'gpt-test', 'max_tokens', 8,
  'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'hop ' || i)))
  FROM generate_series(1, 4) i;
});

ok(wait_for_jobs($node, "state NOT IN ('queued', 'in_flight')", 4, 90),
	'every job answered with a redirect ends');
my $states = $node->safe_psql('postgres', q{
SELECT string_agg(DISTINCT state || '/' || coalesce(error_class, '-'), ',')
  FROM aigov.requests});
unlike($states, qr/succeeded/, "no job succeeds through a redirect ($states)");
is($node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.requests WHERE error_class IS NULL"), '0',
	'each job names its error class');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM aigov.attempts WHERE http_status IN (302, 307)") > 0 ? 1 : 0, 1,
	'the redirects were received and recorded as such');
my $stats = emulator_stats($emu);
is($stats->{totals}{requests} + $stats->{totals}{unauthorized}, 0,
	"the redirect's target received no request, with or without the key");

$node->stop;
kill 'TERM', $child;
waitpid($child, 0);
stop_emulator($emu);
done_testing();
