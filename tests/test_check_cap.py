"""`check` lists at most MAX_FINDINGS_PER_FILE findings per file and counts the rest.

A hostile profile of 1 MiB can hold a quarter of a million unsealed values; the
hook must still answer in seconds, and never hide that a file has findings.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource
from sealedcfg.ops.check import MAX_FINDINGS_PER_FILE

from .conftest import write
from .subproc import cli

CAP = MAX_FINDINGS_PER_FILE
EXTRA = 37
runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    return tmp_path


def hostile_profile(repo: Path, keys: KeySource, values: int = CAP + EXTRA) -> Path:
    """A sealed profile where someone without the key added `values` plaintext values."""
    path = repo / "prod.yaml"
    api.encrypt_file(write(path, "token: s3cret\n"), keys)
    added = "".join(f"plain{i}: v{i}\n" for i in range(values))
    path.write_text(added + path.read_text())
    return path


def test_text_lists_the_cap_and_says_how_many_more(repo: Path, keys: KeySource) -> None:
    path = hostile_profile(repo, keys)
    before = path.read_bytes()
    proc = cli("check", "prod.yaml", cwd=repo)
    assert proc.returncode == 1, proc.stderr
    listed = [ln for ln in proc.stdout.splitlines() if ": unsealed-value: " in ln]
    assert len(listed) == CAP
    assert listed[0].startswith("prod.yaml:1:1: unsealed-value: plain0:")
    more = f"prod.yaml: {EXTRA} more finding(s) not shown (at most {CAP} listed per file)"
    assert proc.stdout.splitlines()[-1] == more
    assert f"{CAP + EXTRA} finding(s) ({EXTRA} not shown)" in proc.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_json_and_sarif_say_how_many_more(repo: Path, keys: KeySource, fmt: str) -> None:
    hostile_profile(repo, keys)
    proc = cli("check", "--format", fmt, "prod.yaml", cwd=repo)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    message = f"{EXTRA} more finding(s) not shown (at most {CAP} listed per file)"
    if fmt == "json":
        assert len(data["findings"]) == CAP
        assert data["not_shown"] == [{"path": "prod.yaml", "count": EXTRA, "message": message}]
    else:
        run = data["runs"][0]
        assert len(run["results"]) == CAP
        (note,) = run["invocations"][0]["toolExecutionNotifications"]
        assert note["descriptor"]["id"] == "findings-not-shown"
        assert note["message"]["text"] == f"prod.yaml: {message}"


def test_under_the_cap_nothing_is_said(repo: Path, keys: KeySource) -> None:
    hostile_profile(repo, keys, values=CAP)
    proc = cli("check", "--format", "json", "prod.yaml", cwd=repo)
    data = json.loads(proc.stdout)
    assert (len(data["findings"]), data["not_shown"]) == (CAP, [])
    assert "not shown" not in cli("check", "prod.yaml", cwd=repo).stdout


def test_accepted_findings_never_take_a_listed_place(repo: Path, keys: KeySource) -> None:
    """The allow file is applied before the cap: after accepting the listed findings
    the next run lists the rest, and a file whose findings are all accepted passes."""
    hostile_profile(repo, keys)
    first = cli("check", "--write-allow", "prod.yaml", cwd=repo)
    assert first.returncode == 1
    assert "findings not shown were not added" in first.stderr
    second = cli("check", "--format", "json", "prod.yaml", cwd=repo)
    data = json.loads(second.stdout)
    assert second.returncode == 1
    assert len(data["findings"]) == EXTRA
    assert data["not_shown"] == []
    assert data["findings"][0]["message"].startswith(f"plain{CAP}:")
    cli("check", "--write-allow", "prod.yaml", cwd=repo)
    last = cli("check", "prod.yaml", cwd=repo)
    assert last.returncode == 0, last.stdout
    assert "0 finding(s)" in last.stderr


def test_scanner_findings_are_capped_per_file_too(repo: Path) -> None:
    # Seeded: about one random 32-hex value in 1,400 reads as not random (a run of
    # os.urandom values failed about one time in eleven).
    rng = random.Random(1404)
    lines = "".join(f'api_key_{i} = "{rng.randbytes(16).hex()}"\n' for i in range(CAP + EXTRA))
    write(repo / "settings.py", lines)
    write(repo / "other.py", lines)
    proc = cli("check", "settings.py", "other.py", cwd=repo)
    assert proc.returncode == 1
    assert proc.stdout.count(": generic-secret-assignment: ") == 2 * CAP
    for name in ("settings.py", "other.py"):
        assert f"{name}: {EXTRA} more finding(s) not shown" in proc.stdout


def test_through_typer_runner(repo: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch) -> None:
    hostile_profile(repo, keys)
    monkeypatch.chdir(repo)
    result = runner.invoke(app, ["check", "prod.yaml"])
    assert result.exit_code == 1
    assert f"prod.yaml: {EXTRA} more finding(s) not shown" in result.stdout


def test_hook_main_writes_the_listed_findings_only(
    repo: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hook as a function: --write-allow accepts the listed findings and says the
    rest were left for the next run; a FIFO is a note, never a silent pass."""
    from sealedcfg.cli.check import main

    monkeypatch.chdir(repo)
    path = hostile_profile(repo, keys)
    fifo = repo / "pipe.yaml"
    os.mkfifo(fifo)
    assert main([path.name, fifo.name, "--write-allow"]) == 1
    err = capsys.readouterr().err
    assert f"added {CAP} fingerprint(s)" in err
    assert "findings not shown were not added" in err
    assert "pipe.yaml: skipped (not a regular file)" in err
    assert len((repo / ".sealedcfg-allow").read_text().splitlines()) == CAP
    assert main([path.name]) == 1  # the rest are listed now
    assert f"{EXTRA} finding" in capsys.readouterr().err


def test_hook_main_import_gitleaks_refusals(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sealedcfg.cli.check import main

    monkeypatch.chdir(repo)
    toml = write(repo / ".gitleaks.toml", '[[rules]]\nid = "x"\nregex = """abc[0-9]{8}"""\n')
    assert main(["--import-gitleaks", toml.name, "other.py"]) == 2
    assert "takes no files" in capsys.readouterr().err
    assert main(["--import-gitleaks", "missing.toml"]) == 2
    assert "sealedcfg: error:" in capsys.readouterr().err
    assert main(["--import-gitleaks", toml.name]) == 0
    captured = capsys.readouterr()
    assert "converted 1 rule(s)" in captured.err
    assert "abc[0-9]{8}" in captured.out
