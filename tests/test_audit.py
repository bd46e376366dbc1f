"""The audit trail: whole chained lines from concurrent processes, no values, ever."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode
from sealedcfg.lifecycle import audit

from .conftest import FAST_TEXT, write
from .subproc import assert_one_error, cli

runner = CliRunner()
SECRETS = ("pw-Alpha-7781", "sk_live_Bravo4410", "Charlie-value-99", "sk_live_Delta-0042")


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "audit" / "audit.log"


def test_operations_are_logged_and_no_line_or_error_holds_a_value(
    tmp_path: Path, key: str, log: Path
) -> None:
    env = {"SEALEDCFG_KEY": key, "SEALEDCFG_AUDIT_LOG": str(log)}
    target = write(tmp_path / "prod.yaml", f"db:\n  password: {SECRETS[0]}\n")
    outputs = []
    steps = [
        ("encrypt", str(target)),
        ("set", str(target), "stripe.key", SECRETS[1], "--provider", "random"),
        ("get", str(target), "stripe.key"),
        ("decrypt", str(target)),
        ("export", str(target)),
        ("rotate-secret", str(target), "stripe.key"),
        ("rollback", str(target), "stripe.key"),
        ("set", str(target), "db.password", SECRETS[2]),
        ("rotate", str(target)),
        ("get", str(target), "no.such"),  # fails: logged with its exit status
        ("exec", str(target), "--", "true"),
    ]
    for step in steps:
        proc = cli(*step, env=env)
        outputs.append(proc.stderr)
    proc = cli(
        "set", str(target), "db.password", SECRETS[3], env={**env, "SEALEDCFG_KEY": api.keygen()}
    )
    assert proc.returncode == ExitCode.OPEN
    outputs.append(proc.stderr)
    subprocess.run(
        [sys.executable, "-c", f"import sealedcfg; sealedcfg.load({str(target)!r})"],
        env={**env, "SEALEDCFG_ARGON2": FAST_TEXT, "PATH": "/usr/bin:/bin"}, check=True,
    )  # fmt: skip
    text = log.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["op"] for r in records] == [
        "encrypt", "set", "get", "decrypt", "export", "rotate-secret", "rollback", "set",
        "rotate", "get", "exec", "set", "load",
    ]  # fmt: skip
    assert records[2]["paths"] == ["stripe.key"]
    assert records[3]["paths"] == ["*"]
    assert records[9]["outcome"] == "exit 3"
    assert records[11]["outcome"] == "exit 4"
    assert all(r["outcome"] == "ok" for i, r in enumerate(records) if i not in (9, 11))
    assert {"time", "user", "host", "pid", "files", "prev"} <= set(records[0])
    for secret in SECRETS:
        assert secret not in text
        assert not any(secret in out for out in outputs)
    assert audit.verify(log).ok


def test_four_processes_append_whole_chained_lines(tmp_path: Path, log: Path) -> None:
    script = (
        "import sys\n"
        "from sealedcfg.lifecycle import audit\n"
        "for i in range(60):\n"
        "    audit.append('get', [f'file-{sys.argv[1]}.yaml'], [f'p.{i}' * 40], 'ok')\n"
    )
    env = {"SEALEDCFG_AUDIT_LOG": str(log), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)], env=env) for n in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    lines = log.read_bytes().splitlines(keepends=True)
    assert len(lines) == 240
    for line in lines:
        assert line.endswith(b"\n")
        json.loads(line)
    result = audit.verify(log)
    assert result.ok
    assert result.lines == 240
    per_writer = {n: sum(f"file-{n}.yaml" in ln.decode() for ln in lines) for n in range(4)}
    assert per_writer == dict.fromkeys(range(4), 60)


def test_verify_finds_an_edited_removed_or_torn_line(tmp_path: Path, log: Path) -> None:
    for i in range(5):
        audit_append(log, f"p{i}")
    good = log.read_bytes()
    lines = good.splitlines(keepends=True)
    env = {"SEALEDCFG_AUDIT_LOG": str(log)}
    ok = cli("audit", "--verify", env=env)
    assert ok.returncode == 0
    assert "5 line(s), chain intact" in ok.stdout
    cases = {
        "edited": b"".join([*lines[:2], lines[2].replace(b'"p2"', b'"px"'), *lines[3:]]),
        "removed": b"".join([*lines[:2], *lines[3:]]),
        "first removed": b"".join(lines[1:]),
        "torn": good[:-5],
        "reordered": b"".join([lines[1], lines[0], *lines[2:]]),
    }
    for what, data in cases.items():
        log.write_bytes(data)
        result = runner.invoke(app, ["audit", "--verify"], env=env)
        assert result.exit_code == ExitCode.FINDINGS, what
        assert "line" in result.stderr, what
    # a torn last line stays visible: the next append starts a new line after it
    log.write_bytes(good[:-5])
    audit_append(log, "after")
    assert log.read_bytes().count(b"\n") == 6
    assert not audit.verify(log).ok


def audit_append(log: Path, path: str) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(audit.LOG_ENV, str(log))
        audit.append("get", ["f.yaml"], [path], "ok")


def test_unwritable_log_warns_or_refuses_with_audit_required(tmp_path: Path, key: str) -> None:
    target = write(tmp_path / "p.yaml", "a: secret-value-1\n")
    api.encrypt_file(target, KeySource(key=key, env={}))
    before = target.read_bytes()
    blocker = write(tmp_path / "not-a-dir", "")
    env = {"SEALEDCFG_KEY": key, "SEALEDCFG_AUDIT_LOG": str(blocker / "audit.log")}
    proc = cli("get", str(target), "a", env=env)
    assert proc.returncode == 0
    assert proc.stdout == "secret-value-1\n"
    assert proc.stderr.startswith("sealedcfg: warning: audit log")
    proc = cli("--audit-required", "set", str(target), "a", "secret-value-2", env=env)
    assert_one_error(proc, ExitCode.INPUT, "audit log")
    assert target.read_bytes() == before
    proc = cli("get", str(target), "a", env={**env, "SEALEDCFG_AUDIT_REQUIRED": "1"})
    assert_one_error(proc, ExitCode.INPUT, "audit log")
    assert proc.stdout == ""


def test_off_switch_and_default_location(tmp_path: Path, key: str) -> None:
    target = write(tmp_path / "p.yaml", "a: secret-value-1\n")
    api.encrypt_file(target, KeySource(key=key, env={}))
    state = tmp_path / "state"
    env = {"SEALEDCFG_KEY": key, "XDG_STATE_HOME": str(state)}
    assert cli("get", str(target), "a", env={**env, "SEALEDCFG_AUDIT_LOG": "off"}).returncode == 0
    assert not state.exists()
    assert cli("get", str(target), "a", env=env).returncode == 0
    default = state / "sealedcfg" / "audit.log"
    assert json.loads(default.read_text())["op"] == "get"
    assert default.stat().st_mode & 0o777 == 0o600
    assert cli("ls", str(target), env=env).returncode == 0  # reveals nothing: not logged
    assert cli("status", str(target), env=env).returncode == 0
    assert len(default.read_text().splitlines()) == 1


def test_reading_with_filters(tmp_path: Path, log: Path) -> None:
    for path in ("a.b", "c.d", "a.b"):
        audit_append(log, path)
    env = {"SEALEDCFG_AUDIT_LOG": str(log)}
    proc = cli("audit", "--path", "a.b", "--json", env=env)
    assert [r["paths"] for r in json.loads(proc.stdout)] == [["a.b"], ["a.b"]]
    assert cli("audit", "--op", "set", env=env).stdout == ""
    assert len(cli("audit", "--since", "1d", env=env).stdout.splitlines()) == 3
    assert cli("audit", "--since", "2999-01-01", env=env).stdout == ""
    proc = cli("audit", "--since", "yesterday", env=env)
    assert_one_error(proc, ExitCode.INPUT, "bad --since")
