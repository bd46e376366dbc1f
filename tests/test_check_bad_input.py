"""`check` on bad input: binary, huge, non-UTF-8 and minified one-line files.

Each is read in bounded work and reported, never silently: a file not read is
`skipped`, a file read in part carries a note, in every output format, and the hook
exits as for its findings (no traceback, no exit 70).
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg.cli.main import app
from sealedcfg.scan import notes

from .conftest import sealed
from .subproc import cli

_RNG = random.Random(1302)
_B62 = string.ascii_letters + string.digits
TOKEN = "".join(_RNG.choice(_B62) for _ in range(32))
runner = CliRunner()


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return path.name


def _minified(n_pairs: int) -> bytes:
    """One line of a bundle: `var a1="...",token_1=x1,...;` with thousands of assignments."""
    parts = [f'var a{i}="{i:08x}",token_{i}=x{i},k{i}={{key:"v{i}",n:1}};' for i in range(n_pairs)]
    return "".join(parts).encode()


def _both(cwd: Path, *args: str) -> tuple[int, str, str]:
    """As a real process: no traceback, the hook's exit codes only (never 70)."""
    proc = cli(*args, cwd=cwd)
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def test_non_utf8_text_is_scanned_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _write(tmp_path / "legacy.env", b"# caf\xe9 \xff\nAPI_TOKEN=" + TOKEN.encode() + b"\n")
    code, out, err = _both(tmp_path, "check", name)
    assert code == 1
    assert f"{name}:2:11: generic-secret-assignment" in out
    assert f"sealedcfg: note: {name}: not UTF-8" in err
    assert err.rstrip().endswith("0 skipped, 1 read in part")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", name])
    assert result.exit_code == 1
    assert f"sealedcfg: note: {name}: not UTF-8" in result.stderr
    data = json.loads(cli("check", "--format", "json", name, cwd=tmp_path).stdout)
    assert [n["path"] for n in data["notes"]] == [name]
    assert data["skipped"] == []


def test_a_token_split_by_a_bad_byte_is_not_silently_lost(tmp_path: Path) -> None:
    bad = TOKEN[:10].encode() + b"\xff" + TOKEN[10:].encode()
    name = _write(tmp_path / "legacy.env", b"API_TOKEN=" + bad + b"\n")
    proc = cli("check", name, cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert f"sealedcfg: note: {name}: not UTF-8" in proc.stderr


def test_utf8_and_utf16_files_carry_no_note(tmp_path: Path) -> None:
    text = f"API_TOKEN={TOKEN}\nname: café\n"
    a = _write(tmp_path / "a.env", text.encode("utf-8"))
    b = _write(tmp_path / "b.env", text.encode("utf-16"))
    proc = cli("check", a, b, cwd=tmp_path)
    assert proc.returncode == 1
    assert "note:" not in proc.stderr
    assert f"{a}:1:11:" in proc.stdout
    assert f"{b}:1:11:" in proc.stdout


def test_binary_file_is_skipped_with_a_note(tmp_path: Path) -> None:
    name = _write(tmp_path / "blob.bin", bytes(_RNG.getrandbits(8) for _ in range(50_000)))
    code, _, err = _both(tmp_path, "check", name)
    assert code == 0
    assert f"sealedcfg: note: {name}: skipped (binary file)" in err
    sarif = json.loads(cli("check", "--format", "sarif", name, cwd=tmp_path).stdout)
    notes_ = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes_] == [f"{name}: skipped (binary file)"]


def test_minified_line_over_the_bound_is_read_in_part_with_a_note(tmp_path: Path) -> None:
    data = _minified(3000)
    assert len(data) < 1 << 20
    assert data.count(b"\n") == 0
    name = _write(tmp_path / "bundle.min.js", data)
    code, _, err = _both(tmp_path, "check", name)
    assert f"sealedcfg: note: {name}: in part: line 1 holds over 2000 assignments" in err
    assert code in (0, 1)
    sarif = json.loads(cli("check", "--format", "sarif", name, cwd=tmp_path).stdout)
    notes_ = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    # Its findings past the per-file cap add a `findings-not-shown` warning.
    kinds = {n["descriptor"]["id"]: n["level"] for n in notes_}
    assert kinds["read-in-part"] == "note"
    assert set(kinds) <= {"read-in-part", "findings-not-shown"}


