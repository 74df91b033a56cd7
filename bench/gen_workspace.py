#!/usr/bin/env python3
"""Generate a synthetic envflow workspace for the benchmark (stdlib only, seeded).

    gen_workspace.py --files N --out DIR [--seed S]
    gen_workspace.py --mutate K --out DIR [--seed S]   # edit K existing content files

The shapes follow the starter workspace (templates/workspace): agents with
1-2 KB of instructions, tools and knowledge bases; workflows of 5-20 steps
calling agents and integration endpoints; variables of every type;
integrations with endpoints; knowledge bases with documents in
knowledge/<name>/; channels. Every reference resolves and every file
validates, so a run measures the work of a clean tree (the common case a
hook sees). Exactly N files are written (workspace.yaml included).

--mutate rewrites the description of K content files picked by the seed
(what "a push of K changed files" changes).
"""

import argparse
import os
import random
import sys

WORDS = (
    "customer order return refund shipping delivery account password reset invoice billing "
    "payment card subscription plan upgrade downgrade cancel product warranty repair "
    "replacement store pickup address email phone ticket escalate agent human policy "
    "deadline exchange size colour stock availability discount coupon loyalty points "
    "gift voucher tracking carrier parcel damaged missing late early weekend holiday "
    "opening hours contact support answer question summary context history polite brief"
).split()

TONES = ["friendly", "formal", "neutral", "concise", "empathetic", "playful"]
PROVIDERS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-3-5-sonnet"),
             ("mistral", "mistral-large"), ("google", "gemini-1.5-pro")]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CHANNEL_TYPES = ["web", "slack", "teams", "email", "whatsapp", "voice"]


