"""`exec` run in the test process (api and CliRunner): the refusals, --file as a tmpfs
file and as a FIFO, the exit status and the signals of a real child command."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode
from sealedcfg.ops import execution

from .conftest import FAST, write
from .test_export import app

runner = CliRunner()
SECRET = "tls-key_material!x"


@pytest.fixture
def profile(tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write(tmp_path / "p.yaml", f"tls:\n  key: {SECRET}\n  ca: c\ndb:\n  host: h\n")
    api.encrypt_file(path, KeySource(key=key, env={}), kdf=FAST)
    monkeypatch.setenv("SEALEDCFG_KEY", key)
    return path


@pytest.fixture
def own_signals() -> Iterator[None]:
    """The test process's handlers as they were, whatever exec did to them."""
    names = ("SIGPIPE", "SIGXFSZ", *execution.FORWARDED)
    saved = {n: signal.getsignal(getattr(signal, n)) for n in names}
    yield
    for name, handler in saved.items():
        signal.signal(getattr(signal, name), handler)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app(), ["exec", *args])
    return result.exit_code, result.stderr


def keys(key: str) -> KeySource:
    return KeySource(key=key, env={})


def test_refusals_name_the_cause_and_never_a_value(profile: Path, tmp_path: Path) -> None:
    plain = write(tmp_path / "plain.txt", "not a program\n")  # exists, not executable
    cases = [
        (["--prefix", "SEALEDCFG_", str(profile), "--", "true"], ExitCode.INPUT,
         "sealedcfg: error: a value would be exported as SEALEDCFG_TLS_KEY, but SEALEDCFG_* "
         "variables are never passed to the command"),
        ([str(profile), "--", "no-such-cmd-q7"], 127,
         "sealedcfg: error: no-such-cmd-q7: command not found"),
        ([str(profile), "--", str(plain)], 126, f"sealedcfg: error: {plain}: not executable"),
        ([str(profile), "--file", "tls.key", "--", "true"], ExitCode.USAGE,
         "sealedcfg: error: --file: put {} in the command where the file's path goes"),
        ([str(profile), "--file", "tls.key", "--", "no-such-cmd-q7", "{}"], 127,
         "sealedcfg: error: no-such-cmd-q7: command not found"),
        ([str(profile), "--file", "0:tls.key", "--", "cat", "{}"], ExitCode.INPUT,
         "sealedcfg: error: --file '0:tls.key': give a path without a document index"),
    ]  # fmt: skip
    for args, code, line in cases:
        got, err = invoke(*args)
        assert (got, err.splitlines()[0]) == (code, line), args
        assert SECRET not in err
        assert "Traceback" not in err


def test_a_command_exec_cannot_run(profile: Path, tmp_path: Path, own_signals: None) -> None:
    """Executable, but no binary format and no #! line: exec fails in this process,
    which stays as it was (Python's SIGPIPE setting included) and reports 126."""
    program = write(tmp_path / "garbage", b"\x7fnot-an-elf\x00\x01\x02")
    program.chmod(0o755)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    code, err = invoke(str(profile), "--", str(program))
    assert code == 126
    assert err == f"sealedcfg: error: cannot run {program}: Exec format error\n"
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN


@pytest.mark.parametrize("fifo", [False, True])
def test_file_value_and_exit_status(profile: Path, key: str, tmp_path: Path, fifo: bool) -> None:
    out = tmp_path / "out"
    script = 'cat "$1" > "$2"; echo >> "$2"; echo "|$1" >> "$2"; '
    script += '[ -p "$1" ] && echo fifo >> "$2"; exit 9'
    argv = ["sh", "-c", script, "-", "{}", str(out)]
    code = api.exec_command(argv, [profile], keys(key), file_value="tls.key", fifo=fifo)
    assert code == 9
    lines = out.read_text().split("\n")
    assert lines[0] == SECRET
    path = Path(lines[1].removeprefix("|"))
    assert lines[2:] == (["fifo", ""] if fifo else [""])
    assert not path.exists()
    assert not path.parent.exists()
    if not fifo and execution.tmpfs_dir() is not None:
        assert path.parent.parent == execution.tmpfs_dir()


def test_file_value_subtree_and_everything(profile: Path, key: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["sh", "-c", 'cat "$1" > "$2"', "-", "{}", str(out)]
    assert api.exec_command(argv, [profile], keys(key), file_value="tls") == 0
    assert out.read_text() == f"key: {SECRET}\nca: c\n"
    assert api.exec_command(argv, [profile], keys(key), file_value=".", fifo=True) == 0
    assert out.read_text() == f"tls:\n  key: {SECRET}\n  ca: c\ndb:\n  host: h\n"


def test_fifo_never_opened(profile: Path, key: str) -> None:
    began = time.monotonic()
    argv = ["sh", "-c", "exit 4", "-", "{}"]
    assert api.exec_command(argv, [profile], keys(key), file_value="tls.key", fifo=True) == 4
    assert time.monotonic() - began < 10


def _signal_when(ready: Path, signum: int) -> threading.Thread:
    def send() -> None:
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signum)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("trap", "expected"),
    [("trap 'echo got-term > \"$2\"; exit 3' TERM; ", 3), ("", 128 + signal.SIGTERM)],
)
def test_sigterm_to_sealedcfg_reaches_the_command(
    profile: Path, key: str, tmp_path: Path, own_signals: None, trap: str, expected: int
) -> None:
    """A SIGTERM to sealedcfg (this process) goes to the command; a command the signal
    ends gives 128+N, as a shell reports; the handlers are restored afterwards."""
    ready, out = tmp_path / "ready", tmp_path / "out"
    before = signal.getsignal(signal.SIGTERM)
    script = trap + ': > "$1.ready"; while :; do sleep 0.02; done'
    thread = _signal_when(ready, signal.SIGTERM)
    argv = ["sh", "-c", script.replace("$1.ready", str(ready)), "-", "{}", str(out)]
    code = api.exec_command(argv, [profile], keys(key), file_value="tls.key")
    thread.join(timeout=5)
    assert code == expected
    assert out.exists() == bool(trap)
    assert signal.getsignal(signal.SIGTERM) == before
