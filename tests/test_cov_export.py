"""`export` in the test process (api and CliRunner): yaml and github read back by their
consumers, --mask, --only and their refusals."""

from __future__ import annotations

import datetime
import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, InputError, UsageError
from sealedcfg.ops import export

from .conftest import FAST, write
from .test_export import app
from .test_formats import EXPECTED_ENV, HOSTILE, parse_github_env, profile_text

runner = CliRunner()
SECRET = "exp-Secret_value!9"


@pytest.fixture
def sealed(tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write(tmp_path / "p.yaml", profile_text())
    api.encrypt_file(path, KeySource(key=key, env={}), kdf=FAST)
    monkeypatch.setenv("SEALEDCFG_KEY", key)
    return path


def test_yaml_and_json_in_process(sealed: Path) -> None:
    result = runner.invoke(app(), ["export", str(sealed), "--format", "yaml"])
    assert result.exit_code == 0, result.output
    got = yaml.safe_load(result.stdout)
    assert (got["num"], got["flag"], got["nothing"]) == (42, True, None)
    assert got["day"] == datetime.date(2024, 1, 2)
    assert [got[f"v{i}"] for i in range(len(HOSTILE))] == HOSTILE
    out = sealed.parent / "out.yaml"
    assert api.export([sealed], KeySource(), fmt="yaml", output=out).text is None
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert yaml.safe_load(out.read_text()) == got


def test_yaml_keeps_binary_and_sets() -> None:
    """What the YAML loader gives a sealed file's reader comes out typed."""
    doc = {"blob": bytearray(b"\x00\xffhi"), "tags": {"b", "a"}, 7: [datetime.date(2024, 1, 2)]}
    text = export.yaml_text(doc)
    assert "!!binary" in text
    assert yaml.safe_load(text) == {
        "blob": b"\x00\xffhi", "tags": ["a", "b"], "7": [datetime.date(2024, 1, 2)]
    }  # fmt: skip
    assert export.yaml_text(None) == "{}\n"
    assert export.json_text(None) == "{}\n"


def test_github_with_masks_in_process(sealed: Path) -> None:
    github_env = sealed.parent / "github_env"
    github_env.write_text("EARLIER=kept\n")
    args = ["export", str(sealed), "-f", "github", "--mask", "-o", str(github_env)]
    result = runner.invoke(app(), args)
    assert result.exit_code == 0, result.output
    assert parse_github_env(github_env.read_bytes().decode()) == {"EARLIER": "kept", **EXPECTED_ENV}
    masks = [ln.removeprefix("::add-mask::") for ln in result.stdout.splitlines()]
    assert all(ln.startswith("::add-mask::") for ln in result.stdout.splitlines())
    assert {"line one", "line two", "crlf", "and a lone", "cr", "%250A%2525"} <= set(masks)
    assert len(masks) == len(set(masks))  # a line that occurs twice is masked once
    assert "" not in masks
    printed = runner.invoke(app(), ["export", str(sealed), "-f", "github"])
    assert parse_github_env(printed.stdout_bytes.decode()) == EXPECTED_ENV


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--mask"], "sealedcfg: error: --mask is for --format github"),
        (["-f", "github", "--mask"], 'sealedcfg: error: --mask needs -o "$GITHUB_ENV": the mask '
         "commands go to stdout, the variables to the file"),
    ],
)  # fmt: skip
def test_mask_refusals(sealed: Path, args: list[str], line: str) -> None:
    result = runner.invoke(app(), ["export", str(sealed), *args])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.splitlines() == [line]
    assert result.stdout == ""


def test_only_keeps_full_paths(tmp_path: Path, key: str) -> None:
    path = write(tmp_path / "p.yaml", f"db:\n  pw: {SECRET}\n  host: h\n  tls:\n    ca: c\nx: 1\n")
    keys = KeySource(key=key, env={})
    api.encrypt_file(path, keys, kdf=FAST)
    got = api.export([path], keys, fmt="json", only=["db.host", "db.tls.ca", "x"]).text
    assert got is not None
    assert yaml.safe_load(got) == {"db": {"host": "h", "tls": {"ca": "c"}}, "x": 1}
    env = api.export([path], keys, only=["db.tls"]).text
    assert env == 'DB_TLS_CA="c"\n'
    for only, message in (
        ("0:db", "--only '0:db': give a path without a document index"),  # 0 too
        ("1:db", "--only '1:db': give a path without a document index"),
        ("x.y", "--only 'x.y': 'x' is not a mapping"),
        ("db.user", "--only 'db.user': there is no 'db.user'"),
    ):
        with pytest.raises(InputError) as info:
            api.export([path], keys, only=[only])
        assert str(info.value) == message
    with pytest.raises(UsageError, match="unknown format 'toml'"):
        export.render("toml", {"a": 1})
