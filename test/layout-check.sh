#!/usr/bin/env bash
# test/layout-check.sh: holds src/ to the house limits on size, and
# docs/architecture.md's file map to the tree.
#
# A C file over MAX_FILE_LINES lines, or a function over MAX_FUNC_LINES
# (from its opening to its closing brace), holds more than one concern and
# is to be split before it grows further.  The one exception is listed in
# LONG_OK with its reason.  Functions are found in pgindent layout: the
# name at the start of a line, the braces alone in column 0.  Prints each
# offender and exits 1 if there is any.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

MAX_FILE_LINES=1000
MAX_FUNC_LINES=150
# file:function, each with the reason it stays whole
LONG_OK=(
	# a lexer: its states are the cases of one loop over the characters,
	# and splitting it would hand every run's state across calls
	"src/tokens.c:scan_text"
)

bad=0
for f in src/*.c; do
	n=$(wc -l <"$f")
	if [ "$n" -gt "$MAX_FILE_LINES" ]; then
		echo "$f: $n lines (limit $MAX_FILE_LINES)"
		bad=1
	fi
	while read -r name len; do
		ok=0
		for allowed in "${LONG_OK[@]}"; do
			[ "$allowed" = "$f:$name" ] && ok=1
		done
		if [ "$ok" = 0 ]; then
			echo "$f: function $name is $len lines (limit $MAX_FUNC_LINES)"
			bad=1
		fi
	done < <(awk -v max="$MAX_FUNC_LINES" '
		/^[A-Za-z_][A-Za-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name) }
		/^\{/ { start = NR }
		/^\}/ { if (start && NR - start + 1 > max) print name, NR - start + 1; start = 0 }
	' "$f")
done

# The file map: every row of the table under "Where each piece lives"
# that names .c files; each src/*.c must be named there, and each name
# there must exist.
mapped=$(awk '/^## Where each piece lives/ {on = 1; next} /^## / {on = 0}
	on && /^\| `/' docs/architecture.md | cut -d'|' -f2 |
	grep -oE '[a-z_]+\.c' | sort -u)
for f in src/*.c; do
	grep -qx "$(basename "$f")" <<<"$mapped" || {
		echo "$f: missing from docs/architecture.md's file map"
		bad=1
	}
done
for name in $mapped; do
	[ -f "src/$name" ] || {
		echo "docs/architecture.md's file map names src/$name, which does not exist"
		bad=1
	}
done
[ "$bad" = 0 ] && echo "layout: every file and function within the limits; the file map matches src/"
exit $bad
