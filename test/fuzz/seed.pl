#!/usr/bin/perl
# test/fuzz/seed.pl: writes the seed corpus of every fuzz target,
# test/fuzz/corpus/<target>/, from test/fixtures/ and test/tokens/ plus the
# hand-written edge cases below.  The corpus is committed; run this again
# (from any folder) after the fixtures change, and commit the result.
# Reproducers of fixed bugs live in corpus/<target>/regress-* and are kept.
#
# Each seed is named after what it came from.  Input layouts are the
# targets' own (see the banner of each fuzz_<target>.c).
use strict;
use warnings FATAL => 'all';
use File::Basename qw(basename dirname);
use File::Path qw(make_path);
use JSON::PP;

my $here = dirname(__FILE__);
my $fixtures = "$here/../fixtures";
my $json = JSON::PP->new->canonical;
# 2025-08-21T12:40:00Z in microseconds, big-endian: fuzz_headers' clock
my $clock = pack('Q>', 1755780000 * 1000000);

sub slurp {
	my ($f) = @_;
	open(my $fh, '<:raw', $f) or die "$f: $!";
	local $/;
	return scalar <$fh>;
}

# seed TARGET NAME BYTES: writes one seed, replacing the target's old ones
# (except regress-*) the first time the target is named.
my %cleared;
sub seed {
	my ($target, $name, $bytes) = @_;
	my $dir = "$here/corpus/$target";
	if (!$cleared{$target}++) {
		make_path($dir);
		unlink grep { basename($_) !~ /^regress-/ } glob("$dir/*");
	}
	$name =~ s/[^A-Za-z0-9._-]+/-/g;
	$name = substr($name, 0, 80);
	open(my $fh, '>:raw', "$dir/$name") or die "$dir/$name: $!";
	print $fh $bytes;
	close($fh);
}

# the cases of a fixture file of test/fixtures/translate, as raw bodies
sub cases {
	my ($file) = @_;
	my @out;
	for my $c (@{ decode_json(slurp("$fixtures/translate/$file")) }) {
		my $body = exists $c->{raw} ? $c->{raw} : $json->encode($c->{input});
		push @out, [$c, $body];
	}
	return @out;
}

my %hdr = map { $_ => slurp("$fixtures/protocols/$_-headers.txt") }
  qw(openai anthropic azure mistral);

# fuzz_headers: the clock, then header lines
for my $p (sort keys %hdr) {
	seed('fuzz_headers', "$p-headers", $clock . $hdr{$p});
}
seed('fuzz_headers', 'azure-sentinels', $clock .
	"x-ratelimit-remaining-tokens: -1\r\nx-ratelimit-reset-tokens: 1s\r\n" .
	"x-ratelimit-limit-requests: -1\r\n");
seed('fuzz_headers', 'retry-after-forms', $clock .
	"retry-after: Thu, 21 Aug 2025 12:41:00 GMT\r\nretry-after-ms: 1500.5\r\n" .
	"retry-after: 7\r\nx-should-retry: false\r\n");
seed('fuzz_headers', 'status-line-resets', $clock .
	"x-ratelimit-limit-requests: 10\r\nHTTP/1.1 100 Continue\r\n\r\n" .
	"HTTP/2 429\r\nretry-after: 1\r\n");
seed('fuzz_headers', 'odd-lines', $clock .
	"\tfolded: continuation\r\n: no name\r\nno colon\r\n" .
	"x-ratelimit-reset-tokens: 9223372036854775807s\r\n" .
	"anthropic-ratelimit-tokens-reset: 2025-13-45T99:99:99Z\r\n" .
	"date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" .
	"x-ratelimit-reset-requests: 1h2m3.5\xc2\xb5s\r\n");
seed('fuzz_headers', 'clock-far', "\xff" x 8 . "date: Fri, 31 Dec 9999 23:59:59 GMT\n");

# fuzz_protocol: transport, status, headers, an empty line, the body
for my $f (sort glob("$fixtures/protocols/*.{json,sse,html}")) {
	my $b = basename($f);
	my ($p, $st) = $b =~ /^([a-z]+)-(\d{3})?/;
	$st //= 200;
	my $h = $b =~ /\.sse$/ ? "content-type: text/event-stream\r\n" :
	  $hdr{$p} // '';
	$h =~ s/\n\n+/\n/g;
	seed('fuzz_protocol', $b,
		pack('Cn', 0, $st) . $h . "\r\n" . slurp($f));
}
seed('fuzz_protocol', 'timeout', pack('Cn', 3, 0) . "\r\n");
seed('fuzz_protocol', 'connection', pack('Cn', 6, 0) . "\r\n");
seed('fuzz_protocol', 'truncated', pack('Cn', 9, 200) .
	"content-type: application/json\r\n\r\n{\"choices\":[{\"mess");
