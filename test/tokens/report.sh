#!/usr/bin/env bash
# report.sh
#   Measures src/tokens.c against the committed reference counts and prints
#   the result as Markdown tables (the measurement section of
#   docs/token-estimation.md).
#
# Usage: report.sh            print the tables
#        report.sh --update   rewrite the generated section of the doc
#        report.sh --check    fail if that section is out of date
#        report.sh --speed    print the estimator's throughput on this machine
#        report.sh --fit      refit the feature costs of src/tokens.c to the
#                             corpus and print them (paste into tokens.c)
#
# Needs a C compiler and libjansson-dev; no network.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
doc="$root/docs/token-estimation.md"
begin='<!-- BEGIN report.sh output: do not edit by hand -->'
end='<!-- END report.sh output -->'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

${CC:-cc} -std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE -I"$root/src" \
	-o "$work/report" "$here/report.c" \
	$(pkg-config --cflags --libs jansson)

run() { "$work/report" "$here" "$root/test/fixtures/openai-captures" "$@"; }

# The doc with its generated section replaced by the current tables.
regenerate() {
	run >"$work/tables.md"
	awk -v begin="$begin" -v end="$end" -v tables="$work/tables.md" '
		$0 == begin { print; while ((getline line < tables) > 0) print line; skip = 1; next }
		$0 == end { skip = 0 }
		!skip { print }
	' "$doc"
}

case "${1:-}" in
	"") run ;;
	--speed) run --speed ;;
	--fit) run --fit ;;
	--update)
		grep -qxF "$begin" "$doc" || { echo "no generated section in $doc" >&2; exit 1; }
		regenerate >"$work/doc.md"
		cp "$work/doc.md" "$doc"
		;;
	--check)
		regenerate >"$work/doc.md"
		if ! diff -u "$doc" "$work/doc.md"; then
			echo "docs/token-estimation.md is out of date: run test/tokens/report.sh --update" >&2
			exit 1
		fi
		;;
	*) echo "usage: $0 [--update|--check|--speed|--fit]" >&2; exit 2 ;;
esac
