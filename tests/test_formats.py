"""Every export format read back by its real consumer, with hostile values.

dotenv by python-dotenv, shell by bash and sh (`eval` and `source`), json by
json.loads, yaml by PyYAML, github by the Actions runner's documented
$GITHUB_ENV algorithm (reimplemented below from its published source).
"""

from __future__ import annotations

import datetime
import io
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import dotenv
import pytest
import yaml

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode
from sealedcfg.ops import export

from .conftest import FAST, FAST_TEXT, write

HOSTILE = [
    'it\'s "both" quotes',
    "$(rm -rf ~)",
    "`rm -rf ~` and $HOME and ${HOME} and ${HOME:-x} and $$",
    "line one\nline two\n",
    "crlf\r\nand a lone\rcr",
    "unicode: café ✓ 🚀 ␀",
    "a=b==c",
    "value # not a comment",
    "#starts with hash",
    "back\\slash \\n \\' \\\" \\\\",
    "  padded  ",
    "",
    "ghadelimiter_x\nEOF\n%0A%25",
    "'\"'\"'",
    "\t tab",
]


def profile_text() -> str:
    lines = [f"v{i}: {json.dumps(v, ensure_ascii=False)}" for i, v in enumerate(HOSTILE)]
    return "\n".join(lines) + "\nnum: 42\nflag: true\nnothing: null\nday: 2024-01-02\nf: 1.5\n"


EXPECTED_ENV = {f"V{i}": v for i, v in enumerate(HOSTILE)} | {
    "NUM": "42",
    "FLAG": "true",
    "NOTHING": "",
    "DAY": "2024-01-02",
    "F": "1.5",
}


@pytest.fixture
def sealed(tmp_path: Path, key: str) -> Path:
    path = write(tmp_path / "p.yaml", profile_text())
    api.encrypt_file(path, KeySource(key=key, env={}), kdf=FAST)
    return path


