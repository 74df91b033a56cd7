// Peer for the benchmark: what a team would wire up without envflow for the
// same schema check. Parses every content file of a workspace with js-yaml
// and validates it with ajv against envflow's own JSON Schemas (schemas/).
//
//   NODE_PATH=bench/.node/node_modules node bench/peers/ajv_validate.js SCHEMAS WORKSPACE
"use strict";
const fs = require("fs");
const path = require("path");
const Ajv = require("ajv");
const yaml = require("js-yaml");

const [schemaDir, root] = process.argv.slice(2);
const folders = {
  agents: "agent", workflows: "workflow", knowledge: "knowledge", integrations: "integration",
  channels: "channel", variables: "variable",
};
const ajv = new Ajv({ allErrors: true, strict: false });
const validators = {};
for (const name of [...Object.values(folders), "workspace"]) {
  const schema = JSON.parse(fs.readFileSync(path.join(schemaDir, name + ".schema.json"), "utf8"));
  delete schema.$schema;
  validators[name] = ajv.compile(schema);
}

let files = 0;
let invalid = 0;
function check(file, schema) {
  const doc = yaml.load(fs.readFileSync(file, "utf8"));
  files++;
  if (!validators[schema](doc)) {
    invalid++;
  }
}
check(path.join(root, "workspace.yaml"), "workspace");
for (const [folder, schema] of Object.entries(folders)) {
  const dir = path.join(root, folder);
  if (!fs.existsSync(dir)) continue;
  for (const name of fs.readdirSync(dir).sort()) {
    if (name.endsWith(".yaml")) check(path.join(dir, name), schema);
  }
}
console.log(`${files} files, ${invalid} invalid`);
process.exit(invalid ? 1 : 0);
