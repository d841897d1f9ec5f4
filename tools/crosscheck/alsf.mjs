// Runs pendulum's states conformance cases through aws-local-stepfunctions
// and prints what happened, one JSON object per case, for the Go driver
// (main.go) to compare with pkg/states.
//
// Usage: node alsf.mjs CASE.json…   (prints a JSON array on stdout)
//
// A case's task answers (stubs by state, sdk by "service:action", lambdas by
// function name for bare Lambda ARNs) become taskResourceLocalHandlers.
// Retry intervals are overridden to 0 ms and statically known Wait durations
// (Seconds, Timestamp) to 0 ms, since this engine runs on the real clock;
// SecondsPath/TimestampPath Waits are left alone so the path is evaluated,
// and all cases run concurrently so those real waits overlap.
import { StateMachine } from 'aws-local-stepfunctions';
import fs from 'node:fs';
import path from 'node:path';

// The context object our conformance runner gives every execution (see
// pkg/states/testdata/conformance/README.md).
const account = '123456789012';
const region = 'us-east-1';
const startTime = '2026-01-01T00:00:00.000Z';

// Longest a single case may take in real time before it counts as hung.
const caseBudgetMs = 60_000;

function statesOf(def, out = {}) {
  for (const [name, s] of Object.entries(def?.States ?? {})) {
    out[name] = s;
    for (const b of s.Branches ?? []) statesOf(b, out);
    statesOf(s.ItemProcessor, out);
    statesOf(s.Iterator, out);
  }
  return out;
}

// skipReason says why this engine cannot express a case, or '' if it can.
function skipReason(c, states) {
  const why = [];
  if (c.machines) why.push('nested executions (states:startExecution) are not supported');
  if (c.stop) why.push('stopping an execution with a status and cause is not supported (only abort)');
  if (c.options) why.push('payload and history size limits (States.DataLimitExceeded) are not enforced');
  const want = c.expect.status ?? 'SUCCEEDED';
  if (want === 'TIMED_OUT') why.push('execution-level TimeoutSeconds is not supported');
  if (c.s3) why.push('S3 objects (ItemReader, ResultWriter) are not supported');
  for (const [name, s] of Object.entries(states)) {
    if (s.Type === 'Map') {
      // Its engine runs every Map inline: the Distributed Map's own fields
      // are accepted by its validator and then ignored.
      for (const f of ['ItemReader', 'ItemBatcher', 'ResultWriter'])
        if (s[f] !== undefined) why.push(`${name}: the Distributed Map's ${f} is not supported (its engine ignores it)`);
      if (s.ItemProcessor?.ProcessorConfig?.ExecutionType === 'EXPRESS')
        why.push(`${name}: Express child workflow executions and their five-minute limit are not modelled`);
    }
    if (s.Type !== 'Task') continue;
    const r = s.Resource ?? '';
    if (r.includes('.waitForTaskToken')) why.push(`${name}: .waitForTaskToken is not supported`);
    else if (r.includes('.sync')) why.push(`${name}: .sync is not supported`);
    else if (r.startsWith('arn:aws:states:::lambda:invoke'))
      why.push(`${name}: lambda:invoke is either sent to AWS Lambda or replaced wholesale by a local handler, so the integration's response cannot be compared`);
    else if (s.HeartbeatSeconds !== undefined || s.HeartbeatSecondsPath !== undefined)
      why.push(`${name}: HeartbeatSeconds is not supported`);
    else if (!handlerKey(c, name, s)) why.push(`${name}: a Task without a local handler is sent to AWS`);
  }
  for (const a of Object.values({ ...c.stubs, ...c.sdk, ...c.lambdas }).flat())
    if (a.callback) why.push('task callbacks (SendTaskSuccess/Failure/Heartbeat) are not supported');
  return [...new Set(why)].join('; ');
}

