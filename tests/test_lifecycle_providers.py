"""rotate-secret through real providers: command scripts, the installed plug-in, built-ins."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode
from sealedcfg.lifecycle import store

from .conftest import STRIPE_PROVIDER, rules_repo, write
from .subproc import assert_one_error, cli

OLD = "sk_live_OLDsecret0001"
TODAY = "2026-11-30"

MINT = """#!/bin/sh
# a stand-in for a provider's API: a fresh key on stdout, the old one read if given
cat > old-seen.txt
echo "call $SEALEDCFG_PROVIDER $SEALEDCFG_PATH $SEALEDCFG_META_EXPIRES" >> calls.log
echo "sk_live_NEW$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')"
"""
REVOKE = """#!/bin/sh
# records the length of the old value (never the value) and the file as it was then
read old
echo "revoke ${#old}" >> calls.log
cp config/prod.yaml at-revoke.yaml
"""
NOTIFY = """#!/bin/sh
n=$(cat | wc -c)
echo "notify $SEALEDCFG_EVENT $SEALEDCFG_PATH $SEALEDCFG_META_PROVIDER stdin=$n" >> calls.log
"""
RULES = f"""providers:
{STRIPE_PROVIDER}    timeout: 5
  broken:
    mint: ./scripts/broken.sh
    revoke: ./scripts/revoke.sh
    timeout: 1
on_rotate:
  - ./scripts/notify.sh
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str) -> Path:
    scripts = {"mint.sh": MINT, "revoke.sh": REVOKE, "notify.sh": NOTIFY}
    root = rules_repo(tmp_path / "repo", RULES, scripts)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "userconfig"))
    monkeypatch.setenv("SEALEDCFG_TODAY", TODAY)
    target = write(root / "config" / "prod.yaml", f"stripe:\n  api_key: {OLD}\nother: x1\n")
    keys = KeySource(key=key, env={})
    api.encrypt_file(target, keys)
    store.change_meta(
        target, "stripe.api_key", {"provider": "stripe", "expires": "2026-12-10"}, keys
    )
    return root