seed('fuzz_protocol', 'not-json-403', pack('Cn', 0, 403) .
	"content-type: text/html\r\n\r\n<html><body>admin console</body></html>");

# fuzz_translate: an options byte (bit 0 degraded, bit 1 no default
# max_tokens), then the request body
for my $file (qw(req_openai.json req_anthropic.json req_gemini.json
	refusals.json bad_requests.json)) {
	for my $cb (cases($file)) {
		my ($c, $body) = @$cb;
		my $opt = ($c->{degraded} ? 1 : 0) |
		  (defined $c->{default_max_tokens} &&
			  $c->{default_max_tokens} <= 0 ? 2 : 0);
		$opt |= 4 if defined $c->{model_override};
		seed('fuzz_translate', "$file-$c->{name}", chr($opt) . $body);
	}
}
for my $f (sort glob("$here/../tokens/requests/*.json")) {
	seed('fuzz_translate', 'tokens-' . basename($f), "\x01" . slurp($f));
}

# fuzz_normalise: reply bodies
for my $file (qw(resp_openai.json resp_anthropic.json resp_gemini.json)) {
	for my $cb (cases($file)) {
		my ($c, $body) = @$cb;
		seed('fuzz_normalise', "$file-$c->{name}", $body);
	}
}
for my $f (sort glob("$fixtures/protocols/*-200*.json")) {
	seed('fuzz_normalise', basename($f), slurp($f));
}
# round_trip.json: one conversation (a request) and the replies to it
{
	my $rt = decode_json(slurp("$fixtures/translate/round_trip.json"));
	for my $k (sort keys %$rt) {
		seed($k eq 'conversation' ? 'fuzz_translate' : 'fuzz_normalise',
			"round_trip-$k", ($k eq 'conversation' ? "\x00" : '') .
			  $json->encode($rt->{$k}));
	}
}

# fuzz_json_scan: how many members, one path byte each, then the text.
# The paths (byte (k << 3) | depth for keys k, k + 1, ...): the top level,
# choices, usage.prompt_tokens, a, a.b.
my $paths = pack('C*', 5, 0, (4 << 3) | 1, (5 << 3) | 2, (0 << 3) | 1,
	(0 << 3) | 2);
for my $f (sort glob("$fixtures/protocols/*.json")) {
	seed('fuzz_json_scan', basename($f), $paths . slurp($f));
}
my %scan_edges = (
	'deep' => '[' x 70 . ']' x 70,
	'big-ints' => '{"a":123456789012345678,"b":1234567890123456789,"ab":-0}',
	'reals' => '{"a":1e308,"b":-1.5E-3,"ab":1e400,"id":0.0}',
	'escapes' => '{"a":"\u00e9\ud83d\ude00\\\\\\"","b\u0000":1,"ab":"\ud800"}',
	'duplicates' => '{"a":1,"b":{"a":2,"a":3}}',
	'utf8' => "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"b\":\"\xc0\xaf\xed\xa0\x80\"}",
	'empty-key' => '{"":{"":{"":[]}},"choices":[],"usage":{"prompt_tokens":7}}',
	'top-scalar' => '"a"',
);
for my $n (sort keys %scan_edges) {
	seed('fuzz_json_scan', $n, $paths . $scan_edges{$n});
}

# fuzz_tokens: chat requests and texts of every kind of the corpus
for my $f (sort glob("$here/../tokens/requests/*.json")) {
	seed('fuzz_tokens', 'request-' . basename($f), slurp($f));
}
for my $dir (sort glob("$here/../tokens/corpus/*")) {
	my ($f) = sort glob("$dir/*");
	next unless defined $f;
	seed('fuzz_tokens', 'text-' . basename($dir) . '-' . basename($f),
		substr(slurp($f), 0, 2048));
}
seed('fuzz_tokens', 'invalid-utf8',
	"\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80 abc\xe2\x80\x8d\xf0\x9f");
