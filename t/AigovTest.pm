# t/AigovTest.pm: shared helpers of aigov's TAP tests.
#
# Starts the provider emulator on 127.0.0.1 and a cluster with aigov
# preloaded, talks to the emulator's admin API, and waits on job states.
# The emulator binary comes from $AIGOV_EMULATOR (set by test/run-tests.sh).
package AigovTest;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use File::Temp qw(tempfile);
use IO::Socket::INET;
use IPC::Run qw(start);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

our @EXPORT = qw(start_emulator stop_emulator emulator_get emulator_post
  emulator_stats new_aigov_node configure_providers wait_for_jobs
  key_stat json_decode_text emulator_calls);

my $json = JSON::PP->new->canonical;
my @emulators;

sub free_port
{
	for (1 .. 200)
	{
		my $port = 31000 + int(rand(8000));
		my $sock = IO::Socket::INET->new(
			LocalAddr => '127.0.0.1',
			LocalPort => $port,
			Proto => 'tcp',
			ReuseAddr => 0);
		if ($sock)
		{
			close $sock;
			return $port;
		}
	}
	die "no free port";
}

# start_emulator(\%config[, request_log => 1]) -> { port, url, handle,
# request_log }.  With request_log, the emulator writes one line per
# provider request ("<key label>\t<Idempotency-Key>") to the file named in
# $emu->{request_log}; emulator_calls() counts them.
sub start_emulator
{
	my ($config, %opt) = @_;
	my $bin = $ENV{AIGOV_EMULATOR} or die "AIGOV_EMULATOR is not set";
	my ($fh, $file) = tempfile('emulator-XXXX', SUFFIX => '.json', TMPDIR => 1, UNLINK => 1);
	print $fh $json->encode($config);
	close $fh;
	my @log;
	my $log_file;
	if ($opt{request_log})
	{
		(my $lfh, $log_file) = tempfile('emulator-XXXX', SUFFIX => '.log', TMPDIR => 1, UNLINK => 1);
		close $lfh;
		@log = ('--request-log', $log_file);
	}

	my $port = free_port();
	my ($out, $err) = ('', '');
	my $h = start([ $bin, '--listen', "127.0.0.1:$port", '--config', $file, @log ],
		'>', \$out, '2>', \$err);
	for (1 .. 500)
	{
		$h->pump_nb;
		last if $out =~ /listening/;
		die "emulator exited: $err" unless $h->pumpable;
		usleep(10_000);
	}
	die "emulator did not start: $err" unless $out =~ /listening/;
	my $emu = { port => $port, url => "http://127.0.0.1:$port", handle => $h,
		request_log => $log_file };
	push @emulators, $emu;
	return $emu;
}

sub stop_emulator
{
	my ($emu) = @_;
	return unless $emu->{handle};
	$emu->{handle}->signal('TERM');
	eval { $emu->{handle}->finish; };
	$emu->{handle} = undef;
}

END
{
	stop_emulator($_) for @emulators;
}

sub http
{
	my ($emu, $method, $path, $body) = @_;
	my @cmd = ('curl', '-s', '-X', $method, "$emu->{url}$path");
	push @cmd, ('-H', 'Content-Type: application/json', '--data-binary', $json->encode($body))
	  if defined $body;
	my $out = '';
	IPC::Run::run(\@cmd, '>', \$out) or die "curl $method $path failed";
	return $out eq '' ? {} : $json->decode($out);
}

sub emulator_get { my ($emu, $path) = @_; return http($emu, 'GET', $path); }
sub emulator_post { my ($emu, $path, $body) = @_; return http($emu, 'POST', $path, $body); }
sub emulator_stats { my ($emu) = @_; return emulator_get($emu, '/admin/stats'); }

# key_stat($stats, $label, $field)
sub key_stat
{
	my ($stats, $label, $field) = @_;
	my $v = $stats->{keys}{$label}{$field};
	return defined $v ? $v : 0;
}

sub json_decode_text { return $json->decode($_[0]); }

# emulator_calls($emu) -> { Idempotency-Key => requests received }, from the
# request log of an emulator started with request_log => 1.
sub emulator_calls
{
	my ($emu) = @_;
	my %calls;
	open(my $fh, '<', $emu->{request_log}) or die "no request log: $!";
	while (my $line = <$fh>)
	{
		chomp $line;
		my (undef, $key) = split /\t/, $line, 2;
		$calls{$key}++ if defined $key;
	}
	close $fh;
	return \%calls;
}

# new_aigov_node($name, %conf): a started cluster with aigov preloaded and
# created in database postgres, which the workers serve.  Calls may go to
# 127.0.0.1 (the emulator) unless %conf sets aigov.allowed_hosts.
sub new_aigov_node
{
	my ($name, %conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$conf{'aigov.allowed_hosts'} //= "'127.0.0.1'";
	my $extra = join('', map { "$_ = $conf{$_}\n" } sort keys %conf);
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'aigov'
aigov.database = 'postgres'
aigov.idle_poll_interval = 200ms
aigov.orphan_check_interval = 500ms
$extra});
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION aigov');
	return $node;
}

# configure_providers($node, $emu, @keys): one provider per API style, all
# pointing at the emulator, a tier and tenants, and the given keys
# ([provider, label, secret, extra columns SQL]).
sub configure_providers
{
	my ($node, $emu, @keys) = @_;
	my $sql = qq{
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('std', 100000, 100000000, 1000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'std'), ('beta', 'std');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES
  ('openai', 'openai', '$emu->{url}'),
  ('anthropic', 'anthropic', '$emu->{url}'),
  ('gemini', 'gemini', '$emu->{url}');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES
  ('openai', 'gpt-test', 128000, 4096),
  ('anthropic', 'claude-test', 200000, 8192),
  ('gemini', 'gemini-test', 1000000, 8192);
};
	for my $k (@keys)
	{
		my ($provider, $label, $secret) = @$k;
		$sql .= "INSERT INTO aigov.keys (provider, label, secret) VALUES ('$provider', '$label', '$secret');\n";
	}
	$node->safe_psql('postgres', $sql);
}

# wait_for_jobs($node, $where, $count, $timeout): waits until $count jobs
# match $where; returns true if they did in time.
sub wait_for_jobs
{
	my ($node, $where, $count, $timeout) = @_;
	$timeout //= 60;
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		my $n = $node->safe_psql('postgres', "SELECT count(*) FROM aigov.requests WHERE $where");
		return 1 if $n >= $count;
		usleep(50_000);
	}
	return 0;
}

1;
