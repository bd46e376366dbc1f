"""The command line's own code run in this process: the entry point (`main`), `run`,
the core commands' options, the error handler's ways out (a refusal, Ctrl-C, SIGTERM,
a closed stdout) and `--profile`.  tests/test_cli.py and tests/test_crashes.py run
the same as a process, which coverage does not see."""

from __future__ import annotations

import contextlib
import errno
import gc
import io
import json
import os
import pty
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
import typer

from sealedcfg import __main__ as entry
from sealedcfg import __version__, api
from sealedcfg.cli import main as cli_main
from sealedcfg.cli import util
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode

from .conftest import visible, write
from .subproc import assert_one_error, invoke
from .test_cov_editor import TERM_PARENT_WHEN_WAITING
from .test_profiles import BASE, PROD, git_repo, seal

SECRET = "Cli-Secret value_3!"


@pytest.fixture(autouse=True)
def _gc_back_on() -> Iterator[None]:
    yield
    gc.enable()  # main() turns the cyclic collector off for its short-lived process


# The runner's commands find conftest's key in SEALEDCFG_KEY.
pytestmark = pytest.mark.usefixtures("env_key")


@pytest.fixture
def profile(tmp_path: Path, keys: KeySource) -> Path:
    target = write(tmp_path / "p.yaml", f"a: 1\npw: {SECRET}\n")
    api.encrypt_file(target, keys)
    return target


def main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """`sealedcfg ARGS` through the entry point, in this process: its exit code."""
    monkeypatch.setattr("sys.argv", ["sealedcfg", *args])
    with pytest.raises(SystemExit) as exc:
        entry.main()
    assert isinstance(exc.value.code, int)
    return exc.value.code


@contextlib.contextmanager
def closed_stdout(monkeypatch: pytest.MonkeyPatch) -> Iterator[IO[str]]:
    """sys.stdout a pipe whose reader has gone (`| head` after its line).  Set in
    the test's body: capsys sets sys.stdout again when the test starts."""
    read, write_end = os.pipe()
    os.close(read)
    with open(write_end, "w") as stream, monkeypatch.context() as patch:
        patch.setattr("sys.stdout", stream)
        yield stream


def points_at_devnull(stream: IO[str]) -> bool:
    """closed_pipe() points stdout at /dev/null, so the final flush cannot fail again."""
    return os.path.samestat(os.fstat(stream.fileno()), os.stat(os.devnull))


# ---------------------------------------------------------------- keygen


