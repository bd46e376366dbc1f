"""`check` against an attacker who writes files: big profiles, planted rules files, skips."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource

from .conftest import write
from .subproc import cli

STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"  # split: our own hook scans this file


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for args in (
        ["init", "-q"],
        ["config", "user.email", "t@example.com"],
        ["config", "user.name", "t"],
    ):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    return tmp_path


def big_profile(repo: Path) -> Path:
    """A sealed profile of about 1.5 MiB with a plaintext key at a new path."""
    path = repo / "prod.yaml"
    lines = "".join(f"k{i}: {'x' * 60}\n" for i in range(25_000))
    api.encrypt_file(write(path, lines), KeySource(key=api.keygen(), env={}))
    path.write_text(f"stripe_key: {STRIPE}\n" + path.read_text())
    assert path.stat().st_size > 1 << 20
    return path


def test_big_sealed_profile_is_checked_in_every_mode(repo: Path) -> None:
    path = big_profile(repo)
    subprocess.run(["git", "add", "prod.yaml"], cwd=repo, check=True)
    for args in (["prod.yaml"], ["--staged"], ["--all"]):
        proc = cli("check", *args, cwd=repo)
        assert proc.returncode == 1, proc.stderr
        assert "prod.yaml:1:1: unsealed-value: stripe_key" in proc.stdout
        assert "skipped" not in proc.stderr.split("finding(s),")[0]
        assert "0 skipped" in proc.stderr
    assert STRIPE not in path.read_text().split("\n", 1)[1]


def test_big_other_file_is_reported_skipped_in_every_format(repo: Path) -> None:
    write(repo / "big.txt", ("word " * 50 + "\n") * 5000)
    proc = cli("check", "big.txt", cwd=repo)
    assert proc.returncode == 0
    assert "sealedcfg: note: big.txt: skipped (larger than 1 MiB)" in proc.stderr
    proc = cli("check", "--format", "json", "big.txt", cwd=repo)
    assert json.loads(proc.stdout)["skipped"] == [
        {"path": "big.txt", "reason": "larger than 1 MiB"}
    ]
    proc = cli("check", "--format", "sarif", "big.txt", cwd=repo)
    notes = json.loads(proc.stdout)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == ["big.txt: skipped (larger than 1 MiB)"]
    assert notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "big.txt"


def test_rules_files_are_scanned_and_only_the_root_one_configures(repo: Path) -> None:
    write(repo / ".sealedcfg.yaml", f"# stripe: {STRIPE}\ncreation_rules: []\n")
    sub = repo / "sub"
    sub.mkdir()
    # A planted rules file: must neither exempt itself nor make sub/*.yaml profiles.
    write(sub / ".sealedcfg.yaml", f"# {STRIPE}\ncreation_rules:\n  - path: '*.yaml'\n")
    write(sub / "plain.yaml", "name: demo\n")
    proc = cli("check", ".sealedcfg.yaml", "sub/.sealedcfg.yaml", "sub/plain.yaml", cwd=repo)
    assert proc.returncode == 1
    flagged = {  # each finding's line; its indented `fix:` line follows it
        line.split(":", 1)[0] for line in proc.stdout.splitlines() if not line.startswith(" ")
    }
    assert flagged == {".sealedcfg.yaml", "sub/.sealedcfg.yaml"}
    proc = cli("check", "plain.yaml", cwd=sub)  # run from the subdirectory: same answer
    assert proc.returncode == 0, proc.stdout
    assert "unsealed-profile" not in proc.stdout


def test_device_and_fifo_are_skipped_not_read(repo: Path) -> None:
    # /dev/zero has no size to check first (read whole, it ended in MemoryError, exit 70);
    # a FIFO without a writer would block the hook on open.
    fifo = repo / "pipe"
    os.mkfifo(fifo)
    proc = cli("check", "/dev/zero", "pipe", cwd=repo, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "sealedcfg: note: /dev/zero: skipped (not a regular file)" in proc.stderr
    assert "sealedcfg: note: pipe: skipped (not a regular file)" in proc.stderr
    assert "Traceback" not in proc.stderr
