"""What leaves the process: the environment of `exec`, plaintext output files and their modes."""

from __future__ import annotations

from pathlib import Path

from sealedcfg import api
from sealedcfg.errors import ExitCode
from sealedcfg.keys import KeySource

from .conftest import write
from .subproc import cli

SECRET = "Sup3r-Secret-Value-9"


def sealed(path: Path, text: str = f"db:\n  password: {SECRET}\n") -> tuple[Path, str]:
    key = api.keygen()
    api.encrypt_file(write(path, text), KeySource(key=key, env={}))
    return path, key


# ---------------------------------------------------------------- exec environment


def test_exec_passes_no_sealedcfg_variable(tmp_path: Path) -> None:
    path, key = sealed(tmp_path / "p.yaml")
    key_file = tmp_path / "k.key"
    key_file.write_text(key + "\n")
    pass_file = tmp_path / "pass"
    pass_file.write_text("not used\n")
    env = {
        "SEALEDCFG_KEY_FILE": str(key_file),
        "SEALEDCFG_PASSPHRASE_FILE": str(pass_file),
        "SEALEDCFG_PASSPHRASE": "not used either",
        "SEALEDCFG_LOCK_TIMEOUT": "3",
        "SEALEDCFG_DEBUG": "",
        "sealedcfg_lower": "x",
    }
    proc = cli("exec", str(path), "--", "env", env=env)
    assert proc.returncode == 0, proc.stderr
    names = [line.split("=", 1)[0] for line in proc.stdout.splitlines()]
    assert "DB_PASSWORD" in names
    assert not [n for n in names if n.upper().startswith("SEALEDCFG")]


def test_exec_refuses_a_value_named_like_a_key_variable(tmp_path: Path) -> None:
    path, key = sealed(tmp_path / "p.yaml", "sealedcfg_key: abc\n")
    proc = cli("exec", str(path), "--", "env", env={"SEALEDCFG_KEY": key})
    assert proc.returncode == ExitCode.INPUT
    assert proc.stderr.startswith("sealedcfg: error: a value would be exported as SEALEDCFG_KEY")
    proc = cli("exec", "--prefix", "APP_", str(path), "--", "env", env={"SEALEDCFG_KEY": key})
    assert proc.returncode == 0, proc.stderr
    assert "APP_SEALEDCFG_KEY=abc" in proc.stdout
