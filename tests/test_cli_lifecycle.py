"""The lifecycle commands (meta, status, history, rollback, rotate-secret, providers,
approve, audit) through typer's runner: in-process, so coverage sees the CLI layer.

tests/test_lifecycle.py and tests/test_audit.py drive the same commands as real
processes; here each command's output forms and exit codes are checked once more
without a subprocess, against real sealed files and a real audit log.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode
from sealedcfg.lifecycle import store

from .conftest import write

runner = CliRunner()
TODAY = "2026-11-30"
OLD = "sk_live_OLDsecret0001"


@pytest.fixture
def profile(tmp_path: Path, keys: KeySource) -> Path:
    target = write(tmp_path / "prod.yaml", f"db:\n  host: h.internal\nstripe:\n  api_key: {OLD}\n")
    api.encrypt_file(target, keys, plain=r"(^|\.)host$")
    return target


def test_meta_shows_without_a_key_and_changes_with_one(profile: Path, key: str) -> None:
    result = runner.invoke(app, ["meta", str(profile), "stripe.api_key"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # no metadata yet
    env = {"SEALEDCFG_KEY": key, "SEALEDCFG_TODAY": TODAY}
    args = ["meta", str(profile), "stripe.api_key", "--provider", "stripe", "--expires", "90d"]
    result = runner.invoke(app, [*args, "--note", "prod-key"], env=env)
    assert result.exit_code == 0, result.stderr
    assert "stripe.api_key metadata updated" in result.stderr
    assert "provider=stripe" in result.stdout.splitlines()
    assert "expires=2027-02-28" in result.stdout.splitlines()
    result = runner.invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    assert "metadata unchanged" in result.stderr
    assert json.loads(result.stdout)["provider"] == "stripe"
    result = runner.invoke(app, [*args[:3], "--meta", "note="], env=env)
    assert result.exit_code == 0, result.stderr
    assert "note" not in json.dumps(store.versions(profile, "stripe.api_key")[0].meta)
    # changing metadata re-seals: without the key it is refused, the file untouched
    before = profile.read_bytes()
    result = runner.invoke(app, [*args[:3], "--provider", "other"], env={"SEALEDCFG_TODAY": TODAY})
    assert result.exit_code == ExitCode.NO_KEY
    assert profile.read_bytes() == before


def _expiring(tmp_path: Path, keys: KeySource) -> list[str]:
    a = write(tmp_path / "a.yaml", "x: 1\ny: 2\nw: 3\n")
    api.encrypt_file(a, keys)
    day = date(2026, 11, 30)
    store.set_value(a, "x", "1", keys, changes={"expires": "2026-11-20"}, now=day)
    store.set_value(a, "y", "2", keys, changes={"expires": "2026-12-10", "provider": "p"}, now=day)
    return [str(a)]


def test_status_table_summary_json_and_fail_on(tmp_path: Path, keys: KeySource) -> None:
    files = _expiring(tmp_path, keys)
    env = {"SEALEDCFG_TODAY": TODAY, "NO_COLOR": "1"}
    result = runner.invoke(app, ["status", *files], env=env)
    assert result.exit_code == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == ["STATE", "EXPIRES", "LEFT", "AGE", "PROVIDER", "FILE", "PATH"]
    assert [r[0] for r in rows[1:]] == ["expired", "expiring", "no"]
    assert rows[1][1:3] == ["2026-11-20", "-10d"]
    assert rows[2][4] == "p"
    assert rows[3][:6] == ["no", "expiry", "-", "-", "-", "-"]  # no age, no provider
    assert "3 sealed value(s) in 1 file(s)" in result.stderr
    result = runner.invoke(app, ["status", *files, "--summary", "--warn", "5d"], env=env)
    assert result.stdout.strip() == (
        "3 sealed value(s) in 1 file(s): 1 expired, 0 expiring within 5 days, 1 ok, "
        "1 without expiry"
    )
    result = runner.invoke(app, ["status", *files, "--fail-on", "expiring:14d"], env=env)
    assert result.exit_code == ExitCode.FINDINGS
    assert "a.yaml: x: expired" in result.stderr
    assert "a.yaml: y: expiring" in result.stderr
    result = runner.invoke(app, ["status", *files, "--json", "--fail-on", "expired"], env=env)
    assert result.exit_code == ExitCode.FINDINGS
    assert result.stderr == ""  # the JSON says it all
    assert [row["path"] for row in json.loads(result.stdout)] == ["x", "y", "w"]
    result = runner.invoke(app, ["status", *files, "--warn", "soon"], env=env)
    assert result.exit_code == ExitCode.INPUT


def test_history_rollback_and_rotate_secret(profile: Path, key: str) -> None:
    env = {"SEALEDCFG_KEY": key, "SEALEDCFG_TODAY": TODAY}
    result = runner.invoke(app, ["rollback", str(profile), "stripe.api_key"], env=env)
    assert result.exit_code == ExitCode.INPUT  # no kept history yet
    args = ["rotate-secret", str(profile), "stripe.api_key", "--via", "random"]
    result = runner.invoke(app, [*args, "-o", "length=32", "--expires", "30d"], env=env)
    assert result.exit_code == 0, result.stderr
    assert "stripe.api_key rotated via random, expires 2026-12-30" in result.stderr
    keys = KeySource(key=key, env={})
    new = api.load(profile, keys=keys)["stripe"]["api_key"]
    assert len(new) == 32
    assert new != OLD
    result = runner.invoke(app, ["history", str(profile), "stripe.api_key"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("current  line ")
    assert "expires=2026-12-30" in lines[0]
    assert lines[1].startswith("-1 ")
    assert new not in result.stdout
    result = runner.invoke(app, ["history", str(profile), "stripe.api_key", "--json"])
    assert [v["version"] for v in json.loads(result.stdout)] == [0, 1]
    result = runner.invoke(app, ["rollback", str(profile), "stripe.api_key"], env=env)
    assert result.exit_code == 0, result.stderr
    assert "rolled back (run again to undo)" in result.stderr
    assert api.load(profile, keys=keys)["stripe"]["api_key"] == OLD
    result = runner.invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    (done,) = json.loads(result.stdout)
    assert done["provider"] == "random"
    assert done["path"] == "stripe.api_key"


def test_rotate_secret_expiring_skips_values_without_a_provider(
    tmp_path: Path, keys: KeySource, key: str
) -> None:
    files = _expiring(tmp_path, keys)
    env = {"SEALEDCFG_KEY": key, "SEALEDCFG_TODAY": TODAY}
    before = Path(files[0]).read_bytes()
    result = runner.invoke(app, ["rotate-secret", *files, "--expiring", "1d"], env=env)
    # x expired but names no provider: skipped, and said so; y is not due within a day
    assert result.exit_code == ExitCode.FINDINGS
    assert "x skipped: it names no provider (use --via)" in result.stderr
    assert Path(files[0]).read_bytes() == before
    later = {**env, "SEALEDCFG_TODAY": "2026-01-01"}
    result = runner.invoke(app, ["rotate-secret", *files, "--expiring", "1d"], env=later)
    assert result.exit_code == 0, result.stderr
    assert "nothing expiring" in result.stderr


def test_providers_lists_the_builtins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)  # no rules file: built-ins and installed plug-ins only
    result = runner.invoke(app, ["providers"])
    assert result.exit_code == 0, result.stderr
    names = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert {"random", "manual"} <= set(names)
    result = runner.invoke(app, ["providers", "--json"])
    found = {p["name"]: p for p in json.loads(result.stdout)}
    assert found["random"]["source"] == "built-in"
    for name, line in names.items():  # the text marks exactly the providers that revoke
        assert ("(revokes)" in line) is found[name]["can_revoke"]


def test_approve_without_a_rules_file_is_one_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["approve"])
    assert result.exit_code == ExitCode.INPUT
    assert result.stderr.startswith("sealedcfg: error: no .sealedcfg.yaml here or above")


def test_approve_needs_a_terminal_or_yes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)  # the rules file search stops here
    monkeypatch.chdir(repo)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "userconfig"))  # approvals go there
    write(repo / ".sealedcfg.yaml", "providers:\n  vault:\n    mint: ./mint.sh\n")
    write(repo / "mint.sh", "#!/bin/sh\necho s3cr3t-from-vault-0000\n").chmod(0o755)
    result = runner.invoke(app, ["approve"])  # the runner's stdin is no terminal
    assert result.exit_code == ExitCode.FINDINGS, result.output
    assert "not approved (run on a terminal, or with --yes)" in result.stderr
    assert "mint.sh" in result.stdout
    result = runner.invoke(app, ["approve", "--yes"])
    assert result.exit_code == 0, result.stderr
    assert "approved 1 item(s)" in result.stderr
    result = runner.invoke(app, ["approve"])  # nothing pending now
    assert result.exit_code == 0, result.stderr


def test_audit_lists_filters_and_verifies(profile: Path, key: str, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    env = {"SEALEDCFG_KEY": key, "SEALEDCFG_AUDIT_LOG": str(log)}
    for args in (["get", str(profile), "stripe.api_key"], ["decrypt", str(profile)]):
        assert runner.invoke(app, args, env=env).exit_code == 0
    result = runner.invoke(app, ["audit"], env=env)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "  get  " in lines[0]
    assert "stripe.api_key  ok" in lines[0]
    result = runner.invoke(app, ["audit", "--op", "decrypt", "--json"], env=env)
    assert [item["op"] for item in json.loads(result.stdout)] == ["decrypt"]
    args = ["audit", "--op", "get", "--since", "7d", "--path"]
    assert len(runner.invoke(app, [*args, "stripe.api_key"], env=env).stdout.splitlines()) == 1
    assert runner.invoke(app, [*args, "db.host"], env=env).stdout == ""
    result = runner.invoke(app, ["audit", "--since", "2999-01-01"], env=env)
    assert result.exit_code == 0
    assert result.stdout == ""
    result = runner.invoke(app, ["audit", "--since", "whenever"], env=env)
    assert result.exit_code == ExitCode.INPUT
    result = runner.invoke(app, ["audit", "--verify"], env=env)
    assert result.exit_code == 0, result.stderr
    assert "2 line(s), chain intact, head " in result.stdout
    result = runner.invoke(app, ["audit", "--verify", "--json"], env=env)
    assert json.loads(result.stdout)["ok"] is True
    log.write_bytes(log.read_bytes()[:-3])
    result = runner.invoke(app, ["audit", "--verify", "--json"], env=env)
    assert result.exit_code == ExitCode.FINDINGS
    assert json.loads(result.stdout)["ok"] is False
    result = runner.invoke(app, ["audit"], env={"SEALEDCFG_AUDIT_LOG": "off"})
    assert result.exit_code == ExitCode.INPUT
    assert "auditing is off" in result.stderr
