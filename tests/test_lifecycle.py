"""Lifecycle metadata, key-less status, kept history, rotate and rollback (FORMAT.md §9)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, InputError
from sealedcfg.lifecycle import status as st
from sealedcfg.lifecycle import store

from .conftest import write
from .subproc import assert_one_error, cli

runner = CliRunner()
TODAY = "2026-11-30"
OLD = "sk_live_OLDsecret0001"
NEW = "sk_live_NEWsecret0002"


@pytest.fixture
def profile(tmp_path: Path, keys: KeySource) -> Path:
    target = write(
        tmp_path / "prod.yaml",
        f"database:\n  host: db.internal\n  password: pw-0001\nstripe:\n  api_key: {OLD}\n",
    )
    api.encrypt_file(target, keys, plain=r"(^|\.)host$")
    return target


def token_meta(path: Path, dotted: str) -> dict[str, str]:
    return next(e.meta for e in api.ls(path) if e.path == dotted)


def test_set_records_metadata_resolving_durations_with_the_injected_clock(
    profile: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEALEDCFG_KEY", key)
    monkeypatch.setenv("SEALEDCFG_TODAY", TODAY)
    args = ["set", str(profile), "stripe.api_key", NEW, "--provider", "stripe"]
    result = runner.invoke(app, [*args, "--expires", "90d", "--note", "live.key"])
    assert result.exit_code == 0, result.output
    assert token_meta(profile, "stripe.api_key") == {
        "expires": "2027-02-28",
        "note": "live.key",
        "provider": "stripe",
        "rotated": TODAY,
    }
    result = runner.invoke(app, ["set", str(profile), "stripe.webhook", "whsec_1"])
    assert token_meta(profile, "stripe.webhook") == {"created": TODAY}
    # a later plain `set` keeps the metadata, and stamps `rotated` when the value changes
    monkeypatch.setenv("SEALEDCFG_TODAY", "2026-12-05")
    assert runner.invoke(app, ["set", str(profile), "stripe.api_key", OLD]).exit_code == 0
    meta = token_meta(profile, "stripe.api_key")
    assert meta["provider"] == "stripe"
    assert meta["rotated"] == "2026-12-05"
    assert api.load(profile, key=key)["stripe"]["api_key"] == OLD
    # ls shows it; meta shows it without any key
    monkeypatch.delenv("SEALEDCFG_KEY")
    listing = runner.invoke(app, ["ls", str(profile)]).stdout
    assert "provider=stripe" in listing
    assert "expires=2027-02-28" in listing
    shown = runner.invoke(app, ["meta", str(profile), "stripe.api_key", "--json"])
    assert shown.exit_code == 0
    assert json.loads(shown.stdout)["expires"] == "2027-02-28"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--expires", "2026-11-29"], "is not in the future"),
        (["--expires", "0d"], "bad expiry"),
        (["--expires", "2027-02-30"], "no such day"),
        (["--note", "two words"], "bad value for metadata 'note'"),
        (["--meta", "superseded=2026-01-01"], "reserved"),
        (["--meta", "Bad=1"], "bad metadata name"),
        (["--provider", "x" * 65], "bad value for metadata 'provider'"),
    ],
)
def test_bad_metadata_is_one_error_and_leaves_the_file(
    profile: Path, key: str, option: list[str], message: str
) -> None:
    before = profile.read_bytes()
    proc = cli(
        "set", str(profile), "stripe.api_key", NEW, *option,
        env={"SEALEDCFG_KEY": key, "SEALEDCFG_TODAY": TODAY},
    )  # fmt: skip
    assert_one_error(proc, ExitCode.INPUT, message)
    assert profile.read_bytes() == before


def test_metadata_on_a_plaintext_by_rule_value_is_refused(profile: Path, keys: KeySource) -> None:
    before = profile.read_bytes()
    with pytest.raises(InputError, match="plaintext by rule"):
        store.set_value(profile, "database.host", "db2", keys, changes={"provider": "x"})
    assert profile.read_bytes() == before


def test_meta_changes_metadata_alone_and_needs_the_key(profile: Path, key: str) -> None:
    before = profile.read_bytes()
    proc = cli("meta", str(profile), "stripe.api_key", "--provider", "stripe")
    assert proc.returncode == ExitCode.NO_KEY, proc.stderr
    assert profile.read_bytes() == before
    proc = cli(
        "meta", str(profile), "stripe.api_key", "--expires", "2027-03-01", "--provider", "stripe",
        env={"SEALEDCFG_KEY": key},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert token_meta(profile, "stripe.api_key") == {"expires": "2027-03-01", "provider": "stripe"}
    assert api.load(profile, key=key)["stripe"]["api_key"] == OLD
    changed = [
        (a, b)
        for a, b in zip(before.splitlines(), profile.read_bytes().splitlines(), strict=True)
        if a != b
    ]
    # the value's line, and at most the mac line
    assert [a.split(b":")[0] for a, _ in changed] in ([b"  api_key"], [b"  api_key", b"  mac"])
    proc = cli(
        "meta", str(profile), "stripe.api_key", "--meta", "provider=", env={"SEALEDCFG_KEY": key}
    )
    assert token_meta(profile, "stripe.api_key") == {"expires": "2027-03-01"}


def test_metadata_is_authenticated(profile: Path, keys: KeySource, key: str) -> None:
    store.change_meta(profile, "stripe.api_key", {"expires": "2027-03-01"}, keys)
    text = profile.read_text()
    write(profile, text.replace("expires=2027-03-01", "expires=2099-03-01"))
    proc = cli("decrypt", str(profile), env={"SEALEDCFG_KEY": key})
    assert_one_error(proc, ExitCode.OPEN, "cannot open")


# ---------------------------------------------------------------- status


def _status_files(tmp_path: Path, keys: KeySource) -> list[Path]:
    a = write(tmp_path / "a.yaml", "x: 1\ny: 2\nz: 3\nw: 4\n")
    b = write(tmp_path / "b.yaml", "k: v\n")
    for f in (a, b):
        api.encrypt_file(f, keys)
    day = date(2026, 11, 30)
    store.set_value(a, "x", "1", keys, changes={"expires": "2026-11-20"}, now=day)
    store.set_value(a, "y", "2", keys, changes={"expires": "2026-12-10", "provider": "p"}, now=day)
    store.set_value(a, "z", "3", keys, changes={"expires": "2027-06-01"}, now=day)
    store.set_value(b, "k", "v2", keys, changes={"expires": "2026-12-01"}, now=day)
    return [a, b]


def test_status_states_and_urgency_order_with_an_injected_clock(
    tmp_path: Path, keys: KeySource
) -> None:
    files = _status_files(tmp_path, keys)
    rows = st.status(list(files), now=date(2026, 11, 30))
    assert [(Path(r.file).name, r.path, r.state, r.days_left) for r in rows] == [
        ("a.yaml", "x", "expired", -10),
        ("b.yaml", "k", "expiring", 1),
        ("a.yaml", "y", "expiring", 10),
        ("a.yaml", "z", "ok", 183),
        ("a.yaml", "w", "no expiry", None),
    ]
    later = st.status(list(files), now=date(2026, 12, 11))
    assert [r.state for r in later][:3] == ["expired", "expired", "expired"]


def test_status_cli_is_keyless_with_json_summary_and_fail_on(
    tmp_path: Path, keys: KeySource
) -> None:
    files = [str(f) for f in _status_files(tmp_path, keys)]
    env = {"SEALEDCFG_TODAY": TODAY}  # and no key at all
    proc = cli("status", *files, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [d["state"] for d in data] == ["expired", "expiring", "expiring", "ok", "no expiry"]
    assert data[2]["provider"] == "p"
    proc = cli("status", *files, "--summary", "--fail-on", "expired", env=env)
    assert proc.returncode == ExitCode.FINDINGS
    assert proc.stdout.strip() == (
        "5 sealed value(s) in 2 file(s): 1 expired, 2 expiring within 30 days, 1 ok, "
        "1 without expiry"
    )
    assert "a.yaml: x: expired" in proc.stderr
    assert cli("status", files[1], "--fail-on", "expired", env=env).returncode == 0
    assert cli("status", files[1], "--fail-on", "expiring:1d", env=env).returncode == 1
    proc = cli("status", *files, "--fail-on", "soon", env=env)
    assert_one_error(proc, ExitCode.INPUT, "bad --fail-on")
    plain = cli("status", *files, env=env).stdout
    assert "\x1b[" not in plain  # a pipe: no colour
    assert plain.splitlines()[1].startswith("expired")


def _on_tty(args: list[str], env: dict[str, str]) -> str:
    main, child = pty.openpty()
    full = {**os.environ, **env}
    full.pop("NO_COLOR", None)
    full.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "sealedcfg", *args],
        stdout=child, stderr=subprocess.DEVNULL, env=full, timeout=60, check=False,
    )  # fmt: skip
    os.close(child)
    out = b""
    try:
        while chunk := os.read(main, 65536):
            out += chunk
    except OSError:
        pass
    os.close(main)
    assert proc.returncode == 0
    return out.decode()


def test_status_colours_only_on_a_terminal_and_respects_no_color(
    tmp_path: Path, keys: KeySource
) -> None:
    files = [str(f) for f in _status_files(tmp_path, keys)]
    coloured = _on_tty(["status", *files], {"SEALEDCFG_TODAY": TODAY})
    assert "\x1b[31mexpired" in coloured
    bare = _on_tty(["status", *files], {"SEALEDCFG_TODAY": TODAY, "NO_COLOR": "1"})
    assert "\x1b[" not in bare
    assert "expired" in bare


# ---------------------------------------------------------------- history


def test_rotate_then_rollback_restores_the_original_and_is_reversible(
    profile: Path, keys: KeySource, key: str
) -> None:
    day = date(2026, 11, 30)
    store.change_meta(
        profile, "stripe.api_key", {"provider": "stripe", "created": "2026-01-01"}, keys
    )
    store.rotate(profile, "stripe.api_key", NEW, keys, now=day)
    assert api.load(profile, keys=keys)["stripe"]["api_key"] == NEW
    assert "sealedcfg_history" not in api.load(profile, keys=keys)  # not the app's data
    history = store.versions(profile, "stripe.api_key")
    assert [v.meta.get("superseded") for v in history] == [None, "2026-11-30"]
    assert history[0].meta["rotated"] == "2026-11-30"
    proc = cli("rollback", str(profile), "stripe.api_key", env={"SEALEDCFG_KEY": key})
    assert proc.returncode == 0, proc.stderr
    assert api.load(profile, keys=keys)["stripe"]["api_key"] == OLD
    assert api.verify_file(profile, keys).ok
    assert store.versions(profile, "stripe.api_key")[0].meta == {
        "created": "2026-01-01",
        "provider": "stripe",
    }
    store.rollback(profile, "stripe.api_key", keys)  # the rollback itself rolls back
    assert api.load(profile, keys=keys)["stripe"]["api_key"] == NEW
    exported = cli("export", str(profile), env={"SEALEDCFG_KEY": key}).stdout
    assert "HISTORY" not in exported
    assert OLD not in exported
    proc = cli("get", str(profile), "sealedcfg_history", env={"SEALEDCFG_KEY": key})
    assert_one_error(proc, ExitCode.INPUT, "kept history")


def test_history_is_bounded(profile: Path, keys: KeySource) -> None:
    for i in range(4):
        store.rotate(profile, "stripe.api_key", f"sk_{i:020d}", keys, keep=2)
    assert len(store.versions(profile, "stripe.api_key")) == 3
    store.rotate(profile, "stripe.api_key", "sk_last_value_000001", keys, keep=0)
    assert len(store.versions(profile, "stripe.api_key")) == 1
    assert "sealedcfg_history" not in profile.read_text()
    assert api.verify_file(profile, keys).ok


def test_rollback_without_history_is_one_error(profile: Path, key: str) -> None:
    before = profile.read_bytes()
    proc = cli("rollback", str(profile), "stripe.api_key", env={"SEALEDCFG_KEY": key})
    assert_one_error(proc, ExitCode.INPUT, "no kept history")
    assert profile.read_bytes() == before


def test_history_is_sealed_even_where_the_plain_rule_matches(
    tmp_path: Path, keys: KeySource
) -> None:
    target = write(tmp_path / "p.yaml", f"api:\n  key: {OLD}\n")
    api.encrypt_file(target, keys, plain=r"\.0$")  # would match `sealedcfg_history.api\.key.0`
    store.rotate(target, "api.key", NEW, keys)
    assert OLD not in target.read_text()
    assert api.verify_file(target, api.KeySource(key=keys.key, env={})).ok
    assert api.decrypt_file(target, keys).decode().count(OLD) == 1


def test_a_history_token_swapped_in_as_current_does_not_open(
    profile: Path, keys: KeySource, key: str
) -> None:
    store.rotate(profile, "stripe.api_key", NEW, keys)
    lines = profile.read_text().splitlines(keepends=True)
    current = next(i for i, ln in enumerate(lines) if ln.startswith("  api_key: "))
    old_token = next(ln for ln in lines if ln.startswith("  stripe.api_key: [")).split("[")[1]
    lines[current] = "  api_key: " + old_token.rstrip("]\n") + "\n"
    write(profile, "".join(lines))
    for command in (["decrypt", str(profile)], ["rollback", str(profile), "stripe.api_key"]):
        assert_one_error(cli(*command, env={"SEALEDCFG_KEY": key}), ExitCode.OPEN, "cannot open")


def test_rollback_never_restores_history_a_key_holder_did_not_write(
    profile: Path, keys: KeySource, key: str
) -> None:
    # The attacker adds a plaintext "history" entry; the victim's re-seal adopts it.
    text = profile.read_text()
    body, header = text.split("sealedcfg:\n", 1)
    write(
        profile,
        body + "sealedcfg_history:\n  stripe.api_key: [sk_live_ATTACKER]\nsealedcfg:\n" + header,
    )
    with pytest.raises(InputError, match="not sealed by a key holder"):
        api.encrypt_file(profile, keys)  # refused unless adopted explicitly...
    api.encrypt_file(profile, keys, adopt=True)  # ...which a victim may do without looking
    assert "sk_live_ATTACKER" not in profile.read_text()  # now sealed, by the victim's key
    before = profile.read_bytes()
    proc = cli("rollback", str(profile), "stripe.api_key", env={"SEALEDCFG_KEY": key})
    assert_one_error(proc, ExitCode.INPUT, "not written by rotate-secret")
    assert profile.read_bytes() == before
    assert api.load(profile, keys=keys)["stripe"]["api_key"] == OLD


def test_history_command_lists_metadata_only(profile: Path, keys: KeySource) -> None:
    store.rotate(profile, "stripe.api_key", NEW, keys, now=date(2026, 11, 30))
    proc = cli("history", str(profile), "stripe.api_key")  # no key
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("current")
    assert "rotated=2026-11-30" in lines[0]
    assert lines[1].startswith("-1")
    assert "superseded=2026-11-30" in lines[1]
    assert OLD not in proc.stdout
    assert NEW not in proc.stdout


def test_metadata_on_values_in_every_position(tmp_path: Path, keys: KeySource) -> None:
    text = (
        "empty:\n"
        "flow: {x: old-flow, y: 2}\n"
        "tagged: !Ref old-tagged\n"
        "anchored: &a old-anchor\n"
        "alias: *a\n"
        "items:\n- old-item\n- 7\n"
    )
    target = write(tmp_path / "p.yaml", text)
    api.encrypt_file(target, keys)
    day = date(2026, 11, 30)
    for dotted, value in (
        ("empty", "new-empty"),
        ("flow.x", "new-flow"),
        ("tagged", "new-tagged"),
        ("anchored", "new-anchor"),
        ("items.1", "8"),
        ("fresh.deep", "new-fresh"),
    ):
        store.set_value(target, dotted, value, keys, changes={"provider": "p1"}, now=day)
        assert token_meta(target, dotted)["provider"] == "p1", dotted
    loaded = api.load(target, keys=keys)
    assert loaded["flow"] == {"x": "new-flow", "y": 2}
    assert loaded["alias"] == "new-anchor"
    assert loaded["items"] == ["old-item", 8]  # still an int
    assert loaded["fresh"] == {"deep": "new-fresh"}
    assert token_meta(target, "fresh.deep") == {"created": TODAY, "provider": "p1"}
    assert "!Ref sealedcfg;v1;str;" in target.read_text()
    for dotted in ("flow.x", "tagged", "items.1"):
        store.rotate(target, dotted, f"rotated-{dotted}", keys)
        store.rollback(target, dotted, keys)
    assert api.load(target, keys=keys)["flow"]["x"] == "new-flow"
    assert api.verify_file(target, keys).ok


def test_history_in_a_multi_document_stream(tmp_path: Path, keys: KeySource) -> None:
    target = write(tmp_path / "m.yaml", "a: one\n---\nb: two\n")
    api.encrypt_file(target, keys)
    store.rotate(target, "1:b", "three", keys)
    docs = api.load_all(target, keys=keys)
    assert docs == [{"a": "one"}, {"b": "three"}]
    assert len(store.versions(target, "1:b")) == 2
    store.rollback(target, "1:b", keys)
    assert api.load_all(target, keys=keys)[1] == {"b": "two"}