def test_keygen_into_a_directory(tmp_path: Path) -> None:
    proc = invoke("keygen", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    (written,) = tmp_path.glob("*.key")
    assert proc.stderr == f"wrote key {written.stem} to {written}\n"
    assert proc.stdout == ""  # the key goes only to the file
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    key = written.read_text().splitlines()[-1]
    assert api.key_id_of(key) == written.stem
    assert_one_error(invoke("keygen", "-o", str(written)), ExitCode.INPUT, "already exists", key)


def test_keygen_age(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "age" / "keys.txt"
    proc = invoke("keygen", "--age", "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    public = proc.stdout.strip()
    assert public.startswith("age1")
    assert proc.stderr == f"wrote a new age identity to {target}\n"
    text = target.read_text()
    assert f"# public key: {public}\n" in text
    assert text.splitlines()[-1].startswith("AGE-SECRET-KEY-1")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    # the default file is in the user's config directory
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SEALEDCFG_AGE_KEY_FILE", raising=False)
    proc = invoke("keygen", "--age")
    assert proc.returncode == 0, proc.stderr
    assert api.default_age_identity_file().is_relative_to(tmp_path / "home")
    assert proc.stdout.strip() in api.default_age_identity_file().read_text()
    # never over an identity
    before = api.default_age_identity_file().read_bytes()
    assert_one_error(invoke("keygen", "--age"), ExitCode.INPUT, "already exists")
    assert api.default_age_identity_file().read_bytes() == before


# ---------------------------------------------------------------- encrypt, decrypt, verify


def test_encrypt_json_and_adopt(tmp_path: Path, keys: KeySource) -> None:
    target = write(tmp_path / "p.yaml", f"pw: {SECRET}\n")
    proc = invoke("encrypt", "--json", str(target))
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)
    assert result == {
        "path": str(target),
        "sealed": 1,
        "created": True,
        "written": True,
        "adopted": [],
    }
    with target.open("r+") as fh:  # a value added in a text editor, in plaintext
        text = fh.read()
        fh.seek(0)
        fh.write(f"added: {SECRET}-2\n" + text)
    before = target.read_bytes()
    proc = invoke("encrypt", str(target))
    assert_one_error(proc, ExitCode.INPUT, "were not sealed by a key holder: added", SECRET)
    assert target.read_bytes() == before
    proc = invoke("encrypt", "--adopt", str(target))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"{target}: sealed 1 value(s) (adopted: added)\n"
    assert SECRET not in visible(target.read_text())
    assert api.get(target, "added", keys) == f"{SECRET}-2"
    proc = invoke("encrypt", str(target))
    assert proc.stderr == f"{target}: nothing new to seal\n"


def test_decrypt_stdin_output_and_in_place(tmp_path: Path, profile: Path) -> None:
    plain = f"a: 1\npw: {SECRET}\n"
    proc = invoke("decrypt", "-", input=profile.read_text())
    assert (proc.returncode, proc.stdout) == (0, plain), proc.stderr
    out = tmp_path / "out.yaml"
    proc = invoke("decrypt", "-", "-o", str(out), input=profile.read_text())
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr
    assert out.read_text() == plain
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    before = profile.read_bytes()
    for args, text in (
        (["-", "--in-place"], "--in-place needs a file, not stdin"),
        ([str(profile), "-i", "-o", str(out)], "cannot be used together"),
    ):
        assert_one_error(invoke("decrypt", *args, input=""), ExitCode.INPUT, text, SECRET)
    assert profile.read_bytes() == before
    proc = invoke("decrypt", "--in-place", str(profile))
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr
    assert profile.read_text() == plain
    assert stat.S_IMODE(profile.stat().st_mode) == 0o600


def test_verify_text_and_json_report(tmp_path: Path, profile: Path) -> None:
    proc = invoke("verify", str(profile))
    assert (proc.returncode, proc.stdout) == (0, f"{profile}: ok\n")
    proc = invoke("verify", "--json", "--no-decrypt", str(profile))
    assert json.loads(proc.stdout) == [{"path": str(profile), "ok": True, "problems": []}]
    plain = write(tmp_path / "plain.yaml", "a: 1\n")
    proc = invoke("verify", str(profile), str(plain))
    assert proc.returncode == ExitCode.FINDINGS
    assert proc.stdout == (f"{profile}: ok\n{plain}: FAILED\n  not sealed (no sealedcfg header)\n")


def test_progress_on_a_terminal(
    tmp_path: Path, profile: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    second = write(tmp_path / "q.yaml", f"pw: {SECRET}\n")
    api.encrypt_file(second, keys)
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    try:
        with open(slave, "w") as terminal, monkeypatch.context() as patch:
            patch.setattr("sys.stderr", terminal)  # stderr a terminal: a progress bar there
            assert cli_main.run(["verify", str(profile), str(second)]) == 0
            terminal.flush()
        shown = os.read(master, 1 << 16).decode()
    finally:
        os.close(master)
    assert "verifying" in shown
    assert SECRET not in shown


# ---------------------------------------------------------------- run() and main()


def test_run_registers_the_group_of_the_command(
    profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main.run(["ls", str(profile)]) == 0  # `ls` is in the editing group
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["sealed", "int", "a"]
    assert SECRET not in out
    assert cli_main.run(["no-such-command"]) == ExitCode.USAGE
    assert "No such command" in capsys.readouterr().err


@pytest.fixture
def completing_rot(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell asks bash completion for the word `sealedcfg rot`."""
    monkeypatch.setenv("_SEALEDCFG_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "sealedcfg rot")
    monkeypatch.setenv("COMP_CWORD", "1")


@pytest.mark.usefixtures("completing_rot")
def test_completion_to_a_closed_pipe_ends_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with closed_stdout(monkeypatch) as stdout:
        assert cli_main.run(["rotate"]) == util.CLOSED_PIPE
        assert points_at_devnull(stdout)
    assert capsys.readouterr().err == ""


@pytest.mark.usefixtures("completing_rot")
def test_completion_lists_commands_of_every_group(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main.run(["keygen"]) == 0
    words = capsys.readouterr().out.split()
    assert {"rotate", "rotate-secret"} <= set(words)  # the editing and lifecycle groups
    # after a word that is no command there is nothing to complete, and no error
    monkeypatch.setenv("COMP_WORDS", "sealedcfg no-such-command --pro")
    monkeypatch.setenv("COMP_CWORD", "2")
    assert cli_main.run([]) == 0
    out, err = capsys.readouterr()
    assert (out.strip(), err) == ("", "")


def test_main_closed_stdout_after_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # keygen's key is still buffered when the command ends: the entry point's flush fails
    with closed_stdout(monkeypatch) as stdout:
        assert main(monkeypatch, "keygen") == util.CLOSED_PIPE
        assert points_at_devnull(stdout)
    assert capsys.readouterr().err.startswith("key id: ")  # and no error


def test_a_closed_stdout_while_a_command_writes(
    monkeypatch: pytest.MonkeyPatch, profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with closed_stdout(monkeypatch) as stdout:
        assert main(monkeypatch, "decrypt", str(profile)) == util.CLOSED_PIPE
        assert points_at_devnull(stdout)
    assert capsys.readouterr().err == ""


@contextlib.contextmanager
def full_stdout(monkeypatch: pytest.MonkeyPatch) -> Iterator[IO[str]]:
    """sys.stdout a buffered file on a full disk (/dev/full): writes fail on flush."""
    with open("/dev/full", "w") as stream, monkeypatch.context() as patch:
        patch.setattr("sys.stdout", stream)
        yield stream


def test_output_to_a_full_disk_is_one_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sealedcfg keygen > file-on-a-full-disk`: the key, still buffered when the
    command ends, cannot be written: one error line and exit 3, no traceback."""
    with full_stdout(monkeypatch) as stdout:
        assert main(monkeypatch, "keygen") == ExitCode.INPUT
        assert points_at_devnull(stdout)  # the interpreter's last flush cannot fail again
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("key id: ")
    assert err[1:] == ["sealedcfg: error: cannot write the output (No space left on device)"]
    with full_stdout(monkeypatch):  # typer's own output: the help
        assert cli_main.run(["--help"]) == ExitCode.INPUT
    assert capsys.readouterr().err == (
        "sealedcfg: error: cannot write the output (No space left on device)\n"
    )


@contextlib.contextmanager
def unbuffered_full_stdout(monkeypatch: pytest.MonkeyPatch) -> Iterator[IO[str]]:
    """sys.stdout on /dev/full as PYTHONUNBUFFERED=1 makes it: text written through
    to a FileIO, so every write fails at once, inside the command."""
    with open("/dev/full", "wb", buffering=0) as raw, monkeypatch.context() as patch:
        patch.setattr("sys.stdout", io.TextIOWrapper(raw, write_through=True))
        yield sys.stdout


@pytest.mark.parametrize("stdout", [full_stdout, unbuffered_full_stdout])
def test_a_full_disk_while_a_command_writes(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    profile: Path,
    stdout: Callable[[pytest.MonkeyPatch], contextlib.AbstractContextManager[IO[str]]],
) -> None:
    """decrypt flushes its output inside the command: that was an internal error (70)."""
    for args in (
        ["decrypt", str(profile)],
        ["get", str(profile), "pw"],
        ["ls", "--json", str(profile)],
        ["--version"],
        ["--help"],
    ):
        with stdout(monkeypatch):
            assert main(monkeypatch, *args) == ExitCode.INPUT, args
        assert capsys.readouterr().err == (
            "sealedcfg: error: cannot write the output (No space left on device)\n"
        ), args


def test_a_closed_pipe_for_help_and_version(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sealedcfg --help | head -1` was exit 1: click's own handling of EPIPE."""
    for args in (["--help"], ["--version"], ["ls", "--help"]):
        with closed_stdout(monkeypatch) as stdout:
            assert main(monkeypatch, *args) == util.CLOSED_PIPE, args
            assert points_at_devnull(stdout)
        assert capsys.readouterr().err == "", args


def test_a_non_blocking_stdout_gets_all_of_the_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, keys: KeySource
) -> None:
    """A stdout left O_NONBLOCK by another process on the same pipe or terminal: a full
    pipe is waited on, not an error (BlockingIOError: exit 70) nor output dropped."""
    text = "".join(f"key{i}: value-{i}_x!\n" for i in range(10_000))  # > a 64 KiB pipe
    target = write(tmp_path / "big.yaml", text)
    api.encrypt_file(target, keys)
    read, write_end = os.pipe()
    os.set_blocking(write_end, False)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(drain(read)))
    reader.start()
    try:
        with open(write_end, "w") as stream, monkeypatch.context() as patch:
            patch.setattr("sys.stdout", stream)
            assert main(monkeypatch, "decrypt", str(target)) == 0
    finally:
        reader.join(timeout=60)
        os.close(read)
    assert got == [text.encode()]


def drain(fd: int) -> bytes:
    """Everything read from `fd` until its writers close it, slowly enough to fill it."""
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
        time.sleep(0.001)
    return b"".join(chunks)


def test_other_os_errors_are_still_bugs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a write to our own stdout is an output failure: the same OSError raised
    anywhere else in a command is a bug, and says so."""
    monkeypatch.delenv("SEALEDCFG_DEBUG", raising=False)

    @util.handle_errors
    def writes_elsewhere() -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(typer.Exit) as exc:
        writes_elsewhere()
    assert exc.value.exit_code == ExitCode.BUG


def test_closed_standard_streams_are_like_dev_null(
    monkeypatch: pytest.MonkeyPatch, profile: Path, keys: KeySource
) -> None:
    """Started with stdin or stdout closed (`<&-`, `>&-`), Python leaves them None."""
    monkeypatch.setattr("sys.stdout", None)
    assert main(monkeypatch, "keygen") == 0
    monkeypatch.setattr("sys.stdin", None)
    assert main(monkeypatch, "set", str(profile), "pw", "--stdin") == 0
    assert api.get(profile, "pw", keys) == ""  # stdin at its end, as /dev/null is
    # as a process, where the descriptor itself is closed
    proc = subprocess.run(
        ["sh", "-c", 'exec "$0" -m sealedcfg keygen >&-', sys.executable],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (proc.returncode, proc.stderr.startswith("key id: ")) == (0, True), proc.stderr
    assert "Traceback" not in proc.stderr


def test_version_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.run(["--version"]) == 0  # typer's option, past the entry point's fast path
    assert capsys.readouterr().out == f"sealedcfg {__version__}\n"


def test_as_a_module(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import runpy
    import warnings

    monkeypatch.setattr("sys.argv", ["sealedcfg", "--version"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # sealedcfg.__main__ is imported
        with pytest.raises(SystemExit) as exc:
            runpy.run_module("sealedcfg", run_name="__main__")
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("sealedcfg ")


@pytest.fixture
def sigint_default() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt here, as in a process of its own."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupt_once_reading(fd: int) -> None:
    """Ctrl-C to this process once its main thread waits in a read of FD (Linux's
    /proc names the system call a thread is in): not earlier, while it imports."""
    task = Path(f"/proc/self/task/{threading.main_thread().native_id}/syscall")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        fields = task.read_text().split()
        if len(fields) > 1 and fields[1].startswith("0x") and int(fields[1], 16) == fd:
            break
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_while_reading_stdin(
    monkeypatch: pytest.MonkeyPatch,
    profile: Path,
    capsys: pytest.CaptureFixture[str],
    sigint_default: None,
) -> None:
    read, write_end = os.pipe()  # a writer that never finishes: `set --stdin` waits
    with open(read) as stdin:
        monkeypatch.setattr("sys.stdin", stdin)
        monkeypatch.setattr(util, "_interrupt_reported", False)
        before = profile.read_bytes()
        ctrl_c = threading.Thread(target=interrupt_once_reading, args=(read,))
        ctrl_c.start()
        try:
            code = main(monkeypatch, "set", str(profile), "pw", "--stdin")
        finally:
            ctrl_c.join()
            os.close(write_end)
    assert code == ExitCode.INTERRUPTED
    assert capsys.readouterr().err == "sealedcfg: error: interrupted\n"  # said once
    assert profile.read_bytes() == before
    log = api.audit_log_path()
    assert log is not None
    assert [e["outcome"] for e in api.audit_read(log, dotted="pw")] == ["interrupted"]


def test_sigterm_during_edit(
    tmp_path: Path, profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen"
    script = tmp_path / "ed.sh"
    # the editor's parent is this process: the SIGTERM reaches `edit` while it waits
    script.write_text(f'#!/bin/sh\necho "$1" > {seen}\n{TERM_PARENT_WHEN_WAITING}\n')
    script.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(script))
    before = profile.read_bytes()
    proc = invoke("edit", str(profile))
    assert proc.returncode == 128 + signal.SIGTERM
    warning, error = proc.stderr.splitlines()
    assert warning.startswith("sealedcfg: ed.sh is an editor sealedcfg does not know")
    assert error == "sealedcfg: error: terminated by signal 15; nothing was changed"
    assert profile.read_bytes() == before
    assert not Path(seen.read_text().strip()).parent.exists()  # the plaintext is gone


def test_errors_print_their_hints(profile: Path) -> None:
    moved = profile.with_name("q.yaml")
    profile.rename(moved)
    proc = invoke("decrypt", str(moved))
    assert_one_error(proc, ExitCode.INPUT, "sealed for 'p.yaml'", SECRET)
    assert proc.stderr.splitlines()[1] == (
        f"hint: if you moved or renamed it yourself, bind it to its path: sealedcfg rebind {moved}"
    )


# ---------------------------------------------------------------- --profile


@pytest.fixture
def repo(tmp_path: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = git_repo(tmp_path / "repo")
    seal(root / "config" / "base.yaml", BASE, keys)
    seal(root / "config" / "prod.yaml", PROD.replace("extends: mid\n", "extends: base\n"), keys)
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["get", "--profile"], "--profile needs a profile name"),
        (["get", "--profile", "prod", "--profile=base", "db"], "--profile given 2 times"),
        (["get", "--profile", "prod", "config/prod.yaml", "db"], "give FILE or --profile, not"),
        (["keygen", "--profile", "prod"], "--profile: this command takes no FILE"),
        (["recipients", "list", "--profile", "prod", "--profile"], "needs a profile name"),
    ],
)
def test_profile_refusals(repo: Path, args: list[str], text: str) -> None:
    assert_one_error(invoke(*args), ExitCode.USAGE, text)


def test_profile_in_a_group_and_from_the_environment(repo: Path, key: str, tmp_path: Path) -> None:
    assert invoke("get", "--profile", "prod", "db.password").stdout == "prod-pw\n"
    proc = invoke("recipients", "list", "--profile", "prod")
    assert proc.stdout.splitlines()[0] == "config/prod.yaml:"
    proc = invoke("recipients", "no-such", "--profile", "prod")
    assert proc.returncode == ExitCode.USAGE
    assert "No such command" in proc.stderr
    env = {"SEALEDCFG_PROFILE": "prod"}
    assert invoke("get", "db.host", env=env).stdout == "base.host\n"
    assert invoke("get", "config/base.yaml", "shared", env=env).stdout == "base\n"
    key_file = write(tmp_path / "k.key", key + "\n")
    # an option's value is not a positional word: PATH alone, so the profile is FILE
    proc = invoke("get", "-k", str(key_file), "shared", env={**env, "SEALEDCFG_KEY": ""})
    assert (proc.returncode, proc.stdout) == (0, "prod\n"), proc.stderr
    proc = invoke("get", "--key-file", str(key_file), "db.password", env=env)
    assert proc.stdout == "prod-pw\n"
    # a profile the rules file does not have
    proc = invoke("get", "a", env={"SEALEDCFG_PROFILE": "nope"})
    assert_one_error(proc, ExitCode.INPUT, "no profile 'nope'")
