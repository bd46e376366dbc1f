"""Docs that tests keep honest: README names every command, hook and exit code."""

from __future__ import annotations

import re
from typing import Any

import typer
from typer.testing import CliRunner

from sealedcfg.cli.main import make_app
from sealedcfg.errors import ExitCode

from .conftest import ROOT

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
