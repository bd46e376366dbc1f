"""`export` and `exec`: flattening, each format's escaping, the environment of COMMAND."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli import run as cli_run
from sealedcfg.cli.main import make_app
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, InputError, UsageError
from sealedcfg.ops import export

from .conftest import FAST_TEXT, sealed, write

runner = CliRunner()
SECRET = "Sup3r-Secret-Value-9"
TRICKY = [
    "plain",
    "",
    "it's",
    'say "hi"',
    "$HOME and ${HOME} and $(id) and `id`",
    "back\\slash \\n \\$ \\\\",
    "two\nlines\r\nand a tab\t",
    "  spaces  # not a comment",
    "'\"'\"'",
    "unicode: café ✓",
    "=== equals ===",
]
RUN = (
    "import sys; from sealedcfg.cli.main import make_app; "
    "from sealedcfg.cli import run as cli_run; "
    "a = make_app('core'); cli_run.register(a); a(args=sys.argv[1:], prog_name='sealedcfg')"
)


def app() -> Any:
    made = make_app()
    cli_run.register(made)
    cli_run.register(made)  # idempotent
    return made


def run(*args: str, key: str | None, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    env["SEALEDCFG_ARGON2"] = FAST_TEXT
    if key:
        env["SEALEDCFG_KEY"] = key
    env.update(kw.pop("env", {}))
    return subprocess.run(
        [sys.executable, "-c", RUN, *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
        **kw,
    )


# ---------------------------------------------------------------- flattening


def test_flatten_nested_lists_and_prefix() -> None:
    doc = {
        "database": {"host": "db", "password": "pw", "port": 5432},
        "servers": [{"token": "t0"}, {"token": "t1", "tags": ["a", "b"]}],
        "debug": False,
        "empty": None,
        "ratio": 0.5,
        "since": datetime.date(2024, 1, 2),
        "at": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "blob": b"\x00\xffhi",
        "none": {},
    }
    assert export.flatten(doc) == {
        "DATABASE_HOST": "db",
        "DATABASE_PASSWORD": "pw",
        "DATABASE_PORT": "5432",
        "SERVERS_0_TOKEN": "t0",
        "SERVERS_1_TOKEN": "t1",
        "SERVERS_1_TAGS_0": "a",
        "SERVERS_1_TAGS_1": "b",
        "DEBUG": "false",
        "EMPTY": "",
        "RATIO": "0.5",
        "SINCE": "2024-01-02",
        "AT": "2024-01-02T03:04:05+00:00",
        "BLOB": "AP9oaQ==",
    }
    assert list(export.flatten({"db": {"url": "x"}}, prefix="APP_")) == ["APP_DB_URL"]
    assert export.flatten(None) == {}


def test_unsafe_and_unicode_key_characters_become_underscores() -> None:
    got = export.flatten({"café": 1, "a.b-c d": 2, "ß": 3, "k8s/ns": 4, True: 5, "n": {7: 6}})
    assert got == {"CAF_": "1", "A_B_C_D": "2", "_": "3", "K8S_NS": "4", "TRUE": "5", "N_7": "6"}


def test_collision_names_both_paths_and_no_value() -> None:
    with pytest.raises(InputError) as exc:
        export.flatten({"a_b": SECRET, "a": {"b": SECRET + "2"}})
    assert "a_b and a.b both become A_B" in exc.value.message
    assert SECRET not in exc.value.message + "".join(exc.value.hints)
    with pytest.raises(InputError, match=r"café and cafè both become CAF_"):
        export.flatten({"café": 1, "cafè": 2})
    with pytest.raises(InputError, match=r"1:a\.b and 1:a_b"):
        export.flatten({"a": {"b": 1}, "a_b": 2}, index=1, documents=2)


def test_names_that_no_shell_accepts_are_refused() -> None:
    with pytest.raises(InputError, match="1PASSWORD is not a variable name") as exc:
        export.flatten({"1password": SECRET})
    assert "--prefix" in exc.value.hints[0]
    assert export.flatten({"1password": "x"}, prefix="APP_") == {"APP_1PASSWORD": "x"}
    with pytest.raises(InputError, match="not a mapping"):
        export.flatten(["a"])
    with pytest.raises(InputError, match="NUL"):
        export.flatten({"k": "a\0b"})
    with pytest.raises(InputError, match="set cannot become a variable"):
        export.flatten({"k": {"x", "y"}})
    with pytest.raises(UsageError):
        export.check_prefix("APP-")
    export.check_prefix("app_")


def test_pick_a_document() -> None:
    assert export.pick([{"a": 1}], None, "f") == ({"a": 1}, 0)
    assert export.pick([{"a": 1}, {"b": 2}], 1, "f") == ({"b": 2}, 1)
    assert export.pick([], None, "f") == (None, 0)
    with pytest.raises(InputError, match="2 documents; choose one with --doc"):
        export.pick([{}, {}], None, "f")
    with pytest.raises(InputError, match="no document 2"):
        export.pick([{}, {}], 2, "f")


# ---------------------------------------------------------------- formats


def parse_dotenv(text: str) -> dict[str, str]:
    """What python-dotenv, the consumer the dotenv format is written for, reads."""
    import io

    import dotenv

    values = dotenv.dotenv_values(stream=io.StringIO(text))
    return {k: v or "" for k, v in values.items()}


def test_dotenv_round_trips_tricky_values() -> None:
    env = {f"V{i}": v for i, v in enumerate(TRICKY)}
    text = export.dotenv(env)
    assert text.count("\n") == len(env)  # one line per variable
    assert parse_dotenv(text) == env
    assert export.dotenv({"A": 'x"$y\\'}) == 'A="x\\"$y\\\\"\n'


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("value", TRICKY)
def test_shell_round_trips_through_eval(value: str) -> None:
    script = export.shell({"NAME": value, "OTHER": "x"})
    proc = subprocess.run(
        ["bash", "-c", 'eval "$(cat)"; printf %s "$NAME"'],
        input=script.encode(),
        capture_output=True,
        check=True,
        env={"PATH": os.defpath},
    )
    assert proc.stdout.decode() == value


def test_jsonable_keeps_types() -> None:
    doc = {"d": datetime.date(2024, 1, 2), "b": b"hi", 1: [True, None, 1.5], "s": {"y", "x"}}
    got = json.loads(json.dumps(export.jsonable(doc)))
    assert got == {"d": "2024-01-02", "b": "aGk=", "1": [True, None, 1.5], "s": ["x", "y"]}
    assert export.jsonable(float("inf")) == "inf"


# ---------------------------------------------------------------- export command

PROFILE = f"""\
database:
  host: db.internal
  password: "{SECRET}"
