#!/usr/bin/env bash
# test/format-check.sh: checks that the C code is formatted as pgindent
# (PostgreSQL 15) would format it, and that src/typedefs.list is complete.
#
#   test/format-check.sh               check: print a unified diff of what
#                                      would change; exit 1 if anything would
#   test/format-check.sh --fix         rewrite the files in place
#   test/format-check.sh --typedefs    print the typedef list given to indent
#   test/format-check.sh [--fix] FILE...   only these files
#
# pgindent is a Perl wrapper that ships only in PostgreSQL's source tree, so
# this script plays its part around pg_bsd_indent (Debian: pg-bsd-indent),
# the indenter pgindent drives: the same indent switches as REL_15's
# pgindent, the same kind of protection of comments before and repair
# after, and a typedef list built at run time from
#
#   1. src/typedefs.list, the extension's own typedefs (which must be
#      complete: the typedef check below fails on a missing name);
#   2. every typedef that the code's #includes bring into scope: the
#      PostgreSQL server headers, libc, curl, jansson, libmicrohttpd and
#      cmocka, taken from the preprocessed headers (gcc -E), so macros and
#      #ifdefs are resolved as in a real build;
#   3. the typedefs that the emulator's and the tests' own files define,
#      read from those files (they have no list of their own).
#
# indent must know every type name: an unknown one makes it format a
# declaration such as "Foo *x" as the expression "Foo * x".
#
# The typedef check reads every typedef that src/*.h and src/*.c define
# (typedef struct/enum/union ... Name; and function-pointer typedefs) and
# fails with the names missing from src/typedefs.list.  --fix refuses to
# run while names are missing, since it would then write "Foo * x".
#
# Exit status: 0 clean (or fixed), 1 a file would change or typedefs are
# missing, 2 the tools are missing or indent failed on a file.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
INDENT=${PG_BSD_INDENT:-pg_bsd_indent}
INDENT_VERSION=2.1.1

# REL_15 pgindent's switches for pg_bsd_indent, unchanged:
#   -bad -bap -bbb   blank lines after declarations, after procedures and
#                    before block comments
#   -bc -bl -nce     a newline after each comma in declarations; braces on
#                    their own line; no "} else"
#   -cli1 -cdb       case labels one indent in; comment delimiters on
#                    their own lines
#   -cp33 -d0 -nfc1  comments after #else/#endif in column 33; comments at
#                    the code's indent; first-column comments left alone
#   -di12 -i4 -ts4   declarations in column 12 (13th), 4-column indent and
#                    tabs
#   -l79 -lp -lpl    79 columns; continuation lines under the open paren
#   -nip -npro       no parameter indent; no .indent.pro
#   -sac -tpg        a space after casts; PostgreSQL's typedef handling
INDENT_OPTS=(-bad -bap -bbb -bc -bl -cli1 -cp33 -cdb -nce -d0 -di12 -nfc1
	-i4 -l79 -lp -lpl -nip -npro -sac -tpg -ts4)

