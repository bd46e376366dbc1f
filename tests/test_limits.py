"""Bounded work on hostile input: the header budget, rule matching, YAML structure limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.base import limits
from sealedcfg.base.secret import Secret
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, InputError
from sealedcfg.format import kdf
from sealedcfg.ops import rotation

from .conftest import FAST, sealed, write
from .subproc import cli, one_error_line

# ---------------------------------------------------------------- header budget


def test_recipients_add_stops_at_the_passphrase_limit(tmp_path: Path) -> None:
    phrase = KeySource(passphrase="correct horse battery staple", env={})
    path = write(tmp_path / "p.yaml", "a: 1\n")
    api.encrypt_file(path, phrase, kdf=FAST)
    for _ in range(limits.MAX_PASSPHRASE_STANZAS - 1):
        rotation.add_recipient(path, phrase, passphrase=Secret(b"another one here"), kdf=FAST)
    before = path.read_bytes()
    derivations = kdf.DERIVATIONS
    with pytest.raises(InputError, match="passphrase recipients exceeds the limit of 4"):
        rotation.add_recipient(path, phrase, passphrase=Secret(b"one too many"), kdf=FAST)
    assert derivations == kdf.DERIVATIONS  # refused before deriving the new stanza's key
    assert path.read_bytes() == before


def test_hostile_header_is_refused_by_every_command_without_derivation(tmp_path: Path) -> None:
    phrase = "correct horse battery staple"
    path = write(tmp_path / "p.yaml", "a: 1\n")
    api.encrypt_file(path, KeySource(passphrase=phrase, env={}), kdf=FAST)
    text = path.read_text()
    stanza = text[text.index("  - type: passphrase") : text.index("  commit: ")]
    hostile = stanza.replace("    m: 19456\n    t: 2\n", "    m: 131072\n    t: 8\n")
    path.write_text(text.replace(stanza, hostile * 3))
    before = path.read_bytes()
    env = {"SEALEDCFG_PASSPHRASE": phrase}
    for args in (["decrypt", str(path)], ["ls", str(path)], ["set", str(path), "a", "2"]):
        line = one_error_line(cli(*args, env=env))
        assert "argon2id cost" in line
        assert "exceeds the limit" in line
    proc = cli("verify", str(path), env=env)  # verify reports per file, on stdout
    assert proc.returncode == ExitCode.FINDINGS
    assert "argon2id cost" in proc.stdout
    assert "exceeds the limit" in proc.stdout
    assert path.read_bytes() == before


# ---------------------------------------------------------------- linear-time rules

EVIL = "^(.+)+#$"  # exponential for a backtracking engine on a long path without '#'


def _sealed_with_rule(tmp_path: Path, rule: str) -> tuple[Path, str]:
    path = tmp_path / "p.yaml"
    key = sealed(path, "a" * 40 + ": x\n", plain="^zzz$")
    text = path.read_text().replace('  plain: "^zzz$"', f"  plain: {json.dumps(rule)}")
    # A plaintext value at a new path: the rule runs on it before any key is used.
    path.write_text("b" * 40 + ": y\n" + text)
    return path, key


def test_backtracking_rule_in_a_header_runs_in_linear_time(tmp_path: Path) -> None:
    path, key = _sealed_with_rule(tmp_path, EVIL)
    before = path.read_bytes()
    proc = cli("verify", "--no-decrypt", str(path))
    assert proc.returncode == ExitCode.FINDINGS
    assert "plaintext value in a sealed file" in proc.stdout
    proc = cli("check", str(path), cwd=tmp_path)
    assert proc.returncode == 1
    assert "unsealed-value" in proc.stdout
    proc = cli("encrypt", str(path), env={"SEALEDCFG_KEY": key})
    # Refused (a value not sealed by a key holder, or the MAC), never a hang.
    assert proc.returncode in (ExitCode.INPUT, ExitCode.OPEN)
    one_error_line(proc, proc.returncode)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("rule", "reason"),
    [("(a)\\1", "invalid escape sequence"), ("(?<=a)b", "invalid perl operator")],
)
def test_rule_re2_cannot_compile_is_refused(tmp_path: Path, rule: str, reason: str) -> None:
    path = write(tmp_path / "p.yaml", "a: 1\n")
    proc = cli("encrypt", "--plain", rule, str(path), env={"SEALEDCFG_KEY": api.keygen()})
    line = one_error_line(proc)
    assert "the plaintext rule is not a valid RE2 regular expression" in line
    assert reason in line
    assert path.read_text() == "a: 1\n"
    hostile, _ = _sealed_with_rule(tmp_path, rule)
    proc = cli("verify", "--no-decrypt", str(hostile))
    assert proc.returncode == ExitCode.FINDINGS
    assert "not a valid RE2 regular expression" in proc.stdout
    assert proc.stderr == ""


def test_rules_file_patterns_are_re2(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    rules_file = tmp_path / ".sealedcfg.yaml"
    write(tmp_path / "p.yaml", "a: 1\n")
    for field, value, what in (
        ("plain", "(x)\\\\1", "the plaintext rule"),
        ("path_regex", "(?=p)p.yaml", "path_regex"),
    ):
        other = "path: '*.yaml'" if field != "path" else ""
        rules_file.write_text(f'creation_rules:\n  - {field}: "{value}"\n    {other}\n')
        if field == "path_regex":
            rules_file.write_text(f'creation_rules:\n  - path_regex: "{value}"\n')
        proc = cli("encrypt", "p.yaml", cwd=tmp_path, env={"SEALEDCFG_KEY": api.keygen()})
        line = one_error_line(proc)
        assert f"{what} is not a valid RE2 regular expression" in line
        assert "(line 2)" in line
    rules_file.write_text("creation_rules:\n  - path: '" + "**" * 200 + "x'\n")
    proc = cli("encrypt", "p.yaml", cwd=tmp_path, env={"SEALEDCFG_KEY": api.keygen()})
    assert proc.returncode == 0, proc.stderr  # no match, no hang: the keys given are used
    rules_file.write_text("creation_rules:\n  - path: '*'\n    plain: '" + "a" * 2000 + "'\n")
    write(tmp_path / "q.yaml", "a: 1\n")  # a new file: its creation rule is read
    line = one_error_line(cli("encrypt", "q.yaml", cwd=tmp_path))
    assert "over the limit of 1,024" in line


def test_rule_matches_lone_surrogate_keys() -> None:
    from sealedcfg.base.pattern import compile_pattern

    rule = compile_pattern("^a.$", "the plaintext rule")
    assert rule.search("a\ud800")
    assert not rule.search("b\ud800")


# ---------------------------------------------------------------- YAML structure


def _hostile_sealed(tmp_path: Path, body: str) -> tuple[Path, str]:
    """A hostile body under a genuine header of the user's key (the MAC fails later)."""
    key = api.keygen()
    path = write(tmp_path / "p.yaml", "z: 1\n")
    api.encrypt_file(path, KeySource(key=key, env={}))
    text = path.read_text()
    path.write_text(body + text[text.index("sealedcfg:") :])
    return path, key


