"""The CLI as a real process, for the hardening tests: its exit code, stdout and stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from sealedcfg.errors import ExitCode

from .conftest import FAST_TEXT


def cli(
    *args: str, env: dict[str, str] | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    base["SEALEDCFG_ARGON2"] = FAST_TEXT
    base.update(env or {})
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("timeout", 60)
    return subprocess.run(
        [sys.executable, "-m", "sealedcfg", *args],
        capture_output=True,
        text=True,
        env=base,
        check=False,
        **kw,
    )


def one_error_line(proc: subprocess.CompletedProcess[str], code: int = ExitCode.INPUT) -> str:
    """The one `sealedcfg: error:` line of a refusal (hint lines aside), after checking
    the exit code and that nothing else (a traceback) was printed."""
    assert proc.returncode == code, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("hint: ")]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("sealedcfg: error: "), proc.stderr
    return lines[0]
