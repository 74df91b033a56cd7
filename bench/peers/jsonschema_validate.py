#!/usr/bin/python3
"""Peer for the benchmark: every content file of a workspace parsed with
PyYAML's C loader (yaml.CSafeLoader) and validated with python-jsonschema
against envflow's own JSON Schemas (schemas/). Debian's python3-yaml and
python3-jsonschema.

    /usr/bin/python3 bench/peers/jsonschema_validate.py SCHEMAS WORKSPACE
"""
import json
import os
import sys

import jsonschema
import yaml

FOLDERS = {"agents": "agent", "workflows": "workflow", "knowledge": "knowledge",
           "integrations": "integration", "channels": "channel", "variables": "variable"}


def main():
    schema_dir, root = sys.argv[1:3]
    validators = {}
    for name in list(FOLDERS.values()) + ["workspace"]:
        with open(os.path.join(schema_dir, name + ".schema.json"), encoding="utf-8") as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        validators[name] = cls(schema)
    files = invalid = 0

    def check(path, schema):
        nonlocal files, invalid
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=yaml.CSafeLoader)
        files += 1
        if any(True for _ in validators[schema].iter_errors(doc)):
            invalid += 1

    check(os.path.join(root, "workspace.yaml"), "workspace")
    for folder, schema in FOLDERS.items():
        d = os.path.join(root, folder)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(".yaml"):
                check(os.path.join(d, name), schema)
    print(f"{files} files, {invalid} invalid")
    sys.exit(1 if invalid else 0)


if __name__ == "__main__":
    main()
