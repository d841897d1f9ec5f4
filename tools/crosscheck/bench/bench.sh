#!/bin/sh
# Whole-process speed of `pendulum states run` against aws-local-stepfunctions
# (run.mjs) on the same Map definitions and inputs, timed with hyperfine
# without a shell in between (-N), so each figure is one process start to exit.
# Run from tools/crosscheck after `npm ci`:  sh bench/bench.sh [RUNS]
#
# Item counts stay under the 25,000-event history limit of a Standard
# workflow, which pendulum enforces: a Pass iteration writes 4 events
# (6,000 items), a Task iteration 7 (3,000 items).
set -eu
runs=${1:-10}
out=${BENCH_OUT:-${TMPDIR:-/tmp}/pendulum-crosscheck-bench}
mkdir -p "$out"
out=$(cd "$out" && pwd) # the build below runs from the repository root
node=node_modules/node/bin/node
command -v hyperfine > /dev/null || { echo "bench.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
[ -x "$node" ] || { echo "bench.sh: run npm ci in tools/crosscheck first" >&2; exit 2; }
# Built as `make cli` builds it: static, so no dynamic loader runs at start-up.
(cd ../.. && CGO_ENABLED=0 go build -trimpath -o "$out"/pendulum ./cmd/pendulum)
"$node" -e 'console.log(JSON.stringify({items: Array.from({length: 6000}, (_, i) => i)}))' > "$out"/items-6000.json
"$node" -e 'console.log(JSON.stringify({items: Array.from({length: 3000}, (_, i) => ({id: i}))}))' > "$out"/objects-3000.json
echo '{"ok":true}' > "$out"/stub.json

# Both engines must print the same output before their speed means anything.
check() {
	"$out"/pendulum states run "$@" > "$out"/ours.json
	"$node" run.mjs "$@" > "$out"/theirs.json
	cmp -s "$out"/ours.json "$out"/theirs.json || { echo "outputs differ for $*" >&2; exit 1; }
}
check bench/map.asl.json --input @"$out"/items-6000.json
check bench/map-task.asl.json --input @"$out"/objects-3000.json --stub Call=@"$out"/stub.json

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$out"/map-pass.json \
	-n pendulum "$out/pendulum states run bench/map.asl.json --input @$out/items-6000.json" \
	-n aws-local-stepfunctions "$node run.mjs bench/map.asl.json --input @$out/items-6000.json"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$out"/map-task.json \
	-n pendulum "$out/pendulum states run bench/map-task.asl.json --input @$out/objects-3000.json --stub Call=@$out/stub.json" \
	-n aws-local-stepfunctions "$node run.mjs bench/map-task.asl.json --input @$out/objects-3000.json --stub Call=@$out/stub.json"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Medians and the ratio, from hyperfine's JSON.
"$node" -e '
for (const f of process.argv.slice(1)) {
  const r = JSON.parse(require("fs").readFileSync(f)).results;
  const [p, a] = r;
  const cpu = (x) => x.user + x.system;
  console.log(`${f}: median pendulum ${p.median.toFixed(3)} s, aws-local-stepfunctions ${a.median.toFixed(3)} s, wall ratio ${(a.median / p.median).toFixed(1)}x; mean CPU ${cpu(p).toFixed(3)} s vs ${cpu(a).toFixed(3)} s, CPU ratio ${(cpu(a) / cpu(p)).toFixed(1)}x`);
}' "$out"/map-pass.json "$out"/map-task.json
