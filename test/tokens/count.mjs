// count.mjs
//   Writes the reference token counts that test/unit/test_tokens.c and
//   test/tokens/report.sh compare src/tokens.c against.
//
// Usage: node count.mjs TOKENS_DIR TOKENS_H
//   TOKENS_DIR  this folder (test/tokens): reads corpus/<kind>/<file> and
//               requests/*.json, writes counts.tsv and request-counts.tsv.
//   TOKENS_H    src/tokens.h, whose AIGOV_TOKENS_* cost constants the request
//               references use, so the C estimator and its reference share
//               one definition of the accounting.
//
// Needs the npm package gpt-tokenizer in a node_modules folder beside the
// script; regen-counts.sh installs it into a temporary folder and runs a copy
// of this script from there.
// The counts are exact BPE counts: o200k_base (gpt-4o, gpt-4.1, gpt-5, o-series)
// and cl100k_base (gpt-4, gpt-3.5). Special-token strings in the samples are
// counted as ordinary text.

import { readFileSync, readdirSync, writeFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import * as o200k from 'gpt-tokenizer/encoding/o200k_base'
import * as cl100k from 'gpt-tokenizer/encoding/cl100k_base'

const [dir, tokensH] = process.argv.slice(2)
if (!dir || !tokensH) {
  console.error('usage: node count.mjs TOKENS_DIR TOKENS_H')
  process.exit(2)
}

const plain = { disallowedSpecial: new Set() }
const vocabularies = [
  (s) => o200k.encode(s, plain).length,
  (s) => cl100k.encode(s, plain).length,
]

// --- corpus: one row per sample -------------------------------------------

const rows = ['kind\tfile\tbytes\to200k\tcl100k']
const corpus = join(dir, 'corpus')
for (const kind of readdirSync(corpus).sort()) {
  for (const file of readdirSync(join(corpus, kind)).sort()) {
    const path = join(corpus, kind, file)
    const bytes = readFileSync(path)
    const text = bytes.toString('utf8')
    if (Buffer.from(text, 'utf8').compare(bytes) !== 0)
      throw new Error(`${path} is not valid UTF-8`)
    rows.push([kind, file, bytes.length, ...vocabularies.map((n) => n(text))].join('\t'))
  }
}
writeFileSync(join(dir, 'counts.tsv'), rows.join('\n') + '\n')

// --- requests: the accounting of src/tokens.c with exact text counts --------

// The cost constants, read from tokens.h (#define AIGOV_TOKENS_NAME value).
const K = {}
for (const m of readFileSync(tokensH, 'utf8').matchAll(/^#define\s+AIGOV_TOKENS_([A-Z_]+)\s+\(?(\d+)\)?\s*$/gm))
  K[m[1]] = Number(m[2])
for (const need of ['PER_MESSAGE', 'REPLY_PRIMING', 'PER_NAME', 'PER_TOOL_CALL',
  'TOOLS_BASE', 'PER_TOOL', 'RESPONSE_SCHEMA', 'IMAGE_LOW', 'IMAGE_HIGH'])
  if (!(need in K)) throw new Error(`AIGOV_TOKENS_${need} not found in ${tokensH}`)

const isString = (v) => typeof v === 'string'
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v)
const json = (v) => JSON.stringify(v)

function contentTokens(content, count) {
  if (content === null || content === undefined) return 0
  if (isString(content)) return count(content)
  if (!Array.isArray(content)) return count(json(content))
  let n = 0
  for (const part of content) {
    if (part && part.type === 'text' && isString(part.text)) n += count(part.text)
    else if (part && part.type === 'image_url')
      n += part.image_url && part.image_url.detail === 'low' ? K.IMAGE_LOW : K.IMAGE_HIGH
    else n += count(json(part))
  }
  return n
}

function functionTokens(fn, count) {
  let n = 0
  if (!isObject(fn)) return n
  if (isString(fn.name)) n += count(fn.name)
  if (isString(fn.description)) n += count(fn.description)
  if (fn.parameters !== undefined) n += count(json(fn.parameters))
  return n
}

function callTokens(call, count) {
  let n = K.PER_TOOL_CALL
  if (isString(call.name)) n += count(call.name)
  if (isString(call.arguments)) n += count(call.arguments)
  return n
}

function toolCallTokens(tc, count) {
  if (isObject(tc) && isObject(tc.function)) return callTokens(tc.function, count)
  return K.PER_TOOL_CALL + count(json(tc))
}

function requestTokens(body, count) {
  let n = K.REPLY_PRIMING
  for (const m of body.messages) {
    n += K.PER_MESSAGE + count(m.role) + contentTokens(m.content, count)
    if (isString(m.name)) n += K.PER_NAME + count(m.name)
    for (const tc of Array.isArray(m.tool_calls) ? m.tool_calls : [])
      n += toolCallTokens(tc, count)
    if (isObject(m.function_call)) n += callTokens(m.function_call, count)
  }
  const tools = [
    ...(Array.isArray(body.tools) ? body.tools : []).map((t) =>
      isObject(t) && t.type === 'function' && isObject(t.function) ? functionTokens(t.function, count) : count(json(t))),
    ...(Array.isArray(body.functions) ? body.functions : []).map((f) => functionTokens(f, count)),
  ]
  if (tools.length > 0)
    n += K.TOOLS_BASE + tools.reduce((a, t) => a + K.PER_TOOL + t, 0)
  const rf = body.response_format
  if (isObject(rf) && rf.type === 'json_schema' && isObject(rf.json_schema) && rf.json_schema.schema !== undefined)
    n += K.RESPONSE_SCHEMA + count(json(rf.json_schema.schema))
  return n
}

const reqRows = ['file\to200k\tcl100k']
const reqDir = join(dir, 'requests')
for (const file of readdirSync(reqDir).filter((f) => f.endsWith('.json')).sort()) {
  const path = join(reqDir, file)
  if (!statSync(path).isFile()) continue
  const body = JSON.parse(readFileSync(path, 'utf8'))
  reqRows.push([file, ...vocabularies.map((n) => requestTokens(body, n))].join('\t'))
}
writeFileSync(join(dir, 'request-counts.tsv'), reqRows.join('\n') + '\n')

console.log(`wrote ${rows.length - 1} corpus rows and ${reqRows.length - 1} request rows`)
