"""rotate-secret, its providers and declared commands, in-process: every refusal
of the rules file's `providers:`/`on_rotate:`, each way a command or plug-in
fails (the file byte-identical, no value in the message), and the order mint,
write, revoke, notify.  tests/test_lifecycle_providers.py runs the same as real
processes."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, InputError
from sealedcfg.lifecycle import commands, providers, rotate_secret, store
from sealedcfg.lifecycle.providers import Request

from .conftest import STRIPE_PROVIDER, rules_repo, write

runner = CliRunner()
OLD = "sk_live_OLD-secret_0001"
TODAY = date(2026, 11, 30)

SCRIPTS = {
    # the old value is read (never echoed): only its length is recorded
    "mint.sh": 'read old\necho "mint ${#old} $SEALEDCFG_META_NOTE" >> calls.log\n'
    'echo "sk_live_NEW-$$-value"\n',
    "revoke.sh": 'read old\necho "revoke ${#old}" >> calls.log\ncp config/prod.yaml at-revoke\n',
    "notify.sh": "n=$(cat | wc -c)\n"
    'echo "notify $SEALEDCFG_EVENT $SEALEDCFG_PATH stdin=$n" >> calls.log\n',
    "fail.sh": 'echo "fail $SEALEDCFG_EVENT" >> calls.log\nexit 4\n',
    "big.sh": "head -c 70000 /dev/zero | tr '\\0' x\n",
    "slow.sh": "sleep 30\n",
}
RULES = f"""providers:
{STRIPE_PROVIDER}  lost:
    mint: ./scripts/fail.sh
    revoke: ./scripts/fail.sh
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: KeySource) -> Path:
    scripts = {name: "#!/bin/sh\n" + body for name, body in SCRIPTS.items()}
    root = rules_repo(tmp_path / "repo", RULES, scripts)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "userconfig"))
    monkeypatch.chdir(root)
    target = write(root / "config" / "prod.yaml", f"stripe:\n  api_key: {OLD}\nother: x1\n")
    api.encrypt_file(target, keys)
    store.change_meta(target, "stripe.api_key", {"note": "n1"}, keys)
    return root


def approve_all() -> None:
    commands.approve_review(commands.review())


def calls(repo: Path) -> list[str]:
    log = repo / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def _rotate(
    keys: KeySource, via: str | None = "stripe", options: dict[str, str] | None = None
) -> rotate_secret.Rotated:
    return rotate_secret.rotate_secret(
        "config/prod.yaml", "stripe.api_key", keys, via=via, options=options, now=TODAY
    )


def _unchanged(repo: Path, before: bytes, exc: BaseException) -> None:
    assert (repo / "config" / "prod.yaml").read_bytes() == before
    assert OLD not in str(exc)


# ---------------------------------------------------------------- command providers


def test_command_provider_mints_writes_revokes_then_notifies(repo: Path, keys: KeySource) -> None:
    with open(repo / ".sealedcfg.yaml", "a") as fh:
        fh.write("on_rotate:\n  - command: ./scripts/notify.sh\n    value: true\n    timeout: 5\n")
    before = (repo / "config" / "prod.yaml").read_bytes()
    with pytest.raises(InputError, match=r"^the mint of provider 'stripe' in .* is not approved"):
        _rotate(keys)
    assert (repo / "config" / "prod.yaml").read_bytes() == before
    assert calls(repo) == []
    review = commands.review()
    assert review.pending == 5  # stripe's mint and revoke, lost's, the callback
    assert review.lines()[0] == "new/changed  mint of provider 'stripe': ./scripts/mint.sh"
    approve_all()
    assert commands.review().pending == 0
    assert commands.review().lines()[-1] == "approved     on_rotate callback 1: ./scripts/notify.sh"
    done = _rotate(keys)
    assert (done.provider, done.revoked) == ("stripe", True)
    assert done.meta["expires"] == "2027-02-28"  # the provider's 90d
    new = api.load(repo / "config" / "prod.yaml", keys=keys)["stripe"]["api_key"]
    assert new.startswith("sk_live_NEW-")
    assert calls(repo) == [
        f"mint {len(OLD)} n1",
        f"revoke {len(OLD)}",
        f"notify rotate-secret stripe.api_key stdin={len(new) + 1}",  # value: true
    ]
    # revoke ran after the new value was written
    assert (repo / "at-revoke").read_bytes() == (repo / "config" / "prod.yaml").read_bytes()
    # rollback tells the callbacks too, with the restored value on stdin
    rotate_secret.rollback("config/prod.yaml", "stripe.api_key", keys)
    assert api.load(repo / "config" / "prod.yaml", keys=keys)["stripe"]["api_key"] == OLD
    assert calls(repo)[-1] == f"notify rollback stripe.api_key stdin={len(OLD) + 1}"