# The files checked: the extension, its unit tests and fuzzers, and the
# emulator with its tests.  They are all C written to the house style; the
# emulator and the tests are not part of the extension but are read and
# changed by the same people, and a style that holds only in src/ drifts.
default_files() {
	(cd "$ROOT" && ls src/*.[ch] test/unit/*.[ch] test/fuzz/*.[ch] \
		emulator/*.[ch] emulator/test/*.[ch] 2>/dev/null)
}

# Names that must never be treated as types even when a header typedefs
# them, because code uses them as ordinary identifiers: pgindent's own list,
# plus "text", PostgreSQL's type, which this code never declares (no
# "text *") but uses everywhere as a variable and function name; as a type
# it turns "text = malloc(n)" into a declaration.  Added: "bool", a macro
# in <stdbool.h>, and the compiler's "__int128"; both must be types.
EXCLUDED_TYPEDEFS="ANY FD_SET U abs allocfunc boolean date digit ilist
interval iterator other pointer printfunc reference string text timestamp
type wrap"
EXTRA_TYPEDEFS="bool __int128"

usage() {
	sed -n '2,35p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

MODE=check
FILES=()
while [ $# -gt 0 ]; do
	case $1 in
		--fix) MODE=fix ;;
		--typedefs) MODE=typedefs ;;
		-h|--help) usage 0 ;;
		-*) echo "format-check: unknown option $1" >&2; usage 2 ;;
		*) FILES+=("$1") ;;
	esac
	shift
done

cd "$ROOT" || exit 2
if [ ${#FILES[@]} -eq 0 ]; then
	mapfile -t FILES < <(default_files)
fi

if ! command -v "$INDENT" >/dev/null; then
	echo "format-check: $INDENT not found (Debian: apt-get install pg-bsd-indent)" >&2
	exit 2
fi
if ! "$INDENT" --version 2>&1 | grep -q " $INDENT_VERSION "; then
	echo "format-check: need pg_bsd_indent $INDENT_VERSION (PostgreSQL 15's), have: $("$INDENT" --version 2>&1)" >&2
	exit 2
fi

TMP=$(mktemp -d /tmp/aigov-format.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# extract_typedefs FILE...: prints the name of every typedef defined in the
# files, one per line.  Works on plain sources and on gcc -E output alike:
# comments, string and character literals and preprocessor lines are
# dropped first, then each "typedef ... ;" is cut into its declarators.
# A declarator's name is the identifier in "(*name)" for a function
# pointer, the one before "(" for a function type, else its last
# identifier (after dropping [...] and attributes).
extract_typedefs() {
	perl -e '
use strict;
use warnings;

my %keyword = map { $_ => 1 } qw(
  auto break case char const continue default do double else enum extern
  float for goto if inline int long register restrict return short signed
  sizeof static struct switch typedef union unsigned void volatile while
  _Bool _Complex _Atomic __restrict __restrict__ __const __inline
  __extension__ __signed__ __volatile__);

# Removes balanced "(...)" groups that follow a match of $re in $s.
sub drop_call
{
	my ($s, $re) = @_;
	while ($s =~ /$re\s*\(/g)
	{
		my $start = $-[0];
		my $pos = $+[0];
		my $depth = 1;
		while ($depth > 0 && $pos < length($s))
		{
			my $c = substr($s, $pos++, 1);
			$depth++ if $c eq "(";
			$depth-- if $c eq ")";
		}
		substr($s, $start, $pos - $start) = " ";
		pos($s) = $start;
	}
	return $s;
}

# The name a declarator gives, or undef.
sub declarator_name
{
	my $d = shift;
	1 while $d =~ s/\[[^\[\]]*\]/ /g;
	return $1 if $d =~ /\(\s*[*^]\s*(?:(?:const|volatile|__restrict|restrict)\s+)*(\w+)/;
	return $1 if $d =~ /\(\s*(\w+)\s*\)\s*\(/;
	return $1 if $d =~ /(\w+)\s*\(/;
	my @ids = $d =~ /([A-Za-z_]\w*)/g;
	return $ids[-1];
}

my %seen;
local $/;
for my $file (@ARGV)
{
	open(my $fh, "<", $file) or die "cannot read $file: $!\n";
	my $src = <$fh>;
	close($fh);

	# Comments, literals and preprocessor lines (with their continuations).
	$src =~ s{/\*.*?\*/|//[^\n]*|("(?:\\.|[^"\\\n])*")|(\x27(?:\\.|[^\x27\\\n])*\x27)}
		{ defined $1 ? "\"\"" : defined $2 ? "0" : " " }gse;
	$src =~ s/^[ \t]*#(?:[^\n]*\\\n)*[^\n]*//gm;

	while ($src =~ /\btypedef\b/g)
	{
		my $pos = $+[0];
		my ($depth, $body_end, $end) = (0, -1, undef);
		for (my $i = $pos; $i < length($src); $i++)
		{
			my $c = substr($src, $i, 1);
			if ($c =~ /[({\[]/) { $depth++; }
			elsif ($c =~ /[)}\]]/)
			{
				$depth--;
				$body_end = $i + 1 if $c eq "}" && $depth == 0;
			}
			elsif ($c eq ";" && $depth == 0) { $end = $i; last; }
		}
		last unless defined $end;
		my $decl = substr($src, $pos, $end - $pos);
		my $first_is_type = 1;
		if ($body_end > 0)
		{
			$decl = substr($src, $body_end, $end - $body_end);
			$first_is_type = 0;
		}
		$decl = drop_call($decl, qr/\b(?:__attribute__|__attribute|__asm__|__asm|asm|pg_attribute_\w+|__typeof__|typeof|__declspec|_Alignas|alignas)\b/);
		$decl =~ s/\bpg_attribute_\w+\b/ /g;

		# Split at commas outside parentheses.
		my @parts;
		my ($cur, $d) = ("", 0);
		for my $c (split //, $decl)
		{
			$d++ if $c eq "(";
			$d-- if $c eq ")";
			if ($c eq "," && $d == 0) { push @parts, $cur; $cur = ""; next; }
			$cur .= $c;
		}
		push @parts, $cur;

		for my $p (@parts)
		{
			my $name = declarator_name($p);
			next unless defined $name && !$keyword{$name};
			print "$name\n" unless $seen{$name}++;
		}
		pos($src) = $end + 1;
	}
}
' "$@"
}

# The typedefs in scope of the code: every header named in an #include of
# the checked files (and of src/), preprocessed as one translation unit.
# PostgreSQL's headers come after postgres.h, as in a glue file; library
# headers after the C headers cmocka and libmicrohttpd need before them.
scope_typedefs() {
	local tu=$TMP/scope.c server
	server=$("$PG_CONFIG" --includedir-server) || return 1
	{
		printf '#include <stdarg.h>\n#include <stddef.h>\n#include <stdint.h>\n'
		printf '#include <setjmp.h>\n#include <sys/types.h>\n#include <sys/socket.h>\n'
		sed -n 's/^[ \t]*#[ \t]*include[ \t]*\(<[^>]*>\).*/#include \1/p' \
			"${FILES[@]}" src/*.[ch] | sort -u
		printf '#include "postgres.h"\n'
		sed -n 's/^[ \t]*#[ \t]*include[ \t]*"\([^"]*\)".*/\1/p' \
			"${FILES[@]}" src/*.[ch] | sort -u |
			while read -r h; do
				[ -f "$server/$h" ] && printf '#include "%s"\n' "$h"
			done
	} >"$tu"
	# shellcheck disable=SC2046
	gcc -E -D_GNU_SOURCE -I"$server" \
		$(pkg-config --cflags libcurl jansson libmicrohttpd cmocka 2>/dev/null) \
		"$tu" -o "$TMP/scope.i" 2>"$TMP/scope.err" || {
		echo "format-check: could not preprocess the included headers:" >&2
		cat "$TMP/scope.err" >&2
		return 1
	}
	extract_typedefs "$TMP/scope.i"
}

# Builds $TMP/typedefs, the list given to indent.
build_typedef_list() {
	local other=() f
	for f in "${FILES[@]}"; do
		case $f in src/*) ;; *) other+=("$f") ;; esac
	done
	{
		grep -v '^[[:space:]]*\(#.*\)\{0,1\}$' src/typedefs.list
		scope_typedefs || return 1
		[ ${#other[@]} -gt 0 ] && extract_typedefs "${other[@]}"
		printf '%s\n' $EXTRA_TYPEDEFS
	} | grep -vxF -f <(printf '%s\n' $EXCLUDED_TYPEDEFS) |
		sort -u >"$TMP/typedefs"
}

# Prints the typedefs that src/ defines but src/typedefs.list lacks.
missing_typedefs() {
	extract_typedefs src/*.h src/*.c | sort -u >"$TMP/defined"
	grep -v '^[[:space:]]*\(#.*\)\{0,1\}$' src/typedefs.list | sort -u >"$TMP/listed"
	comm -23 "$TMP/defined" "$TMP/listed"
}

# Before indent (pre.pl):
# - "//" comments at the start of a line become "/* */" (the house style
#   allows only the latter);
# - a block comment opened as "/* ---" gets the "/*-" that tells indent to
#   keep a comment as written, so a dashed box keeps its lines; a marker
#   lets the space come back afterwards;
# - byte 0x80 becomes 0x1A: pg_bsd_indent 2.1.1 turns a 0x80 inside a
#   string literal into "35", which corrupts UTF-8 text such as "速"
#   (E9 80 9F).  One byte for one keeps every column count unchanged.
# REL_15's pgindent also shields extern "C" braces and CATALOG() lines;
# neither occurs in this C-only, catalog-free code.
write_filters() {
	cat >"$TMP/pre.pl" <<'PERL'
undef $/;
$_ = <STDIN>;
die "contains byte 0x1A, which the 0x80 guard uses\n" if /\x1a/;
s{^([ \t]*)//(.*)$}{$1/* $2 */}gm;
s{/\* +---}{/*-AIGOV_DASH--}g;
tr/\x80/\x1a/;
print;
PERL
	# After indent (post.pl):
	# - the 0x80 guard and the dash marker are undone;
	# - a comment that indent ran into the previous one's "*/" gets a tab;
	# - a function's return type on its own line loses the declaration
	#   alignment indent gave it ("char\t   *" becomes "char *");
	# - a designated initializer after a comma gets back the space indent
	#   takes away ("{.a = 1,.b = 2}" becomes "{.a = 1, .b = 2}");
	# - the continuation lines of a declaration's initializer get back the
	#   one extra indent the code uses everywhere; pg_bsd_indent 2.1.1
	#   puts them at the declaration's own indent (statements keep theirs):
	#       bool        ok = a ||
	#           b;
	#   In indent's output, a line inside a function at the same indent as
	#   the line before it, when that line starts a statement and ends
	#   outside any parenthesis in an operator, "=", "?", ":" (not a
	#   label) or a string literal, can only be such a continuation; it
	#   and the rest of the declaration move one tab.
	#   At file scope the code keeps indent's layout.
	cat >"$TMP/post.pl" <<'PERL'
undef $/;
$_ = <STDIN>;
tr/\x1a/\x80/;
s{/\*-AIGOV_DASH--}{/* ---}g;
s{\*/(/\*.*\*/)$}{*/\t$1}gm;
s{^([A-Za-z_]\S*)[ \t]+\*$}{$1 *}gm;
s{("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|/\*.*?\*/)|,\.([A-Za-z_])}
	{defined $1 ? $1 : ", .$2"}gse;

my @lines = split /\n/, $_, -1;
my @code;						# each line without comments and literals
my $in_comment = 0;
for my $line (@lines)
{
	my $c = $line;
	my $out = "";
	while (length $c)
	{
		if ($in_comment)
		{
			if ($c =~ s{^.*?\*/}{}) { $in_comment = 0; $out .= " "; }
			else { $c = ""; }
		}
		elsif ($c =~ s{^("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')}{}) { $out .= '""'; }
		elsif ($c =~ s{^/\*}{}) { $in_comment = 1; }
		else { $out .= substr($c, 0, 1, ""); }
	}
	push @code, $out;
}

# Parenthesis depth at the end of each line.
my @depth;
my $d = 0;
for my $c (@code)
{
	unless ($c =~ /^\s*#/)
	{
		$d += () = $c =~ /\(/g;
		$d -= () = $c =~ /\)/g;
	}
	push @depth, $d;
}

my $lead = sub { $_[0] =~ /^([ \t]*)/; return $1; };
for (my $i = 0; $i + 1 < @lines; $i++)
{
	my $p = $code[$i];
	next if $p =~ /^\s*#/ || $p =~ /^\s*$/ || $p !~ /^\s/;
	next if $depth[$i] != 0;
	next unless $p =~ /(?:[-+*\/%&|^<>=?:"]|&&|\|\|)\s*$/;
	next if $p =~ /(?:->|\+\+|--)\s*$/;
	next if $p =~ /^\s*(?:case\b|default\b|[A-Za-z_]\w*\s*:\s*$)/;

	# P must start its statement: the code before it ended one.
	my $k = $i - 1;
	$k-- while $k >= 0 && $code[$k] =~ /^\s*$/;
	next if $k >= 0 && $code[$k] !~ /(?:[;{}:]\s*|^\s*#.*)$/;
	my $ind = $lead->($lines[$i]);
	my $n = $lines[$i + 1];
	next if $n =~ /^\s*$/ || $code[$i + 1] =~ /^\s*(?:#|\{|\})/;
	next unless $lead->($n) eq $ind && $code[$i + 1] =~ /\S/;
	for (my $j = $i + 1; $j < @lines; $j++)
	{
		last if $lines[$j] =~ /^\s*$/;
		last if length($lead->($lines[$j])) < length($ind);
		$lines[$j] = "\t" . $lines[$j];
		$i = $j;
		last if $code[$j] =~ /[;{}]\s*$/;
	}
}
print join("\n", @lines);
PERL
}

# indent_file IN OUT: OUT is IN as this pgindent would leave it.
indent_file() {
	local in=$1 out=$2
	perl "$TMP/pre.pl" <"$in" >"$TMP/pre.c" || {
		echo "format-check: $in: could not prepare it for indent" >&2
		return 2
	}
	if ! "$INDENT" "${INDENT_OPTS[@]}" -U"$TMP/typedefs" "$TMP/pre.c" \
		"$TMP/post.c" >"$TMP/indent.err" 2>&1 || [ -s "$TMP/indent.err" ]; then
		echo "format-check: pg_bsd_indent failed on $in:" >&2
		sed 's/^/  /' "$TMP/indent.err" >&2
		return 2
	fi
	perl "$TMP/post.pl" <"$TMP/post.c" >"$out" || return 2
}

build_typedef_list || exit 2
write_filters
if [ "$MODE" = typedefs ]; then
	cat "$TMP/typedefs"
	exit 0
fi

status=0
mapfile -t MISSING < <(missing_typedefs)
if [ ${#MISSING[@]} -gt 0 ]; then
	echo "format-check: typedefs defined in src/ but missing from src/typedefs.list:" >&2
	printf '  %s\n' "${MISSING[@]}" >&2
	if [ "$MODE" = fix ]; then
		echo "format-check: add them first; --fix would format them as variables" >&2
		exit 1
	fi
	status=1
fi
stale=$(comm -13 "$TMP/defined" "$TMP/listed" | tr '\n' ' ')
[ -n "$stale" ] &&
	echo "format-check: warning: src/typedefs.list names typedefs src/ no longer defines: $stale" >&2

changed=0
failed=0
lines=0
for f in "${FILES[@]}"; do
	if ! indent_file "$f" "$TMP/out.c"; then
		failed=$((failed + 1))
		status=2
		continue
	fi
	cmp -s "$f" "$TMP/out.c" && continue
	changed=$((changed + 1))
	if [ "$MODE" = fix ]; then
		cat "$TMP/out.c" >"$f"
		echo "format-check: reformatted $f" >&2
	else
		diff -u --label "a/$f" --label "b/$f" "$f" "$TMP/out.c" | tee "$TMP/diff"
		lines=$((lines + $(grep -c '^[-+][^-+]\|^[-+]$' "$TMP/diff")))
		[ $status -eq 0 ] && status=1
	fi
done

if [ "$MODE" = fix ]; then
	echo "format-check: $changed of ${#FILES[@]} files reformatted" >&2
elif [ $changed -gt 0 ]; then
	echo "format-check: $changed of ${#FILES[@]} files would change ($lines lines removed or added); run test/format-check.sh --fix" >&2
else
	echo "format-check: $((${#FILES[@]} - failed)) files formatted as pgindent would" >&2
fi
[ $failed -gt 0 ] &&
	echo "format-check: indent could not read $failed file(s); rewrite the code it stops at" >&2
exit $status
