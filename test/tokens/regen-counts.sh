#!/usr/bin/env bash
# regen-counts.sh
#   Regenerates counts.tsv and request-counts.tsv, the reference BPE token
#   counts of the corpus and of the request bodies, with the npm package
#   gpt-tokenizer (o200k_base and cl100k_base vocabularies).
#
# The package is installed into a temporary folder that is removed on exit;
# nothing is installed into the repository. Needs node and npm with access to
# the npm registry. Run it after editing the corpus, the request bodies or the
# AIGOV_TOKENS_* cost constants in src/tokens.h, and commit the two .tsv files.
set -euo pipefail

# Pinned so that regenerating twice gives the same counts.
GPT_TOKENIZER_VERSION=4.0.0

here=$(cd "$(dirname "$0")" && pwd)
tokens_h=$(cd "$here/../../src" && pwd)/tokens.h
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" &&
	npm install --silent --no-save --no-package-lock --no-audit --no-fund \
		--ignore-scripts "gpt-tokenizer@$GPT_TOKENIZER_VERSION" >/dev/null)
# ES modules resolve packages next to the script, so run a copy from there.
cp "$here/count.mjs" "$work/count.mjs"
node "$work/count.mjs" "$here" "$tokens_h"
