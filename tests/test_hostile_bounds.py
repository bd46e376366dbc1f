"""Hostile files against commands whose work grew faster than the file: each case
once took minutes or gigabytes, and now answers like any other input.

Times are measured by bench/bench_hostile.py, never asserted here; these tests
pin the behaviour that made the work bounded (and that it stays correct).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, InputError
from sealedcfg.yamltext import document, paths

from .conftest import write
from .subproc import cli, one_error_line


def test_diff_of_many_empty_collections_lists_each_once(tmp_path: Path) -> None:
    """Every added or removed collection scanned every path for a child: 120,000
    empty lists (360 KB) never finished."""
    n = 30_000
    write(tmp_path / "old.yaml", "b: 1\n")
    write(tmp_path / "new.yaml", "a: [" + ",".join(["[]"] * n) + "]\nb: 1\n")
    proc = cli("diff", "old.yaml", "new.yaml", cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == n  # each empty list; `a` itself has children, so not listed
    assert lines[:3] == ["+ a.0: ***", "+ a.1: ***", "+ a.2: ***"]
    assert lines[-1] == f"+ a.{n - 1}: ***"
    back = cli("diff", "new.yaml", "old.yaml", cwd=tmp_path, timeout=120)
    assert back.stdout.splitlines()[:2] == ["- a.0: ***", "- a.1: ***"]


def test_diff_order_is_by_path_with_indices_numeric(tmp_path: Path) -> None:
    write(tmp_path / "old.yaml", "z: 1\n")
    write(tmp_path / "new.yaml", "z: 2\nb: [x, y, x, x, x, x, x, x, x, x, x]\na: {c: 1}\n")
    proc = cli("diff", "old.yaml", "new.yaml", cwd=tmp_path)
    got = [line.split(":")[0] for line in proc.stdout.splitlines()]
    assert got == ["+ a.c", *[f"+ b.{i}" for i in range(11)], "~ z"]


def test_diff_without_a_key_reads_each_side_once_and_says_the_same(
    tmp_path: Path, keys: KeySource
) -> None:
    """A side no key of ours opens is compared as written, both sides alike."""
    old = write(tmp_path / "old.yaml", "a: 1\nb: 2\n")
    api.encrypt_file(old, keys)
    new = write(tmp_path / "new.yaml", old.read_text().replace("a: ", "c: 3\na: ", 1))
    proc = cli("diff", "old.yaml", "new.yaml", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == "+ c: ***\n"
    assert new.read_text().startswith("c: 3\n")


def test_missing_path_suggests_from_the_nearest_existing_node(tmp_path: Path) -> None:
    """`get` of a missing path compares it with at most MAX_SUGGESTIONS paths
    (difflib over 250,000 took seconds), those under the deepest existing node first."""
    many = "".join(f"k{i}: {i}\n" for i in range(paths.MAX_SUGGESTIONS + 100))
    path = write(tmp_path / "p.yaml", "big:\n" + many.replace("k", "  k") + "db:\n  password: x\n")
    body = document.parse(path.read_text(), str(path))
    with pytest.raises(InputError) as refused:
        paths.resolve(body, "db.pasword")
    hints = refused.value.hints
    assert hints == ("did you mean: db.password",)


def test_get_of_a_missing_path_in_a_big_file_is_one_clean_error(tmp_path: Path, key: str) -> None:
    path = write(tmp_path / "p.yaml", "a: [" + ",".join(["1"] * 20_000) + "]\n")
    api.encrypt_file(path, KeySource(key=key, env={}))
    proc = cli("get", "p.yaml", "b.1", cwd=tmp_path, env={"SEALEDCFG_KEY": key})
    line = one_error_line(proc, ExitCode.INPUT)
    assert line == "sealedcfg: error: no such path 'b.1'"


def test_word_segments_match_as_before_without_backtracking() -> None:
    """The possessive word-segment pattern accepts exactly what the backtracking one
    did (every string over a small alphabet up to length 7), and a run of digits or
    letters that then fails no longer splits every way (24 digits took seconds)."""
    import itertools
    import re

    from sealedcfg.scan import values

    possessive = values._WORD_SEGMENT_RE.pattern
    assert possessive.endswith(")++")
    old = re.compile(possessive[:-1])  # the same pattern, backtracking
    for size in range(1, 8):
        for chars in itertools.product("aABOf1", repeat=size):
            text = "".join(chars)
            assert bool(values._is_word(text)) == bool(old.fullmatch(text)), text
    for text in ("ab" + "1" * 5000 + "x", "a" * 5000 + "B", "1" * 5000 + "x"):
        assert not values._is_word(text)
        assert not values.looks_random(text[:64])


def test_hook_reads_a_line_of_spaces_after_a_name_line(tmp_path: Path) -> None:
    """`- name: DB_PASSWORD` makes the scanner look for `value:` on the next lines with
    a pattern that split whitespace every way: a 400 KB line of spaces hung `check`."""
    write(tmp_path / "env.yaml", "- name: DB_PASSWORD\n" + " " * 400_000 + "x\n")
    proc = cli("check", "env.yaml", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    write(tmp_path / "env.yaml", "- name: DB_PASSWORD\n  value: 'q8Vz3LmX7rT2wYp9Kd4N'\n")
    assert cli("check", "env.yaml", cwd=tmp_path).returncode == 1


def test_hostile_rules_file_is_one_clean_error(tmp_path: Path, key: str) -> None:
    """The rules file is attacker-writable and was read with no bound: 16,000 nested
    lists crashed every command that reads it (exit 70), 1 MiB took 8 s."""
    import subprocess

    from sealedcfg.base import limits

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    write(tmp_path / "a.py", "x = 1\n")
    rules = tmp_path / ".sealedcfg.yaml"
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}" if i else "*a"] * 10) + "]\n" for i in range(7)
    )
    cases = {
        "a: " + "[" * 16_000 + "]" * 16_000 + "\n": "the nesting depth at line 1",
        laughs + "scan: {}\n": "alias",
        "creation_rules: []\n# " + "x" * limits.MAX_RULES_CHARS + "\n": "the rules file's size",
    }
    for text, what in cases.items():
        rules.write_text(text)
        check = cli("check", "a.py", cwd=tmp_path)
        assert what in one_error_line(check, 2)
        target = tmp_path / "new.yaml"
        made = cli("set", "new.yaml", "a", "1", cwd=tmp_path, env={"SEALEDCFG_KEY": key})
        assert what in one_error_line(made, ExitCode.INPUT)
        assert not target.exists()


def test_check_reads_each_mapping_of_data_keys_once(tmp_path: Path) -> None:
    """Each `data:` line read up to 400 lines around it for its mapping's `kind:`:
    a Secret followed by 170,000 `data:` lines (1 MiB) took 94 s of CPU."""
    head = "kind: Secret\ndata:\n  tls.key: 'c2VjcmV0LXZhbHVlIQ=='\n"
    write(tmp_path / "s.yaml", head + "data:\n" * 170_000)
    proc = cli("check", "s.yaml", cwd=tmp_path, timeout=30)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("s.yaml:3:13: kubernetes-secret-data: "), proc.stdout


def test_check_of_a_json_manifest_is_bounded_and_never_crashes(tmp_path: Path) -> None:
    """A JSON Secret was searched once per value (twice for one written with escapes,
    which no search finds: 44,000 of them took 44 s) and its line counted from the
    start for each; 200,000 nested lists ended in a RecursionError (exit 70)."""
    import itertools
    import string

    names = (
        "".join(p) for n in (1, 2, 3) for p in itertools.product(string.ascii_letters, repeat=n)
    )
    escaped = ",".join(f'"{k}":"\\u0051UJDREVG"' for k in itertools.islice(names, 44_000))
    text = '{"kind":"Secret","data":{' + escaped + "}}"
    write(tmp_path / "esc.json", text)
    proc = cli("check", "esc.json", cwd=tmp_path, timeout=20)
    assert "kubernetes-secret-data" not in proc.stdout  # escaped: no place to point at
    write(tmp_path / "deep.json", '{"kind": "Secret", "x": ' + "[" * 200_000 + "]" * 200_000 + "}")
    assert cli("check", "deep.json", cwd=tmp_path).returncode == 0
    # Each value at its own place, a key of the same text passed over.
    write(
        tmp_path / "s.json",
        '{"kind": "Secret",\n "data": {\n  "QUJDREVGR0g=": "QUJDREVGR0g=",\n'
        '  "b": "QUJDREVGR0g="}}\n',
    )
    proc = cli("check", "s.json", cwd=tmp_path)
    found = [line.split(": ")[0] for line in proc.stdout.splitlines() if line.startswith("s.json:")]
    assert found == ["s.json:3:20", "s.json:4:9"], proc.stdout


def test_check_of_a_jwt_with_deeply_nested_claims_reports_it(tmp_path: Path) -> None:
    """The claims of a JWT are parsed to tell tutorial tokens: 1,400 nested lists in a
    2 KB payload ended in a RecursionError (exit 70)."""
    import base64
    import json

    def b64(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    claims = b64('{"a":' + "[" * 1400 + "]}")
    write(tmp_path / "t.txt", f"token = {b64(json.dumps({'alg': 'HS256'}))}.{claims}.{'A' * 43}\n")
    proc = cli("check", "t.txt", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert ": jwt: " in proc.stdout


def test_check_reads_a_run_of_spaces_after_a_name_once(tmp_path: Path) -> None:
    """After a name, the assignment pattern split a run of spaces between the space
    before an operator and the one before a type (`name string =`, `name <-`) every
    way: one line `password: a` + 1 MB of spaces never finished (20 KB took 6 s)."""
    write(tmp_path / "a.py", "password: a" + " " * 1_000_000 + "x\n")
    proc = cli("check", "a.py", cwd=tmp_path, timeout=30)
    assert proc.returncode == 0, proc.stderr
    write(tmp_path / "a.R", "password" + " " * 100_000 + '<- "q8Vz3LmX7rT2wYp9Kd4N"\n')
    proc = cli("check", "a.R", cwd=tmp_path, timeout=30)
    assert proc.stdout.startswith("a.R:1:100013: generic-secret-assignment: "), proc.stdout


def test_check_reads_a_run_of_spaces_after_identified_by_once(tmp_path: Path) -> None:
    """`IDENTIFIED BY \\s*=?\\s*` split a run of spaces between its two `\\s*` every way:
    5,000 spaces took 0.4 s, 1 MB never finished."""
    write(tmp_path / "u.sql", "CREATE USER u IDENTIFIED BY" + " " * 1_000_000 + "x\n")
    proc = cli("check", "u.sql", cwd=tmp_path, timeout=30)
    assert proc.returncode == 0, proc.stderr
    write(
        tmp_path / "u.sql",
        "CREATE USER u IDENTIFIED BY" + " " * 100_000 + "'q8Vz3LmX7rT2wYp9Kd4N'\n",
    )
    proc = cli("check", "u.sql", cwd=tmp_path, timeout=30)
    assert proc.stdout.startswith("u.sql:1:100029: generic-secret-assignment: "), proc.stdout