def run(repo: Path, key: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return cli(*args, env={"SEALEDCFG_KEY": key, "SEALEDCFG_TODAY": TODAY, **env}, cwd=repo)


def set_broken(repo: Path, body: str) -> None:
    script = write(repo / "scripts" / "broken.sh", "#!/bin/sh\n" + body)
    script.chmod(0o755)


def calls(repo: Path) -> list[str]:
    log = repo / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_commands_from_the_rules_file_never_run_unapproved(repo: Path, key: str) -> None:
    target = repo / "config" / "prod.yaml"
    before = target.read_bytes()
    proc = run(repo, key, "rotate-secret", "config/prod.yaml", "stripe.api_key")
    assert_one_error(proc, ExitCode.INPUT, "is not approved")
    assert "./scripts/mint.sh" in proc.stderr  # the hint shows what would run
    assert calls(repo) == []
    assert target.read_bytes() == before
    proc = run(repo, key, "approve")  # not a terminal, no --yes: lists, approves nothing
    assert proc.returncode == ExitCode.FINDINGS
    assert "new/changed  mint of provider 'stripe': ./scripts/mint.sh" in proc.stdout
    assert run(repo, key, "approve", "--yes").returncode == 0
    assert run(repo, key, "approve").returncode == 0
    # an attacker edits an approved script: it is a new command, refused unrun
    with (repo / "scripts" / "mint.sh").open("a") as fh:
        fh.write("touch pwned\n")
    proc = run(repo, key, "rotate-secret", "config/prod.yaml", "stripe.api_key")
    assert_one_error(proc, ExitCode.INPUT, "is not approved")
    assert not (repo / "pwned").exists()
    assert target.read_bytes() == before
    # and so is a changed command line in the rules file
    write(repo / ".sealedcfg.yaml", RULES.replace("./scripts/notify.sh", "./scripts/notify.sh x"))
    proc = run(repo, key, "rotate-secret", "config/prod.yaml", "stripe.api_key", "--via", "random")
    assert_one_error(proc, ExitCode.INPUT, "on_rotate callback 1")
    assert target.read_bytes() == before


def test_rotate_secret_via_a_command_provider(repo: Path, key: str) -> None:
    assert run(repo, key, "approve", "--yes").returncode == 0
    target = repo / "config" / "prod.yaml"
    proc = run(repo, key, "rotate-secret", "config/prod.yaml", "stripe.api_key", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)[0]
    assert result["meta"]["expires"] == "2027-02-28"  # the provider's 90d lifetime
    assert result["meta"]["rotated"] == TODAY
    assert result["revoked"] is True
    new = api.load(target, key=key)["stripe"]["api_key"]
    assert new.startswith("sk_live_NEW")
    assert new != OLD
    assert (repo / "old-seen.txt").read_text() == OLD + "\n"  # old_value: true
    assert calls(repo) == [
        "call stripe stripe.api_key 2026-12-10",
        f"revoke {len(OLD)}",
        "notify rotate-secret stripe.api_key stripe stdin=0",  # no value unless asked
    ]
    # revoke ran only after the new value was safely written
    assert (repo / "at-revoke.yaml").read_bytes() == target.read_bytes()
    # rollback after a bad deploy: the old value is back, callbacks told
    proc = run(repo, key, "rollback", "config/prod.yaml", "stripe.api_key")
    assert proc.returncode == 0, proc.stderr
    assert api.load(target, key=key)["stripe"]["api_key"] == OLD
    assert calls(repo)[-1] == "notify rollback stripe.api_key stripe stdin=0"
    assert api.verify_file(target, KeySource(key=key, env={})).ok


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("exit 3\n", "failed (exit status 3)"),
        ("sleep 30\necho late\n", "timed out after 1 s"),
        ("true\n", "gave no value"),
        ("printf '\\n\\n'\n", "gave no value"),
        ("echo one; echo two\n", "gave several lines"),
    ],
)
def test_a_failing_or_hanging_provider_leaves_the_file_byte_identical(
    repo: Path, key: str, body: str, message: str
) -> None:
    set_broken(repo, body)
    assert run(repo, key, "approve", "--yes").returncode == 0
    target = repo / "config" / "prod.yaml"
    before = target.read_bytes()
    started = time.monotonic()
    proc = run(repo, key, "rotate-secret", "config/prod.yaml", "stripe.api_key", "--via", "broken")
    assert time.monotonic() - started < 20
    assert_one_error(proc, ExitCode.COMMAND, message)
    assert target.read_bytes() == before
    assert not any(c.startswith(("revoke", "notify")) for c in calls(repo))
    assert OLD not in proc.stderr + proc.stdout


