#!/usr/bin/env python3
"""Independent checks of envflow's audit invariant (docs/audit.md), for the
race suites (tests/stress/race_at_scale.sh, tests/e2e/test_race_scale.sh).

It reads only plain git (`git log`, `git for-each-ref`, `git merge-base`),
never envflow, so a bug in envflow's own doctor cannot hide a broken trail.

  audit_check.py round REPO BEFORE OUTS N [--branch-of ENV=BRANCH ...]
      Match what the N racers of one round reported (OUTS/<i>.kind, .rc,
      .out, .err) against the audit records appended since BEFORE: every
      reported move has exactly one record, every record a reported move
      (or is an automatic back-port closure). Prints `TALLY kind outcome`
      per racer and `FAIL reason` per problem.

  audit_check.py chain REPO [--first-env-audited]
      Replay the whole trail: linear, every commit a record, per ref the
      moves chain old -> new with no move recorded twice, and every audited
      ref is where its last record left it. Without --first-env-audited the
      first environment (dev) and hotfix/* branches take plain commits
      between records (as on a developer's clone); with it (a server, where
      post-receive records every push) their chain must be complete too.
      Prints `RECORDS op count` lines and `FAIL reason` per problem.
"""
import json
import os
import re
import subprocess
import sys

ZERO = "0" * 40
AUDIT = "refs/envflow/audit"


def git(repo, *args, check=True):
    r = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {r.stderr.strip()}")
    return r


def records(repo, rng):
    """Audit records in `rng` (a rev range), oldest first: dicts with id,
    parents, op, env, actor, commit, moves [(ref, old, new)], valid."""
    out = git(repo, "log", "--reverse", "--format=%H %P%x01%B%x02", rng).stdout
    recs = []
    for chunk in out.split("\x02"):
        chunk = chunk.strip("\n")
        if not chunk:
            continue
        head, _, body = chunk.partition("\x01")
        ids = head.split()
        rec = {"id": ids[0], "parents": ids[1:], "moves": [], "valid": True,
               "op": None, "env": None, "actor": None, "commit": None}
        for line in body.split("\n"):
            key, sep, value = line.partition(": ")
            if not sep:
                continue
            if key == "move":
                parts = value.split(" ")
                if len(parts) != 3:
                    rec["valid"] = False
                    continue
                rec["moves"].append(tuple(parts))
            elif key in ("op", "env", "actor", "commit") and rec[key] is None:
                rec[key] = value
        if rec["op"] is None:
            rec["valid"] = False
        recs.append(rec)
    return recs


def ref_values(repo):
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)").stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def is_ancestor(repo, a, b):
    return git(repo, "merge-base", "--is-ancestor", a, b, check=False).returncode == 0


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


RACE_WORDS = ("run it again", "moved since", "locked", "changed since", "try again",
              "kept moving", "rejected", "refused the push", "fetch first")


def reason(text):
    """The refusal's first error line, ids and numbers replaced, for counting."""
    lines = [l for l in text.splitlines() if "error:" in l or "rejected" in l] or text.splitlines() or [""]
    line = lines[-1] if "envflow: error:" not in text else \
        next(l for l in text.splitlines() if "envflow: error:" in l)
    line = line.split("error:", 1)[-1].strip()
    line = re.sub(r"\b[0-9a-f]{7,40}\b", "<id>", line)
    line = re.sub(r"\b(v?\d+(\.\d+)*)\b", "<n>", line)
    line = re.sub(r"\S+@example\.com", "<actor>", line)
    return line[:160]


def classify_refusal(text):
    low = text.lower()
    return "lost-race" if any(w in low for w in RACE_WORDS) else "refused"