def sentence(rng, lo=6, hi=16):
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def quoted(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Plan:
    """How many files of each kind, and their names (so references resolve)."""

    def __init__(self, total, rng):
        self.rng = rng
        rest = total - 1  # workspace.yaml
        # Shares of the files; knowledge bases carry 2 documents each.
        n_kb = max(1, rest * 4 // 100)
        n_docs = 2 * n_kb
        n_var = max(1, rest * 15 // 100)
        n_int = max(1, rest * 8 // 100)
        n_chan = max(1, rest * 3 // 100)
        n_wf = max(1, rest * 30 // 100)
        n_agent = rest - n_kb - n_docs - n_var - n_int - n_chan - n_wf
        if n_agent < 1:
            sys.exit("gen_workspace.py: --files must be at least 20")
        self.agents = [f"agent-{i:06d}" for i in range(n_agent)]
        self.workflows = [f"workflow-{i:06d}" for i in range(n_wf)]
        self.variables = [f"var_{i:06d}" for i in range(n_var)]
        self.integrations = [f"integration-{i:05d}" for i in range(n_int)]
        self.knowledge = [f"kb-{i:05d}" for i in range(n_kb)]
        self.channels = [f"channel-{i:05d}" for i in range(n_chan)]
        self.endpoints = {name: [f"op_{j}" for j in range(rng.randint(2, 6))]
                          for name in self.integrations}
        self.variable_types = {}
        types = ["string", "number", "boolean", "url", "json", "enum"]
        for name in self.variables:
            self.variable_types[name] = rng.choice(types)


def agent(plan, rng, name):
    provider, model = rng.choice(PROVIDERS)
    lines = []
    size = rng.randint(1024, 2048)
    text = ""
    while len(text) < size:
        if rng.random() < 0.15:
            line = f"- {sentence(rng, 5, 12)}"
        elif rng.random() < 0.1:
            line = f"When in doubt, point the customer at {{{{ vars.{rng.choice(plan.variables)} }}}}."
        else:
            line = sentence(rng, 8, 18)
        lines.append(line)
        text += line + "\n"
        if rng.random() < 0.2:
            lines.append("")
            text += "\n"
    out = [
        "kind: Agent",
        f"name: {name}",
        f"description: {sentence(rng)}",
        "model:",
        f"  provider: {provider}",
        f"  name: {model}",
        f"  temperature: {rng.choice(['0.2', '0.3', '0.5', '0.7'])}",
        f"  max_tokens: {rng.choice([400, 800, 1200])}",
        "instructions: |",
    ]
    out += [("  " + line) if line else "" for line in lines]
    out += [
        "behavior:",
        f"  max_turns: {rng.randint(3, 20)}",
        f"  escalate_after_failures: {rng.randint(1, 4)}",
        f"  allow_small_talk: {rng.choice(['true', 'false'])}",
        f"  response_length: {rng.choice(['short', 'medium', 'long'])}",
        f"tone: {rng.choice(TONES)}",
        "fallback:",
        f"  message: {sentence(rng)}",
    ]
    if rng.random() < 0.5:
        out.append(f"  handoff_agent: {rng.choice(plan.agents)}")
    tools = rng.randint(0, 3)
    if tools:
        out.append("tools:")
        for _ in range(tools):
            integration = rng.choice(plan.integrations)
            out += [f"  - integration: {integration}",
                    f"    endpoint: {rng.choice(plan.endpoints[integration])}",
                    f"    description: {sentence(rng, 4, 10)}"]
    kbs = rng.randint(0, 2)
    if kbs:
        out.append("knowledge:")
        out += [f"  - {kb}" for kb in rng.sample(plan.knowledge, min(kbs, len(plan.knowledge)))]
    return "\n".join(out) + "\n"


def workflow(plan, rng, name):
    out = ["kind: Workflow", f"name: {name}", f"description: {sentence(rng)}", "trigger:"]
    trigger = rng.choice(["message", "schedule", "webhook", "event"])
    out.append(f"  type: {trigger}")
    if trigger == "message":
        out.append(f"  channel: {rng.choice(plan.channels)}")
    elif trigger == "schedule":
        out.append(f"  schedule: \"{rng.randint(0, 59)} {rng.randint(0, 23)} * * 1-5\"")
    elif trigger == "event":
        out.append("  event: conversation.closed")
    out.append("steps:")
    count = rng.randint(5, 20)
    ids = [f"step_{i}" for i in range(count)]
    for i, step_id in enumerate(ids):
        out += [f"  - id: {step_id}", f"    description: {sentence(rng, 4, 10)}"]
        roll = rng.random()
        if roll < 0.55:
            out.append(f"    agent: {rng.choice(plan.agents)}")
            out.append(f"    input: \"{{{{ steps.{ids[max(0, i - 1)]}.output.summary }}}}\"")
        elif roll < 0.9:
            integration = rng.choice(plan.integrations)
            out += [f"    integration: {integration}",
                    f"    endpoint: {rng.choice(plan.endpoints[integration])}",
                    "    input:",
                    f"      subject: \"{{{{ steps.{ids[max(0, i - 1)]}.output.summary }}}}\"",
                    f"      reply_to: \"{{{{ vars.{rng.choice(plan.variables)} }}}}\""]
        else:
            out.append(f"    workflow: {rng.choice(plan.workflows)}")
        if rng.random() < 0.3:
            out.append(f"    condition: steps.{ids[max(0, i - 1)]}.output.ok == true")
        if rng.random() < 0.2 and i + 2 < count:
            out.append(f"    next: {ids[rng.randint(i + 1, count - 1)]}")
        out.append(f"    on_error: {rng.choice(['fail', 'continue', 'fallback'])}")
    return "\n".join(out) + "\n"


def variable(plan, rng, name):
    kind = plan.variable_types[name]
    out = ["kind: Variable", f"name: {name}", f"type: {kind}"]
    if kind == "string":
        out.append(f"default: {quoted(sentence(rng, 2, 5))}")
    elif kind == "number":
        out.append(f"default: {rng.randint(1, 1000)}")
    elif kind == "boolean":
        out.append(f"default: {rng.choice(['true', 'false'])}")
    elif kind == "url":
        out.append(f"default: https://{rng.choice(WORDS)}.example.com/api/v{rng.randint(1, 3)}")
    elif kind == "json":
        out.append(f"default: '{{\"retries\": {rng.randint(1, 5)}, \"mode\": \"{rng.choice(WORDS)}\"}}'")
    else:
        values = rng.sample(WORDS, 3)
        out.append("values:")
        out += [f"  - {v}" for v in values]
        out.append(f"default: {values[0]}")
    out.append(f"description: {sentence(rng)}")
    out.append(f"required: {rng.choice(['true', 'false'])}")
    return "\n".join(out) + "\n"


def integration(plan, rng, name):
    out = ["kind: Integration", f"name: {name}", f"description: {sentence(rng)}"]
    url_vars = [v for v in plan.variables if plan.variable_types[v] == "url"]
    if url_vars and rng.random() < 0.5:
        out.append(f"base_url: \"{{{{ vars.{rng.choice(url_vars)} }}}}\"")
    else:
        out.append(f"base_url: https://{name}.example.com/api/v1")
    secret = name.upper().replace("-", "_") + "_TOKEN"
    out += ["auth:", "  type: bearer", f"  secret: ${{secrets.{secret}}}", "endpoints:"]
    for endpoint in plan.endpoints[name]:
        out += [f"  - name: {endpoint}",
                f"    description: {sentence(rng, 4, 10)}",
                f"    method: {rng.choice(METHODS)}",
                f"    path: /{rng.choice(WORDS)}/{{id}}",
                f"    timeout_ms: {rng.choice([2000, 5000, 10000])}"]
    out.append(f"rate_limit_per_minute: {rng.choice([60, 120, 600])}")
    return "\n".join(out) + "\n"


def knowledge(plan, rng, name):
    out = ["kind: KnowledgeBase", f"name: {name}", f"description: {sentence(rng)}", "sources:",
           "  - type: file", f"    path: knowledge/{name}/guide.md", "    refresh: never",
           "  - type: file", f"    path: knowledge/{name}/faq.md", "    refresh: weekly",
           "  - type: url", f"    url: https://docs.example.com/{name}", "    refresh: daily",
           "chunking:", f"  size: {rng.choice([300, 500, 800])}", "  overlap: 50"]
    return "\n".join(out) + "\n"


def document(rng):
    paragraphs = ["# " + sentence(rng, 3, 6)]
    for _ in range(rng.randint(3, 8)):
        paragraphs.append(" ".join(sentence(rng) for _ in range(rng.randint(2, 5))))
    return "\n\n".join(paragraphs) + "\n"


def channel(plan, rng, name):
    out = ["kind: Channel", f"name: {name}", f"description: {sentence(rng)}",
           f"type: {rng.choice(CHANNEL_TYPES)}"]
    if rng.random() < 0.5:
        out.append(f"agent: {rng.choice(plan.agents)}")
    else:
        out.append(f"workflow: {rng.choice(plan.workflows)}")
    out += ["widget:", f"  title: {sentence(rng, 2, 4)}", f"  greeting: {sentence(rng, 4, 8)}",
            "  position: bottom-right", "  theme:",
            f"    primary_color: \"#{rng.randint(0, 0xFFFFFF):06X}\"", "    dark_mode: false"]
    return "\n".join(out) + "\n"


def write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full) or root, exist_ok=True)
    with open(full, "w", encoding="utf-8") as f:
        f.write(text)


def generate(total, root, seed):
    rng = random.Random(seed)
    plan = Plan(total, rng)
    write(root, "workspace.yaml",
          "kind: Workspace\nname: bench\nschema_version: 1\n"
          f"description: Synthetic workspace of {total} files for the envflow benchmark.\n")
    count = 1
    for name in plan.variables:
        write(root, f"variables/{name}.yaml", variable(plan, rng, name))
        count += 1
    for name in plan.integrations:
        write(root, f"integrations/{name}.yaml", integration(plan, rng, name))
        count += 1
    for name in plan.knowledge:
        write(root, f"knowledge/{name}.yaml", knowledge(plan, rng, name))
        write(root, f"knowledge/{name}/guide.md", document(rng))
        write(root, f"knowledge/{name}/faq.md", document(rng))
        count += 3
    for name in plan.channels:
        write(root, f"channels/{name}.yaml", channel(plan, rng, name))
        count += 1
    for name in plan.agents:
        write(root, f"agents/{name}.yaml", agent(plan, rng, name))
        count += 1
    for name in plan.workflows:
        write(root, f"workflows/{name}.yaml", workflow(plan, rng, name))
        count += 1
    assert count == total, (count, total)


def mutate(root, k, seed):
    rng = random.Random(seed)
    candidates = []
    for folder in ("agents", "workflows", "variables", "integrations", "channels"):
        d = os.path.join(root, folder)
        if os.path.isdir(d):
            candidates += [os.path.join(folder, f) for f in sorted(os.listdir(d))]
    for path in rng.sample(candidates, k):
        full = os.path.join(root, path)
        with open(full, encoding="utf-8") as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            if line.startswith("description: "):
                lines[i] = "description: " + sentence(rng) + f" (revision {seed})"
                break
        with open(full, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        print(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, help="files to write (workspace.yaml included)")
    parser.add_argument("--mutate", type=int, help="edit this many existing files instead")
    parser.add_argument("--out", required=True, help="workspace root")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    if args.mutate:
        mutate(args.out, args.mutate, args.seed)
    elif args.files:
        generate(args.files, args.out, args.seed)
    else:
        parser.error("give --files N or --mutate K")


if __name__ == "__main__":
    main()
