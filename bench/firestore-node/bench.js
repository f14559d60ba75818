// The official Node client (@google-cloud/firestore, pinned in package.json) under the load
// `connpool bench firestore` applies: C concurrent callers looping get / set / query
// (`where city == X`, limit 10) for D seconds against the emulator, after a warm-up.
// Prints one JSON object per op: ops/s and this process's CPU time per op (process.cpuUsage:
// user + system, every thread of the process). Results are checked like the C++ bench does: a get
// must return the seeded fields, a query only documents of the asked city; a mismatch counts as
// an error and makes the exit code 1.
//
// Usage: FIRESTORE_EMULATOR_HOST=127.0.0.1:8080 node bench.js [--op get|set|query|all]
//          [--concurrency 32] [--duration 8] [--warmup 2] [--docs 100] [--project p]
//          [--collection connpool_bench_node]
'use strict';

const { Firestore } = require('@google-cloud/firestore');

const CITIES = ['Paris', 'Oslo', 'Lima', 'Kyiv'];

function parseArgs(argv) {
  const o = { op: 'all', concurrency: 32, duration: 8, warmup: 2, docs: 100,
              project: process.env.GOOGLE_CLOUD_PROJECT || 'connpool-bench',
              collection: 'connpool_bench_node' };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    const val = argv[i + 1];
    if (!(key in o) || val === undefined) throw new Error(`bench.js: unknown or valueless option ${argv[i]}`);
    o[key] = typeof o[key] === 'number' ? Number(val) : val;
    if (typeof o[key] === 'number' && !(o[key] > 0)) throw new Error(`bench.js: --${key} must be > 0`);
  }
  if (!['get', 'set', 'query', 'all'].includes(o.op)) throw new Error(`bench.js: --op ${o.op}: get, set, query or all`);
  return o;
}

function docFields(i) {
  return { n: i, city: CITIES[i % 4], score: i * 0.5, tags: ['a', 'b'], payload: 'x'.repeat(100) };
}

async function seed(db, o) {
  const batch = db.batch();
  for (let i = 0; i < o.docs; ++i) batch.set(db.collection(o.collection).doc(`d${i}`), docFields(i));
  await batch.commit();
}

// One operation; returns an error text when the result is wrong.
async function once(db, o, op, i) {
  const col = db.collection(o.collection);
  if (op === 'get') {
    const snap = await col.doc(`d${i}`).get();
    if (!snap.exists) return `d${i} missing`;
    const d = snap.data();
    if (d.n !== i || d.city !== CITIES[i % 4] || d.payload.length !== 100) return `d${i} has wrong fields`;
  } else if (op === 'set') {
    await col.doc(`w${i}`).set(docFields(i));
  } else {
    const city = CITIES[i % 4];
    const snap = await col.where('city', '==', city).limit(10).get();
    if (snap.size !== Math.min(10, Math.ceil((o.docs - (i % 4)) / 4))) return `query ${city}: ${snap.size} documents`;
    for (const d of snap.docs) if (d.get('city') !== city) return `query ${city} returned ${d.get('city')}`;
  }
  return null;
}

async function runOp(db, o, op) {
  let stop = false, record = false, ops = 0, errors = 0, firstError = null;
  const worker = async (seedValue) => {
    let x = seedValue;
    while (!stop) {
      x = (x * 48271) % 2147483647;  // minstd, as the C++ bench
      const i = x % o.docs;
      let err;
      try { err = await once(db, o, op, i); } catch (e) { err = String(e.message || e); }
      if (!record) continue;
      ++ops;
      if (err) { ++errors; if (!firstError) firstError = err; }
    }
  };
  const workers = [];
  for (let w = 0; w < o.concurrency; ++w) workers.push(worker(1234 + w));
  await new Promise((r) => setTimeout(r, o.warmup * 1000));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  record = true;
  await new Promise((r) => setTimeout(r, o.duration * 1000));
  record = false;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  stop = true;
  await Promise.all(workers);
  const cpuUs = cpu.user + cpu.system;
  return { client: 'node', op, concurrency: o.concurrency, duration_s: elapsed, ops,
           ops_per_sec: ops / elapsed, cpu_us_per_op: ops ? cpuUs / ops : 0, errors,
           first_error: firstError };
}

async function main() {
  const o = parseArgs(process.argv);
  if (!process.env.FIRESTORE_EMULATOR_HOST) throw new Error('bench.js: set FIRESTORE_EMULATOR_HOST');
  const db = new Firestore({ projectId: o.project });
  await seed(db, o);
  let failed = false;
  for (const op of o.op === 'all' ? ['get', 'set', 'query'] : [o.op]) {
    const r = await runOp(db, o, op);
    if (r.errors) failed = true;
    console.log(JSON.stringify(r));
  }
  await db.terminate();
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(2); });
