"""`sealedcfg import` from plain .env, JSON and YAML: parsed as their readers do, sealed, merged."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dotenv import dotenv_values
from dotenv.parser import parse_stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, InputError, OpenError
from sealedcfg.ops.importing import dotenv, render
from sealedcfg.yamltext import document, model

from .conftest import visible, write
from .subproc import cli, one_error_line

runner = CliRunner()
SECRET = "Sup3r-Secret-Value-9"

DOTENV_CASES = [
    "A=1\nB=2\n",
    "export A=1\nexport   B='two'\n",
    'A="multi\nline"\nB=after\n',
    "A='single \\' quote'\nB=\"dq \\\" \\n \\t esc\"\n",
    "A=1\nA=2\nB=3\nA=4\n",  # a later duplicate wins, in the first one's place
    "# comment\n\nA=x # inline comment\nB=x#not-a-comment\nC= # empty\n",
    "A=  spaced value   \nB=\nC\n'quoted key'=v\n",
    "A=$HOME ${USER} $(whoami)\nB='${X}'\n",
    "A=\"C:\\\\path\\\\n\"\nB='C:\\\\path\\\\n'\n",
    'A=1\r\nB="x\r\ny"\r\nC=3\r',
    "\ufeffA=bom\n",
    'A=ünïcødé ✓\nB="tab\there"\n',
    "A='unterminated\nB=2\n",
]


def _reference(path: Path) -> dict[str, str | None] | None:
    """python-dotenv's reading of a file (no expansion), or None if it skips a line."""
    with open(path, encoding="utf-8") as fh:
        if any(b.error for b in parse_stream(fh)):
            return None
    return dict(dotenv_values(path, interpolate=False))


def _ours(path: Path) -> dict[str, str | None] | None:
    try:
        return dotenv.parse(path.read_bytes().decode("utf-8"), str(path))
    except InputError:
        return None


@pytest.mark.parametrize("text", DOTENV_CASES)
def test_dotenv_reads_like_python_dotenv(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / ".env", text)
    expected = _reference(path)
    got = _ours(path)
    assert got == expected
    if expected is not None:
        assert list(got or {}) == list(expected)


_ALPHABET = st.sampled_from([*list("AB_=#'\"\\ \t\n\rxé$"), "export ", "\\n", "=#", " #"])


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_dotenv_random_text_matches_python_dotenv(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "r.env", text)
    got = _ours(path)
    expected = _reference(path)
    assert got == expected, text
    if expected is not None:
        assert list(got or {}) == list(expected)


def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    key = api.keygen()
    monkeypatch.setenv("SEALEDCFG_KEY", key)
    monkeypatch.chdir(tmp_path)
    return key


