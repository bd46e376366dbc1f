"""Issue 12 item 6: no silent change of format.  A .json or .env file is not sealed as a
YAML stream (nor refused with a YAML parser's words): it is refused, pointing to import."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.base.fileformat import kind_of, yaml_name
from sealedcfg.cli.main import app
from sealedcfg.errors import ExitCode

from .conftest import write
from .subproc import cli, one_error_line

runner = CliRunner()
JSON = '{"db": {"password": "hunter2", "port": 5432}}\n'
DOTENV = 'PASSWORD=hunter2\nexport PORT="5432"\n'


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.yaml", "yaml"),
        ("a.YML", "yaml"),
        ("a.json", "json"),
        (".env", "dotenv"),
        (".env.production", "dotenv"),
        ("prod.env", "dotenv"),
        ("x.toml", "TOML"),
        ("Makefile", None),
    ],
)
def test_kind_of(name: str, kind: str | None) -> None:
    assert kind_of(name) == kind


def test_yaml_name() -> None:
    assert yaml_name("conf/a.json") == "conf/a.yaml"
    assert yaml_name("prod.env") == "prod.yaml"
    assert yaml_name(".env") == "config.yaml"


@pytest.mark.parametrize(("name", "text"), [("a.json", JSON), ("a.env", DOTENV), (".env", DOTENV)])
def test_encrypt_refuses_json_and_env(tmp_path: Path, name: str, text: str) -> None:
    path = write(tmp_path / name, text)
    proc = cli("encrypt", name, env={"SEALEDCFG_KEY": api.keygen()}, cwd=tmp_path)
    line = one_error_line(proc, ExitCode.INPUT)
    assert "not supported as sealed profiles" in line
    assert "must be a mapping" not in proc.stderr
    assert f"hint: import it into a YAML profile: sealedcfg import {name} --to " in proc.stderr
    assert path.read_text() == text  # untouched, not a YAML stream


def test_set_and_edit_refuse_a_new_json_or_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEALEDCFG_KEY", api.keygen())
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["set", "b.json", "db.password", "x"])
    assert result.exit_code == ExitCode.INPUT
    assert "JSON files are not supported" in result.output
    assert not (tmp_path / "b.json").exists()
    marker = tmp_path / "editor-ran"
    editor = write(tmp_path / "ed.sh", f"#!/bin/sh\ntouch {marker}\necho 'A: 1' > \"$1\"\n")
    editor.chmod(0o755)
    proc = cli("edit", "c.env", env={"SEALEDCFG_KEY": api.keygen(), "EDITOR": str(editor)},
               cwd=tmp_path)  # fmt: skip
    assert ".env files are not supported" in one_error_line(proc, ExitCode.INPUT)
    assert not marker.exists()  # refused before the editor opened
    assert not (tmp_path / "c.env").exists()


def test_the_hint_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = api.keygen()
    monkeypatch.setenv("SEALEDCFG_KEY", key)
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.json", JSON)
    result = runner.invoke(app, ["import", "a.json", "--to", "a.yaml"])
    assert result.exit_code == 0, result.output
    assert api.load(tmp_path / "a.yaml", key=key) == {"db": {"password": "hunter2", "port": 5432}}
