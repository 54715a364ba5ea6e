// gen-encoded.mjs
//   Writes the samples of corpus/encoded/: base64, JWT-like headers, hashes,
//   UUIDs in a log, URLs with query strings, CSV and random keys. The bytes
//   come from a fixed-seed generator, so running it again rewrites the same
//   files. Plain node, no packages: node gen-encoded.mjs
//   (Then run regen-counts.sh if anything changed.)

import { writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const out = join(dirname(fileURLToPath(import.meta.url)), 'corpus', 'encoded')

// A linear congruential generator: reproducible, and random enough to look
// like keys and ciphertext to a tokenizer.
let seed = 20240318
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
const bytes = (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)))
const pick = (s, n) => Array.from({ length: n }, () => s[Math.floor(rnd() * s.length)]).join('')
const hex = (n) => pick('0123456789abcdef', n)
const wrap = (s, w) => s.match(new RegExp(`.{1,${w}}`, 'g')).join('\n')
const write = (name, text) => writeFileSync(join(out, name), text + '\n')

write('base64-binary.txt', wrap(bytes(600).toString('base64'), 76))
write('base64-text.txt', Buffer.from('The quarterly report is attached. Revenue grew in every region except the north, where shipping costs rose sharply after the carrier changed its pricing in February.').toString('base64'))

const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
const jwts = []
for (let i = 0; i < 3; i++)
  jwts.push(`Authorization: Bearer ${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: `user-${1000 + i}`, tenant: 'acme', iat: 1710750000 + i * 60, scope: 'chat:write' })}.${bytes(32).toString('base64url')}`)
write('jwt-headers.txt', jwts.join('\n'))

const hashes = []
for (let i = 0; i < 12; i++)
  hashes.push(`sha256:${createHash('sha256').update('layer' + i).digest('hex')}  layer-${i}.tar.gz`)
write('sha256-list.txt', hashes.join('\n'))

const jobs = []
for (let i = 0; i < 12; i++)
  jobs.push(`2024-03-18T10:${String(10 + i).padStart(2, '0')}:0${i % 10}Z job=${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)} state=${['queued', 'in_flight', 'succeeded'][i % 3]}`)
write('uuid-log.txt', jobs.join('\n'))

const urls = []
for (let i = 0; i < 10; i++)
  urls.push(`https://api.example.com/v2/tenants/${hex(6)}/jobs?state=${['queued', 'failed'][i % 2]}&page=${i + 1}&per_page=50&cursor=${bytes(9).toString('base64url')}&sort=-created_at`)
write('urls.txt', urls.join('\n'))

const rows = ['sku,warehouse,on_hand,reserved,unit_cost,last_count']
for (let i = 0; i < 25; i++)
  rows.push(`KT-${1000 + i * 7},WH${1 + (i % 4)},${Math.floor(rnd() * 900)},${Math.floor(rnd() * 40)},${(rnd() * 120).toFixed(2)},2024-0${1 + (i % 3)}-${String(1 + i).padStart(2, '0')}`)
write('inventory.csv.txt', rows.join('\n'))

// Fake credentials in a config file ("test_" keys, not any provider's format).
const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const keys = []
for (let i = 0; i < 10; i++)
  keys.push(`key_${i}: "test_${pick(alnum, 32)}"  # rotated ${2 + i} days ago`)
write('fake-keys.yaml.txt', keys.join('\n'))