def test_a_failing_revoke_and_callbacks_come_after_the_write(repo: Path, keys: KeySource) -> None:
    with open(repo / ".sealedcfg.yaml", "a") as fh:
        fh.write("on_rotate:\n  - ./scripts/fail.sh\n  - [./scripts/notify.sh]\n")
    write(repo / "scripts" / "ok.sh", "#!/bin/sh\necho sk_live_from-ok_0002\n").chmod(0o755)
    rules = (
        (repo / ".sealedcfg.yaml")
        .read_text()
        .replace("mint: ./scripts/fail.sh", "mint: ./scripts/ok.sh")
    )
    write(repo / ".sealedcfg.yaml", rules)
    approve_all()
    with pytest.raises(commands.CommandFailed) as info:
        _rotate(keys, via="lost")
    assert str(info.value) == (
        "the revoke of provider 'lost' failed (exit status 4); "
        "the new value is written and the old one kept in history"
    )
    assert info.value.code == ExitCode.COMMAND
    assert api.load(repo / "config" / "prod.yaml", keys=keys)["stripe"]["api_key"] == (
        "sk_live_from-ok_0002"
    )
    assert calls(repo) == ["fail "]  # the callbacks did not run after a failed revoke
    store.change_meta("config/prod.yaml", "stripe.api_key", {"provider": "random"}, keys)
    with pytest.raises(commands.CommandFailed) as info:
        _rotate(keys, via=None)
    # every callback ran, the first failure is reported
    assert str(info.value) == (
        "the on_rotate callback 1 failed (exit status 4); the rotate-secret itself is written"
    )
    assert calls(repo)[1:] == ["fail rotate-secret", "notify rotate-secret stripe.api_key stdin=0"]


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("big.sh", "the mint of provider 'p' printed more than 65536 bytes"),
        ("missing.sh", "cannot run the mint of provider 'p': No such file or directory"),
        ("fail.sh", "the mint of provider 'p' failed (exit status 4)"),
    ],
)
def test_a_failing_mint_leaves_the_file_byte_identical(
    repo: Path, keys: KeySource, script: str, message: str
) -> None:
    write(repo / ".sealedcfg.yaml", f"providers:\n  p:\n    mint: ./scripts/{script}\n")
    approve_all()
    before = (repo / "config" / "prod.yaml").read_bytes()
    with pytest.raises(commands.CommandFailed) as info:
        _rotate(keys, via="p")
    assert str(info.value) == message
    _unchanged(repo, before, info.value)


def test_a_hanging_command_is_killed(repo: Path, keys: KeySource) -> None:
    write(repo / ".sealedcfg.yaml", "on_rotate:\n  - {command: ./scripts/slow.sh, timeout: 1}\n")
    approve_all()
    with pytest.raises(commands.CommandFailed) as info:
        _rotate(keys, via="random")
    assert str(info.value) == (
        "the on_rotate callback 1 timed out after 1 s; the rotate-secret itself is written"
    )
    write(repo / ".sealedcfg.yaml", "providers:\n  p: {mint: ./scripts/slow.sh, timeout: 1}\n")
    approve_all()
    before = (repo / "config" / "prod.yaml").read_bytes()
    with pytest.raises(commands.CommandFailed) as info:
        _rotate(keys, via="p")
    assert str(info.value) == "the mint of provider 'p' timed out after 1 s; nothing was changed"
    _unchanged(repo, before, info.value)


