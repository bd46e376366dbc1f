"""Docs that tests keep honest: README names every command, hook and exit code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
import yaml
from typer.testing import CliRunner

from sealedcfg.cli.main import make_app
from sealedcfg.errors import ExitCode

from .conftest import FAST_TEXT, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: typer.Typer) -> list[list[str]]:
    out: list[list[str]] = []

    def walk(cmd: Any, prefix: list[str]) -> None:
        if hasattr(cmd, "commands"):  # a group (typer vendors click since 0.26)
            for name, sub in cmd.commands.items():
                walk(sub, [*prefix, name])
        else:
            out.append(prefix)

    walk(typer.main.get_command(group), [])
    return out


def test_readme_starts_with_the_two_commands() -> None:
    block = README.split("```", 2)[1]
    assert "make demo" in block
    assert "make test" in block
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_command_is_documented_with_examples() -> None:
    runner = CliRunner()
    commands = _commands(make_app())
    assert len(commands) >= 20
    for words in commands:
        assert f"sealedcfg {' '.join(words)}" in README, words
        result = runner.invoke(make_app(), [*words, "--help"])
        assert result.exit_code == 0, words
        assert "Example" in result.stdout, words


def test_every_hook_id_is_documented() -> None:
    ids = re.findall(r"^- id: (\S+)", (ROOT / ".pre-commit-hooks.yaml").read_text(), re.M)
    assert ids
    for hook in ids:
        assert f"`{hook}`" in README


def test_exit_codes_are_documented() -> None:
    table = README.split("## Exit codes", 1)[1]
    for code in ExitCode:
        assert f"| {int(code)} |" in table, code.name


# ---------------------------------------------------------------- recipes, run as written

LAYERS = {
    "base": "db:\n  host: db.internal\n  port: 5432\n  password: dev-only\nlog: info\n",
    "staging": "extends: base\ndb:\n  host: db.staging\nlog: debug\n",
    "prod": "extends: staging\ndb:\n  password: prod-only\nlog: warn\ntls:\n  key: PEM\n",
}


def _block(after: str, lang: str) -> str:
    """The first ```LANG block after the text AFTER in the README."""
    rest = README.split(after, 1)[1]
    return rest.split(f"```{lang}\n", 1)[1].split("```", 1)[0]


def _layered_repo(root: Path, key: str) -> Path:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "config").mkdir()
    (root / ".sealedcfg.yaml").write_text(_block("## Profiles", "yaml"))
    for name, text in LAYERS.items():
        (root / "config" / f"{name}.yaml").write_text(text)
    files = [str(root / "config" / f"{n}.yaml") for n in LAYERS]
    subprocess.run(
        ["sealedcfg", "encrypt", *files], check=True, env=_env(key), cwd=root, capture_output=True
    )
    return root


def _env(key: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', os.defpath)}"
    return {**env, "SEALEDCFG_KEY": key, "SEALEDCFG_ARGON2": FAST_TEXT, **more}


def test_layering_example_and_resolved_listing(tmp_path: Path, key: str) -> None:
    example = _block("**Layering.**", "yaml")
    for name, text in LAYERS.items():  # the three columns are the files the test seals
        if name != "prod":
            for line in text.splitlines():
                assert line in example, line
    root = _layered_repo(tmp_path / "repo", key)
    proc = subprocess.run(
        ["sealedcfg", "ls", "--profile", "prod", "--resolved"],
        capture_output=True,
        text=True,
        cwd=root,
        env=_env(key),
        check=True,
    )
    shown = _block("shows where each key of\nthe merged view comes from", "")
    assert all(line in proc.stdout.splitlines() for line in shown.splitlines()), proc.stdout


def test_github_actions_recipe_runs(tmp_path: Path, key: str) -> None:
    from .test_formats import parse_github_env

    workflow = yaml.safe_load(_block("**GitHub Actions**", "yaml"))
    job = workflow["jobs"]["deploy"]
    assert job["env"]["SEALEDCFG_KEY"] == "${{ secrets.SEALEDCFG_KEY }}"
    root = _layered_repo(tmp_path / "repo", key)
    github_env = tmp_path / "github_env"
    carried: dict[str, str] = {}
    ran = 0
    for step in job["steps"]:
        if "run" not in step or step["run"].startswith("pip install"):
            continue
        github_env.write_text("")
        env = _env(key, GITHUB_ENV=str(github_env), **carried)
        proc = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            capture_output=True,
            text=True,
            cwd=root,
            env=env,
            check=False,
        )
        assert proc.returncode == 0, (step["run"], proc.stderr)
        carried.update(parse_github_env(github_env.read_text()))
        ran += 1
        if "--mask" in step["run"]:
            assert "::add-mask::prod-only" in proc.stdout.splitlines()
    assert ran == 3
    assert carried["DB_PASSWORD"] == "prod-only"


def test_gitlab_recipe_runs(tmp_path: Path, key: str) -> None:
    job = yaml.safe_load(_block("**GitLab CI**", "yaml"))["deploy"]
    root = _layered_repo(tmp_path / "repo", key)
    script = "\n".join(line for line in job["script"] if not line.startswith("pip install"))
    proc = subprocess.run(
        ["bash", "-e", "-c", script],
        capture_output=True,
        text=True,
        cwd=root,
        env=_env(key),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_docker_and_kubernetes_recipes_run(tmp_path: Path, key: str) -> None:
    root = _layered_repo(tmp_path / "repo", key)
    line = _block("**Docker / Kubernetes.**", "dockerfile").splitlines()[-1]
    argv = json.loads(line.removeprefix("ENTRYPOINT "))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    app = bin_dir / "myapp"
    app.write_text('#!/bin/sh\n[ "$1" = --tls-key ] && cat "$2"\n')
    app.chmod(0o755)
    env = _env(key)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=root, env=env, check=False)
    assert (proc.returncode, proc.stdout) == (0, "PEM"), proc.stderr
    pod = yaml.safe_load(_block("or decrypt once in an init container", "yaml"))
    command = pod["initContainers"][0]["command"]
    out = tmp_path / "app.yaml"
    command = [str(out) if arg == "/run/config/app.yaml" else arg for arg in command]
    subprocess.run(command, cwd=root, env=env, check=True)
    assert yaml.safe_load(out.read_text())["db"]["host"] == "db.staging"


def test_python_app_recipe_runs(tmp_path: Path, key: str) -> None:
    root = _layered_repo(tmp_path / "repo", key)
    code = _block("**A Python application:**", "python")
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        env=_env(key),
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, "5433\n"), proc.stderr
