"""What leaves the process: the environment of `exec`, plaintext output files and their modes."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from sealedcfg.errors import ExitCode

from .conftest import sealed, write
from .subproc import cli, one_error_line

SECRET = "Sup3r-Secret-Value-9"
PROFILE = f"db:\n  password: {SECRET}\n"


# ---------------------------------------------------------------- exec environment


def test_exec_passes_no_sealedcfg_variable(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    key = sealed(path, PROFILE)
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
    path = tmp_path / "p.yaml"
    key = sealed(path, "sealedcfg_key: abc\n")
    proc = cli("exec", str(path), "--", "env", env={"SEALEDCFG_KEY": key})
    assert proc.returncode == ExitCode.INPUT
    assert proc.stderr.startswith("sealedcfg: error: a value would be exported as SEALEDCFG_KEY")
    proc = cli("exec", "--prefix", "APP_", str(path), "--", "env", env={"SEALEDCFG_KEY": key})
    assert proc.returncode == 0, proc.stderr
    assert "APP_SEALEDCFG_KEY=abc" in proc.stdout


# ---------------------------------------------------------------- plaintext files


def test_decrypt_in_place_and_output_are_0600_whatever_existed(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    key = sealed(path, PROFILE)
    os.chmod(path, 0o644)
    out = write(tmp_path / "out.yaml", "old\n")
    os.chmod(out, 0o644)
    env = {"SEALEDCFG_KEY": key}
    proc = cli("decrypt", str(path), "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert SECRET in out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    proc = cli("decrypt", "--in-place", str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert SECRET in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_output_refuses_every_kind_of_symlink(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    key = sealed(path, PROFILE)
    env = {"SEALEDCFG_KEY": key}
    target = write(tmp_path / "target.txt", "keep\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    links = {
        "file": target,
        "fifo": fifo,
        "device": Path("/dev/null"),
        "dangling": tmp_path / "nowhere",
        "directory": tmp_path,
        "chain": tmp_path / "link-file",
    }
    for name, dest in links.items():
        (tmp_path / f"link-{name}").symlink_to(dest)
    for name in links:
        link = tmp_path / f"link-{name}"
        proc = cli("decrypt", str(path), "-o", str(link), env=env, timeout=20)
        line = one_error_line(proc)
        assert "is a symbolic link; refusing to write plaintext through it" in line, name
        assert link.is_symlink()
    assert target.read_text() == "keep\n"
    assert not (tmp_path / "nowhere").exists()


def test_output_to_stdout_names_and_a_fifo_named_directly(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    key = sealed(path, PROFILE)
    env = {"SEALEDCFG_KEY": key}
    for name in ("-", "/dev/stdout"):
        proc = cli("decrypt", str(path), "-o", name, env=env)
        assert proc.returncode == 0, proc.stderr
        assert SECRET in proc.stdout
    assert not (tmp_path / "-").exists()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    proc = cli("decrypt", str(path), "-o", str(fifo), env=env, timeout=20)
    out, _ = reader.communicate(timeout=20)
    assert proc.returncode == 0, proc.stderr
    assert SECRET in out
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