def test_a_command_word_found_on_path_is_pinned_by_content(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = write(bindir / "mint-tool", "#!/bin/sh\necho one\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    write(repo / ".sealedcfg.yaml", "providers:\n  p: {mint: mint-tool --flag}\n")
    approve_all()
    assert commands.review().pending == 0
    write(tool, "#!/bin/sh\necho two\n")  # the same name, other content: not approved
    assert [c.label for c in commands.review().new_commands] == ["mint of provider 'p'"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("providers: [a]\n", "'providers' must be a mapping of names"),
        ("providers:\n  p: ./x\n", "provider 'p': expected a mapping"),
        ("providers:\n  p: {mint: x, run: y}\n", "provider 'p': unknown field 'run'"),
        ("providers:\n  p: {revoke: x}\n", "provider 'p': needs a 'mint' command"),
        ('providers:\n  p: {mint: "\'open"}\n', "provider 'p': cannot split the command"),
        ("providers:\n  p: {mint: {a: 1}}\n", "provider 'p': a command is a string or a list of"),
        ("providers:\n  p: {mint: []}\n", "provider 'p': empty command"),
        ("providers:\n  p: {mint: x, timeout: 0}\n", "provider 'p': timeout must be 1 to 600"),
        ("providers:\n  p: {mint: x, timeout: true}\n", "provider 'p': timeout must be 1 to 600"),
        ("providers:\n  p: {mint: x, expires: soon}\n", "provider 'p' expires"),
        ("on_rotate: ./x\n", "'on_rotate' must be a list"),
        ("on_rotate:\n  - {value: true}\n", "on_rotate item 1: needs a 'command'"),
        ("on_rotate:\n  - 5\n", "on_rotate item 1: expected a mapping"),
        ("on_rotate: [[]]\n", "on_rotate item 1: empty command"),
        ("providers: {p: {mint: x}\n", "not valid YAML"),
    ],
)
def test_declared_command_refusals(tmp_path: Path, text: str, error: str) -> None:
    rules_file = write(tmp_path / ".sealedcfg.yaml", text)
    with pytest.raises(InputError) as info:
        commands.load(rules_file)
    assert f"{rules_file}: " in str(info.value)
    assert error in str(info.value)


def test_declared_commands_parsed(tmp_path: Path) -> None:
    rules_file = write(
        tmp_path / ".sealedcfg.yaml",
        "providers:\n  p:\n    mint: [./m.sh, 7]\n    expires: 30d\n    timeout: 9\n"
        "on_rotate:\n  - ./n.sh --x 'a b'\n",
    )
    declared = commands.load(rules_file)
    assert declared is not None
    mint, revoke = declared.providers["p"]
    assert (mint.argv, mint.timeout, mint.extra, revoke) == (
        ("./m.sh", "7"),
        9,
        {"expires": "30d"},
        None,
    )
    assert [c.argv for c in declared.callbacks] == [("./n.sh", "--x", "a b")]
    assert commands.load(write(tmp_path / "list.yaml", "- 1\n")) == commands.Declared(
        tmp_path / "list.yaml", {}, ()
    )
    assert commands.load(None) is None
    bad = write(tmp_path / "latin.yaml", b"providers: \xff\n")
    with pytest.raises(InputError, match=r"latin\.yaml: cannot read the rules file$"):
        commands.load(bad)


def test_unreadable_approvals_file(repo: Path, keys: KeySource) -> None:
    commands.approvals_file().parent.mkdir(parents=True)
    commands.approvals_file().mkdir()  # a directory where the pins should be
    with pytest.raises(InputError, match=r"approved-commands: cannot read the approved commands$"):
        _rotate(keys)


# ---------------------------------------------------------------- built-ins and plug-ins


def _request(**options: str) -> Request:
    return Request("f.yaml", "a.b", {}, options)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"size": "20"}, "provider 'random': unknown option 'size'"),
        ({"length": "many"}, "provider 'random': length must be a number"),
        ({"length": "2000"}, "provider 'random': length must be 16 to 1024"),
        ({"alphabet": "emoji"}, "provider 'random': alphabet is one of alnum, hex, base64url"),
        ({"prefix": "sk live"}, "provider 'random': prefix is up to 32 of A-Z a-z 0-9 - _ ."),
        ({"prefix": "p" * 33}, "provider 'random': prefix is up to 32 of A-Z a-z 0-9 - _ ."),
    ],
)
def test_random_provider_options_refused(options: dict[str, str], error: str) -> None:
    with pytest.raises(InputError) as info:
        providers.RandomProvider().mint(_request(**options))
    assert str(info.value) == error


