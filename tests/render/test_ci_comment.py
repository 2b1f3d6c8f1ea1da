"""The CI's pull-request comment: the rendered script run for real (the step's bash, then Python)
against a stand-in of the issue-comment API on loopback (the paths GitHub, Forgejo and Gitea share):
one comment, created once and then updated in place, holding the diff and the proof's result."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from homelabeazy.render import ci, ci_comment
from tests.support.integration import need_binary

pytestmark = pytest.mark.fake
TOKEN = "ghs_test-token-value"


class CommentsApi(ThreadingHTTPServer):
    """`/repos/o/r/issues/7/comments` (GET paged, POST) and `/repos/o/r/issues/comments/{id}` (PATCH)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.comments: list[dict[str, Any]] = [{"id": 1, "body": "LGTM, and <!-- homelab diff --objects -->"}]
        self.calls: list[tuple[str, str, str]] = []


class Handler(BaseHTTPRequestHandler):
    server: CommentsApi

    def log_message(self, *_: Any) -> None:
        pass

    def _answer(self, code: int, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _auth(self) -> bool:
        self.server.calls.append((self.command, self.path, self.headers.get("Authorization", "")))
        if self.headers.get("Authorization") != f"token {TOKEN}":
            self._answer(401, {"message": "Bad credentials"})
            return False
        return True

    def do_GET(self) -> None:
        if not self._auth():
            return
        path, _, query = self.path.partition("?")
        assert path == "/repos/o/r/issues/7/comments", path
        params = dict(p.split("=") for p in query.split("&"))
        page, size = int(params["page"]), 1  # one per page: the paging is exercised
        self._answer(200, self.server.comments[(page - 1) * size : page * size])

    def do_POST(self) -> None:
        if not self._auth():
            return
        assert self.path == "/repos/o/r/issues/7/comments", self.path
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        comment = {"id": 100 + len(self.server.comments), "body": body["body"]}
        self.server.comments.append(comment)
        self._answer(201, comment)

    def do_PATCH(self) -> None:
        if not self._auth():
            return
        number = int(self.path.rsplit("/", 1)[1])
        assert self.path == f"/repos/o/r/issues/comments/{number}", self.path
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        comment = next(c for c in self.server.comments if c["id"] == number)
        comment["body"] = body["body"]
        self._answer(200, comment)


@pytest.fixture
def api() -> Iterator[CommentsApi]:
    server = CommentsApi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_steps(tmp_path: Path, api: CommentsApi, diff_exit: int, out: str, err: str, proof: str) -> str:
    """The objects step (with a stand-in `homelab` printing `out`/`err`, exiting `diff_exit`), then
    the comment step, each through bash with the env the workflow gives them."""
    bash = need_binary("bash", "apt-get install bash")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (tmp_path / "out.txt").write_text(out)
    (tmp_path / "err.txt").write_text(err)
    homelab = bin_dir / "homelab"
    homelab.write_text(
        f'#!/bin/sh\ncat "{tmp_path}/out.txt"; cat "{tmp_path}/err.txt" >&2; exit {diff_exit}\n'
    )
    homelab.chmod(0o755)
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(output),
        "BASE_SHA": "a" * 40,
    }
    step = ci.objects_step()
    done = subprocess.run([bash, "-eo", "pipefail", "-c", str(step["run"])], env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    code = output.read_text().strip().removeprefix("code=")
    assert code == str(diff_exit)
    comment = ci.comment_step()
    env |= {
        "COMMENT_TOKEN": TOKEN,
        "API_URL": f"http://127.0.0.1:{api.server_address[1]}/",
        "REPOSITORY": "o/r",
        "PR_NUMBER": "7",
        "DIFF_CODE": code,
        "PROOF": proof,
    }
    done = subprocess.run([bash, "-eo", "pipefail", "-c", str(comment["run"])], env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    return done.stdout


def test_one_comment_created_then_updated_in_place(tmp_path: Path, api: CommentsApi) -> None:
    diff = "Application traefik (wave 1)\n  ~ apps/Deployment traefik/traefik\n      spec.replicas: 2 → 3\n"
    summary = "1 Application(s) differ from homelab.yaml at aaaa: 0 object(s) added, 0 removed, 1 changed\n"
    printed = run_steps(tmp_path, api, 1, diff, summary, "success")
    assert printed.strip() == "commented on pull request 7"
    assert len(api.comments) == 2  # someone's comment merely mentioning the marker is left alone
    body = api.comments[1]["body"]
    assert body.startswith(ci_comment.MARKER + "\n")
    assert "Convergence proof: `homelab validate --deep` passed." in body
    assert summary.strip() in body
    assert "```\n" + diff in body
    assert api.comments[0]["body"] == "LGTM, and <!-- homelab diff --objects -->"

    printed = run_steps(tmp_path, api, 0, "", "✓ no object differs\n", "failure")
    assert printed.strip() == "updated comment 101 on pull request 7"
    assert len(api.comments) == 2
    body = api.comments[1]["body"]
    assert "No Kubernetes object changes" in body
    assert "**failed**" in body
    assert [c[0] for c in api.calls].count("POST") == 1
    assert {c[2] for c in api.calls} == {f"token {TOKEN}"}


def test_trouble_and_backticks_cannot_break_out_of_the_block(tmp_path: Path, api: CommentsApi) -> None:
    run_steps(tmp_path, api, 2, "", "error: git: no revision aaaa\n", "success")
    body = api.comments[-1]["body"]
    assert "`homelab diff --objects` failed (exit 2):" in body
    assert "error: git: no revision aaaa" in body
    sneaky = '      data.x: "````\\n## injected" → "b"\n'
    run_steps(
        tmp_path, api, 1, f"Application a (wave 0)\n  ~ ConfigMap a/b\n{sneaky}", "1 differ\n", "success"
    )
    body = api.comments[-1]["body"]
    assert "\n`````\n" in body  # a fence longer than any run of backticks inside


def test_a_long_diff_is_cut_below_the_comment_limit(tmp_path: Path, api: CommentsApi) -> None:
    run_steps(tmp_path, api, 1, "x" * 100 + "\n" + "y" * 70_000, "1 differ\n", "success")
    body = api.comments[-1]["body"]
    assert len(body) < 65_536
    assert "cut: run `homelab diff --objects` for the rest" in body
