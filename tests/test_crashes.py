"""Input that used to end in exit 70 ("this is a bug"): each now a clean answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealedcfg import api
from sealedcfg.cli.util import CLOSED_PIPE
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode
from sealedcfg.yamltext import document, model, scalars

from .conftest import sealed, write
from .subproc import assert_one_error, cli, one_error_line

# ---------------------------------------------------------------- %YAML versions


@pytest.mark.parametrize("version", ["1.3", "1.10"])
def test_later_yaml_minor_version_is_read_as_1_2_with_a_warning(
    tmp_path: Path, version: str
) -> None:
    path = write(tmp_path / "p.yaml", f"%YAML {version}\n---\na: 0x10\nb: yes\n")
    key = api.keygen()
    env = {"SEALEDCFG_KEY": key}
    warning = f"sealedcfg: warning: {path}: %YAML {version} (line 1) is read as YAML 1.2\n"
    proc = cli("encrypt", str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith(warning)
    for args in (["ls", str(path)], ["verify", "--no-decrypt", str(path)], ["verify", str(path)]):
        proc = cli(*args, env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == warning
    proc = cli("export", "--format", "json", str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert '"a": 16' in proc.stdout  # YAML 1.2: hex int; `yes` a string
    assert '"b": "yes"' in proc.stdout
    assert cli("decrypt", str(path), env=env).stdout == f"%YAML {version}\n---\na: 0x10\nb: yes\n"


@pytest.mark.parametrize("version", ["1.0", "2.0", "0.9"])
def test_unknown_yaml_versions_are_refused_cleanly(tmp_path: Path, version: str) -> None:
    text = f"%YAML {version}\n---\na: 1\n"
    path = write(tmp_path / "p.yaml", text)
    env = {"SEALEDCFG_KEY": api.keygen()}
    message = f"unsupported YAML version {version} (line 1); sealedcfg reads YAML 1.1 and 1.2"
    for args in (["ls", str(path)], ["encrypt", str(path)]):
        assert message in one_error_line(cli(*args, env=env))
    proc = cli("verify", "--no-decrypt", str(path))
    assert proc.returncode == ExitCode.FINDINGS
    assert message in proc.stdout
    assert path.read_text() == text


# ---------------------------------------------------------------- odd keys, env, pipes


def test_lone_surrogates_are_refused_cleanly(tmp_path: Path) -> None:
    text = '"\\ud800x": 1\nb: "\\udfff"\n'
    path = write(tmp_path / "p.yaml", text)
    env = {"SEALEDCFG_KEY": api.keygen()}
    for args in (["ls", str(path)], ["ls", "--json", str(path)], ["encrypt", str(path)]):
        line = one_error_line(cli(*args, env=env))
        assert "a lone surrogate escape (\\ud800-\\udfff) at line 1" in line
    assert path.read_text() == text


@pytest.mark.parametrize("value", ["ten", "nan", "-1", "inf", ""])
def test_bad_lock_timeout_is_an_input_error(tmp_path: Path, value: str) -> None:
    path = tmp_path / "p.yaml"
    key = sealed(path, "a: 1\n")
    before = path.read_bytes()
    env = {"SEALEDCFG_KEY": key, "SEALEDCFG_LOCK_TIMEOUT": value}
    line = one_error_line(cli("set", str(path), "a", "2", env=env))
    assert "SEALEDCFG_LOCK_TIMEOUT must be a number of seconds" in line
    assert path.read_bytes() == before


def _start(args: list[str], cwd: Path, env: dict[str, str], **kw: Any) -> subprocess.Popen[bytes]:
    """`python -m sealedcfg ARGS` started with stdout and stderr piped, in this
    environment without its SEALEDCFG_* variables, plus `env`."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")} | env
    cli = [sys.executable, "-m", "sealedcfg", *args]
    return subprocess.Popen(
        cli, cwd=cwd, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw
    )