def test_random_provider_alphabets() -> None:
    value = providers.RandomProvider().mint(_request(length="64", alphabet="hex", prefix="k.1_"))
    assert value.startswith("k.1_")
    assert len(value) == 68
    assert set(value[4:]) <= set("0123456789abcdef")


def test_manual_provider_reads_one_line(repo: Path, key: str, keys: KeySource) -> None:
    with pytest.raises(InputError, match=r"^provider 'manual' takes no options$"):
        providers.ManualProvider().mint(_request(length="20"))
    write(repo / ".sealedcfg.yaml", "")
    args = ["rotate-secret", "config/prod.yaml", "stripe.api_key", "--via", "manual"]
    result = runner.invoke(app, args, env={"SEALEDCFG_KEY": key}, input="typed by-hand_value\r\n")
    assert result.exit_code == 0, result.stderr
    assert api.load(repo / "config" / "prod.yaml", keys=keys)["stripe"]["api_key"] == (
        "typed by-hand_value"
    )


def _plugin(root: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """A real installed distribution (a .dist-info on sys.path) with one provider entry point."""
    site = root / "site"
    info = site / f"cov_{name}-1.0.dist-info"
    info.mkdir(parents=True)
    write(info / "METADATA", f"Metadata-Version: 2.1\nName: cov-{name}\nVersion: 1.0\n")
    write(info / "entry_points.txt", f"[{providers.GROUP}]\n{name} = {value}\n")
    write(site / "cov_plugin_mod.py", "class NotAProvider:\n    name = 'x'\n")
    monkeypatch.syspath_prepend(str(site))


def test_a_broken_plugin_is_named_without_its_message(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: KeySource
) -> None:
    _plugin(tmp_path / "a", monkeypatch, "gone", "cov_no_such_module:Provider")
    _plugin(tmp_path / "b", monkeypatch, "odd", "cov_plugin_mod:NotAProvider")
    found = {a.name: a for a in providers.available(None)}
    assert found["gone"].source == "plug-in cov-gone (cov_no_such_module:Provider)"
    assert found["odd"].can_revoke
    with pytest.raises(InputError) as info:
        providers.get("gone", None)
    assert str(info.value) == (
        "provider 'gone' (plug-in cov-gone (cov_no_such_module:Provider)) failed to load: "
        "ModuleNotFoundError"
    )
    with pytest.raises(InputError, match=r"^provider 'odd' .* does not implement the interface$"):
        providers.get("odd", None)
    with pytest.raises(InputError, match=r"^unknown provider 'nope'$") as unknown:
        providers.get("nope", None)
    assert unknown.value.hints[0].startswith("available: random, manual, ")
    assert "gone" in unknown.value.hints[0]


def test_the_installed_demo_plugin_in_process(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: KeySource
) -> None:
    write(repo / ".sealedcfg.yaml", "")
    log = tmp_path / "demo.log"
    monkeypatch.setenv("DEMO_PROVIDER_LOG", str(log))
    monkeypatch.setenv("DEMO_PROVIDER_FAIL", "1")
    before = (repo / "config" / "prod.yaml").read_bytes()
    with pytest.raises(commands.CommandFailed) as info:
        _rotate(keys, via="demo")
    assert str(info.value) == "provider 'demo' failed to mint (RuntimeError); nothing was changed"
    _unchanged(repo, before, info.value)
    monkeypatch.delenv("DEMO_PROVIDER_FAIL")
    done = _rotate(keys, via="demo")
    assert done.revoked
    assert done.meta["expires"] == "2026-12-30"  # the plug-in's 30d lifetime
    assert log.read_text().splitlines() == [
        "mint stripe.api_key",
        f"revoke stripe.api_key old-length={len(OLD)}",
    ]


def test_a_declared_provider_may_not_shadow_a_builtin_or_plugin(repo: Path) -> None:
    for name in ("random", "demo"):
        write(repo / ".sealedcfg.yaml", f"providers:\n  {name}: {{mint: ./scripts/mint.sh}}\n")
        with pytest.raises(InputError) as info:
            providers.get("stripe", repo / ".sealedcfg.yaml")
        assert str(info.value) == (
            f"{repo / '.sealedcfg.yaml'}: provider {name!r} is already a built-in or a plug-in; "
            "rename it"
        )


def test_available_lists_declared_providers(repo: Path) -> None:
    listed = providers.available_here()
    by_name = {a.name: a for a in listed}
    assert by_name["stripe"].source == f"command in {repo / '.sealedcfg.yaml'}"
    assert by_name["stripe"].can_revoke
    assert by_name["lost"].can_revoke
    assert not by_name["random"].can_revoke


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("\n", "provider 'p' gave no value; nothing was changed"),
        ("a\nb\n", "provider 'p' gave several lines; expected one; nothing was changed"),
        ("a\rb", "provider 'p' gave several lines; expected one; nothing was changed"),
        ("x" * 4097, "provider 'p' gave a value that is too long or not printable; nothing was"),
        ("a\x1bb", "provider 'p' gave a value that is too long or not printable; nothing was"),
    ],
)
def test_check_secret(value: str, error: str) -> None:
    with pytest.raises(commands.CommandFailed) as info:
        providers.check_secret(value, "p")
    assert str(info.value).startswith(error)
    assert providers.check_secret("ok-value\r\n", "p") == "ok-value"


