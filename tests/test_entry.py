"""`python -m sealedcfg`'s entry point called in-process: --version before typer, a
command's exit code, the one error line.  tests/test_cli.py runs it as a process."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from sealedcfg import __main__ as entry
from sealedcfg import __version__
from sealedcfg.errors import ExitCode


@pytest.fixture(autouse=True)
def _gc_back_on() -> Iterator[None]:
    yield
    gc.enable()  # main() turns the cyclic collector off for its short-lived process


def _main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr("sys.argv", ["sealedcfg", *args])
    with pytest.raises(SystemExit) as exc:
        entry.main()
    assert isinstance(exc.value.code, int)
    return exc.value.code


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    assert _main(monkeypatch, flag) == 0
    assert capsys.readouterr().out == f"sealedcfg {__version__}\n"
    assert not gc.isenabled()


def test_a_command_and_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert _main(monkeypatch, "keygen") == 0
    key = capsys.readouterr().out.strip()
    assert len(key) == 44  # 32 bytes in base64
    missing = tmp_path / "none.yaml"
    assert _main(monkeypatch, "decrypt", str(missing)) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert err.startswith("sealedcfg: error: ")
    assert str(missing) in err
    assert "Traceback" not in err
