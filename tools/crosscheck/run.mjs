// Runs one definition on aws-local-stepfunctions the way `pendulum states run`
// runs it, for the whole-process speed comparison (bench/bench.sh):
//
//   node run.mjs FILE [--input JSON|@FILE] [--stub STATE=JSON|@FILE]…
//
// Prints the execution output on stdout and exits 0; a failed execution
// prints {"error":…,"cause":…} on stderr and exits 1.
import { StateMachine } from 'aws-local-stepfunctions';
import fs from 'node:fs';

const jsonArg = (v) => JSON.parse(v.startsWith('@') ? fs.readFileSync(v.slice(1), 'utf8') : v);
const args = process.argv.slice(2);
let file, input = {};
const handlers = {};
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--input') input = jsonArg(args[++i]);
  else if (args[i] === '--stub') {
    const [state, ...rest] = args[++i].split('=');
    const result = jsonArg(rest.join('='));
    handlers[state] = async () => result;
  } else file = args[i];
}
if (!file) {
  console.error('usage: node run.mjs FILE [--input JSON|@FILE] [--stub STATE=JSON]…');
  process.exit(2);
}
const sm = new StateMachine(JSON.parse(fs.readFileSync(file, 'utf8')));
try {
  const out = await sm.run(input, { overrides: { taskResourceLocalHandlers: handlers } }).result;
  process.stdout.write(JSON.stringify(out) + '\n');
} catch (e) {
  const c = e.cause ?? e;
  process.stderr.write(JSON.stringify({ error: c.name, cause: c.message }) + '\n');
  process.exit(1);
}