def _piped_to_head(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI into `head -1`; the CLI's exit status and stderr."""

    cli_proc = _start(args, cwd, env)
    assert cli_proc.stdout is not None
    head = subprocess.run(["head", "-1"], stdin=cli_proc.stdout, capture_output=True, check=True)
    cli_proc.stdout.close()
    _, err = cli_proc.communicate(timeout=60)
    assert head.stdout
    return cli_proc.returncode, err.decode()


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    for args in (["init", "-q"], ["config", "user.email", "t@e.com"], ["config", "user.name", "t"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    path = tmp_path / "p.yaml"
    key = sealed(path, "".join(f"key{i}: value{i}\n" for i in range(5_000)))
    for i in range(3):
        subprocess.run(["git", "add", "p.yaml"], cwd=tmp_path, check=True)
        subprocess.run(["git", "commit", "-qm", f"c{i}"], cwd=tmp_path, check=True)
        api.set_value(path, f"key{i}", "changed", KeySource(key=key, env={}))
    env = {"SEALEDCFG_KEY": key}
    for args in (
        ["ls", "--json", "p.yaml"],
        ["ls", "p.yaml"],
        ["log", "p.yaml"],
        ["export", "p.yaml"],
    ):
        code, err = _piped_to_head(args, tmp_path, env)
        assert err == "", (args, err)
        assert code in (0, 141), (args, code)


# Commands with output on stdout; NOTES are the informational lines they print on stderr.
_OUTPUT_COMMANDS = (
    ["decrypt", "p.yaml"],
    ["export", "p.yaml"],
    ["get", "p.yaml", "key1"],
    ["ls", "--json", "p.yaml"],
    ["ls", "p.yaml"],
    ["keygen"],
    ["--version"],
    ["--help"],
    ["ls", "--help"],
    ["check", "--format", "json", "p.yaml"],
)
_NOTES = ("key id: ", "sealedcfg check: ")


def _without_notes(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    lines = proc.stderr.splitlines(keepends=True)
    proc.stderr = "".join(ln for ln in lines if not ln.startswith(_NOTES))
    return proc


@pytest.fixture
def big(tmp_path: Path) -> dict[str, str]:
    """p.yaml in tmp_path, its plaintext several pipe buffers (64 KiB) long; the env to open it."""
    key = sealed(tmp_path / "p.yaml", "".join(f"key{i}: value-{i}_x!\n" for i in range(10_000)))
    return {"SEALEDCFG_KEY": key}


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_output_to_a_full_device_is_one_error(
    tmp_path: Path, big: dict[str, str], unbuffered: str
) -> None:
    """`> /dev/full`: the write fails inside the command (exit 70 before), or in --version
    (a traceback), or at the interpreter's last flush ("Exception ignored", exit 120)."""
    env = {**big, "PYTHONUNBUFFERED": unbuffered}
    with open("/dev/full", "w") as full:
        for args in _OUTPUT_COMMANDS:
            proc = _without_notes(cli(*args, env=env, cwd=tmp_path, stdout=full))
            assert_one_error(proc, ExitCode.INPUT, "cannot write the output (No space left on")


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_a_closed_stdout_is_141_for_every_command(
    tmp_path: Path, big: dict[str, str], unbuffered: str
) -> None:
    """`sealedcfg ... | true`: the reader is gone before the first write.  `--help` was
    exit 1 (click's own EPIPE handling), `--version` a traceback."""
    env = {**big, "PYTHONUNBUFFERED": unbuffered}
    for args in _OUTPUT_COMMANDS:
        read, write_end = os.pipe()
        os.close(read)
        with open(write_end, "w") as closed:
            proc = _without_notes(cli(*args, env=env, cwd=tmp_path, stdout=closed))
        assert (proc.returncode, proc.stderr) == (CLOSED_PIPE, ""), args


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_a_reader_leaving_midway_is_141(
    tmp_path: Path, big: dict[str, str], unbuffered: str
) -> None:
    """The reader takes a few bytes and goes (`| head -c 10`).  Under PYTHONUNBUFFERED=1
    the rest of a short write was dropped unseen: exit 0 with the output cut."""
    env = {**big, "PYTHONUNBUFFERED": unbuffered}
    for args in (["decrypt", "p.yaml"], ["ls", "--json", "p.yaml"], ["export", "p.yaml"]):
        proc = _start(args, tmp_path, env, stdin=subprocess.DEVNULL)
        assert proc.stdout is not None
        assert len(proc.stdout.read(10)) == 10
        proc.stdout.close()
        _, err = proc.communicate(timeout=60)
        assert (proc.returncode, err) == (CLOSED_PIPE, b""), args


# ---------------------------------------------------------------- set: characters YAML breaks on


@pytest.mark.parametrize(
    "value",
    [
        "x\u2028y",
        "x\u2029y",
        "x\u0085y",
        "p\x7fq",
        "\ufeffbom",
        "c1\x9bcontrol",
        "tab\tin",
        "end\u2028",
    ],
)
def test_set_quotes_line_breaks_and_controls(tmp_path: Path, value: str) -> None:
    path = tmp_path / "p.yaml"
    key = sealed(path, "a: 1\n")
    keys = KeySource(key=key, env={})
    api.set_value(path, "b", value, keys)
    assert api.verify_file(path, keys).ok
    assert api.load(path, keys=keys)["b"] == value
    proc = cli("get", str(path), "b", env={"SEALEDCFG_KEY": key})
    assert proc.returncode == 0, proc.stderr


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=12))
def test_rendered_scalars_read_back_the_same_under_yaml_1_1_and_1_2(value: str) -> None:
    for version in ("1.1", "1.2"):
        text = f"%YAML {version}\n---\nk: {scalars.render(value, 'str')}\n"
        assert model.build(document.parse(text, "t.yaml"), "t.yaml").documents[0]["k"] == value
