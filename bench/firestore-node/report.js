// Reads the JSON lines compare.sh collected and prints, per op, the median ops/s and CPU µs/op
// of each client over the rounds and the two ratios the target is stated in (issue #19:
// connpool CPU/op <= 1/10 of Node's, throughput >= 3x).
'use strict';
const fs = require('fs');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const ops = [...new Set(rows.map((r) => r.op))];
let errors = 0;
console.log('| op | rounds | Node ops/s | connpool ops/s | throughput ratio | Node CPU µs/op | connpool CPU µs/op | CPU ratio (Node / connpool) |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const op of ops) {
  const pick = (client) => rows.filter((r) => r.op === op && r.client === client);
  const node = pick('node');
  const cp = pick('connpool');
  for (const r of [...node, ...cp]) errors += r.errors;
  const nOps = median(node.map((r) => r.ops_per_sec));
  const cOps = median(cp.map((r) => r.ops_per_sec));
  const nCpu = median(node.map((r) => r.cpu_us_per_op));
  const cCpu = median(cp.map((r) => r.cpu_us_per_op));
  const all = (rs, k) => rs.map((r) => r[k].toFixed(0)).join(' / ');
  console.log(`| ${op} | ${Math.min(node.length, cp.length)} | ${nOps.toFixed(0)} (${all(node, 'ops_per_sec')}) | ` +
    `${cOps.toFixed(0)} (${all(cp, 'ops_per_sec')}) | ${(cOps / nOps).toFixed(2)}x | ` +
    `${nCpu.toFixed(0)} (${all(node, 'cpu_us_per_op')}) | ${cCpu.toFixed(1)} (${all(cp, 'cpu_us_per_op')}) | ` +
    `${(nCpu / cCpu).toFixed(1)}x |`);
}
if (errors) {
  console.log(`errors: ${errors} (see the raw results)`);
  process.exitCode = 1;
}
