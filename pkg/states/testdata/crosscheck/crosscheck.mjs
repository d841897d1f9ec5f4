// Cross-checks pendulum's conformance cases against aws-local-stepfunctions.
// Usage: node crosscheck.mjs DIR > results.json
import { StateMachine } from 'aws-local-stepfunctions';
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const results = [];
const unsupportedKeys = ['lambdas', 'machines', 'stop', 'options'];

function statesOf(def, out = {}) {
  for (const [name, s] of Object.entries(def.States ?? {})) {
    out[name] = s;
    for (const b of s.Branches ?? []) statesOf(b, out);
    if (s.ItemProcessor) statesOf(s.ItemProcessor, out);
    if (s.Iterator) statesOf(s.Iterator, out);
  }
  return out;
}

function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}

for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const c = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const name = file.replace(/\.json$/, '');
  if (c.expect.problems) { results.push({ name, skipped: 'validation case (run separately)' }); continue; }
  const why = unsupportedKeys.filter((k) => c[k]);
  const defText = JSON.stringify(c.definition);
  if (defText.includes('waitForTaskToken')) why.push('.waitForTaskToken');
  if (defText.includes('.sync')) why.push('.sync');
  const all = JSON.stringify(c);
  if (all.includes('sleepSeconds') || all.includes('callback')) why.push('timed task');
  if (c.expect.status && !['SUCCEEDED', 'FAILED'].includes(c.expect.status)) why.push(c.expect.status);
  if (why.length) { results.push({ name, skipped: why.join(', ') }); continue; }

  const states = statesOf(c.definition);
  const handlers = {}, waits = {}, retries = {};
  const answerers = {};
  for (const [sname, s] of Object.entries(states)) {
    if (s.Type === 'Wait') waits[sname] = 0;
    if (s.Retry) retries[sname] = 0;
    if (s.Type !== 'Task') continue;
    let rs = c.stubs?.[sname];
    const m = /^arn:aws:states:::aws-sdk:([^:]+):(.+)$/.exec(s.Resource);
    if (!rs && m) rs = c.sdk?.[`${m[1]}:${m[2]}`];
    if (!rs) continue;
    let n = 0;
    handlers[sname] = async (input) => {
      const r = rs[Math.min(n, rs.length - 1)]; n++;
      if (r.error) { const e = new Error(r.cause ?? ''); e.name = r.error; throw e; }
      if (r.echo) return input;
      return r.result;
    };
  }
  const context = {
    Execution: { Id: 'arn:aws:states:us-east-1:123456789012:execution:Main:test', Input: c.input ?? {}, Name: 'test',
      RoleArn: 'arn:aws:iam::123456789012:role/pendulum-states', StartTime: '2026-01-01T00:00:00.000Z', RedriveCount: 0 },
    StateMachine: { Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:Main', Name: 'Main' },
  };
  const want = c.expect.status ?? 'SUCCEEDED';
  let got;
  try {
    const sm = new StateMachine(c.definition, { validationOptions: { checkPaths: true, checkArn: false } });
    const ex = sm.run(c.input ?? {}, { overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: waits, retryIntervalOverrides: retries }, context });
    const out = await ex.result;
    got = { status: 'SUCCEEDED', output: out };
  } catch (e) {
    const cause = e.cause ?? e;
    got = { status: e.name === 'ExecutionError' ? 'FAILED' : 'ERROR', error: cause.name, cause: cause.message };
  }
  let agree = got.status === want;
  if (agree && want === 'SUCCEEDED' && c.expect.output !== undefined)
    agree = JSON.stringify(canonical(got.output)) === JSON.stringify(canonical(c.expect.output));
  if (agree && want === 'FAILED' && c.expect.error) agree = got.error === c.expect.error;
  results.push({ name, agree, want: { status: want, output: c.expect.output, error: c.expect.error }, got });
}
console.log(JSON.stringify(results, null, 1));