def test_the_installed_plugin_provider(repo: Path, key: str, tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    target = repo / "config" / "prod.yaml"
    proc = run(repo, key, "providers", "--json")
    found = {p["name"]: p["source"] for p in json.loads(proc.stdout)}
    assert found["demo"].startswith("plug-in sealedcfg-demo-provider")
    assert found["random"] == "built-in"
    assert found["stripe"].startswith("command in")
    write(repo / ".sealedcfg.yaml", "")  # no callbacks to approve
    before = target.read_bytes()
    proc = run(
        repo, key, "rotate-secret", "config/prod.yaml", "stripe.api_key", "--via", "demo",
        DEMO_PROVIDER_LOG=str(log), DEMO_PROVIDER_FAIL="1",
    )  # fmt: skip
    assert_one_error(proc, ExitCode.COMMAND, "provider 'demo' failed to mint (RuntimeError)")
    assert target.read_bytes() == before
    assert not log.exists()
    proc = run(
        repo, key, "rotate-secret", "config/prod.yaml", "stripe.api_key", "--via", "demo",
        DEMO_PROVIDER_LOG=str(log),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert api.load(target, key=key)["stripe"]["api_key"].startswith("demo_")
    assert log.read_text().splitlines() == [
        "mint stripe.api_key",
        f"revoke stripe.api_key old-length={len(OLD)}",
    ]
    meta = store.versions(target, "stripe.api_key")[0].meta
    assert meta["provider"] == "demo"
    assert meta["expires"] == "2026-12-30"


def test_builtin_random_and_manual(repo: Path, key: str) -> None:
    write(repo / ".sealedcfg.yaml", "")
    target = repo / "config" / "prod.yaml"
    args = ("rotate-secret", "config/prod.yaml", "stripe.api_key", "--via", "random")
    proc = run(repo, key, *args, "-o", "length=24", "-o", "prefix=sk_", "--expires", "30d")
    assert proc.returncode == 0, proc.stderr
    value = api.load(target, key=key)["stripe"]["api_key"]
    assert value.startswith("sk_")
    assert len(value) == 27
    assert store.versions(target, "stripe.api_key")[0].meta["expires"] == "2026-12-30"
    proc = run(repo, key, *args, "-o", "length=8")
    assert_one_error(proc, ExitCode.INPUT, "length must be 16 to 1024")
    proc = cli(
        "rotate-secret", "config/prod.yaml", "stripe.api_key", "--via", "manual", "--keep", "2",
        env={"SEALEDCFG_KEY": key, "SEALEDCFG_TODAY": TODAY}, cwd=repo,
        input="typed-by-hand-value\n",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert api.load(target, key=key)["stripe"]["api_key"] == "typed-by-hand-value"
    assert len(store.versions(target, "stripe.api_key")) == 3


def test_unknown_provider_and_no_provider(repo: Path, key: str) -> None:
    before = (repo / "config" / "prod.yaml").read_bytes()
    proc = run(repo, key, "rotate-secret", "config/prod.yaml", "stripe.api_key", "--via", "nope")
    assert_one_error(proc, ExitCode.INPUT, "unknown provider 'nope'")
    proc = run(repo, key, "rotate-secret", "config/prod.yaml", "other")
    assert_one_error(proc, ExitCode.INPUT, "names no provider")
    assert (repo / "config" / "prod.yaml").read_bytes() == before


def test_rotate_secret_expiring_over_files(repo: Path, key: str) -> None:
    write(repo / ".sealedcfg.yaml", "")
    keys = KeySource(key=key, env={})
    second = write(repo / "config" / "staging.yaml", "a: 1\nb: 2\n")
    api.encrypt_file(second, keys)
    day = date(2026, 11, 30)
    store.set_value(
        second,
        "a",
        "x" * 20,
        keys,
        changes={"expires": "2026-12-05", "provider": "random"},
        now=day,
    )
    store.set_value(
        second,
        "b",
        "y" * 20,
        keys,
        changes={"expires": "2027-12-05", "provider": "random"},
        now=day,
    )
    store.change_meta(repo / "config" / "prod.yaml", "stripe.api_key", {"provider": "random"}, keys)
    proc = run(
        repo, key, "rotate-secret", "config/prod.yaml", "config/staging.yaml", "--expiring", "14d"
    )
    assert proc.returncode == 0, proc.stderr
    assert "prod.yaml: stripe.api_key rotated via random" in proc.stderr
    assert "staging.yaml: a rotated" in proc.stderr
    assert "staging.yaml: b" not in proc.stderr
    assert api.load(second, keys=keys)["b"] == "y" * 20
    assert api.load(second, keys=keys)["a"] != "x" * 20
    # a value that names no provider is skipped, and said so (exit 1)
    store.set_value(second, "c", "z" * 20, keys, changes={"expires": "2026-12-02"}, now=day)
    proc = run(repo, key, "rotate-secret", "config/staging.yaml", "--expiring", "14d")
    assert proc.returncode == ExitCode.FINDINGS
    assert "staging.yaml: c skipped: it names no provider" in proc.stderr
    assert api.load(second, keys=keys)["c"] == "z" * 20


def test_the_readme_worked_example_runs(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    from .conftest import FAST_TEXT, ROOT

    section = (ROOT / "README.md").read_text().split("### Worked example", 1)[1]
    script = section.split("```sh\n", 1)[1].split("```", 1)[0]
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "lifecycle", repo)
    (repo / ".git").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        SEALEDCFG_ARGON2=FAST_TEXT,
    )
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=repo, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "expires=2027-03-01" in out
    assert "time to rotate" in out  # the CI check failed, 9 days before expiry
    assert "stripe: previous key of stripe.api_key revoked" in proc.stderr
    assert "deploy triggered: rollback of stripe.api_key" in proc.stderr
    assert "sk_live_51ExampleOnlyKey\n" in out  # rollback brought the original back
    assert "chain intact" in out
    audit_ops = [line.split()[2] for line in out.splitlines() if line.startswith("20")]
    assert audit_ops == ["set", "rotate-secret", "rollback", "get"]