def test_import_env_new_file_values_are_strings(tmp_path: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    src = write(
        tmp_path / ".env", f"export PASSWORD='{SECRET}'\nPORT=5432\nFLAG=yes\nMULTI=\"a\nb\"\n"
    )
    target = tmp_path / "dev.yaml"
    result = api.import_file(src, target, keys)
    assert result.created
    assert result.written
    assert sorted(result.added) == ["FLAG", "MULTI", "PASSWORD", "PORT"]
    assert api.load(target, key=key) == dotenv_values(src, interpolate=False)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert SECRET not in visible(target.read_text())


def test_import_json_keeps_structure_and_types(tmp_path: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    data = {
        "db": {"password": SECRET, "port": 5432, "ratio": 0.25, "tls": True, "none": None},
        "hosts": ["a", 2, {"x": "yes"}, []],
        "empty": {},
        "big": 12345678901234567890123,
        "odd keys": {"a.b": "0755", "": "empty key", "on": "null"},
    }
    src = write(tmp_path / "s.json", json.dumps(data))
    target = tmp_path / "prod.yaml"
    api.import_file(src, target, keys)
    assert api.load(target, key=key) == data
    assert SECRET not in visible(target.read_text())


def test_import_plain_yaml_seals_the_text_as_written(tmp_path: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    text = f"# database\ndb:\n  password: '{SECRET}'   # rotate yearly\n  port: 5432\n"
    src = write(tmp_path / "plain.yaml", text)
    target = tmp_path / "prod.yaml"
    api.import_file(src, target, keys)
    assert api.decrypt_file(target, keys) == text.encode()
    assert "# rotate yearly" in target.read_text()


def test_merge_adds_refuses_changes_then_overwrites(tmp_path: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    target = tmp_path / "prod.yaml"
    base = "# kept comment\ndb:\n  host: h   # note\n  port: 5432\nlist: [1, 2]\nflow: {a: 1}\n"
    api.import_file(write(tmp_path / "base.yaml", base), target, keys)
    before = target.read_bytes()
    host_line = next(ln for ln in before.decode().splitlines() if ln.lstrip().startswith("host"))

    same = write(tmp_path / "same.json", json.dumps({"db": {"port": 5432}}))
    result = api.import_file(same, target, keys)
    assert not result.written
    assert result.unchanged == 1
    assert target.read_bytes() == before

    clash = write(
        tmp_path / "clash.json",
        json.dumps({"db": {"port": 6543, "user": "app"}, "list": [3], "new": {"k": SECRET}}),
    )
    with pytest.raises(InputError) as info:
        api.import_file(clash, target, keys)
    assert "db.port" in info.value.message
    assert "list" in info.value.message
    assert SECRET not in info.value.message
    assert "6543" not in info.value.message
    assert target.read_bytes() == before  # nothing written

    result = api.import_file(clash, target, keys, overwrite=True)
    assert sorted(result.changed) == ["db.port", "list"]
    assert sorted(result.added) == ["db.user", "new"]
    loaded = api.load(target, key=key)
    assert loaded == {
        "db": {"host": "h", "port": 6543, "user": "app"},
        "list": [3],
        "flow": {"a": 1},
        "new": {"k": SECRET},
    }
    text = target.read_text()
    assert host_line in text  # an untouched value keeps its token byte for byte
    assert "# kept comment" in text
    assert "# note" in text

    flow = write(tmp_path / "flow.json", json.dumps({"flow": {"b": [1, "x y"]}}))
    api.import_file(flow, target, keys)
    assert api.load(target, key=key)["flow"] == {"a": 1, "b": [1, "x y"]}


def test_merge_needs_the_targets_key(tmp_path: Path, key: str) -> None:
    target = tmp_path / "prod.yaml"
    api.import_file(write(tmp_path / "a.env", "A=1\n"), target, KeySource(key=key, env={}))
    before = target.read_bytes()
    other = KeySource(key=api.keygen(), env={})
    with pytest.raises(OpenError):
        api.import_file(write(tmp_path / "b.env", "B=2\n"), target, other)
    assert target.read_bytes() == before


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=12,
    ).filter(lambda v: True),
    st.dictionaries(st.text(min_size=1), st.text(), max_size=3),
)
def test_rendered_yaml_reads_back_as_the_values(value: Any, extra: dict[str, str]) -> None:
    data = {"v": value, **{f"k{k}": v for k, v in extra.items()}}
    try:
        text = render.document(data, {})
    except InputError:
        return
    body = document.parse(text, "t.yaml")
    assert model.build(body, "t.yaml", text_keys=True).documents == [data]


def test_cli_runner_import_and_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _setup(tmp_path, monkeypatch)
    write(tmp_path / ".env", f"TOKEN={SECRET}\n")
    result = runner.invoke(app, ["import", ".env", "--to", "dev.yaml"])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    write(tmp_path / "b.env", "TOKEN=other\n")
    result = runner.invoke(app, ["import", "b.env", "--to", "dev.yaml"])
    assert result.exit_code == ExitCode.INPUT
    assert "TOKEN" in result.output
    assert "--overwrite" in result.output
    result = runner.invoke(app, ["import", "b.env", "--to", "dev.yaml", "--overwrite", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["changed"] == ["TOKEN"]
    # The same import again: nothing new, nothing written.
    before = (tmp_path / "dev.yaml").read_bytes()
    result = runner.invoke(app, ["import", "b.env", "--to", "dev.yaml", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert "nothing new to import" in result.stderr
    assert (tmp_path / "dev.yaml").read_bytes() == before
    # A changed value is named in the summary, never shown.
    write(tmp_path / "c.env", "TOKEN=third-value_!\nNEW=x\n")
    result = runner.invoke(app, ["import", "c.env", "--to", "dev.yaml", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert "imported 1 new and 1 changed key(s)" in result.stderr
    assert "changed: TOKEN" in result.stderr
    assert "third-value_!" not in result.output
    # stdin has no file name to tell its format by.
    result = runner.invoke(app, ["import", "-", "--to", "dev.yaml"], input="A=1\n")
    assert result.exit_code == ExitCode.INPUT
    assert "--format" in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("bad.env", "GOOD=1\n=novalue\n", "line 2"),
        ("bad.json", '{"a": 1,}', "not valid JSON"),
        ("dup.json", '{"a": 1, "a": 2}', "appears twice"),
        ("nan.json", '{"a": NaN}', "not JSON"),
        ("list.json", "[1, 2]", "top level"),
        ("deep.json", "[" * 5000 + "]" * 5000, "nesting"),
        ("x.toml", "a = 1\n", "not supported"),
        ("noext", "A=1\n", "cannot tell its format"),
        ("multi.yaml", "a: 1\n---\nb: 2\n", "documents"),
        ("reserved.yaml", "sealedcfg: 1\n", "reserved"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, name: str, content: str, needle: str
) -> None:
    write(tmp_path / name, content)
    env = {"SEALEDCFG_KEY": api.keygen()}
    proc = cli("import", name, "--to", "out.yaml", env=env, cwd=tmp_path)
    line = one_error_line(proc, ExitCode.INPUT)
    assert needle in line
    assert not (tmp_path / "out.yaml").exists()


def test_subprocess_import_from_stdin_and_into_json_refused(tmp_path: Path) -> None:
    env = {"SEALEDCFG_KEY": api.keygen()}
    proc = cli(
        "import", "-", "--format", "json", "--to", "p.yaml",
        env=env, cwd=tmp_path, input=json.dumps({"a": {"b": SECRET}}), stdin=None,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stderr + proc.stdout
    assert SECRET not in visible((tmp_path / "p.yaml").read_text())
    out = subprocess.run(
        [sys.executable, "-m", "sealedcfg", "get", "p.yaml", "a.b"],
        capture_output=True, text=True, cwd=tmp_path, check=False,
        env={**os.environ, **env},
    )  # fmt: skip
    assert out.stdout.strip() == SECRET
    write(tmp_path / "s.env", "A=1\n")
    proc = cli("import", "s.env", "--to", "p.json", env=env, cwd=tmp_path)
    assert "not supported as sealed profiles" in one_error_line(proc, ExitCode.INPUT)
    assert not (tmp_path / "p.json").exists()
