// Lays out one job of a GitHub Actions workflow as shell scripts, one per
// step, so an end-to-end test can run its `run:` steps in order the way a
// runner would (bash --noprofile --norc -eo pipefail, env from the workflow,
// the job and the step).
//
//   node github_steps.mjs WORKFLOW.yml JOB VALUES.json OUT_DIR
//
// VALUES.json maps each `${{ … }}` expression text (without the braces) to
// its value for this run; an expression not in it is an error, so the test
// notices a template that reads something new. `fromJSON('…')[inputs.X]`
// is evaluated. Writes OUT_DIR/NN.sh (exports, then the step's script in
// NN.run) and prints "environment VALUE" when the job has one, then one
// line per step: "run NN NAME" or "uses NN ACTION WITH-AS-JSON". Exits 2 on what it cannot
// emulate (a step `if:`, a `uses:` other than actions/checkout).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

// js-yaml from tests/.node, where install-node-tools puts it.
const require = createRequire(new URL("../../.node/package.json", import.meta.url));
const yaml = require("js-yaml");

const [file, jobName, valuesFile, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: github_steps.mjs WORKFLOW.yml JOB VALUES.json OUT_DIR");
  process.exit(2);
}
const workflow = yaml.load(fs.readFileSync(file, "utf8"));
const values = JSON.parse(fs.readFileSync(valuesFile, "utf8"));
const job = workflow.jobs?.[jobName];
if (!job) {
  console.error(`no job '${jobName}' in ${file}`);
  process.exit(2);
}

function evaluate(expr) {
  expr = expr.trim();
  if (Object.hasOwn(values, expr)) return String(values[expr]);
  const m = expr.match(/^fromJSON\('(.*)'\)\[inputs\.([A-Za-z_][\w-]*)\]$/s);
  if (m && Object.hasOwn(values, `inputs.${m[2]}`)) {
    const table = JSON.parse(m[1]);
    const key = String(values[`inputs.${m[2]}`]);
    if (!Object.hasOwn(table, key)) {
      console.error(`${expr}: no entry for '${key}'`);
      process.exit(2);
    }
    return String(table[key]);
  }
  console.error(`no value given for the expression \${{ ${expr} }} in ${file}`);
  process.exit(2);
}
const substitute = (text) =>
  String(text).replace(/\$\{\{(.*?)\}\}/gs, (_, expr) => evaluate(expr));
const quote = (text) => `'${String(text).replaceAll("'", `'\\''`)}'`;

fs.mkdirSync(outDir, { recursive: true });
const lines = [];
if (job.environment !== undefined) {
  const environment = typeof job.environment === "object" ? job.environment.name : job.environment;
  lines.push(`environment ${substitute(environment)}`);
}
(job.steps ?? []).forEach((step, index) => {
  const nn = String(index + 1).padStart(2, "0");
  const name = step.name ?? step.uses ?? step.run.split("\n")[0];
  if (step.if !== undefined) {
    console.error(`step ${nn} (${name}) has an if: condition, which this harness does not emulate`);
    process.exit(2);
  }
  if (step.uses !== undefined) {
    if (!String(step.uses).startsWith("actions/checkout@")) {
      console.error(`step ${nn} uses ${step.uses}, which this harness does not emulate`);
      process.exit(2);
    }
    lines.push(`uses ${nn} ${step.uses} ${JSON.stringify(step.with ?? {})}`);
    return;
  }
  const shell = step.shell ?? job.defaults?.run?.shell ?? workflow.defaults?.run?.shell ?? "bash";
  if (shell !== "bash") {
    console.error(`step ${nn} (${name}) runs in '${shell}', not bash`);
    process.exit(2);
  }
  const env = { ...(workflow.env ?? {}), ...(job.env ?? {}), ...(step.env ?? {}) };
  const exports = Object.entries(env).map(([k, v]) => `export ${k}=${quote(substitute(v))}`);
  fs.writeFileSync(path.join(outDir, `${nn}.run`), substitute(step.run));
  fs.writeFileSync(
    path.join(outDir, `${nn}.sh`),
    [...exports, `exec bash --noprofile --norc -eo pipefail "$(dirname "$0")/${nn}.run"`, ""].join("\n"),
  );
  lines.push(`run ${nn} ${name}`);
});
console.log(lines.join("\n"));