def cli(*args: str, key: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    env.update({"SEALEDCFG_KEY": key, "SEALEDCFG_ARGON2": FAST_TEXT})
    proc = subprocess.run(
        [sys.executable, "-m", "sealedcfg", *args],
        capture_output=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    # decoded by hand: text=True would turn the values' CRs into LFs
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )


def exported(path: Path, key: str, *args: str) -> str:
    proc = cli("export", str(path), *args, key=key)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_dotenv_read_by_python_dotenv(sealed: Path, key: str) -> None:
    text = exported(sealed, key, "--format", "dotenv")
    for interpolate in (True,):  # python-dotenv's default
        got = dotenv.dotenv_values(stream=io.StringIO(text), interpolate=interpolate)
        assert {k: v or "" for k, v in got.items()} == EXPECTED_ENV
    # load_dotenv, the usual entry point, through a real file and os.environ
    file = sealed.parent / ".env"
    file.write_bytes(text.encode())
    code = (
        "import dotenv, json, os, sys; dotenv.load_dotenv(sys.argv[1]); "
        "print(json.dumps({k: os.environ[k] for k in sys.argv[2:]}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(file), *EXPECTED_ENV],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.defpath},
    )
    assert json.loads(proc.stdout) == EXPECTED_ENV


@pytest.mark.parametrize("shell", ["bash", "sh", "dash"])
@pytest.mark.parametrize("how", ["eval", "source"])
def test_shell_read_by_eval_and_source(sealed: Path, key: str, shell: str, how: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    script_file = sealed.parent / "vars.sh"
    script_file.write_bytes(exported(sealed, key, "--format", "shell").encode())
    load = f'eval "$(cat {script_file})"' if how == "eval" else f". {script_file}"
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    home = sealed.parent / "home"
    home.mkdir()
    proc = subprocess.run(
        [shell, "-c", f'{load}; exec "{sys.executable}" -c "{dump}"'],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.defpath, "HOME": str(home)},
    )
    got = json.loads(proc.stdout)
    assert {k: got[k] for k in EXPECTED_ENV} == EXPECTED_ENV
    assert home.exists()  # nothing ran


def test_json_one_object_with_types(sealed: Path, key: str) -> None:
    got = json.loads(exported(sealed, key, "--format", "json"))
    assert isinstance(got, dict)
    assert got["num"] == 42
    assert got["flag"] is True
    assert got["nothing"] is None
    assert got["f"] == 1.5
    assert got["day"] == "2024-01-02"
    assert [got[f"v{i}"] for i in range(len(HOSTILE))] == HOSTILE


def test_yaml_read_by_pyyaml(sealed: Path, key: str) -> None:
    got = yaml.safe_load(exported(sealed, key, "--format", "yaml"))
    assert got["num"] == 42
    assert got["flag"] is True
    assert got["nothing"] is None
    assert got["day"] == datetime.date(2024, 1, 2)
    assert got["f"] == 1.5
    assert [got[f"v{i}"] for i in range(len(HOSTILE))] == HOSTILE


def parse_github_env(text: str) -> dict[str, str]:
    """The Actions runner's $GITHUB_ENV reader (SetEnvFileCommand), on Linux."""
    out: dict[str, str] = {}
    index = 0

    def read_line() -> tuple[str | None, str | None]:
        nonlocal index
        if index >= len(text):
            return None, None
        start = index
        lf = text.find("\n", index)
        if lf < 0:
            index = len(text)
            return text[start:], None
        index = lf + 1
        return text[start:lf], "\n"

    line, _ = read_line()
    while line is not None:
        if line:
            eq, heredoc = line.find("="), line.find("<<")
            if eq >= 0 and (heredoc < 0 or eq < heredoc):
                name, value = line.split("=", 1)
                out[name] = value
            elif heredoc >= 0 and (eq < 0 or heredoc < eq):
                name, delimiter = line.split("<<", 1)
                assert name
                assert delimiter
                start = end = index
                temp, newline = read_line()
                while temp != delimiter:
                    assert temp is not None, f"delimiter {delimiter} not found"
                    assert newline is not None, "EOF marker missing new line"
                    end = index - len(newline)
                    temp, newline = read_line()
                out[name] = text[start:end] if end > start else ""
            else:
                raise AssertionError(f"invalid format {line!r}")
        line, _ = read_line()
    return out


def test_github_env_read_per_the_runner(sealed: Path, key: str) -> None:
    github_env = sealed.parent / "github_env"
    github_env.write_text("EARLIER=kept\n")  # a previous command of the step wrote this
    github_env.chmod(0o644)
    proc = cli("export", str(sealed), "-f", "github", "--mask", "-o", str(github_env), key=key)
    assert proc.returncode == 0, proc.stderr
    got = parse_github_env(github_env.read_bytes().decode())
    assert got == {"EARLIER": "kept", **EXPECTED_ENV}
    # masks: one per non-empty line of each value, escaped as the toolkit escapes data
    masks = [ln.removeprefix("::add-mask::") for ln in proc.stdout.splitlines()]
    assert all(ln.startswith("::add-mask::") for ln in proc.stdout.splitlines())
    assert "line one" in masks
    assert "line two" in masks
    assert "crlf" in masks
    assert "cr" in masks
    assert "%250A%2525" in masks  # `%` escaped, so the runner masks the text as written
    assert not any("\r" in m for m in masks)


def test_github_delimiter_never_in_the_value() -> None:
    draws = iter(["aa", "bb"])
    text = export.github({"X": "ghadelimiter_aa\n"}, token=lambda: next(draws))
    assert text == "X<<ghadelimiter_bb\nghadelimiter_aa\n\nghadelimiter_bb\n"
    assert parse_github_env(text) == {"X": "ghadelimiter_aa\n"}


def test_output_file_is_0600_and_replaced(sealed: Path, key: str) -> None:
    out = sealed.parent / "out.env"
    out.write_text("old")
    out.chmod(0o644)
    for fmt in ("dotenv", "shell", "json", "yaml"):
        proc = cli("export", str(sealed), "-f", fmt, "-o", str(out), key=key)
        assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert yaml.safe_load(out.read_bytes())["num"] == 42
    fresh = sealed.parent / "new-gh"
    assert cli("export", str(sealed), "-f", "github", "-o", str(fresh), key=key).returncode == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    link = sealed.parent / "link"
    link.symlink_to(out)
    for fmt in ("dotenv", "github"):
        proc = cli("export", str(sealed), "-f", fmt, "-o", str(link), key=key)
        assert proc.returncode == ExitCode.INPUT
        assert "symbolic link" in proc.stderr


def test_bad_input_one_line_each(tmp_path: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    nul = write(tmp_path / "nul.yaml", 'a: "x\\0y"\n')
    api.encrypt_file(nul, keys, kdf=FAST)
    clash = write(tmp_path / "clash.yaml", "a-b: 1\na_b: 2\n")
    api.encrypt_file(clash, keys, kdf=FAST)
    cases: list[tuple[list[str], int, str]] = [
        (["export", str(nul), "-f", "shell"], 3, "a: a NUL character cannot be in a variable"),
        (["export", str(clash)], 3, "a-b and a_b both become A_B"),
        (["export", str(clash), "-f", "xml"], 2, "unknown format 'xml'"),
        (["export", str(clash), "-f", "json", "--mask"], 2, "--mask is for --format github"),
        (["export", str(clash), "-f", "github", "--mask"], 2, "--mask needs -o"),
        (["export", str(clash), "-f", "json", "--only", "zz"], 3, "--only 'zz': there is no"),
    ]
    for args, code, message in cases:
        proc = cli(*args, key=key)
        assert proc.returncode == code, (args, proc.stderr)
        first, *rest = proc.stderr.splitlines()
        assert first.startswith("sealedcfg: error: "), first
        assert message in first, first
        assert all(ln.startswith("hint: ") for ln in rest)
        assert proc.stdout == ""
    assert "x" not in cli("export", str(nul), key=key).stderr.replace("exported", "")


def test_export_several_files_later_wins_and_only(tmp_path: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    a = write(tmp_path / "a.yaml", "db:\n  host: a\n  user: u\nother: o\n")
    b = write(tmp_path / "b.yaml", "db:\n  host: b\n")
    for f in (a, b):
        api.encrypt_file(f, keys, kdf=FAST)
    got: Any = json.loads(exported(a, key, str(b), "-f", "json"))
    assert got == {"db": {"host": "b", "user": "u"}, "other": "o"}
    got = json.loads(exported(a, key, str(b), "-f", "json", "--only", "db"))
    assert got == {"db": {"host": "b", "user": "u"}}
    assert exported(a, key, str(b), "--only", "db.user", "-f", "shell") == "export DB_USER='u'\n"
