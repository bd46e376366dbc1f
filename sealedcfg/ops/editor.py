"""`sealedcfg edit`: the decrypted text in a private temp file, an editor, re-seal.

The plaintext exists on disk only as a 0600 file in a 0700 directory, on tmpfs
when the machine has one, and is removed on every way out: normal exit, an
exception, SIGINT, SIGTERM, SIGHUP.  A run killed with SIGKILL leaves its
directory behind; the next run sweeps directories whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from sealedcfg.base import fileformat
from sealedcfg.base.encoding import KeyPath
from sealedcfg.base.fileio import write_atomic
from sealedcfg.engine import sealing
from sealedcfg.engine.access import opened, seal_new_text
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, Terminated
from sealedcfg.format.kdf import Argon2Params
from sealedcfg.yamltext import document

PREFIX = "sealedcfg-edit-"
_VIM = {"vim", "nvim", "gvim", "mvim", "vimx", "rvim", "rview", "view", "vimdiff"}
_VI = {"vi", "ex"}  # vim under another name on most systems, but not always: ask it
# No swap, undo, backup, viminfo/shada files: each would be another plaintext
# copy on persistent disk.  `--cmd` runs before the user's vimrc, which may set
# them again (`set undofile backup`), so the same settings are applied again
# with `-c`, after the vimrc and after the file is loaded; `silent!` because
# vim.tiny lacks some of these options.
_VIM_OFF = "set noswapfile noundofile nobackup nowritebackup viminfo= viminfofile=NONE shada="
_VIM_ARGS = [
    "-n",
    "-i",
    "NONE",
    "--cmd",
    f"silent! {_VIM_OFF}",
    "-c",
    f"silent! {_VIM_OFF} | silent! setlocal noswapfile noundofile",
]
# nano's restricted mode: no backup files, no history or position files, no
# saving under another name; its rc files cannot turn these back on.
_NANO_ARGS = ["--restricted"]
# emacs: evaluated after the init file and before the file is visited.
_EMACS_ARGS = [
    "--eval",
    "(setq make-backup-files nil backup-inhibited t auto-save-default nil "
    "create-lockfiles nil auto-save-list-file-prefix nil)",
]
UNKNOWN_EDITOR = (
    "{name} is an editor sealedcfg does not know how to harden: its backup, swap, "
    "undo or history files may keep the plaintext on disk"
)


def editor_kind(program: str) -> str | None:
    """'vim', 'nano' or 'emacs' for an editor sealedcfg hardens, else None.

    The name is resolved through symlinks and alternatives (/usr/bin/vi ->
    /etc/alternatives/vi -> vim.basic); a plain `vi` binary is asked whether
    it is vim.
    """
    found = shutil.which(program)
    names = [Path(os.path.realpath(found)).name] if found else []
    names.append(Path(program).name)
    for name in names:
        base = name.split(".", 1)[0].lower()  # vim.basic, vim.tiny, vim.nox, emacs-29.1
        if base in _VIM:
            return "vim"
        if base in ("nano", "rnano"):
            return "nano"
        if base == "emacs" or base.startswith("emacs-"):
            return "emacs"
    if found and Path(names[0]).name in _VI and _is_vim(found):
        return "vim"
    return None


def _is_vim(path: str) -> bool:
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, timeout=5, stdin=subprocess.DEVNULL
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return out.startswith((b"VIM - Vi IMproved", b"NVIM"))


def temp_base(warn: Callable[[str], None]) -> Path:
    # mkdtemp makes a private 0700 directory inside, whoever else uses the base.
    for candidate in ("/dev/shm", os.environ.get("XDG_RUNTIME_DIR")):  # noqa: S108
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return Path(candidate)
    warn("no tmpfs found (/dev/shm, $XDG_RUNTIME_DIR): the plaintext goes to the temp dir")
    return Path(tempfile.gettempdir())


def sweep_stale(base: Path) -> int:
    """Remove edit directories of ours whose process no longer runs."""
    removed = 0
    for entry in base.glob(PREFIX + "*"):
        try:
            pid = int(entry.name[len(PREFIX) :].split("-", 1)[0])
            if entry.stat().st_uid != os.getuid():
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
        except (ValueError, OSError):
            continue
    return removed


def editor_command(warn: Callable[[str], None]) -> list[str]:
    raw = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if raw:
        argv = shlex.split(raw)
    else:
        fallback = next((e for e in ("vi", "nano") if shutil.which(e)), "vi")
        warn(f"neither VISUAL nor EDITOR is set: using {fallback}")
        argv = [fallback]
    if not argv or shutil.which(argv[0]) is None:
        raise InputError(
            f"editor {argv[0] if argv else raw!r} not found",
            hints=("set VISUAL or EDITOR, e.g. EDITOR='code --wait'",),
        )
    kind = editor_kind(argv[0])
    if kind == "vim":
        argv = [argv[0], *_VIM_ARGS, *argv[1:]]
    elif kind == "nano":
        argv = [argv[0], *_NANO_ARGS, *argv[1:]]
    elif kind == "emacs":
        argv = [argv[0], *_EMACS_ARGS, *argv[1:]]
    else:
        warn(UNKNOWN_EDITOR.format(name=Path(argv[0]).name))
    return argv


@contextlib.contextmanager
def private_file(name: str, text: str, warn: Callable[[str], None]) -> Iterator[Path]:
    base = temp_base(warn)
    sweep_stale(base)
    directory = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
    try:
        os.chmod(directory, 0o700)
        path = directory / (Path(name).name or "profile.yaml")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def _signals_unwind() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _terminal() -> int | None:
    """A descriptor of the controlling terminal when stdin is one, else None."""
    try:
        if not os.isatty(0):
            return None
        return os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None


def _give_terminal(fd: int, pgid: int) -> None:
    # tcsetpgrp from a background group raises SIGTTOU unless it is ignored.
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(fd, pgid)
    except OSError:
        pass
    finally:
        signal.signal(signal.SIGTTOU, previous)


def _run_editor(argv: list[str], path: Path) -> int:
    """Run the editor in a process group of its own, so that a signal reaches
    every process it started (an editor script, its `sleep`, a plugin's job),
    and that group holds the terminal while it runs, as a shell's job would."""
    tty = _terminal()

    def child_setup() -> None:  # in the child, before exec: no race with its first read
        os.setpgid(0, 0)
        if tty is not None:
            _give_terminal(tty, os.getpgrp())

    proc = subprocess.Popen([*argv, str(path)], preexec_fn=child_setup)
    # Like git: Ctrl-C belongs to the editor while it runs (vim uses it).
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if tty is not None:
            _give_terminal(tty, proc.pid)
        return proc.wait()
    except BaseException:
        _signal_group(proc, signal.SIGTERM)  # no editor may write to a file we remove
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
        raise
    finally:
        if tty is not None:
            _give_terminal(tty, os.getpgrp())
            os.close(tty)
        signal.signal(signal.SIGINT, previous)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def edit_file(
    path: str | os.PathLike[str],
    keys: KeySource,
    *,
    kdf: Argon2Params | None = None,
    interactive: bool | None = None,
    warn: Callable[[str], None] | None = None,
) -> bool:
    """Edit a sealed file in place; returns whether it changed."""
    target = Path(path)
    say = warn or (lambda msg: print(f"sealedcfg: {msg}", file=sys.stderr))
    tty = sys.stdin.isatty() if interactive is None else interactive
    if not target.exists():
        fileformat.refuse_unsealable(target)  # before any editor is chosen or opened
    argv = editor_command(say)
    if not target.exists():
        return _edit_new(target, keys, argv, kdf, tty, say)
    with _signals_unwind(), opened(target, keys, keep_body=False) as (profile, data_key, header):
        # opened() authenticated the file: its opened text is kept, nothing is decrypted again
        previous: dict[KeyPath, tuple[str, str, str]] = {}
        plain = sealing.open_tokens(profile, data_key, previous)
        profile.body.nodes = []  # not needed again: the edited text is parsed anew
        sealing.release(profile)
        with private_file(str(target), plain, say) as tmp:
            edited = _edit_until_valid(argv, tmp, plain, str(target), tty, say)
        if edited is None:
            return False
        sealed_text, final = sealing.reseal_plain_text(
            str(target), header, data_key, edited, previous
        )
        write_atomic(target, profile.to_bytes(sealed_text, final))
    return True


def _edit_new(
    target: Path,
    keys: KeySource,
    argv: list[str],
    kdf: Argon2Params | None,
    tty: bool,
    say: Callable[[str], None],
) -> bool:
    from sealedcfg.engine import rules

    ruleset = rules.load(rules.find_rules_file(target.parent if target.parent.is_dir() else None))
    if ruleset is None or ruleset.match(target) is None:
        raise InputError(
            f"{target}: no such file",
            hints=("a new file can be edited when a rule in .sealedcfg.yaml matches it",),
        )
    with _signals_unwind(), private_file(str(target), "", say) as tmp:
        edited = _edit_until_valid(argv, tmp, "", str(target), tty, say)
    if edited is None:
        return False
    write_atomic(target, seal_new_text(str(target), edited, keys, kdf=kdf), mode=0o644)
    return True


def _edit_until_valid(
    argv: list[str], tmp: Path, original: str, name: str, tty: bool, say: Callable[[str], None]
) -> str | None:
    """Run the editor until the buffer is valid YAML; None when nothing changed."""
    while True:
        status = _run_editor(argv, tmp)
        if status != 0:
            raise InputError(f"the editor exited with status {status}; {name} is unchanged")
        try:
            edited = tmp.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError(f"the edited text is not UTF-8; {name} is unchanged") from None
        except FileNotFoundError:
            raise InputError(f"the editor removed its file; {name} is unchanged") from None
        if edited == original:
            return None
        try:
            document.parse(edited, name)
            return edited
        except InputError as exc:
            if not tty:
                raise InputError(f"{exc.message}; {name} is unchanged") from None
            say(f"error: {exc.message}")
            answer = input("reopen the editor? [Y/n] ").strip().lower()
            if answer in ("n", "no"):
                raise InputError(f"{name} is unchanged") from None