# ---------------------------------------------------------------- rotate-secret's own edges


def test_names_no_provider_and_option_and_target_refusals(repo: Path, keys: KeySource) -> None:
    before = (repo / "config" / "prod.yaml").read_bytes()
    with pytest.raises(InputError) as info:
        _rotate(keys, via=None)
    assert str(info.value) == "config/prod.yaml: 'stripe.api_key' names no provider"
    assert (repo / "config" / "prod.yaml").read_bytes() == before
    assert rotate_secret.parse_options(["length=20", "prefix=a=b"]) == {
        "length": "20",
        "prefix": "a=b",
    }
    for bad in ("length", "=20"):
        with pytest.raises(InputError, match=f"^bad --option '{bad}': expected NAME=VALUE$"):
            rotate_secret.parse_options([bad])
    with pytest.raises(InputError, match=r"^give FILE PATH, or files with --expiring DURATION$"):
        rotate_secret.targets(["config/prod.yaml"], None, None)
    assert rotate_secret.targets(["f", "p"], None, None) == ([("f", "p")], [])


@pytest.mark.parametrize(
    ("old", "lifetime", "expected"),
    [
        ({"expires": "2026-12-30", "created": "2026-11-30"}, None, "2026-12-31"),
        (
            {"expires": "2026-12-30", "rotated": "2026-12-20", "created": "2026-01-01"},
            None,
            "2026-12-11",
        ),
        ({"expires": "2026-11-01", "created": "2026-12-01"}, None, None),  # no positive span
        ({"expires": "someday", "created": "2026-11-30"}, None, None),
        ({"created": "2026-11-30"}, None, None),
        ({"expires": "2026-12-30"}, "7d", "2026-12-08"),
    ],
)
def test_new_expiry_keeps_the_old_lifetime(
    old: dict[str, str], lifetime: str | None, expected: str | None
) -> None:
    assert rotate_secret._new_expiry(old, lifetime, date(2026, 12, 1)) == expected


def test_rotation_keeps_the_old_lifetime_in_process(repo: Path, keys: KeySource) -> None:
    write(repo / ".sealedcfg.yaml", "")
    store.change_meta(
        "config/prod.yaml",
        "stripe.api_key",
        {"expires": "2026-12-30", "rotated": "2026-11-30"},
        keys,
    )
    done = _rotate(keys, via="random", options={"length": "20"})
    assert done.meta["expires"] == "2026-12-30"  # today + the old 30 days
    assert len(api.load(repo / "config" / "prod.yaml", keys=keys)["stripe"]["api_key"]) == 20
    assert json.dumps(done.meta).count(OLD) == 0
