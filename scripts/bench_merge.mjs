// Merges benchmark numbers into bench/results.json (one flat JSON object: metric → number).
// Usage: node scripts/bench_merge.mjs name=value [name=value ...]
//    or: some-command | node scripts/bench_merge.mjs --stdin   (reads lines "BENCH name=value")
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'results.json');
const pairs = [];
const take = (s) => {
  const m = /^\s*(?:BENCH\s+)?([A-Za-z0-9_]+)=(-?[0-9.eE+-]+)\s*$/.exec(s);
  if (m && Number.isFinite(Number(m[2]))) pairs.push([m[1], Number(m[2])]);
};
if (process.argv.includes('--stdin')) {
  const text = readFileSync(0, 'utf8');
  for (const line of text.split('\n')) {
    const i = line.indexOf('BENCH ');
    if (i >= 0) take(line.slice(i));
  }
} else {
  process.argv.slice(2).forEach(take);
}
const results = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
for (const [k, v] of pairs) {
  results[k] = v;
  console.log(`${k} = ${v}`);
}
const sorted = Object.fromEntries(Object.keys(results).sort().map((k) => [k, results[k]]));
writeFileSync(file, JSON.stringify(sorted, null, 2) + '\n');
console.log(`merged ${pairs.length} metric(s) into bench/results.json`);
