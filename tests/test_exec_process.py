"""`exec` as real processes: environment, exit status, signals, --file, --pristine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.ops import execution

from .conftest import FAST, FAST_TEXT, write

SECRET = "tls-private-key-material"


@pytest.fixture
def profile(tmp_path: Path, key: str) -> Path:
    path = write(tmp_path / "p.yaml", f"tls:\n  key: {SECRET}\n  ca: c\ndb:\n  host: h\n")
    api.encrypt_file(path, KeySource(key=key, env={}), kdf=FAST)
    return path


def start(*args: str, key: str, **kw: object) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    env.update({"SEALEDCFG_KEY": key, "SEALEDCFG_ARGON2": FAST_TEXT, "KEEP_ME": "k"})
    proc: subprocess.Popen[str] = subprocess.Popen(
        [sys.executable, "-m", "sealedcfg", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        **kw,  # type: ignore[call-overload]
    )
    return proc


def run(*args: str, key: str) -> tuple[int, str, str]:
    proc = start(*args, key=key)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_exit_code_env_only_and_pristine(profile: Path, key: str) -> None:
    code, out, err = run(
        "exec", str(profile), "--", "sh", "-c", 'echo "$TLS_KEY"; exit 42', key=key
    )
    assert (code, out) == (42, SECRET + "\n"), err
    show = 'echo "${TLS_KEY-unset} ${DB_HOST-unset} ${KEEP_ME-unset} ${SEALEDCFG_KEY-unset}"'
    code, out, err = run("exec", str(profile), "--only", "db", "--", "sh", "-c", show, key=key)
    assert out == "unset h k unset\n", err
    code, out, err = run("exec", "--pristine", str(profile), "--", "sh", "-c", show, key=key)
    assert out == f"{SECRET} h unset unset\n", err
    code, out, err = run("exec", "--pristine", str(profile), "--", "env", key=key)
    names = {line.split("=", 1)[0] for line in out.splitlines()}
    assert names <= {"TLS_KEY", "TLS_CA", "DB_HOST", *execution.PRISTINE_KEEP}, names


@pytest.mark.parametrize("with_file", [False, True])
def test_sigterm_reaches_the_command(profile: Path, key: str, with_file: bool) -> None:
    script = "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.05; done"
    extra = ["--file", "tls.key"] if with_file else []
    argv = ["sh", "-c", script + (" # {}" if with_file else "")]
    proc = start("exec", str(profile), *extra, "--", *argv, key=key)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (3, "got-term\n"), err


def test_file_in_tmpfs_removed_when_the_command_ends(profile: Path, key: str) -> None:
    script = 'cat "$1"; echo; stat -c %a "$1"; stat -c %a "$(dirname "$1")"; echo "$1"'
    code, out, err = run(
        "exec", str(profile), "--file", "tls.key", "--", "sh", "-c", script, "-", "{}", key=key
    )
    assert code == 0, err
    value, mode, dir_mode, path = out.splitlines()
    assert (value, mode, dir_mode) == (SECRET, "600", "700")
    if execution.tmpfs_dir() is not None:
        assert execution.fs_type(str(Path(path).parent)) in ("tmpfs", "ramfs")
    assert not Path(path).exists()
    assert not Path(path).parent.exists()


def test_file_as_fifo(profile: Path, key: str) -> None:
    script = 'test -p "$1" && cat "$1"; echo "|$1"; exit 5'
    code, out, err = run(
        "exec",
        str(profile),
        "--file",
        "tls",
        "--fifo",
        "--",
        "sh",
        "-c",
        script,
        "-",
        "{}",
        key=key,
    )
    assert code == 5, err
    body, path = out.rsplit("|", 1)
    assert body == f"key: {SECRET}\nca: c\n"
    assert not Path(path.strip()).exists()


def test_fifo_never_opened_does_not_hang(profile: Path, key: str) -> None:
    began = time.monotonic()
    code, _, err = run(
        "exec",
        str(profile),
        "--file",
        "tls.key",
        "--fifo",
        "--",
        "sh",
        "-c",
        "exit 0",
        "{}",
        key=key,
    )
    assert code == 0, err
    assert time.monotonic() - began < 20


def test_file_needs_a_placeholder_and_a_command(profile: Path, key: str) -> None:
    code, _, err = run("exec", str(profile), "--file", "tls.key", "--", "true", key=key)
    assert code == 2
    assert "put {} in the command" in err
    code, _, err = run("exec", str(profile), "--file", "tls.key", "--", "nope-x", "{}", key=key)
    assert (code, err) == (127, "sealedcfg: error: nope-x: command not found\n")