def test_minified_line_under_the_bound_carries_no_note(tmp_path: Path) -> None:
    name = _write(tmp_path / "small.min.js", _minified(300))
    proc = cli("check", name, cwd=tmp_path)
    assert "note:" not in proc.stderr


def test_multi_megabyte_minified_file_is_skipped_not_read(tmp_path: Path) -> None:
    data = _minified(40_000)
    assert len(data) > 2 << 20
    name = _write(tmp_path / "vendor.min.js", data)
    code, _, err = _both(tmp_path, "check", name)
    assert code == 0
    assert f"sealedcfg: note: {name}: skipped (larger than 1 MiB)" in err


def test_notes_counts_only_lines_over_the_bound() -> None:
    assert notes(b"a=1\n" * 5000) == []  # many assignments, none crowded on one line
    crowded = notes(b"x\n" + b"a=1;" * 2500 + b"\n" + b"b=2;" * 2500)
    assert crowded == [
        "in part: lines 2, 3 hold over 2000 assignments; the name rules read the first 2000"
        " (provider, URL and key rules read all of it)"
    ]
    assert notes("naïve=1\n".encode("latin-1")) == [
        "not UTF-8: invalid bytes read as U+FFFD, a token holding one is missed"
    ]


# Lines crowded with name-rule matches that hold no `=` or `:`: the per-line bound cuts them
# too, so a secret past it is missed, and the file must say it was read in part.
_CROWDED = {
    "xml": ("conf.xml", "<a>1</a>", f"<password>{TOKEN}</password>"),
    "csv": ("creds.csv", "a,bbbbbbbbbb,", f"password,{TOKEN},"),
    "flags": ("run.sh", "-a b ", f"--password {TOKEN}"),
    "argv": ("args.json", '["-a", "b"], ', f'["--password", "{TOKEN}"]'),
}


@pytest.mark.parametrize("case", sorted(_CROWDED))
def test_a_line_crowded_without_assignments_is_read_in_part_with_a_note(
    tmp_path: Path, case: str
) -> None:
    file, filler, secret = _CROWDED[case]
    alone = _write(tmp_path / f"alone-{file}", secret.encode() + b"\n")
    code, out, _ = _both(tmp_path, "check", alone)
    assert code == 1  # found when read whole
    assert "generic-secret-assignment" in out
    name = _write(tmp_path / file, (filler * 2001 + " " + secret + "\n").encode())
    code, _, err = _both(tmp_path, "check", name)
    assert f"sealedcfg: note: {name}: in part: line 1 holds over 2000" in err
    assert err.rstrip().endswith("1 read in part")


def test_notes_bound_every_capped_pattern_by_what_its_matches_hold() -> None:
    assert notes(b"<a>1</a>" * 600) == []  # under the bound: read whole
    for filler in (b"<a>1</a>", b"a,bbbbbbbbbb,", b"-a b ", b"f(x)", b"'x'", b"secret "):
        assert notes(filler * 2001), filler
    assert notes(b"Authorization Bearer xxxxxxxxxxxx " * 2001)


def test_a_sealed_profile_with_a_crowded_line_is_read_in_part_with_a_note(tmp_path: Path) -> None:
    """A sealed profile's comments are scanned as any file's lines are, and noted the same."""
    crowded = "<a>1</a>" * 2001 + f" <password>{TOKEN}</password>"
    sealed(tmp_path / "p.yaml", f"note: x  # {crowded}\npw: hunter2-secret\n", plain="^note$")
    code, _, err = _both(tmp_path, "check", "p.yaml")
    assert code == 0  # the secret past the bound is missed: the note says so
    assert "sealedcfg: note: p.yaml: in part: line 1 holds over 2000" in err
    assert err.rstrip().endswith("1 read in part")