def cmd_round(argv):
    repo, before, outs, n = argv[0], argv[1], argv[2], int(argv[3])
    branch_of = {}
    for a in argv[4:]:
        if a.startswith("--branch-of="):
            env, _, br = a.split("=", 1)[1].partition("=")
            branch_of[env] = br
    fails = []
    expected = []  # (label, predicate(rec) -> bool)
    for i in range(n):
        kind = read(f"{outs}/{i}.kind").strip()
        rc_text = read(f"{outs}/{i}.rc").strip()
        out, err = read(f"{outs}/{i}.out"), read(f"{outs}/{i}.err")
        label = f"racer {i} ({kind})"
        try:
            rc = int(rc_text)
        except ValueError:
            fails.append(f"{label}: no exit code (killed?)")
            print(f"TALLY {kind.split()[0]} crashed")
            continue
        k = kind.split()[0]
        if rc == 1:
            if "envflow: error:" not in err and k != "push":
                fails.append(f"{label}: exit 1 without an 'envflow: error:' message: {err.strip()[:300]}")
            print(f"TALLY {k} {classify_refusal(err)}")
            print(f"REASON {k} {reason(err)}")
            continue
        if rc != 0:
            fails.append(f"{label}: exit {rc}: {err.strip()[:500]}")
            print(f"TALLY {k} {'crashed' if rc > 128 else 'exit-' + str(rc)}")
            continue
        if k == "push":
            # A pusher's result: `pushed OLD NEW` once it got through.
            lines = [l.split() for l in out.splitlines() if l.startswith("pushed ")]
            for _, old, new in lines:
                expected.append((label, "push", lambda r, o=old, nw=new, br=branch_of.get("first", "dev"):
                                 r["op"] == "push" and (f"refs/heads/{br}", o, nw) in r["moves"]))
            print(f"TALLY push moved")
            continue
        try:
            doc = json.loads(out)
        except ValueError:
            fails.append(f"{label}: exit 0 without JSON on stdout: {out.strip()[:200]}")
            print(f"TALLY {k} bad-output")
            continue
        if k == "sync":
            if doc.get("moved"):
                ref = "refs/heads/" + branch_of.get(doc["target"], doc["target"])
                expected.append((label, "sync", lambda r, m=(ref, doc["from"], doc["to"]):
                                 r["op"] == "sync" and m in r["moves"]))
                print("TALLY sync moved")
            else:
                print("TALLY sync noop")
        elif k == "publish":
            if doc.get("outcome") == "published":
                tag = "refs/tags/" + doc["tag"]
                expected.append((label, "publish", lambda r, t=tag:
                                 r["op"] == "publish" and any(m[0] == t and m[1] == ZERO for m in r["moves"])
                                 and any(m[0] == "refs/envflow/live" for m in r["moves"])))
                print("TALLY publish moved")
            else:
                print("TALLY publish noop")
        elif k == "var":
            if doc.get("changed"):
                m = ("refs/envflow/local/" + doc["environment"], doc.get("old_local_ref") or ZERO,
                     doc["local_ref"] or ZERO)
                expected.append((label, "var-set", lambda r, m=m: r["op"] in ("var-set", "var-unset")
                                 and m in r["moves"]))
                print("TALLY var moved")
            else:
                print("TALLY var noop")
        elif k == "approve":
            if not doc.get("already"):
                actor = kind.split()[1] if len(kind.split()) > 1 else None
                expected.append((label, "approve", lambda r, c=doc["commit"], e=doc["env"], a=actor:
                                 r["op"] == "approve" and r["commit"] == c and r["env"] == e
                                 and (a is None or r["actor"] == a)))
                print("TALLY approve moved")
            else:
                print("TALLY approve noop")
        elif k == "backport":
            if not doc.get("already"):
                m = ("refs/heads/" + doc["branch"], doc["from"], doc["merge_commit"])
                expected.append((label, "backport-apply", lambda r, m=m:
                                 r["op"] == "backport-apply" and m in r["moves"]))
                print("TALLY backport moved")
            else:
                print("TALLY backport noop")
        else:
            fails.append(f"{label}: unknown racer kind")
    recs = records(repo, f"{before}..{AUDIT}")
    used = [False] * len(recs)
    for label, what, pred in expected:
        hits = [j for j, r in enumerate(recs) if not used[j] and pred(r)]
        if len(hits) != 1:
            fails.append(f"{label}: reported a move ({what}) that has {len(hits)} records "
                         f"(expected exactly 1)")
        for j in hits[:1]:
            used[j] = True
    for j, r in enumerate(recs):
        # A back-port closure is written on the side when a command finds a
        # hotfix reachable from dev; a pushed hotfix gets its issue opened.
        if not used[j] and r["op"] not in ("backport-close", "backport-open"):
            fails.append(f"record {r['id'][:7]} ({r['op']}) matches no reported move")
    for f in fails:
        print("FAIL " + f)
    print(f"ROUND records={len(recs)}")