servers:
  - token: "it's $x"
enabled: true
"""


def test_export_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.yaml"
    key = sealed(path, PROFILE)
    monkeypatch.setenv("SEALEDCFG_KEY", key)
    result = runner.invoke(app(), ["export", str(path)])
    assert result.exit_code == 0, result.output
    assert parse_dotenv(result.stdout) == {
        "DATABASE_HOST": "db.internal",
        "DATABASE_PASSWORD": SECRET,
        "SERVERS_0_TOKEN": "it's $x",
        "ENABLED": "true",
    }
    result = runner.invoke(app(), ["export", str(path), "-f", "shell", "--prefix", "APP_"])
    assert "export APP_SERVERS_0_TOKEN='it'\\''s $x'\n" in result.stdout
    result = runner.invoke(app(), ["export", str(path), "--format", "json"])
    assert json.loads(result.stdout)["database"]["password"] == SECRET  # one object
    result = runner.invoke(app(), ["export", str(path), "--format", "json", "--doc", "0"])
    assert json.loads(result.stdout)["enabled"] is True
    result = runner.invoke(app(), ["export", str(path), "--format", "toml"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == (
        "sealedcfg: error: unknown format 'toml' (one of: dotenv, shell, json, yaml, github)\n"
    )


def test_multi_document_needs_doc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.yaml"
    key = sealed(path, "a: one\n---\na: two\n")
    monkeypatch.setenv("SEALEDCFG_KEY", key)
    result = runner.invoke(app(), ["export", str(path)])
    assert result.exit_code == ExitCode.INPUT
    assert "--doc" in result.stderr
    assert runner.invoke(app(), ["export", str(path), "--doc", "1"]).stdout == 'A="two"\n'
    result = runner.invoke(app(), ["export", str(path), "--format", "json"])
    assert result.exit_code == ExitCode.INPUT
    assert "--doc" in result.stderr
    result = runner.invoke(app(), ["export", str(path), "--format", "json", "--doc", "1"])
    assert json.loads(result.stdout) == {"a": "two"}
    result = runner.invoke(app(), ["exec", str(path), "--", "true"])
    assert result.exit_code == ExitCode.INPUT


def test_no_key_and_tampered_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    key = sealed(path, PROFILE)
    proc = run("export", str(path), key=None)
    assert proc.returncode == ExitCode.NO_KEY, proc.stderr
    assert proc.stderr.startswith("sealedcfg: error: no key")
    proc = run("exec", str(path), "--", "true", key=None)
    assert proc.returncode == ExitCode.NO_KEY, proc.stderr
    text = path.read_text()
    path.write_text(text.replace("  password: sealedcfg", "  passwd: sealedcfg"))
    for args in (["export", str(path)], ["exec", str(path), "--", "true"]):
        proc = run(*args, key=key)
        assert proc.returncode == ExitCode.OPEN, proc.stderr
        assert "wrong key, or the file was modified" in proc.stderr
        assert SECRET not in proc.stdout + proc.stderr


def test_every_command_has_help_with_examples() -> None:
    for name in ("export", "exec"):
        result = runner.invoke(app(), [name, "--help"])
        assert result.exit_code == 0
        assert "Example" in result.stdout, name


# ---------------------------------------------------------------- exec command


def test_exec_environment_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "base.yaml"
    key = sealed(base, "db:\n  host: base\n  user: app\nhome: h\n")
    prod = tmp_path / "prod.yaml"
    api.encrypt_file(write(prod, "db:\n  host: prod\n"), KeySource(key=key, env={}))
    monkeypatch.setenv("SEALEDCFG_KEY", key)
    monkeypatch.setenv("HOME", "/kept")
    calls: list[tuple[str, list[str], dict[str, str]]] = []
    monkeypatch.setattr(os, "execvpe", lambda f, a, e: calls.append((f, a, e)))
    result = runner.invoke(app(), ["exec", str(base), str(prod), "--", "sh", "-c", "--prefix"])
    assert result.exit_code == 0, result.output
    file, argv, env = calls.pop()
    assert (file, argv) == ("sh", ["sh", "-c", "--prefix"])  # after --: never our options
    assert (env["DB_HOST"], env["DB_USER"], env["HOME"]) == ("prod", "app", "h")
    assert "SEALEDCFG_KEY" not in env  # the command gets the values, not the key
    runner.invoke(app(), ["exec", "--no-override", str(base), "--", "sh"])
    assert calls.pop()[2]["HOME"] == "/kept"
    runner.invoke(app(), ["exec", "--prefix", "X_", str(base), "--", "sh"])
    assert "X_HOME" in calls.pop()[2]
    result = runner.invoke(app(), ["exec", str(base), "sh"])
    assert result.exit_code == ExitCode.USAGE
    assert "put -- before the command" in result.stderr
    assert runner.invoke(app(), ["exec", str(base), "--"]).exit_code == ExitCode.USAGE
    assert not calls


def test_exec_passes_values_and_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    key = sealed(path, PROFILE)
    script = 'printf "%s|%s" "$DATABASE_PASSWORD" "$SERVERS_0_TOKEN"; exit 7'
    proc = run("exec", str(path), "--", "sh", "-c", script, key=key)
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout == f"{SECRET}|it's $x"
    assert proc.stderr == ""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_exec_restores_default_sigpipe(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    key = sealed(path, "a: b\n")
    proc = run("exec", str(path), "--", "grep", "SigIgn", "/proc/self/status", key=key)
    assert proc.returncode == 0, proc.stderr
    ignored = int(proc.stdout.split()[1], 16)
    assert not ignored & (1 << (13 - 1))  # SIGPIPE is 13


def test_exec_missing_command(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    key = sealed(path, PROFILE)
    proc = run("exec", str(path), "--", "no-such-command-xyz", SECRET, key=key)
    assert proc.returncode == 127  # as a shell says
    assert proc.stderr == "sealedcfg: error: no-such-command-xyz: command not found\n"
    proc = run("exec", str(path), "--", str(path), key=key)  # a file, not executable
    assert proc.returncode == 126
    assert SECRET not in proc.stderr