LAUGHS = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 10)
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "a: " + "[" * 16000 + "]" * 16000 + "\n",
            "the nesting depth at line 1 exceeds the limit of 64",
        ),
        (
            "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 80)),
            "the nesting depth at line 65 exceeds the limit of 64",
        ),
        ("a: " + "x" * (limits.MAX_SCALAR_CHARS + 1) + "\n", "a scalar's length in characters"),
    ],
    ids=["flow-16000-deep", "block-80-deep", "long-scalar"],
)
def test_structure_limits_every_command(tmp_path: Path, body: str, message: str) -> None:
    path, key = _hostile_sealed(tmp_path, body)
    before = path.read_bytes()
    env = {"SEALEDCFG_KEY": key}
    for args in (
        ["ls", str(path)],
        ["decrypt", str(path)],
        ["export", str(path)],
        ["encrypt", str(path)],
    ):
        line = one_error_line(cli(*args, env=env))
        assert message in line
    proc = cli("verify", "--no-decrypt", str(path))
    assert proc.returncode == ExitCode.FINDINGS
    assert message in proc.stdout
    proc = cli("check", str(path), cwd=tmp_path)
    assert proc.returncode == 1
    assert message in proc.stdout
    assert path.read_bytes() == before


def test_recursive_alias_is_refused_before_expansion() -> None:
    from sealedcfg.yamltext import document
    from sealedcfg.yamltext.expansion import check_alias_expansion

    body = document.Body("")  # the parser refuses these too; the check stands alone
    body.nodes = [
        document.Node((0,), "map", 0, 0, 1, anchor="a"),
        document.Node((0, "x"), "alias", 0, 0, 2, value="a"),
    ]
    with pytest.raises(InputError, match=r"a recursive alias \*a at line 2"):
        check_alias_expansion(body, "p.yaml")


def test_node_count_and_path_memory_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from sealedcfg.yamltext import document

    monkeypatch.setattr(limits, "MAX_NODES", 1000)
    document.parse("a: [" + ",".join(["1"] * 997) + "]\n", "ok.yaml")  # 1000 nodes
    with pytest.raises(
        InputError, match=r"the number of YAML nodes at line 3 exceeds the limit of 1,000"
    ):
        document.parse("a:\n- [" + ",".join(["1"] * 996) + "]\n- 2\n", "p.yaml")
    monkeypatch.setattr(limits, "MAX_PATH_BYTES", 100_000)
    key = "k" * 3000
    text = f"? {key}\n:\n" + "".join(f"  - {i}\n" for i in range(50))
    with pytest.raises(InputError, match=r"the memory of node paths .* at line \d+ exceeds"):
        document.parse(text, "p.yaml")


def test_billion_laughs_and_recursive_aliases(tmp_path: Path) -> None:
    assert len(LAUGHS) < 1500
    key = api.keygen()
    laughs = write(tmp_path / "laughs.yaml", LAUGHS)
    api.encrypt_file(laughs, KeySource(key=key, env={}))  # sealing expands nothing
    env = {"SEALEDCFG_KEY": key}
    for args in (
        ["export", str(laughs)],
        ["get", str(laughs), "a9"],
        ["exec", str(laughs), "--", "true"],
    ):
        line = one_error_line(cli(*args, env=env))
        assert (
            "the number of nodes with aliases expanded at line 6 exceeds the limit of 1,000,000"
            in line
        )
    recursive = write(tmp_path / "recursive.yaml", "a: &a [1, *a]\n")
    line = one_error_line(cli("encrypt", str(recursive), env=env))
    assert "recursive" in line
    proc = cli("decrypt", str(laughs), env=env)  # byte-exact text: aliases stay aliases
    assert proc.returncode == 0
    assert proc.stdout == LAUGHS
