"""The script the rendered CI's `objects` job runs to comment on a pull request (GitHub, Forgejo and
Gitea alike: their issue-comment APIs share the paths `GET/POST /repos/{repo}/issues/{n}/comments`
and `PATCH /repos/{repo}/issues/comments/{id}`, under `github.api_url`).

One comment per pull request, found again by the marker it starts with and updated in place on
every push: the object diff (`homelab diff --objects` against the pull request's base) and the
convergence proof's result (the `check` job's). Python's standard library only: it runs in the venv
the install step made, before nothing else, with the token in its environment and nowhere else.
"""

from __future__ import annotations

MARKER = "<!-- homelab diff --objects -->"
"""The first line of the comment: how the next run finds it."""
MAX_BODY = 60_000
"""GitHub refuses a comment body over 65,536 characters; the diff is cut before that."""

SCRIPT = f"""\
import json, os, re, sys, urllib.request
MARKER = {MARKER!r}
api = os.environ["API_URL"].rstrip("/")
repo, number = os.environ["REPOSITORY"], os.environ["PR_NUMBER"]
temp = os.environ.get("RUNNER_TEMP") or "/tmp"
headers = {{"Authorization": "token " + os.environ["COMMENT_TOKEN"], "Accept": "application/json",
            "Content-Type": "application/json", "User-Agent": "homelab-ci"}}

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(api + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read()
    return json.loads(text) if text else None

def read(name):
    try:
        with open(os.path.join(temp, name), encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""

def fenced(text):
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall("`+", text)), default=0))
    return fence + "\\n" + text.rstrip("\\n") + "\\n" + fence

code, proof = os.environ.get("DIFF_CODE", ""), os.environ.get("PROOF", "")
diff, err = read("homelab-objects.txt"), read("homelab-objects.err")
lines = [MARKER, "### What this pull request does to the cluster", ""]
lines.append({{
    "success": "Convergence proof: `homelab validate --deep` passed.",
    "failure": "Convergence proof: `homelab validate --deep` **failed** (see the check job).",
}}.get(proof, "Convergence proof: " + (proof or "not run") + "."))
lines.append("")
if code == "0":
    lines.append("No Kubernetes object changes (`homelab diff --objects` against the base branch).")
elif code == "1":
    summary = err.strip().splitlines()[-1] if err.strip() else ""
    if len(diff) > {MAX_BODY}:
        diff = diff[:{MAX_BODY}] + "\\n... cut: run `homelab diff --objects` for the rest\\n"
    lines += [summary, "", fenced(diff)]
else:
    lines += ["`homelab diff --objects` failed (exit " + (code or "?") + "):", "", fenced(err[-4000:])]
body = "\\n".join(lines) + "\\n"

found = None
for page in range(1, 51):
    items = call("GET", "/repos/%s/issues/%s/comments?per_page=100&limit=50&page=%d" % (repo, number, page))
    if not items:
        break
    found = next((c["id"] for c in items if (c.get("body") or "").startswith(MARKER)), None)
    if found is not None:
        break
if found is None:
    call("POST", "/repos/%s/issues/%s/comments" % (repo, number), {{"body": body}})
    print("commented on pull request " + number)
else:
    call("PATCH", "/repos/%s/issues/comments/%s" % (repo, found), {{"body": body}})
    print("updated comment " + str(found) + " on pull request " + number)
"""
