"""Team rules and allowlists in `.sealedcfg.yaml`, foreign allow comments, gitleaks import."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg.cli.main import app
from sealedcfg.engine import rules
from sealedcfg.errors import InputError
from sealedcfg.scan import custom, fix_hint, scan_text
from sealedcfg.scan.gitleaks_import import convert

from .subproc import cli

KEY = "Vq8mZ2xR4tLw9bN3cJ7kP1sD6fH0gY5e"
ACME = "acme_" + "k3v9x2m7q1z8w4r6t0y5u3i2o9p1a7s4"
runner = CliRunner()


@pytest.mark.parametrize(
    "comment",
    [
        "# gitleaks:allow",
        "// gitleaks:allow",
        "# pragma: allowlist secret",
        "// pragma: allowlist secret",
    ],
)
def test_foreign_inline_allow_comments(comment: str) -> None:
    assert scan_text(f'api_secret = "{KEY}"  {comment}\n', "a.py") == []


def test_pragma_allowlist_nextline() -> None:
    text = f'# pragma: allowlist nextline secret\napi_secret = "{KEY}"\napi_token = "{KEY}"\n'
    assert [f.line for f in scan_text(text, "a.py")] == [3]


SECTION = {
    "rules": [
        {
            "id": "acme-api-key",
            "description": "ACME API key",
            "regex": r"\b(acme_[a-z0-9]{32})\b",
            "secret_group": 1,
            "keywords": ["acme_"],
            "entropy": 3.0,
        }
    ],
    "allowlist": [
        {"paths": [r"^fixtures/"]},
        {"stopwords": ["k3v9x2"], "rules": ["generic-secret-assignment"]},
        {"regexes": [r"^Vq8m"], "target": "secret"},
    ],
}


def test_custom_rule_and_allowlist() -> None:
    config = custom.parse(SECTION, "r.yaml")
    (f,) = scan_text(f"x = {ACME}\n", "src/a.txt", config)
    assert (f.rule_id, f.col) == ("acme-api-key", 5)
    assert ACME not in f.message
    assert scan_text(f"x = {ACME}\n", "fixtures/a.txt", config) == []
    assert scan_text(f'api_secret = "{KEY}"\n', "src/a.py", config) == []  # regex allow
    low = "acme_" + "a" * 32
    assert scan_text(f"x = {low}\n", "src/a.txt", config) == []  # under the entropy floor


def test_path_restricted_rule() -> None:
    section = {"rules": [{"id": "py-only", "regex": "zzsecret[0-9]{6}", "paths": [r"\.py$"]}]}
    config = custom.parse(section, "r.yaml")
    assert [f.rule_id for f in scan_text("zzsecret123456\n", "a.py", config)] == ["py-only"]
    assert scan_text("zzsecret123456\n", "a.txt", config) == []


def test_user_regex_runs_on_re2() -> None:
    # RE2 guarantees linear time: `(a+)+$` cannot backtrack, and the scan still finds it.
    config = custom.parse({"rules": [{"id": "redos", "regex": "(a+)+$"}]}, "r.yaml")
    assert type(config.rules[0].regex).__module__.startswith("re2")
    assert [f.rule_id for f in scan_text("a" * 50_000 + "\n", "a.txt", config)] == ["redos"]
    assert scan_text("a" * 50_000 + "!\n", "a.txt", config) == []


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"rules": [{"id": "x", "regex": "(?<=a)b"}]}, "not a valid RE2 pattern"),
        ({"rules": [{"id": "x"}]}, "needs a 'regex'"),
        ({"rules": [{"id": "x", "regex": "a", "secret_group": 2}]}, "no group 2"),
        ({"rules": [{"id": "x y", "regex": "a"}]}, "'id' must be"),
        ({"rules": [{"id": "x", "regex": "a", "colour": 1}]}, "unknown field 'colour'"),
        ({"allowlist": [{"condition": "XOR", "paths": ["a"]}]}, "condition is OR or AND"),
        ({"rules": [{"id": "x", "regex": "a" * 5000}]}, "longer than"),
    ],
)
def test_bad_sections_are_one_clean_error(section: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        custom.parse(section, "r.yaml")


def _repo(tmp_path: Path, rules_text: str) -> Path:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".sealedcfg.yaml").write_text(rules_text, encoding="utf-8")
    return tmp_path


RULES_YAML = """\
creation_rules:
  - path: config/*.yaml
scan:
  rules:
    - id: acme-api-key
      regex: '\\b(acme_[a-z0-9]{32})\\b'
      secret_group: 1
  allowlist:
    - paths: ['^docs/']
"""


def test_rules_file_section_through_the_cli(tmp_path: Path) -> None:
    repo = _repo(tmp_path, RULES_YAML)
    (repo / "docs").mkdir()
    (repo / "app.txt").write_text(f"key {ACME}\n", encoding="utf-8")
    (repo / "docs" / "a.txt").write_text(f"key {ACME}\n", encoding="utf-8")
    proc = cli("check", "app.txt", "docs/a.txt", cwd=repo, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("app.txt:1:5: acme-api-key:")
    assert "docs/a.txt" not in proc.stdout
    assert "    fix: " in proc.stdout
    assert ACME not in proc.stdout + proc.stderr
    data = json.loads(cli("check", "app.txt", "--format", "json", cwd=repo, timeout=120).stdout)
    assert "sealed profile" in data["findings"][0]["fix"]
    assert rules.load(repo / ".sealedcfg.yaml") is not None


def test_bad_scan_section_is_exit_2(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "scan:\n  rules:\n    - id: x\n      regex: '(?<=a)'\n")
    (repo / "a.txt").write_text("x\n", encoding="utf-8")
    proc = cli("check", "a.txt", cwd=repo, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("sealedcfg: error: ")
    assert "Traceback" not in proc.stderr


def test_fix_hint_gives_the_exact_allow_line() -> None:
    (f,) = scan_text(f'api_secret = "{KEY}"\n', "src/a.py")
    hint = fix_hint(f)
    assert f"{f.fingerprint}  generic-secret-assignment  src/a.py" in hint
    assert "sealedcfg: allow" in hint
    assert KEY not in hint


GITLEAKS = """\
title = "team config"
[extend]
useDefault = true

[[rules]]
id = "acme-api-key"
description = "ACME API key"
regex = '''\\b(acme_[a-z0-9]{32})\\b'''
secretGroup = 1
entropy = 3.0
keywords = ["acme_"]
[[rules.allowlists]]
stopwords = ["k3v9x2"]

[[rules]]
id = "lookbehind"
regex = '''(?<=x)y'''

[[rules]]
id = "p12"
path = '''\\.p12$'''

[allowlist]
description = "global"
paths = ['''^vendor/''']
regexes = ['''EXAMPLE''']
commits = ["abc123"]
"""


def test_import_gitleaks_converts_and_notes(tmp_path: Path) -> None:
    section, notes = convert(GITLEAKS, ".gitleaks.toml")
    assert [r["id"] for r in section["rules"]] == ["acme-api-key"]
    assert section["rules"][0]["secret_group"] == 1
    assert section["allowlist"][0] == {"stopwords": ["k3v9x2"], "rules": ["acme-api-key"]}
    assert section["allowlist"][1]["paths"] == ["^vendor/"]
    assert any("lookbehind" in n for n in notes)
    assert any("p12" in n for n in notes)
    assert any("commits" in n for n in notes)
    assert any("[extend]" in n for n in notes)
    # the printed section is a working rules file
    (tmp_path / ".gitleaks.toml").write_text(GITLEAKS, encoding="utf-8")
    result = runner.invoke(app, ["check", "--import-gitleaks", str(tmp_path / ".gitleaks.toml")])
    assert result.exit_code == 0, result.output
    (tmp_path / "r").mkdir()
    repo = _repo(tmp_path / "r", "")
    proc = cli(
        "check", "--import-gitleaks", str(tmp_path / ".gitleaks.toml"), cwd=repo, timeout=120
    )
    assert proc.returncode == 0
    (repo / ".sealedcfg.yaml").write_text(proc.stdout, encoding="utf-8")
    (repo / "a.txt").write_text(f"{ACME}\nacme_{'z' * 32}\n", encoding="utf-8")
    other = "acme_" + "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6"
    (repo / "b.txt").write_text(other + "\n", encoding="utf-8")
    out = cli("check", "a.txt", "b.txt", cwd=repo, timeout=120)
    assert out.returncode == 1, out.stderr
    found = [ln for ln in out.stdout.splitlines() if not ln.startswith(" ")]
    assert [ln.split(":")[0] for ln in found if "acme-api-key" in ln] == [
        "b.txt"
    ]  # a.txt: the stopword allows the first, entropy drops the second


def test_import_gitleaks_bad_toml(tmp_path: Path) -> None:
    bad = tmp_path / "g.toml"
    bad.write_text("[[rules]\n", encoding="utf-8")
    proc = cli("check", "--import-gitleaks", str(bad), cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("sealedcfg: error: ")