def cmd_chain(argv):
    repo = argv[0]
    strict_first = "--first-env-audited" in argv
    first_branch = "dev"
    for a in argv:
        if a.startswith("--first-branch="):
            first_branch = a.split("=", 1)[1]
    fails = []
    head = git(repo, "rev-parse", "-q", "--verify", AUDIT, check=False).stdout.strip()
    if not head:
        print("FAIL no audit trail")
        return
    recs = records(repo, AUDIT)
    counts = {}
    last = {}
    seen = {}
    for i, r in enumerate(recs):
        want_parents = [recs[i - 1]["id"]] if i else []
        if r["parents"] != want_parents:
            fails.append(f"record {r['id'][:7]}: parents {r['parents']} (the trail must be one line)")
        if not r["valid"]:
            fails.append(f"record {r['id'][:7]}: not a well-formed record")
            continue
        counts[r["op"]] = counts.get(r["op"], 0) + 1
        for ref, old, new in r["moves"]:
            key = (ref, old, new)
            if key in seen:
                fails.append(f"move {ref} {old[:7]}->{new[:7]} recorded twice "
                             f"({seen[key][:7]}, {r['id'][:7]})")
            seen[key] = r["id"]
            plain = (ref.startswith("refs/heads/hotfix/") or
                     (ref == "refs/heads/" + first_branch and not strict_first))
            if ref in last and last[ref] != old:
                if plain and last[ref] != ZERO and old != ZERO and is_ancestor(repo, last[ref], old):
                    pass  # plain commits on dev or a hotfix branch in between
                else:
                    fails.append(f"{ref}: record {r['id'][:7]} moves it from {old[:7]}, but the "
                                 f"previous record left it at {last[ref][:7]}")
            elif ref not in last and old != ZERO:
                fails.append(f"{ref}: first record {r['id'][:7]} moves it from {old[:7]}, not from none")
            last[ref] = new
    values = ref_values(repo)
    for ref, new in sorted(last.items()):
        now = values.get(ref, ZERO)
        plain = (ref.startswith("refs/heads/hotfix/") or
                 (ref == "refs/heads/" + first_branch and not strict_first))
        if now == new:
            continue
        if plain and new != ZERO and now != ZERO and is_ancestor(repo, new, now):
            continue
        fails.append(f"{ref} is at {now[:7]}, but its last record left it at {new[:7]}")
    audited_prefixes = ("refs/heads/", "refs/tags/v", "refs/envflow/local/")
    audited_exact = ("refs/envflow/live", "refs/envflow/config", "refs/envflow/backports")
    for ref in sorted(values):
        if ref in last or ref == AUDIT:
            continue
        if ref.startswith("refs/heads/") and not ref.startswith("refs/heads/hotfix/"):
            # Environment branches are audited; feature branches are not.
            envs = git(repo, "show", "refs/envflow/config:envflow.yaml", check=False).stdout
            if f"branch: {ref[len('refs/heads/'):]}\n" in envs:
                fails.append(f"{ref} has no audit record at all")
            continue
        if ref.startswith(audited_prefixes[1:]) or ref in audited_exact:
            fails.append(f"{ref} has no audit record at all")
    for op in sorted(counts):
        print(f"RECORDS {op} {counts[op]}")
    print(f"CHAIN records={len(recs)} refs={len(last)} moves={len(seen)}")
    for f in fails:
        print("FAIL " + f)


if __name__ == "__main__":
    {"round": cmd_round, "chain": cmd_chain}[sys.argv[1]](sys.argv[2:])