seed('fuzz_tokens', 'bad-max-tokens',
	'{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}');
seed('fuzz_tokens', 'bad-message',
	'{"model":"m","messages":[{"role":"user","content":"x"},{"content":1}]}');

# fuzz_request_fields: an odd byte, then a request body; or an even byte,
# the JSON type (as in json_scan.h: 3 string, 4 integer, 5 real, 6 true,
# 7 false, 8 null), the name's length, the name, the number's text
for my $file (qw(req_openai.json refusals.json bad_requests.json)) {
	for my $cb (cases($file)) {
		my ($c, $body) = @$cb;
		seed('fuzz_request_fields', "$file-$c->{name}", "\x01" . $body);
	}
}
for my $f (sort glob("$here/../tokens/requests/*.json")) {
	seed('fuzz_request_fields', 'tokens-' . basename($f), "\x01" . slurp($f));
}
my %field_edges = (
	'n-16' => [4, 'n', '16'],
	'n-17' => [4, 'n', '17'],
	'n-0' => [4, 'n', '0'],
	'n-minus' => [4, 'n', '-1'],
	'n-leading-zeros' => [4, 'n', '0000000000000000000002'],
	'n-huge' => [4, 'n', '18446744073709551617'],
	'n-real' => [5, 'n', '2.0'],
	'n-null' => [8, 'n', ''],
	'n-string' => [3, 'n', ''],
	'stream-true' => [6, 'stream', ''],
	'stream-false' => [7, 'stream', ''],
	'stream-integer' => [4, 'stream', '1'],
	'store' => [6, 'store', ''],
	'nul-in-name' => [3, "model\0", ''],
	'prefix' => [3, 'mode', ''],
	'empty-name' => [3, '', ''],
);
for my $n (sort keys %field_edges) {
	my ($type, $name, $number) = @{ $field_edges{$n} };
	seed('fuzz_request_fields', "field-$n",
		pack('CCC', 0, $type, length($name)) . $name . $number);
}
for my $b ('{"model":"m","messages":[],"n":3,"stream":false}',
	'{"model":"m","n":1e1,"stream":null}',
	'{"model":"m","stream":true}', '{"model":"m","n":99}',
	'{"model":"m","service_tier":"flex"}', '[]') {
	seed('fuzz_request_fields', 'body-' . $b, "\x01" . $b);
}

# fuzz_json_schema: schema, NUL, instance; the first two groups of every
# file of the JSON Schema Test Suite (their first test), plus edge cases
for my $f (sort glob("$fixtures/json-schema-test-suite/draft2020-12/*.json")) {
	my $groups = decode_json(slurp($f));
	for my $g (0 .. 1) {
		next unless $groups->[$g];
		my $t = $groups->[$g]{tests}[0];
		seed('fuzz_json_schema', basename($f, '.json') . "-$g",
			$json->encode($groups->[$g]{schema}) . "\0" .
			JSON::PP->new->canonical->allow_nonref->encode($t->{data}));
	}
}
my %schema_edges = (
	'blowup' => '{"$ref":"#/$defs/a","$defs":{"a":{"anyOf":[{"$ref":"#/$defs/b"},{"$ref":"#/$defs/b"}]},"b":{"anyOf":[{"$ref":"#/$defs/c"},{"$ref":"#/$defs/c"}]},"c":false}}' . "\0" . '1',
	'cycle' => '{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"allOf":[{"$ref":"#/$defs/a"}]}}}' . "\0" . '{}',
	'recursive' => '{"items":{"$ref":"#"},"maxItems":2}' . "\0" . '[[[[[]]]],[]]',
	'patterns' => '{"patternProperties":{"^[\\\\w-]+$":{"pattern":"^(?:a|b)+?\\\\d{2,}$"}},"propertyNames":{"maxLength":3}}' . "\0" . '{"ab":"ab12","a-b":"x"}',
	'numbers' => '{"multipleOf":0.1,"exclusiveMaximum":1e308,"minimum":-9223372036854775807}' . "\0" . '0.30000000000000004',
	'unique' => '{"uniqueItems":true,"items":{"const":{"a":[1.0]}}}' . "\0" . '[{"a":[1]},{"a":[1.0]}]',
);
for my $n (sort keys %schema_edges) {
	seed('fuzz_json_schema', $n, $schema_edges{$n});
}
