"""`sealedcfg check` and the pre-commit hook, through the real pre-commit framework."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError
from sealedcfg.ops import check

from .conftest import CORPUS, FIXTURES, ROOT, write
from .subproc import cli

STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"  # split: our own hook scans this file


def sh(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    full.update(env or {})
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, env=full, check=False, timeout=600
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    sh(["git", "init", "-q"], tmp_path)
    sh(["git", "config", "user.email", "t@example.com"], tmp_path)
    sh(["git", "config", "user.name", "t"], tmp_path)
    return tmp_path


def sealed_profile(repo: Path, keys: KeySource, name: str = "config/prod.yaml") -> Path:
    target = repo / name
    target.parent.mkdir(parents=True, exist_ok=True)
    write(target, "db:\n  host: db.internal\n  password: s3cret-pw-42\n")
    api.encrypt_file(target, keys, plain=r"(^|\.)host$")
    return target


def test_sealed_profile_is_clean_and_unsealed_value_is_a_finding(
    repo: Path, keys: KeySource
) -> None:
    target = sealed_profile(repo, keys)
    assert cli("check", str(target), cwd=repo).returncode == 0
    target.write_text(target.read_text().replace("db:\n", "db:\n  token: plain-token-value\n"))
    proc = cli("check", str(target), cwd=repo)
    assert proc.returncode == 1
    assert "unsealed-value" in proc.stdout
    assert "plain-token-value" not in proc.stdout + proc.stderr
    assert "1 file(s) scanned" in proc.stderr


def test_rule_matched_file_without_header_is_a_finding(repo: Path) -> None:
    (repo / ".sealedcfg.yaml").write_text("creation_rules:\n  - path: 'config/*.yaml'\n")
    (repo / "config").mkdir()
    write(repo / "config" / "dev.yaml", "debug: true\n")
    proc = cli("check", "config/dev.yaml", cwd=repo)
    assert proc.returncode == 1
    assert "config/dev.yaml:1:1: unsealed-profile" in proc.stdout


def test_api_key_in_python_file(repo: Path) -> None:
    write(repo / "app.py", f'STRIPE_KEY = "{STRIPE}"\n')
    proc = cli("check", "app.py", cwd=repo)
    assert proc.returncode == 1
    assert proc.stdout.startswith("app.py:1:")
    assert "stripe-secret-key" in proc.stdout
    assert STRIPE not in proc.stdout + proc.stderr


def test_formats_json_and_sarif(repo: Path) -> None:
    write(repo / "app.py", f'STRIPE_KEY = "{STRIPE}"\n')
    data = json.loads(cli("check", "app.py", "--format", "json", cwd=repo).stdout)
    assert data["findings"][0]["rule_id"] == "stripe-secret-key"
    sarif = json.loads(cli("check", "app.py", "--format", "sarif", cwd=repo).stdout)
    result = sarif["runs"][0]["results"][0]
    assert result["ruleId"] == "stripe-secret-key"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_allowlists_survive_line_moves(repo: Path) -> None:
    write(repo / "a.py", f'KEY = "{STRIPE}"  # sealedcfg: allow\n')
    assert cli("check", "a.py", cwd=repo).returncode == 0
    write(repo / "b.py", f'KEY = "{STRIPE}"\n')
    assert cli("check", "b.py", "--write-allow", cwd=repo).returncode == 1
    assert cli("check", "b.py", cwd=repo).returncode == 0
    write(repo / "b.py", f'import os\n\nKEY = "{STRIPE}"\n')  # moved down: still allowed
    assert cli("check", "b.py", cwd=repo).returncode == 0
    assert ":" not in (repo / ".sealedcfg-allow").read_text().split()[0]  # no line numbers


def test_staged_reads_the_index(repo: Path) -> None:
    write(repo / "app.py", f'KEY = "{STRIPE}"\n')
    sh(["git", "add", "app.py"], repo)
    write(repo / "app.py", "KEY = os.environ['KEY']\n")  # fixed in the tree, not in the index
    proc = cli("check", "--staged", cwd=repo)
    assert proc.returncode == 1
    assert proc.stdout.startswith("app.py:1:")


def test_all_scans_tracked_files(repo: Path) -> None:
    write(repo / "ok.txt", "nothing here\n")
    write(repo / "app.py", f'KEY = "{STRIPE}"\n')
    sh(["git", "add", "."], repo)
    proc = cli("check", "--all", cwd=repo)
    assert proc.returncode == 1
    assert "2 file(s) scanned" in proc.stderr


def test_binary_oversize_and_bad_input(repo: Path) -> None:
    write(repo / "blob.bin", b"\x00\x01" * 100)
    write(repo / "big.txt", b"a" * (check.MAX_BYTES + 1))
    write(repo / "latin1.env", b"NAME=caf\xe9\nSECRET_TOKEN=" + STRIPE.encode() + b"\n")
    proc = cli("check", "blob.bin", "big.txt", "latin1.env", cwd=repo)
    assert proc.returncode == 1
    assert "blob.bin: skipped (binary file)" in proc.stderr
    assert "big.txt: skipped" in proc.stderr
    assert "latin1.env:2:" in proc.stdout
    (repo / "dir").mkdir()
    assert cli("check", "dir", cwd=repo).returncode == 2
    assert cli("check", "missing.py", cwd=repo).returncode == 2
    assert cli("check", cwd=repo).returncode == 2
    outside = cli("check", "--staged", cwd=Path("/"))
    assert outside.returncode == 2
    assert "not inside a git repository" in outside.stderr


def test_no_false_alarm_on_sealed_files(tmp_path: Path, keys: KeySource) -> None:
    sources = sorted((FIXTURES / "edge").glob("*.yaml")) + sorted(
        (FIXTURES / "profiles").glob("*.yaml")
    )
    if CORPUS.is_dir():
        sources += sorted(CORPUS.glob("*.y*ml"))
    report = check.Report()
    sealed = 0
    for src in sources:
        target = write(tmp_path / src.name, src.read_bytes())
        try:
            api.encrypt_file(target, keys)
        except InputError as exc:  # not a profile: its top level is not a mapping
            if "top level" not in exc.message:
                raise
            continue
        sealed += 1
        check.check_bytes(target.read_bytes(), src.name, None, report)
    assert sealed >= 5
    assert report.profiles == sealed
    assert [f"{f.path}:{f.line} {f.rule_id}" for f in report.findings] == []


# ---------------------------------------------------------------- the real pre-commit framework

needs_precommit = pytest.mark.skipif(
    shutil.which("pre-commit") is None
    and not (Path(sys.executable).parent / "pre-commit").exists(),
    reason="pre-commit not installed",
)


def precommit() -> str:
    local = Path(sys.executable).parent / "pre-commit"
    return str(local) if local.exists() else "pre-commit"


@pytest.fixture(scope="module")
def pc_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@needs_precommit
def test_pre_commit_try_repo(repo: Path, keys: KeySource, pc_home: Path) -> None:
    sealed_profile(repo, keys)
    write(repo / "leaky.yaml", "db:\n  password: s3cret-pw-42\n")
    sh(["git", "add", "."], repo)
    env = {"PRE_COMMIT_HOME": str(pc_home)}
    ok = sh(
        [precommit(), "try-repo", str(ROOT), "sealedcfg-check", "--files", "config/prod.yaml"],
        repo,
        env,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # a plaintext value added to the sealed profile
    prod = repo / "config" / "prod.yaml"
    prod.write_text(prod.read_text().replace("db:\n", "db:\n  api_token: tok-plain-1\n"))
    bad = sh(
        [precommit(), "try-repo", str(ROOT), "sealedcfg-check", "--files", "config/prod.yaml"],
        repo,
        env,
    )
    assert bad.returncode == 1
    assert "unsealed-value" in bad.stdout
    write(repo / "settings.py", f'STRIPE = "{STRIPE}"\n')
    bad = sh(
        [precommit(), "try-repo", str(ROOT), "sealedcfg-check", "--files", "settings.py"], repo, env
    )
    assert bad.returncode == 1
    assert "stripe-secret-key" in bad.stdout


README = (ROOT / "README.md").read_text(encoding="utf-8")
_URL = "https://git.example.com/you/sealedcfg.git"


def readme_precommit_configs() -> list[str]:
    """The README's `.pre-commit-config.yaml` blocks, as written."""
    section = README.split("## Pre-commit hook", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```")[1::2]
    return [b.split("\n", 1)[1] for b in blocks if "# .pre-commit-config.yaml" in b]


def readme_pinned_config() -> str:
    """The pinned snippet, with the README's own command's sha and this clone as URL."""
    section = README.split("## Pre-commit hook", 1)[1]
    command = next(ln for ln in section.splitlines() if ln.startswith("git -C "))
    args = [str(ROOT) if a == "path/to/sealedcfg" else a for a in command.split()]
    head = sh(args, ROOT)
    if head.returncode != 0:
        pytest.skip("this checkout has no commit to point pre-commit at")
    config = next(c for c in readme_precommit_configs() if "rev:" in c)
    assert _URL in config
    assert "<the full sha printed above>" in config
    return config.replace(_URL, str(ROOT)).replace(
        "<the full sha printed above>", head.stdout.strip()
    )


def _commit_refused(repo: Path, keys: KeySource, env: dict[str, str]) -> None:
    assert sh([precommit(), "install"], repo, env).returncode == 0
    sealed_profile(repo, keys)
    sh(["git", "add", "."], repo)
    ok = sh(["git", "commit", "-qm", "sealed profile"], repo, env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    write(repo / "app.py", f'STRIPE = "{STRIPE}"\n')
    sh(["git", "add", "app.py"], repo)
    refused = sh(["git", "commit", "-qm", "leak"], repo, env)
    assert refused.returncode != 0
    assert "stripe-secret-key" in refused.stdout + refused.stderr
    assert sh(["git", "log", "--oneline"], repo).stdout.count("\n") == 1


@needs_precommit
def test_git_commit_refused_by_the_readme_pinned_hook(
    repo: Path, keys: KeySource, pc_home: Path
) -> None:
    """The README's snippet as written: its command's sha, its two hook ids."""
    (repo / ".pre-commit-config.yaml").write_text(readme_pinned_config())
    _commit_refused(repo, keys, {"PRE_COMMIT_HOME": str(pc_home)})
    # the verify hook ran too, on the sealed profile
    proc = sh(
        [precommit(), "run", "sealedcfg-verify", "--all-files"],
        repo,
        {"PRE_COMMIT_HOME": str(pc_home)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout


@needs_precommit
def test_git_commit_refused_by_the_readme_local_hook(
    repo: Path, keys: KeySource, pc_home: Path
) -> None:
    """The README's `repo: local` snippet as written, with sealedcfg on PATH."""
    config = next(c for c in readme_precommit_configs() if "repo: local" in c)
    (repo / ".pre-commit-config.yaml").write_text(config)
    bindir = str(Path(sys.executable).parent)
    env = {"PRE_COMMIT_HOME": str(pc_home), "PATH": bindir + os.pathsep + os.environ["PATH"]}
    assert shutil.which("sealedcfg", path=env["PATH"])
    _commit_refused(repo, keys, env)


def test_hook_main_in_process(
    repo: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hook's entry point as a function: exit codes 0 clean, 1 findings, 2 error."""
    from sealedcfg.cli.check import main

    monkeypatch.chdir(repo)
    target = sealed_profile(repo, keys)
    assert main([str(target)]) == 0
    write(repo / "app.py", f'STRIPE_KEY = "{STRIPE}"\n')
    assert main(["app.py", "--format", "sarif"]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["runs"][0]["results"][0]["ruleId"] == "stripe-secret-key"
    assert STRIPE not in out.out + out.err
    assert main(["app.py", "--format", "xml"]) == 2
    assert "unknown format" in capsys.readouterr().err
    assert main([]) == 2  # no files: never a silent pass
