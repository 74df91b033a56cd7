#!/usr/bin/env python3
"""A year or two of a busy team's history in a bench repository, made fast.

    gen_history.py REPO --records N --tags T --backports B

appends N audit records to refs/envflow/audit (one per push to dev, as the
post-receive hook writes them), T release tags on production (annotated,
with envflow's manifest of every item, unsigned) and B closed back-port
issues on refs/envflow/backports, all through one `git fast-import`, so
100,000 records take seconds. The formats are the ones docs/audit.md,
docs/releases.md and docs/commands/backport.md describe; bench/run.sh then
times the everyday commands against the same repository with and without
this history (docs/performance.md, "History").
"""

import argparse
import subprocess
import sys
import time

EPOCH = 1767225600  # 2026-01-01T00:00:00Z: the history's first second


def git(repo, *args, stdin=None):
    return subprocess.run(["git", "-C", repo, *args], input=stdin, check=True,
                          stdout=subprocess.PIPE).stdout


def rev(repo, ref):
    out = subprocess.run(["git", "-C", repo, "rev-parse", "--verify", "-q", ref],
                         capture_output=True, text=True)
    return out.stdout.strip() or None


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def data(text):
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def audit_record(i, dev_old, dev_new):
    t = EPOCH + i * 300
    actor = "dev%d@example.com" % (i % 7)
    msg = ("envflow push dev\n\nop: push\nenv: dev\nactor: %s\ntime: %s\n"
           "tool: envflow 0.1.0\nmove: refs/heads/dev %s %s\n" % (actor, iso(t), dev_old, dev_new))
    return t, actor, msg


def manifest(production, version, previous, items):
    lines = ["Release %s" % version, "", "envflow-manifest:", "environment: production",
             "commit: %s" % production, "version: %s" % version,
             "previous: %s" % (previous or "none"), "bump: patch", "hotfix: false"]
    lines += ["item: %s %s" % (blob, path) for path, blob in items]
    return "\n".join(lines) + "\n"


def backport_yaml(i, commit):
    return ("# envflow back-port issue (written by envflow; see docs/commands/backport.md)\n"
            "id: %d\nstatus: closed\nhotfix: \"fix-%d\"\nhotfix_tag: \"v9.%d.1\"\n"
            "summary: \"Hotfix %d\"\nenvironment: \"production\"\ntarget: \"dev\"\n"
            "commits:\n  - \"%s\"\nchanges:\n  - path: \"agents/support.yaml\"\n"
            "    kind: \"Agent\"\n    name: \"support\"\n    change: \"changed\"\n"
            "    fields:\n      - \"model.temperature\"\n"
            "opened_by: \"ops@example.com\"\nopened_at: \"%s\"\n"
            "closed_by: \"auto\"\nclosed_at: \"%s\"\nclosed_in: \"%s\"\n"
            % (i, i, i, i, commit, iso(EPOCH + i * 3600), iso(EPOCH + i * 3600 + 60), commit))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("repo")
    parser.add_argument("--records", type=int, default=0)
    parser.add_argument("--tags", type=int, default=0)
    parser.add_argument("--backports", type=int, default=0)
    args = parser.parse_args()
    repo = args.repo

    dev = rev(repo, "refs/heads/dev")
    production = rev(repo, "refs/heads/production")
    if not dev or not production:
        sys.exit("gen_history: %s has no dev or production branch" % repo)
    stream = bytearray()
    mark = 0

    if args.records:
        head = rev(repo, "refs/envflow/audit")
        for i in range(args.records):
            mark += 1
            t, actor, msg = audit_record(i, dev, dev)
            stream += b"commit refs/envflow/audit\nmark :%d\n" % mark
            stream += ("committer %s <%s> %d +0000\n" % (actor, actor, t)).encode()
            stream += data(msg)
            if i == 0:
                stream += (b"from %s\n" % head.encode()) if head else b"deleteall\n"
            else:
                stream += b"from :%d\n" % (mark - 1)
            stream += b"\n"

    if args.tags:
        items = []
        for line in git(repo, "ls-tree", "-r", production).decode().splitlines():
            meta, path = line.split("\t", 1)
            if path.endswith((".yaml", ".yml", ".md")):
                items.append((path, meta.split()[2]))
        previous = None
        for i in range(args.tags):
            version = "v1.%d.0" % i
            stream += ("tag %s\nfrom %s\n" % (version, production)).encode()
            stream += b"tagger Release <release@example.com> %d +0000\n" % (EPOCH + i * 86400)
            stream += data(manifest(production, version, previous, items))
            previous = version

    if args.backports:
        head = rev(repo, "refs/envflow/backports")
        mark += 1
        stream += b"commit refs/envflow/backports\nmark :%d\n" % mark
        stream += b"committer envflow <envflow@localhost> %d +0000\n" % (EPOCH + 86400 * 400)
        stream += data("envflow: %d back-port issues (bench history)\n" % args.backports)
        if head:
            stream += b"from %s\n" % head.encode()
        for i in range(1, args.backports + 1):
            stream += b"M 100644 inline %d.yaml\n" % i
            stream += data(backport_yaml(i, production))
        stream += b"\n"

    git(repo, "fast-import", "--quiet", "--force", stdin=bytes(stream))


if __name__ == "__main__":
    main()
