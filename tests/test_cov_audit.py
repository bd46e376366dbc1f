"""The audit trail's edges in-process: bounded records, lines past the tail
window, unwritable and unreadable logs, the one-line-per-command bookkeeping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sealedcfg.errors import InputError
from sealedcfg.lifecycle import audit

from .conftest import write


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state" / "audit.log"
    monkeypatch.setenv(audit.LOG_ENV, str(path))
    return path


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(raw) for raw in path.read_text().splitlines()]


def test_long_lists_are_bounded_and_a_line_past_the_tail_window_chains(log: Path) -> None:
    files = [f"f{i}-" + "x" * 600 for i in range(70)]
    paths = [f"p{i}." + "y" * 600 for i in range(64)]
    audit.append("get", files, paths, "ok")
    audit.append("get", ["after.yaml"], ["a"], "ok")
    first, second = lines(log)
    assert len(first["files"]) == 65  # type: ignore[arg-type]
    assert first["files"][-1] == "(+6 more)"  # type: ignore[index]
    assert first["files"][0] == files[0][:512] + "…"  # type: ignore[index]
    assert len(log.read_bytes().split(b"\n")[0]) > 1 << 16  # longer than one tail read
    assert second["prev"] == audit.line_hash(log.read_bytes().split(b"\n")[0])
    verified = audit.verify(log)
    assert (verified.ok, verified.lines) == (True, 2)


def test_off_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(audit.LOG_ENV, " OFF ")
    assert audit.log_path() is None
    audit.append("get", ["f.yaml"], ["a"], "ok")
    monkeypatch.setenv(audit.LOG_ENV, "~/x.log")
    assert audit.log_path() == Path.home() / "x.log"


def test_a_log_through_a_link_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = write(tmp_path / "bashrc", "# the user's\n")
    link = tmp_path / "audit.log"
    link.symlink_to(target)
    monkeypatch.setenv(audit.LOG_ENV, str(link))
    with pytest.raises(audit.AuditError) as info:
        audit.append("get", ["f.yaml"], ["a"], "ok")
    assert str(info.value) == f"audit log {link}: cannot write (Too many levels of symbolic links)"
    assert info.value.hints == (f"set {audit.LOG_ENV} to a writable file, or {audit.LOG_ENV}=off",)
    assert target.read_text() == "# the user's\n"


def test_a_full_log_device(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(audit.LOG_ENV, "/dev/full")
    with pytest.raises(audit.AuditError, match=r"^audit log /dev/full: cannot write \(No space"):
        audit.append("get", ["f.yaml"], ["a"], "ok")
    # not required: the command goes on, with a warning
    audit.begin("get", ["f.yaml"], ["a"])
    audit.finish("ok")
    assert capsys.readouterr().err == (
        "sealedcfg: warning: audit log /dev/full: cannot write (No space left on device); "
        "continuing\n"
    )
    # required: opened up front, and the failed line refuses the command
    monkeypatch.setenv(audit.REQUIRED_ENV, "1")
    audit.begin("get", ["f.yaml"], ["a"])
    with pytest.raises(audit.AuditError, match=r"^audit log: No space left on device$"):
        audit.finish("ok")
    audit.finish("ok")  # already finished: nothing more
    assert capsys.readouterr().err == ""


def test_required_log_written_through_the_descriptor_opened_first(
    log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(audit.REQUIRED_ENV, "1")
    audit.begin("set", ["f.yaml"], ["a.b"])
    assert log.exists()  # opened before any work
    audit.finish("ok")
    audit.finish("error")  # once only
    assert [(x["op"], x["outcome"], x["prev"]) for x in lines(log)] == [
        ("set", "ok", audit.GENESIS)
    ]


def test_library_call_inside_a_command_adds_no_line(log: Path) -> None:
    audit.begin("get", ["f.yaml"], ["a"])
    with audit.library_call("load", ["f.yaml"]):
        pass
    audit.finish("ok")
    with pytest.raises(KeyError), audit.library_call("load", ["g.yaml"]):
        raise KeyError("x")
    with audit.library_call("load", ["h.yaml"]):
        pass
    got = [(x["op"], x["files"], x["paths"], x["outcome"]) for x in lines(log)]
    assert got == [
        ("get", ["f.yaml"], ["a"], "ok"),
        ("load", ["g.yaml"], ["*"], "error"),
        ("load", ["h.yaml"], ["*"], "ok"),
    ]


def test_verify_and_read_refusals(tmp_path: Path, log: Path) -> None:
    with pytest.raises(InputError, match=r"^audit log .*audit\.log: no such file$"):
        audit.verify(log)
    assert audit.read(log) == []
    with pytest.raises(InputError, match=r"^audit log .*: cannot read \(Is a directory\)$"):
        audit.verify(tmp_path)
    with pytest.raises(InputError, match=r"^audit log .*: cannot read \(Is a directory\)$"):
        audit.read(tmp_path)


def test_verify_finds_an_unfinished_last_line(log: Path) -> None:
    audit.append("get", ["f.yaml"], ["a"], "ok")
    audit.append("get", ["f.yaml"], ["b"], "ok")
    log.write_bytes(log.read_bytes().rstrip(b"\n"))  # whole JSON, but no newline
    verified = audit.verify(log)
    assert (verified.ok, verified.lines, verified.problem) == (False, 2, "line 2 is incomplete")
    # the next line is written after it, on a line of its own
    audit.append("get", ["f.yaml"], ["c"], "ok")
    assert [x["paths"] for x in lines(log)] == [["a"], ["b"], ["c"]]
    assert audit.verify(log).ok


def test_read_skips_what_is_not_a_record(log: Path) -> None:
    audit.append("get", ["f.yaml"], ["a"], "ok")
    with log.open("a") as fh:
        fh.write("not json\n[1, 2]\n")
    audit.append("set", ["f.yaml"], ["b"], "ok")
    assert [x["op"] for x in audit.read(log)] == ["get", "set"]
    assert [x["op"] for x in audit.read(log, op="set")] == ["set"]
    assert [x["paths"] for x in audit.read(log, dotted="a")] == [["a"]]
    verified = audit.verify(log)
    assert (verified.ok, verified.problem) == (False, "line 2 is not a whole JSON record")


@pytest.mark.parametrize(
    ("func", "kwargs", "expected"),
    [
        ("diff", {"show": False}, None),
        ("diff", {"show": True, "files": ["a.yaml"]}, ("diff --show", ["a.yaml"], ["*"])),
        ("meta", {"file": "a.yaml", "path": "x"}, None),
        ("meta", {"file": "a.yaml", "path": "x", "note": "n"}, ("meta", ["a.yaml"], ["x"])),
        ("rotate_secret", {"args": ["a.yaml", "x"]}, ("rotate-secret", ["a.yaml"], ["x"])),
        (
            "rotate_secret",
            {"args": ["a.yaml"], "expiring": "7d"},
            ("rotate-secret", ["a.yaml"], ["*"]),
        ),
        (
            "merge_driver",
            {"base": "b", "ours": "o", "theirs": "t"},
            ("merge", ["b", "o", "t"], ["*"]),
        ),
        ("ls", {}, None),
    ],
)
def test_command_op(func: str, kwargs: dict[str, object], expected: object) -> None:
    assert audit.command_op(func, kwargs) == expected
