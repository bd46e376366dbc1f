"""The CLI as a real process: its exit code, stdout and stderr; the one-error-line check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sealedcfg.errors import ExitCode

from .conftest import FAST_TEXT


def cli(
    *args: str,
    env: dict[str, str] | None = None,
    home: Path | None = None,
    drop: tuple[str, ...] = (),
    **kw: Any,
) -> subprocess.CompletedProcess[str]:
    """`python -m sealedcfg ARGS` in a clean environment.

    No SEALEDCFG_* variable leaks in from the test run (the KDF is at its floor);
    `env` adds to the environment.  With `home`, the process sees that directory as
    the user's home and config dir and no GIT_* variable of ours, so nothing of the
    real user's keys or git setup takes part; `drop` names more variable prefixes to
    leave out (AWS_ for the KMS tests).  Other keywords go to subprocess.run
    (cwd, input, timeout, stdout ...); stdin is empty unless `input` is given.
    """
    drop = ("SEALEDCFG_", *(("GIT_",) if home else ()), *drop)
    full = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    full["SEALEDCFG_ARGON2"] = FAST_TEXT
    if home is not None:
        full.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    full.update(env or {})
    if "input" not in kw:
        kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("timeout", 60)
    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", "sealedcfg", *args],
        stderr=subprocess.PIPE,
        text=True,
        env=full,
        check=False,
        **kw,
    )


def invoke(
    *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI in this process through typer's runner (what coverage measures), as a
    CompletedProcess, so that `one_error_line` and `assert_one_error` read it too.
    `env` is set for the call (the runner restores os.environ after it)."""
    from typer.testing import CliRunner

    from sealedcfg.cli.main import make_app

    result = CliRunner().invoke(make_app(), list(args), input=input, env=env)
    return subprocess.CompletedProcess(
        ["sealedcfg", *args], result.exit_code, result.stdout, result.stderr
    )


def git(cwd: Path, *args: str) -> str:
    """`git ARGS` in CWD as a test user, outside any git setup of the caller's; its stdout."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(
        ["git", "-c", "user.name=Tess Ter", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def one_error_line(proc: subprocess.CompletedProcess[str], code: int = ExitCode.INPUT) -> str:
    """The one `sealedcfg: error:` line of a refusal (hint lines aside), after checking
    the exit code and that nothing else (a traceback) was printed."""
    assert proc.returncode == code, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("hint: ")]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("sealedcfg: error: "), proc.stderr
    return lines[0]


def assert_one_error(
    proc: subprocess.CompletedProcess[str], code: int, text: str, *secrets: str
) -> None:
    """A refusal: exit `code`, one error line first that says `text`, then only hints,
    and none of `secrets` anywhere in the output."""
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines, proc.stdout
    assert lines[0].startswith("sealedcfg: error: "), proc.stderr
    assert text in lines[0], proc.stderr
    assert all(ln.startswith("hint: ") for ln in lines[1:]), proc.stderr
    for secret in secrets:
        assert secret not in proc.stderr + proc.stdout
