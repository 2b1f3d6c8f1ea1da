"""Run a rendered CI workflow's jobs for real, offline, in an environment holding only what the
runner image has.

Each `run:` step is executed as the runner executes it: its script in a file, through
`bash --noprofile --norc -eo pipefail` (the default shell on Linux), in the job's workspace (or the
step's `working-directory`), with the runner's environment, the `GITHUB_ENV` lines and `GITHUB_PATH`
entries earlier steps wrote, and the step's own `env:` (expressions evaluated). Steps run inside
a network namespace with nothing but loopback: no route out.

`uses:` steps are replaced by their documented effect (each action's README):
- actions/checkout: the repository's commit (or the `ref:` input's branch) cloned into the
  workspace, `origin` pointing at the repository; `persist-credentials: false` leaves no token;
- actions/setup-python: the interpreter first on PATH as `python`, `python3` and `python3.X`;
- actions/cache: `path` restored from a store by `key`, else by the newest `restore-keys` prefix;
  saved under `key` when the job succeeds and the key missed.

The runner image is a folder of links to the commands it is known to have (RUNNER_IMAGE_COMMANDS):
a step calling anything else fails with "command not found", as it would there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUNNER_IMAGE_COMMANDS = (
    "bash", "sh", "git", "curl", "tar", "gzip", "sha256sum", "base64", "tr", "mkdir", "cat", "rm",
    "cp", "mv", "ls", "uname", "env", "sed", "grep", "head", "tail", "mktemp", "dirname", "basename",
    "chmod", "ln", "id", "date", "sort", "find", "xargs", "touch", "tee", "printf", "true", "false",
)  # fmt: skip
"""Commands both runner images have: GitHub's ubuntu-24.04 (its readme: bash, coreutils, git, curl,
tar, gzip, sed, grep, findutils) and node:22-bookworm (Debian's essential packages plus
buildpack-deps' curl and git). Python comes from setup-python or Debian, not from this list."""


CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The Debian images' PATH (node:*-bookworm sets no other)."""


# --------------------------------------------------------------------------- expressions


TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>\|\||&&|==|!=|!|\(|\)|,)|(?P<word>[A-Za-z_][\w.\-*]*))"
)


class Expression:
    """The part of Actions' expression language the rendered workflows use: `||`, `&&`, `==`,
    `!=`, `!`, parentheses, string literals, context paths and `hashFiles()`."""

    def __init__(self, text: str, context: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]):
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text.rstrip()):
            match = TOKEN.match(text, pos)
            if match is None:
                raise ValueError(f"cannot read expression {text!r} at {pos}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.context, self.functions, self.at = context, functions, 0

    def value(self) -> Any:
        result = self._or()
        if self.at != len(self.tokens):
            raise ValueError(f"trailing tokens in expression: {self.tokens[self.at :]}")
        return result

    def _peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        self.at += 1
        return self.tokens[self.at - 1]

    def _or(self) -> Any:
        left = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            left = left or right
        return left

    def _and(self) -> Any:
        left = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            left = left and right
        return left

    def _compare(self) -> Any:
        left = self._unary()
        if self._peek() in ("==", "!="):
            op = self._take()[1]
            right = self._unary()
            same = (
                str(left).lower() == str(right).lower()
                if left is not None and right is not None
                else left == right
            )
            return same if op == "==" else not same
        return left

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not self._unary()
        return self._primary()

    def _primary(self) -> Any:
        kind, text = self._take()
        if text == "(":
            inner = self._or()
            assert self._take()[1] == ")"
            return inner
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if self._peek() == "(":
            self._take()
            args = []
            while self._peek() != ")":
                args.append(self._or())
                if self._peek() == ",":
                    self._take()
            self._take()
            return self.functions[text](*args)
        node: Any = self.context
        for part in text.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        return node


EXPR = re.compile(r"\$\{\{(.*?)\}\}")


# --------------------------------------------------------------------------- the run


@dataclass
class StepResult:
    name: str
    returncode: int
    seconds: float
    output: str


@dataclass
class JobResult:
    job: str
    skipped: bool = False
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.returncode == 0 for step in self.steps)

    def describe(self) -> str:
        return "\n".join(
            f"--- {s.name}: exit {s.returncode} ({s.seconds:.1f}s)\n{s.output[-3000:]}" for s in self.steps
        )


