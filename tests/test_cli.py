"""The CLI through typer's runner and as a real process (exit codes, stderr voice)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.errors import ExitCode

from .conftest import FIXTURES, visible, write
from .subproc import assert_one_error, cli

runner = CliRunner()
SECRET = "Sup3r-Secret-Value-9"


def test_runner_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = api.keygen()
    monkeypatch.setenv("SEALEDCFG_KEY", key)
    src = (FIXTURES / "profiles" / "prod.yaml").read_bytes()
    target = write(tmp_path / "prod.yaml", src)
    result = runner.invoke(app, ["encrypt", str(target), "--plain", r"(^|\.)host$"])
    assert result.exit_code == 0, result.output
    assert "host: billing.prod.internal" in target.read_text()
    result = runner.invoke(app, ["decrypt", str(target)])
    assert result.exit_code == 0
    assert result.stdout_bytes == src
    result = runner.invoke(app, ["verify", str(target), "--json"])
    assert result.exit_code == 0
    assert '"ok": true' in result.stdout


def test_runner_errors_map_to_exit_codes(tmp_path: Path) -> None:
    result = runner.invoke(app, ["decrypt", str(tmp_path / "missing.yaml")])
    assert result.exit_code == ExitCode.INPUT
    assert result.stderr.startswith("sealedcfg: error: ")


def test_every_command_has_help_with_examples() -> None:
    for name in ("keygen", "encrypt", "decrypt", "verify"):
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0
        assert "Example" in result.stdout, name


def test_version_fast_path_and_flag() -> None:
    proc = cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("sealedcfg ")
    assert runner.invoke(app, ["--version"]).stdout == proc.stdout


def test_subprocess_round_trip_key_and_passphrase(tmp_path: Path) -> None:
    key = api.keygen()
    target = write(tmp_path / "p.yaml", f"a: {SECRET}\nb: 2\n")
    env = {"SEALEDCFG_KEY": key, "SEALEDCFG_PASSPHRASE": "a long passphrase"}
    assert cli("encrypt", str(target), env=env).returncode == 0
    assert SECRET not in visible(target.read_text())
    for only in ({"SEALEDCFG_KEY": key}, {"SEALEDCFG_PASSPHRASE": "a long passphrase"}):
        proc = cli("decrypt", str(target), env=only)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == f"a: {SECRET}\nb: 2\n"


def test_decrypt_output_and_stdin(tmp_path: Path) -> None:
    key = api.keygen()
    target = write(tmp_path / "p.yaml", f"a: {SECRET}\n")
    cli("encrypt", str(target), env={"SEALEDCFG_KEY": key})
    out = tmp_path / "plain.yaml"
    assert cli("decrypt", str(target), "-o", str(out), env={"SEALEDCFG_KEY": key}).returncode == 0
    assert out.read_text() == f"a: {SECRET}\n"
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    proc = cli("decrypt", "-", env={"SEALEDCFG_KEY": key}, input=target.read_text())
    assert proc.stdout == f"a: {SECRET}\n"
    assert cli("decrypt", str(target), "--in-place", env={"SEALEDCFG_KEY": key}).returncode == 0
    assert target.read_text() == f"a: {SECRET}\n"


def test_keygen_writes_0600_and_refuses_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    assert cli("keygen", "-o", str(path)).returncode == 0
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert_one_error(cli("keygen", "-o", str(path)), ExitCode.INPUT, "already exists", SECRET)


@pytest.mark.parametrize(
    ("content", "code", "text"),
    [
        (None, ExitCode.INPUT, "no such file"),
        ("dir", ExitCode.INPUT, "is a directory"),
        (b"\x00\x01\x02\xff binary", ExitCode.INPUT, "not UTF-8"),
        (b"a: [1,\nb: 2\n", ExitCode.INPUT, "not valid YAML"),
        (b"- 1\n- 2\n", ExitCode.INPUT, "must be a mapping"),
        (f"a: {SECRET}\na: again\n".encode(), ExitCode.INPUT, "duplicate key"),
    ],
)
def test_bad_input_exit_codes(
    tmp_path: Path, content: bytes | str | None, code: int, text: str
) -> None:
    target = tmp_path / "p.yaml"
    if content == "dir":
        target.mkdir()
    elif isinstance(content, bytes):
        target.write_bytes(content)
    proc = cli("encrypt", str(target), env={"SEALEDCFG_KEY": api.keygen()})
    assert_one_error(proc, code, text, SECRET)
    if isinstance(content, bytes):
        assert target.read_bytes() == content


def test_wrong_key_tampered_and_no_key(tmp_path: Path) -> None:
    key = api.keygen()
    target = write(tmp_path / "p.yaml", f"a: {SECRET}\nb: x\n")
    cli("encrypt", str(target), env={"SEALEDCFG_KEY": key})
    sealed = target.read_bytes()
    assert_one_error(
        cli("decrypt", str(target), env={"SEALEDCFG_KEY": api.keygen()}),
        ExitCode.OPEN,
        "wrong key, or the file was modified",
        SECRET,
    )
    proc = cli("decrypt", str(target))
    assert_one_error(proc, ExitCode.NO_KEY, "no key", SECRET)
    assert "SEALEDCFG_KEY" in proc.stderr
    target.write_bytes(sealed.replace(b"b: sealedcfg", b"c: sealedcfg"))
    assert_one_error(
        cli("decrypt", str(target), env={"SEALEDCFG_KEY": key}),
        ExitCode.OPEN,
        "wrong key, or the file was modified",
        SECRET,
    )
    proc = cli("verify", str(target), env={"SEALEDCFG_KEY": key})
    assert proc.returncode == ExitCode.FINDINGS
    target.write_bytes(sealed[:-40])
    assert_one_error(
        cli("decrypt", str(target), env={"SEALEDCFG_KEY": key}),
        ExitCode.INPUT,
        "malformed sealedcfg header",
        SECRET,
    )


def test_verify_no_decrypt_needs_no_key(tmp_path: Path) -> None:
    key = api.keygen()
    good = write(tmp_path / "good.yaml", "a: 1\n")
    bad = write(tmp_path / "bad.yaml", "a: 1\n")
    for f in (good, bad):
        cli("encrypt", str(f), env={"SEALEDCFG_KEY": key})
    bad.write_text(bad.read_text().replace("a: sealedcfg", "b: plain\na: sealedcfg"))
    assert cli("verify", "--no-decrypt", str(good)).returncode == 0
    proc = cli("verify", "--no-decrypt", str(good), str(bad))
    assert proc.returncode == ExitCode.FINDINGS
    assert "b (line 1): plaintext value in a sealed file" in proc.stdout


def test_locked_file_and_ctrl_c(tmp_path: Path) -> None:
    key = api.keygen()
    target = write(tmp_path / "p.yaml", "a: 1\n")
    before = target.read_bytes()
    fd = os.open(target, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = cli(
            "encrypt", str(target), env={"SEALEDCFG_KEY": key, "SEALEDCFG_LOCK_TIMEOUT": "0.3"}
        )
        assert_one_error(proc, ExitCode.LOCKED, "locked by another sealedcfg process", SECRET)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
        # Its own audit log (not the user's, which every test process appends to), and
        # room for a loaded machine: the lock wait outlasts the wait for its exit.
        audit = str(tmp_path / "audit.log")
        env.update({"SEALEDCFG_KEY": key, "SEALEDCFG_LOCK_TIMEOUT": "300"})
        env.update({"SEALEDCFG_AUDIT_LOG": audit})
        waiting = subprocess.Popen(
            [sys.executable, "-m", "sealedcfg", "encrypt", str(target)],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        # Wait until it has the file open, i.e. waits on the lock; then Ctrl-C.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
            os.path.realpath(f"/proc/{waiting.pid}/fd/{n}") == os.path.realpath(target)
            for n in os.listdir(f"/proc/{waiting.pid}/fd")
        ):
            time.sleep(0.05)
        waiting.send_signal(signal.SIGINT)
        _, err = waiting.communicate(timeout=120)
        assert waiting.returncode == ExitCode.INTERRUPTED
        assert err.startswith("sealedcfg: error: interrupted")
    finally:
        os.close(fd)
    assert target.read_bytes() == before


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = write(tmp_path / "p.yaml", "a: 1\n")
    if os.geteuid() != 0:
        target.chmod(0)
        assert_one_error(
            cli("decrypt", str(target), env={"SEALEDCFG_KEY": api.keygen()}),
            ExitCode.INPUT,
            "permission denied",
            SECRET,
        )
        return

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)  # root reads anything: simulate
    result = runner.invoke(app, ["decrypt", str(target)], env={"SEALEDCFG_KEY": api.keygen()})
    assert result.exit_code == ExitCode.INPUT
    assert "permission denied" in result.stderr