// handlerKey is the answer list a Task state uses: its stub, its aws-sdk
// action, or its Lambda function (bare ARN), as pkg/states' registry does.
function handlerKey(c, name, s) {
  if (c.stubs?.[name]) return ['stubs', name];
  const sdk = /^arn:aws:states:::aws-sdk:([^:]+):(.+)$/.exec(s.Resource ?? '');
  if (sdk && c.sdk?.[`${sdk[1]}:${sdk[2]}`]) return ['sdk', `${sdk[1]}:${sdk[2]}`];
  const fn = /^arn:aws:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(s.Resource ?? '');
  if (fn && c.lambdas?.[fn[1]]) return ['lambdas', fn[1]];
  return null;
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms).unref());

async function runCase(file) {
  const name = path.basename(file).replace(/\.json$/, '');
  const c = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (c.expect?.problems) {
    // A validation case: does this engine's validator (asl-validator) reject it?
    try {
      new StateMachine(c.definition, { validationOptions: { checkPaths: true, checkArn: true } });
      return { name, validation: { rejected: false } };
    } catch (e) {
      return { name, validation: { rejected: true, message: String(e.message).slice(0, 500) } };
    }
  }
  const states = statesOf(c.definition);
  const skipped = skipReason(c, states);
  if (skipped) return { name, skipped };

  const handlers = {}, waits = {}, retries = {};
  const calls = {}, inputs = {}, counters = {};
  for (const [sname, s] of Object.entries(states)) {
    if (s.Retry) retries[sname] = 0;
    if (s.Type === 'Wait' && (s.Seconds !== undefined || s.Timestamp !== undefined)) waits[sname] = 0;
    if (s.Type !== 'Task') continue;
    const [kind, key] = handlerKey(c, sname, s);
    const answers = c[kind][key];
    handlers[sname] = async (input) => {
      counters[key] = (counters[key] ?? 0) + 1;
      calls[key] = counters[key];
      (inputs[key] ??= []).push(structuredClone(input));
      const r = answers[Math.min(counters[key] - 1, answers.length - 1)];
      if (r.sleepSeconds) await sleep(r.sleepSeconds * 1000);
      if (r.error) {
        const e = new Error(r.cause ?? '');
        e.name = r.error;
        throw e;
      }
      return r.echo ? input : r.result;
    };
  }
  const input = c.input ?? {};
  const context = {
    Execution: {
      Id: `arn:aws:states:${region}:${account}:execution:Main:test`,
      Input: input,
      Name: 'test',
      RoleArn: `arn:aws:iam::${account}:role/pendulum-states`,
      StartTime: startTime,
    },
    StateMachine: { Id: `arn:aws:states:${region}:${account}:stateMachine:Main`, Name: 'Main' },
  };
  const started = Date.now();
  let got;
  let timer;
  try {
    const sm = new StateMachine(c.definition, { validationOptions: { checkPaths: true, checkArn: false } });
    const ex = sm.run(input, {
      overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: waits, retryIntervalOverrides: retries },
      context,
    });
    const budget = new Promise((_, rej) => {
      timer = setTimeout(() => {
        ex.abort();
        rej(Object.assign(new Error(`no result within ${caseBudgetMs} ms`), { name: 'CrosscheckHung' }));
      }, caseBudgetMs);
    });
    got = { status: 'SUCCEEDED', output: await Promise.race([ex.result, budget]) };
  } catch (e) {
    if (e.name === 'ExecutionError') {
      const cause = e.cause ?? {};
      got = { status: 'FAILED', error: cause.name, cause: String(cause.message ?? '') };
    } else {
      // Not an execution failure: the engine itself threw (invalid
      // definition, internal exception, hang).
      got = { status: 'ERROR', error: e.name, cause: String(e.message) };
    }
  } finally {
    clearTimeout(timer);
  }
  return { name, ...got, calls, inputs, realMillis: Date.now() - started };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node alsf.mjs CASE.json…');
  process.exit(2);
}
const results = await Promise.all(files.map(runCase));
process.stdout.write(JSON.stringify(results, null, 1) + '\n');