@dataclass
class Runner:
    """One machine of the runner image: the folders a job run uses and the environment it starts with."""

    root: Path
    python: Path
    """The interpreter setup-python would put on PATH (a Python without the suite's packages)."""
    origin: Path
    """The repository (a bare Git repository): checkout clones it, a push goes to it."""
    cache_store: Path
    environment: dict[str, str]
    """What the runner's own environment adds (a mirror of the package index, of Galaxy, of Helm)."""
    netns: str | None = None
    substitutions: dict[str, str] = field(default_factory=dict)
    """Text replaced in `run:` scripts before they run (named in the test that asks for it)."""
    rootfs: Path | None = None
    """A job `container:` stand-in: the image's root filesystem, steps run chrooted into it (with
    /proc and /dev), its own commands instead of RUNNER_IMAGE_COMMANDS."""
    binds: dict[Path, str] = field(default_factory=dict)
    """Host folder -> where it appears inside the rootfs, read-only (the mirrors)."""

    def host(self, inside: Path) -> Path:
        """Where a path the steps see lies on this machine."""
        return self.rootfs / inside.relative_to("/") if self.rootfs is not None else inside

    def image_bin(self) -> Path:
        folder = self.root / "image-bin"
        if not folder.exists():
            folder.mkdir(parents=True)
            for command in RUNNER_IMAGE_COMMANDS:
                found = shutil.which(command, path="/usr/bin:/bin")
                assert found is not None, f"this machine lacks {command}"
                (folder / command).symlink_to(found)
        return folder

    def run_job(
        self,
        workflow: dict[str, Any],
        job_id: str,
        context: dict[str, Any],
        *,
        stop_after: str | None = None,
    ) -> JobResult:
        """Every step of one job, in order, until one fails (or the step named `stop_after` ran)."""
        job = workflow["jobs"][job_id]
        result = JobResult(job_id)
        functions = {"hashFiles": lambda *patterns: "none"}
        condition = job.get("if")
        if condition is not None and not self._evaluate(str(condition), context, functions, bare=True):
            result.skipped = True
            return result
        base = Path("/github") if self.rootfs is not None else self.root
        run_root = self._fresh(base / f"job-{job_id}")
        workspace, home, temp = run_root / "workspace", run_root / "home", run_root / "temp"
        for folder in (workspace, home, temp):
            self.host(folder).mkdir(parents=True)
        functions["hashFiles"] = lambda *patterns: _hash_files(self.host(workspace), patterns)
        state = _JobState(paths=[], env={}, cache_saves=[])
        base_env = {
            **self.environment,
            "HOME": str(home),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_TEMP": str(temp),
            "RUNNER_OS": "Linux",
            "LANG": "C.UTF-8",
        }
        with self._mounted():
            self._steps(
                job, context, functions, workspace, home, base_env, state, run_root, result, stop_after
            )
        if result.ok:
            for key, path in state.cache_saves:
                target = self.cache_store / key
                if not target.exists() and self.host(path).exists():
                    shutil.copytree(self.host(path), target, symlinks=True)
        return result

    def _steps(
        self,
        job: dict[str, Any],
        context: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]],
        workspace: Path,
        home: Path,
        base_env: dict[str, str],
        state: _JobState,
        run_root: Path,
        result: JobResult,
        stop_after: str | None,
    ) -> None:
        for index, step in enumerate(job["steps"]):
            name = step.get("name") or step.get("uses") or step["run"].splitlines()[0]
            started = time.monotonic()
            if "uses" in step:
                code, output = self._use(step, context, functions, workspace, home, state)
            else:
                code, output = self._run(
                    step, index, context, functions, workspace, base_env, state, run_root
                )
            result.steps.append(StepResult(name, code, time.monotonic() - started, output))
            if code != 0 or name == stop_after:
                break

    @contextlib.contextmanager
    def _mounted(self) -> Iterator[None]:
        """/proc, /dev and the read-only mirrors inside the rootfs for one job (nothing on the host)."""
        if self.rootfs is None:
            yield
            return
        mounts: list[Path] = []
        try:
            for source, inside, options in (
                (Path("/proc"), "/proc", ["-t", "proc", "proc"]),
                (Path("/dev"), "/dev", ["--rbind", "/dev"]),
                *((s, i, ["--bind", str(s)]) for s, i in self.binds.items()),
            ):
                target = self.host(Path(inside))
                target.mkdir(parents=True, exist_ok=True)
                subprocess.run(["mount", *options, str(target)], check=True, capture_output=True)
                mounts.append(target)
                if source in self.binds:
                    subprocess.run(
                        ["mount", "-o", "remount,bind,ro", str(target)], check=True, capture_output=True
                    )
            yield
        finally:
            for target in reversed(mounts):
                subprocess.run(["umount", "-R", "-l", str(target)], check=False, capture_output=True)

    # ---- pieces

    def _evaluate(
        self,
        text: str,
        context: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]],
        *,
        bare: bool = False,
    ) -> Any:
        if bare and "${{" not in text:
            return Expression(text, context, functions).value()
        whole = EXPR.fullmatch(text.strip())
        if whole is not None:
            return Expression(whole.group(1), context, functions).value()
        return EXPR.sub(lambda m: _text(Expression(m.group(1), context, functions).value()), text)

    def _fresh(self, base: Path) -> Path:
        n = 0
        while self.host(candidate := base.with_name(f"{base.name}-{n}")).exists():
            n += 1
        return candidate

    def _run(
        self,
        step: dict[str, Any],
        index: int,
        context: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]],
        workspace: Path,
        base_env: dict[str, str],
        state: _JobState,
        run_root: Path,
    ) -> tuple[int, str]:
        script = str(step["run"])
        for old, new in self.substitutions.items():
            script = script.replace(old, new)
        script_file = run_root / f"step-{index}.sh"
        self.host(script_file).write_text(script, encoding="utf-8")
        files = {
            name: run_root / f"{name.lower()}-{index}"
            for name in ("GITHUB_PATH", "GITHUB_ENV", "GITHUB_OUTPUT")
        }
        for path in files.values():
            self.host(path).write_text("", encoding="utf-8")
        step_env = {
            key: _text(self._evaluate(str(value), context, functions))
            for key, value in (step.get("env") or {}).items()
        }
        env = {**base_env, **state.env, **step_env, **{k: str(v) for k, v in files.items()}}
        cwd = workspace / step.get("working-directory", ".")
        if self.rootfs is None:
            env["PATH"] = os.pathsep.join([*reversed(state.paths), str(self.image_bin())])
            argv = [
                str(self.image_bin() / "bash"),
                "--noprofile",
                "--norc",
                "-eo",
                "pipefail",
                str(script_file),
            ]
        else:  # chroot(1) starts in /: env -C enters the workspace inside
            env["PATH"] = os.pathsep.join([*reversed(state.paths), CONTAINER_PATH])
            shell = ["/bin/bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)]
            argv = ["chroot", str(self.rootfs), "/usr/bin/env", "-C", str(cwd), *shell]
        if self.netns is not None:
            argv = [_ip(), "netns", "exec", self.netns, *argv]
        done = subprocess.run(
            argv, cwd=self.host(cwd), env=env, capture_output=True, text=True, timeout=1800, check=False
        )
        state.paths += [
            line for line in self.host(files["GITHUB_PATH"]).read_text(encoding="utf-8").splitlines() if line
        ]
        for line in self.host(files["GITHUB_ENV"]).read_text(encoding="utf-8").splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                state.env[key] = value
        return done.returncode, done.stdout + done.stderr

    def _use(
        self,
        step: dict[str, Any],
        context: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]],
        workspace: Path,
        home: Path,
        state: _JobState,
    ) -> tuple[int, str]:
        action = str(step["uses"]).split("@", 1)[0]
        options = {
            key: self._evaluate(str(value), context, functions)
            for key, value in (step.get("with") or {}).items()
        }
        if action == "actions/checkout":
            return self._checkout(options, context, self.host(workspace))
        if action == "actions/setup-python":
            if self.rootfs is not None:
                return 1, "setup-python in a container job: not a step the rendered workflows have"
            folder = workspace.parent / "setup-python"
            folder.mkdir(exist_ok=True)
            version = str(options.get("python-version", ""))
            for alias in ("python", "python3", f"python{version}"):
                (folder / alias).symlink_to(self.python)
            state.paths.append(str(folder))
            return 0, f"Python {version}: {self.python}"
        if action == "actions/cache":
            return self._cache(options, home, state)
        return 1, f"no stand-in for the action {action}"

    def _checkout(
        self, options: Mapping[str, Any], context: Mapping[str, Any], workspace: Path
    ) -> tuple[int, str]:
        if str(options.get("persist-credentials", "true")).lower() != "false":
            return 1, "checkout would keep a token in .git/config (persist-credentials is not false)"
        ref = options.get("ref") or context["github"]["sha"]
        git = ["git", "-c", "advice.detachedHead=false"]
        for argv in (
            [*git, "clone", "--quiet", "--no-hardlinks", str(self.origin), str(workspace)],
            [*git, "-C", str(workspace), "checkout", "--quiet", str(ref)],
        ):
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                return done.returncode, done.stderr
        return 0, f"checked out {ref}"

    def _cache(self, options: Mapping[str, Any], home: Path, state: _JobState) -> tuple[int, str]:
        path = Path(str(options["path"]).replace("~", str(home), 1))  # as the steps see it
        key = str(options["key"])
        prefixes = [
            line.strip() for line in str(options.get("restore-keys", "")).splitlines() if line.strip()
        ]
        hit = self.cache_store / key
        if not hit.exists():
            candidates = [
                p for p in self.cache_store.iterdir() if any(p.name.startswith(x) for x in prefixes)
            ]
            hit = max(candidates, key=lambda p: p.stat().st_mtime) if candidates else hit
            state.cache_saves.append((key, path))
        if hit.exists():
            shutil.copytree(hit, self.host(path), symlinks=True, dirs_exist_ok=True)
            return 0, f"restored {hit.name} into {path}"
        return 0, f"cache miss for {key}"


@dataclass
class _JobState:
    paths: list[str]
    env: dict[str, str]
    cache_saves: list[tuple[str, Path]]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _hash_files(workspace: Path, patterns: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(workspace.glob(pattern)):
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _ip() -> str:
    found = shutil.which("ip", path="/usr/sbin:/sbin:/usr/bin:/bin")
    assert found is not None, "iproute2 is needed (apt-get install iproute2)"
    return found


def context_for(
    event: str, *, sha: str, ref: str, head_ref: str = "", fork: bool = False, repository: str = "me/homelab"
) -> dict[str, Any]:
    """The `github` and `secrets` contexts of one run."""
    github: dict[str, Any] = {
        "event_name": event,
        "repository": repository,
        "sha": sha,
        "ref": ref,
        "head_ref": head_ref,
        "workflow": "homelab",
        "server_url": "https://forge.invalid",
        "token": "ghs_built-in-token-of-this-run",
        "event": {},
    }
    if event == "pull_request":
        head = "someone/homelab" if fork else repository
        github["event"] = {"pull_request": {"head": {"repo": {"full_name": head}}}}
    return {"github": github, "secrets": {}}
