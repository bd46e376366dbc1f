"""Teams: keys that find themselves, age recipients, labels (issue 10).

Played as a team would, in real git repositories and through the CLI as a
subprocess: alice seals, adds bob by his age public key, bob opens with his
identity; a stanza moved between files does not open; the Debian `age` binary
decrypts the wrap with the same identity.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sealedcfg import api
from sealedcfg.base.encoding import b64d
from sealedcfg.errors import ExitCode
from sealedcfg.format import crypto

from .conftest import FAST_TEXT
from .subproc import one_error_line

SECRET = "pw-Zq9!x"  # '!' cannot occur in base64: absent from sealed text by construction


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def sc(
    cwd: Path,
    home: Path,
    *args: str,
    env: dict[str, str] | None = None,
    python_args: bool = False,
) -> subprocess.CompletedProcess[str]:
    """sealedcfg ARGS as a process (`python_args`: ARGS go to the interpreter)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SEALEDCFG_", "GIT_"))}
    base.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), SEALEDCFG_ARGON2=FAST_TEXT)
    # These tests are about teams under sops' trust for age (any writer); the
    # default, which refuses a file only an age identity opens, is tested below.
    base.update(SEALEDCFG_AGE_WRITERS="any")
    base.update(env or {})
    return subprocess.run(
        [sys.executable, *args] if python_args else [sys.executable, "-m", "sealedcfg", *args],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


one_error = one_error_line


@pytest.fixture
def team(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A repository and two homes (alice, bob) outside it."""
    repo = tmp_path / "repo"
    (repo / "config").mkdir(parents=True)
    git(repo, "init", "-q")
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    alice.mkdir()
    bob.mkdir()
    return repo, alice, bob


def age_identity(home: Path) -> str:
    """`sealedcfg keygen --age` into HOME's default identity file; the public key."""
    proc = sc(home, home, "keygen", "--age")
    assert proc.returncode == 0, proc.stderr
    public = proc.stdout.strip()
    assert public.startswith("age1")
    assert "AGE-SECRET-KEY" not in proc.stdout + proc.stderr
    return public


def header_field(path: Path, field: str, index: int = -1) -> str:
    lines = [ln for ln in path.read_text().splitlines() if ln.strip().startswith(f"{field}:")]
    return lines[index].split(":", 1)[1].strip()


# ---------------------------------------------------------------- keys that find themselves


def test_keygen_prints_the_id_and_names_files_in_the_key_dir_by_id(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    proc = sc(tmp_path, home, "keygen")
    assert proc.returncode == 0
    kid = api.key_id_of(proc.stdout.strip())
    assert proc.stderr.strip() == f"key id: {kid}"
    keys = home / ".config" / "sealedcfg" / "keys"
    proc = sc(tmp_path, home, "keygen", "-o", str(keys / "bob.key"))
    assert proc.returncode == 0, proc.stderr
    written = [p.name for p in keys.iterdir()]
    assert len(written) == 1
    assert written[0] != "bob.key"
    kid = written[0].removesuffix(".key")
    assert api.key_id_of((keys / written[0]).read_text().splitlines()[-1]) == kid
    assert f"wrote key {kid} to {keys / written[0]}" in proc.stderr
    assert (keys / written[0]).stat().st_mode & 0o777 == 0o600
    # elsewhere, a file name given is kept
    proc = sc(tmp_path, home, "keygen", "-o", str(tmp_path / "ci.key"))
    assert proc.returncode == 0
    assert (tmp_path / "ci.key").exists()


def test_rotate_and_remove_use_every_key_opening_uses(team: tuple[Path, Path, Path]) -> None:
    """Keys found in the key directory (under any name) re-wrap too: no --key-file needed."""
    repo, alice, _ = team
    keys = alice / ".config" / "sealedcfg" / "keys"
    keys.mkdir(parents=True)
    for name in ("alice-laptop.key", "shared-ci.key"):
        (keys / name).write_text(api.keygen() + "\n")
        (keys / name).chmod(0o600)
    a, b = (api.key_id_of((keys / n).read_text()) for n in ("alice-laptop.key", "shared-ci.key"))
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    key_a = (keys / "alice-laptop.key").read_text().strip()
    assert sc(repo, alice, "encrypt", str(target), env={"SEALEDCFG_KEY": key_a}).returncode == 0
    proc = sc(
        repo, alice, "recipients", "add", str(target), "--add-key-file", str(keys / "shared-ci.key")
    )
    assert proc.returncode == 0, proc.stderr
    for command in (["rotate", str(target)], ["rotate", "--rewrap-only", str(target)]):
        proc = sc(repo, alice, *command)
        assert proc.returncode == 0, proc.stderr
    proc = sc(repo, alice, "recipients", "remove", str(target), "--key-id", b)
    assert proc.returncode == 0, proc.stderr
    listing = sc(repo, alice, "recipients", "list", str(target)).stdout
    assert a in listing
    assert b not in listing
    assert sc(repo, alice, "decrypt", str(target)).stdout == f"pw: {SECRET}\n"


def test_errors_name_the_ids_accepted_and_tried(team: tuple[Path, Path, Path]) -> None:
    repo, alice, bob = team
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    key = api.keygen()
    assert sc(repo, alice, "encrypt", str(target), env={"SEALEDCFG_KEY": key}).returncode == 0
    other = api.keygen()
    proc = sc(repo, bob, "decrypt", str(target), env={"SEALEDCFG_KEY": other})
    one_error(proc, ExitCode.OPEN)
    assert f"hint: it opens with: key {api.key_id_of(key)}" in proc.stderr
    assert f"hint: the keys tried have the ids: {api.key_id_of(other)}" in proc.stderr
    public = age_identity(bob)
    proc = sc(repo, bob, "decrypt", str(target))
    one_error(proc, ExitCode.NO_KEY)  # the default identity file is found, not given
    assert f"the keys tried have the ids: {public}" in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr


# ---------------------------------------------------------------- age


def test_onboard_by_age_public_key(team: tuple[Path, Path, Path]) -> None:
    """Alice adds bob by his public key; nobody hands over a secret."""
    repo, alice, bob = team
    bob_public = age_identity(bob)
    alice_public = age_identity(alice)
    target = repo / "config" / "prod.yaml"
    target.write_text(f"db:\n  pw: {SECRET}\n")
    alice_id = alice / ".config" / "sealedcfg" / "age" / "keys.txt"
    env = {"SEALEDCFG_AGE_KEY_FILE": str(alice_id)}
    assert sc(repo, alice, "encrypt", str(target), env=env).returncode == 0
    assert SECRET not in target.read_text()
    assert header_field(target, "recipient") == f'"{alice_public}"'
    proc = sc(repo, bob, "decrypt", str(target))
    one_error(proc, ExitCode.NO_KEY)
    proc = sc(repo, alice, "recipients", "add", str(target), "--age", bob_public, "--label", "bob")
    assert proc.returncode == 0, proc.stderr
    # bob opens with his default identity file, and with it given explicitly
    assert sc(repo, bob, "decrypt", str(target)).stdout == f"db:\n  pw: {SECRET}\n"
    bob_id = (bob / ".config" / "sealedcfg" / "age" / "keys.txt").read_text()
    proc = sc(repo, bob, "get", str(target), "db.pw", env={"SEALEDCFG_AGE_KEY": bob_id})
    assert proc.stdout.strip() == SECRET, proc.stderr
    listing = sc(repo, bob, "recipients", "list", str(target)).stdout
    assert f'age        {bob_public}  "bob"' in listing
    # offboarding: remove by label rotates the data key; bob's identity no longer opens it
    commit = header_field(target, "commit")
    proc = sc(repo, alice, "recipients", "remove", str(target), "--recipient", "bob")
    assert proc.returncode == 0, proc.stderr
    assert header_field(target, "commit") != commit
    one_error(sc(repo, bob, "decrypt", str(target)), ExitCode.NO_KEY)
    assert sc(repo, alice, "decrypt", str(target)).stdout == f"db:\n  pw: {SECRET}\n"


def test_a_file_only_an_age_identity_opens_is_refused_by_default(
    team: tuple[Path, Path, Path],
) -> None:
    """Eve holds no key of the team, only bob's public key (it is in every file he
    opens): she writes a file for it.  Bob's identity opens it, so by default it is
    refused; a raw key that is also a recipient proves the writer held it."""
    repo, eve, bob = team
    bob_public = age_identity(bob)
    age_identity(eve)
    target = repo / "config" / "prod.yaml"
    target.write_text("db:\n  pw: chosen-by-eve\n")
    eve_env = {"SEALEDCFG_AGE_KEY_FILE": str(eve / ".config" / "sealedcfg" / "age" / "keys.txt")}
    assert sc(repo, eve, "encrypt", str(target), env=eve_env).returncode == 0
    proc = sc(repo, eve, "recipients", "add", str(target), "--age", bob_public, env=eve_env)
    assert proc.returncode == 0, proc.stderr
    strict = {"SEALEDCFG_AGE_WRITERS": ""}
    for command in (["decrypt", str(target)], ["get", str(target), "db.pw"]):
        proc = sc(repo, bob, *command, env=strict)
        line = one_error(proc, ExitCode.NO_KEY)
        assert "could have written it" in line
        assert "chosen-by-eve" not in proc.stdout + proc.stderr
    proc = sc(repo, bob, "set", str(target), "db.pw", "--stdin", env=strict)
    one_error(proc, ExitCode.NO_KEY)  # nor is a new secret sealed under eve's data key
    # opting in to sops' trust opens it: what eve wrote
    assert "chosen-by-eve" in sc(repo, bob, "decrypt", str(target)).stdout
    # a raw key recipient authenticates the writer, whatever age identity is also present
    key = sc(repo, bob, "keygen").stdout.strip().splitlines()[-1]
    keyed = repo / "config" / "keyed.yaml"
    keyed.write_text(f"pw: {SECRET}\n")
    both = {"SEALEDCFG_KEY": key, **strict}
    assert sc(repo, bob, "encrypt", str(keyed), env=both).returncode == 0
    proc = sc(repo, bob, "recipients", "add", str(keyed), "--age", bob_public, env=both)
    assert proc.returncode == 0, proc.stderr
    assert sc(repo, bob, "decrypt", str(keyed), env=both).stdout == f"pw: {SECRET}\n"


def test_age_stanza_moved_between_files_does_not_open(team: tuple[Path, Path, Path]) -> None:
    """The wrap alone is not bound to its file: the key commitment and MAC are."""
    repo, alice, _ = team
    age_identity(alice)
    one, two = repo / "config" / "one.yaml", repo / "config" / "two.yaml"
    env = {"SEALEDCFG_AGE_KEY_FILE": str(alice / ".config" / "sealedcfg" / "age" / "keys.txt")}
    for f in (one, two):
        f.write_text(f"pw: {SECRET}\n")
        assert sc(repo, alice, "encrypt", str(f), env=env).returncode == 0
    wrapped = header_field(one, "wrapped")
    text = two.read_text()
    two.write_text(text.replace(header_field(two, "wrapped"), wrapped))
    one_error(sc(repo, alice, "decrypt", str(two)), ExitCode.OPEN)
    # and a label changed without a key breaks the MAC
    one.write_text(one.read_text().replace("  - type: age\n", '  - type: age\n    label: "eve"\n'))
    one_error(sc(repo, alice, "decrypt", str(one)), ExitCode.OPEN)


def test_the_age_cli_decrypts_the_wrap(team: tuple[Path, Path, Path]) -> None:
    age = shutil.which("age")
    if age is None:
        pytest.skip("the age binary is not installed (.ci/run installs Debian's age)")
    repo, alice, _ = team
    age_identity(alice)
    identity = alice / ".config" / "sealedcfg" / "age" / "keys.txt"
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    assert sc(repo, alice, "encrypt", str(target)).returncode == 0
    message = b64d(header_field(target, "wrapped"))
    proc = subprocess.run(
        [age, "-d", "-i", str(identity)],
        input=message,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    data_key, file_id = proc.stdout, b64d(header_field(target, "file_id"))
    assert len(data_key) == 32
    assert crypto.key_commitment(data_key, file_id) == b64d(header_field(target, "commit"))


def test_ssh_ed25519_recipient(team: tuple[Path, Path, Path]) -> None:
    repo, alice, bob = team
    private = Ed25519PrivateKey.generate()
    ssh_dir = bob / "ssh"
    ssh_dir.mkdir()
    (ssh_dir / "id_ed25519").write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    key = api.keygen()
    assert sc(repo, alice, "encrypt", str(target), env={"SEALEDCFG_KEY": key}).returncode == 0
    proc = sc(
        repo,
        alice,
        "recipients",
        "add",
        str(target),
        "--age",
        public.decode() + " bob@laptop",
        env={"SEALEDCFG_KEY": key},
    )
    assert proc.returncode == 0, proc.stderr
    assert "bob@laptop" not in target.read_text()  # the comment is not kept
    env = {"SEALEDCFG_AGE_KEY_FILE": str(ssh_dir / "id_ed25519")}
    assert sc(repo, bob, "decrypt", str(target), env=env).stdout == f"pw: {SECRET}\n"


@pytest.mark.parametrize(
    "recipient",
    [
        "age1notbech32",
        "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",  # bad checksum
        "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ",
    ],
)
def test_malformed_age_recipient(team: tuple[Path, Path, Path], recipient: str) -> None:
    repo, alice, _ = team
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    key = api.keygen()
    assert sc(repo, alice, "encrypt", str(target), env={"SEALEDCFG_KEY": key}).returncode == 0
    before = target.read_bytes()
    proc = sc(
        repo,
        alice,
        "recipients",
        "add",
        str(target),
        "--age",
        recipient,
        env={"SEALEDCFG_KEY": key},
    )
    line = one_error(proc, ExitCode.INPUT)
    assert "age recipient" in line
    assert recipient not in proc.stderr  # never echoed: it might be a secret key
    assert target.read_bytes() == before


@pytest.mark.parametrize(
    "identity",
    [
        "AGE-SECRET-KEY-1notanidentity",
        "AGE-SECRET-KEY-1" + "Q" * 58,  # the right shape, a bad checksum
        "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",  # a public key
    ],
)
def test_malformed_age_identity(team: tuple[Path, Path, Path], identity: str) -> None:
    repo, alice, _ = team
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    before = target.read_bytes()
    proc = sc(repo, alice, "encrypt", str(target), env={"SEALEDCFG_AGE_KEY": identity})
    line = one_error(proc, ExitCode.INPUT)
    assert "SEALEDCFG_AGE_KEY" in line
    assert "age identity" in line
    assert identity not in proc.stderr
    assert target.read_bytes() == before


def test_identity_matching_no_recipient(team: tuple[Path, Path, Path]) -> None:
    repo, alice, bob = team
    alice_public = age_identity(alice)
    bob_public = age_identity(bob)
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    assert sc(repo, alice, "encrypt", str(target)).returncode == 0
    bob_id = (bob / ".config" / "sealedcfg" / "age" / "keys.txt").read_text()
    proc = sc(repo, bob, "decrypt", str(target), env={"SEALEDCFG_AGE_KEY": bob_id})
    one_error(proc, ExitCode.OPEN)
    assert f"hint: it opens with: age {alice_public}" in proc.stderr
    assert f"hint: the keys tried have the ids: {bob_public}" in proc.stderr


def test_age_identity_file_in_the_repository_is_refused(team: tuple[Path, Path, Path]) -> None:
    repo, alice, _ = team
    age_identity(alice)
    inside = repo / "keys.txt"
    shutil.copyfile(alice / ".config" / "sealedcfg" / "age" / "keys.txt", inside)
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    assert sc(repo, alice, "encrypt", str(target)).returncode == 0
    proc = sc(repo, alice, "decrypt", str(target), env={"SEALEDCFG_AGE_KEY_FILE": str(inside)})
    assert "inside the git working tree" in one_error(proc, ExitCode.INPUT)


def test_labels_in_the_review_view(team: tuple[Path, Path, Path]) -> None:
    repo, alice, bob = team
    bob_public = age_identity(bob)
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    key = api.keygen()
    env = {"SEALEDCFG_KEY": key}
    assert sc(repo, alice, "encrypt", str(target), env=env).returncode == 0
    proc = sc(
        repo,
        alice,
        "recipients",
        "add",
        str(target),
        "--age",
        bob_public,
        "--label",
        "bob",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    for home, extra in ((alice, env), (bob, {})):  # with a key, and without (git diff for anyone)
        proc = sc(repo, home, "git", "textconv", str(target), env=extra)
        assert f'# recipient: age {bob_public} ("bob")' in proc.stdout, proc.stderr
        assert f"# recipient: key {api.key_id_of(key)}" in proc.stdout


# ---------------------------------------------------------------- updatekeys


def rules_with(repo: Path, *recipients: str) -> None:
    lines = "".join(f"      - {r}\n" for r in recipients)
    (repo / ".sealedcfg.yaml").write_text(
        f"creation_rules:\n  - path: 'config/*.yaml'\n    recipients:\n{lines}"
    )


def sealed_profiles(repo: Path, home: Path, *names: str) -> list[Path]:
    """config/NAME.yaml for each name, holding SECRET, sealed by HOME's user per the rule."""
    files = [repo / "config" / f"{n}.yaml" for n in names]
    for f in files:
        f.write_text(f"pw: {SECRET}\n")
        assert sc(repo, home, "encrypt", str(f)).returncode == 0, f
    return files


def test_updatekeys_follows_the_rule(team: tuple[Path, Path, Path]) -> None:
    repo, alice, bob = team
    alice_public, bob_public = age_identity(alice), age_identity(bob)
    rules_with(repo, f"age: {alice_public}\n        label: alice")
    files = sealed_profiles(repo, alice, "prod", "staging")
    assert '"alice"' in files[0].read_text()  # the rule's label is in the header
    rules_with(
        repo, f"age: {alice_public}\n        label: alice", f"age: {bob_public}\n        label: bob"
    )
    before = [f.read_bytes() for f in files]
    proc = sc(repo, alice, "updatekeys")  # no terminal, no --yes: shown, not written
    one_error(proc, ExitCode.USAGE)
    assert proc.stdout.count(f'+ age {bob_public} ("bob")') == 2
    assert [f.read_bytes() for f in files] == before
    proc = sc(repo, alice, "updatekeys", "--yes")
    assert proc.returncode == 0, proc.stderr
    for f in files:
        assert sc(repo, bob, "get", str(f), "pw").stdout.strip() == SECRET
    assert "already match" in sc(repo, alice, "updatekeys", "--yes").stdout
    # bob leaves: removed from the rule, the data key rotates, his identity no longer opens
    commit = header_field(files[0], "commit")
    rules_with(repo, f"age: {alice_public}\n        label: alice")
    proc = sc(repo, alice, "updatekeys", "-y", str(files[0]))
    assert proc.returncode == 0, proc.stderr
    assert f'- age {bob_public} ("bob")' in proc.stdout
    assert "data key rotated" in proc.stderr
    assert header_field(files[0], "commit") != commit
    one_error(sc(repo, bob, "decrypt", str(files[0])), ExitCode.NO_KEY)
    assert sc(repo, alice, "decrypt", str(files[0])).stdout == f"pw: {SECRET}\n"


def test_updatekeys_writes_all_files_or_none(team: tuple[Path, Path, Path]) -> None:
    """A file that fails to open (tampered) leaves every file as it was, also
    those before it in the run (they were written one by one before)."""
    repo, alice, bob = team
    alice_public, bob_public = age_identity(alice), age_identity(bob)
    rules_with(repo, f"age: {alice_public}")
    files = sealed_profiles(repo, alice, "prod", "staging")
    text = files[1].read_text()
    token = text.split("pw: ", 1)[1].split("\n", 1)[0]
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    files[1].write_text(text.replace(token, flipped))
    rules_with(repo, f"age: {alice_public}", f"age: {bob_public}")
    before = [f.read_bytes() for f in files]
    proc = sc(repo, alice, "updatekeys", "--yes")
    one_error(proc, ExitCode.OPEN)
    assert [f.read_bytes() for f in files] == before
    files[1].write_text(text)  # repaired: both are written, each once
    named = [str(files[0]), str(files[1]), str(files[0].parent / ".." / "config" / "prod.yaml")]
    proc = sc(repo, alice, "updatekeys", "--yes", *named)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("prod.yaml: (rule") == 1, proc.stdout
    assert proc.stderr.count("prod.yaml: recipients updated") == 1, proc.stderr
    for f in files:
        assert sc(repo, bob, "get", str(f), "pw").stdout.strip() == SECRET


def test_updatekeys_holds_a_lock_per_file_within_the_open_file_limit(
    team: tuple[Path, Path, Path],
) -> None:
    """All or nothing holds every file's lock at once: a low soft limit on open
    files is raised; a hard limit too low for them is one error, nothing written."""
    import resource

    repo, alice, bob = team
    alice_public, bob_public = age_identity(alice), age_identity(bob)
    rules_with(repo, f"age: {alice_public}")
    files = [repo / "config" / f"p{i:02}.yaml" for i in range(40)]
    for f in files:
        f.write_text(f"pw: {SECRET}\n")
    assert sc(repo, alice, "encrypt", *map(str, files)).returncode == 0
    rules_with(repo, f"age: {alice_public}", f"age: {bob_public}")
    before = [f.read_bytes() for f in files]

    def run(soft: int, hard: int) -> subprocess.CompletedProcess[str]:
        code = (
            "import resource, runpy, sys\n"
            f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))\n"
            "sys.argv = ['sealedcfg', 'updatekeys', '--yes']\n"
            "runpy.run_module('sealedcfg', run_name='__main__')\n"
        )
        return sc(repo, alice, "-c", code, python_args=True)

    line = one_error(run(100, 100), ExitCode.USAGE)  # 40 locks + 64 > 100
    assert "more than one update can hold open" in line
    assert [f.read_bytes() for f in files] == before
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    proc = run(40, hard if hard != resource.RLIM_INFINITY else 4096)  # raised to 104
    assert proc.returncode == 0, proc.stderr
    assert all(f.read_bytes() != b for f, b in zip(files, before, strict=True))


def test_updatekeys_prints_no_terminal_escapes_from_file_names(
    team: tuple[Path, Path, Path],
) -> None:
    """A file named with cursor-up and erase-line escapes hid the `+ age` line above it
    (attacker review): repository text reaches the terminal escaped."""
    repo, alice, bob = team
    alice_public, eve_public = age_identity(alice), age_identity(bob)
    rules_with(repo, f"age: {alice_public}")
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    assert sc(repo, alice, "encrypt", str(target)).returncode == 0
    hostile = repo / "config" / "q\x1b[1A\x1b[2Kprod.yaml: recipients already match.yaml"
    hostile.write_bytes(target.read_bytes())
    rules_with(repo, f"age: {alice_public}", f"age: {eve_public}")
    proc = sc(repo, alice, "updatekeys")
    assert "\x1b" not in proc.stdout + proc.stderr
    assert "\\x1b[1A" in proc.stdout  # shown, escaped
    assert f"+ age {eve_public}" in proc.stdout


def test_updatekeys_refuses_a_rule_you_hold_no_recipient_of(team: tuple[Path, Path, Path]) -> None:
    """An attacker's rules file naming only their key: refused, nothing written."""
    repo, alice, bob = team
    alice_public, eve_public = age_identity(alice), age_identity(bob)
    rules_with(repo, f"age: {alice_public}")
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    assert sc(repo, alice, "encrypt", str(target)).returncode == 0
    rules_with(repo, f"age: {eve_public}\n        label: alice")  # a lying label
    before = target.read_bytes()
    proc = sc(repo, alice, "updatekeys", "--yes")
    line = one_error(proc, ExitCode.NO_KEY)
    assert "lists no recipient you can open with" in line
    assert target.read_bytes() == before


def test_updatekeys_asks_on_a_terminal(team: tuple[Path, Path, Path]) -> None:
    """On a terminal (a real pty) updatekeys asks: 'n' writes nothing, 'y' writes."""
    import pty

    repo, alice, _ = team
    key = api.keygen()
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    assert sc(repo, alice, "encrypt", str(target), env={"SEALEDCFG_KEY": key}).returncode == 0
    rules_with(repo, f"key_id: {api.key_id_of(key)}\n        label: ci")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEALEDCFG_", "GIT_"))}
    env.update(HOME=str(alice), XDG_CONFIG_HOME=str(alice / ".config"), SEALEDCFG_KEY=key)
    for answer, code in (("n", ExitCode.USAGE), ("y", 0)):
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sealedcfg", "updatekeys", str(target)],
            cwd=repo,
            env=env,
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(slave)
        os.write(master, f"{answer}\n".encode())
        out, _ = proc.communicate(timeout=60)
        os.close(master)
        assert proc.returncode == code, out
        assert f'~ key {api.key_id_of(key)} label -> "ci"' in out
        assert ('label: "ci"' in target.read_text()) == (answer == "y")


def test_updatekeys_through_the_runner(
    team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from sealedcfg.cli.main import make_app

    repo, alice, _ = team
    key = api.keygen()
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(alice / ".config"))
    monkeypatch.setenv("SEALEDCFG_KEY", key)
    assert sc(repo, alice, "encrypt", str(target), env={"SEALEDCFG_KEY": key}).returncode == 0
    rules_with(repo, f"key_id: {api.key_id_of(key)}\n        label: ci")
    result = CliRunner().invoke(make_app(), ["updatekeys", "--yes"])
    assert result.exit_code == 0, result.output
    assert f'~ key {api.key_id_of(key)} label -> "ci"' in result.output
    assert 'label: "ci"' in target.read_text()
    result = CliRunner().invoke(make_app(), ["ls", str(target)])
    assert f'recipient key {api.key_id_of(key)} ("ci")' in result.output


def test_header_budget_bounds_kms_stanzas(team: tuple[Path, Path, Path]) -> None:
    """Each kms stanza may cost a network call: more than 4 is refused before any key work."""
    repo, alice, _ = team
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    key = api.keygen()
    assert sc(repo, alice, "encrypt", str(target), env={"SEALEDCFG_KEY": key}).returncode == 0
    stanza = '  - type: kms\n    key: "alias/x"\n    wrapped: AAAA\n'
    text = target.read_text().replace("  commit:", stanza * 5 + "  commit:")
    target.write_text(text)
    env = {"SEALEDCFG_KEY": key, "SEALEDCFG_KMS_KEY": "alias/x"}
    line = one_error(sc(repo, alice, "decrypt", str(target), env=env), ExitCode.INPUT)
    assert "the number of kms recipients" in line
    # an unknown kind is refused as unsupported, key-less
    target.write_text(text.replace(stanza * 5, "  - type: rot13\n    wrapped: AAAA\n"))
    line = one_error(sc(repo, alice, "decrypt", str(target), env=env), ExitCode.INPUT)
    assert "unsupported recipient type 'rot13'" in line
