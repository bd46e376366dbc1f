"""Edge branches of where keys, rules and profiles come from: every refusal with
its exact message, and the sources that are used only when nothing else is."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine import keys as keys_mod
from sealedcfg.engine import profiles, rules
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, InputError, NoKeyError

from .conftest import sealed, write
from .subproc import assert_one_error, cli, invoke

SECRET = "pass-word_with spaces!"


def _git(root: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


# ---------------------------------------------------------------- keys


def test_parse_key_takes_both_alphabets_and_comments() -> None:
    raw = bytes(range(250, 256)) + bytes(range(26))  # '+' '/' in standard base64
    std = base64.b64encode(raw).decode()
    url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert "+" in std or "/" in std
    assert keys_mod.parse_key(std, "k").reveal() == raw
    assert keys_mod.parse_key(f"# ci key\n{url}\n", "k").reveal() == raw
    for bad in (std[:-2], std + "AAAA", "!" * 43):
        with pytest.raises(InputError, match=r"^the key is not a base64 256-bit key$"):
            keys_mod.parse_key(bad, "the key")


def test_raw_key_bytes_must_be_32() -> None:
    with pytest.raises(InputError, match=r"^a raw key must be 32 bytes$"):
        KeySource(key=b"short", env={}).raw_keys()
    assert KeySource(key=b"k" * 32, env={}).raw_keys()[0].reveal() == b"k" * 32


def test_key_file_in_a_worktree_is_refused(tmp_path: Path, key: str) -> None:
    repo = _git(tmp_path / "repo")
    key_file = write(repo / "ci.key", key)
    with pytest.raises(InputError) as info:
        KeySource(key_file=str(key_file), env={}).raw_keys()
    assert str(info.value) == (
        f"key file {str(key_file)!r} is inside the git working tree {str(repo)!r}; "
        "keys are never read from a repository"
    )
    assert info.value.hints[1].startswith("move it outside the repository, e.g. into ")
    assert key not in str(info.value) + "".join(info.value.hints)
    outside = tmp_path / "link.key"  # a link out of the tree to a key inside it
    outside.symlink_to(key_file)
    with pytest.raises(InputError, match="is inside the git working tree"):
        keys_mod.key_from_file(outside)


def _sealed_and_key_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Path
) -> tuple[Path, str, Path]:
    """p.yaml sealed with a new key (target, key), and the empty key directory of
    XDG_CONFIG_HOME=`config`, where decrypting with no key given looks."""
    target = tmp_path / "p.yaml"
    key = sealed(target, f"a: {SECRET}\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    directory = config / "sealedcfg" / "keys"
    directory.mkdir(parents=True)
    return target, key, directory


def _decrypt_from_key_dir(target: Path) -> None:
    api.decrypt_file(target, KeySource(env={}), output=target.with_name("out.yaml"))


def test_key_found_in_the_key_directory_by_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, key, directory = _sealed_and_key_dir(tmp_path, monkeypatch, tmp_path / "cfg")
    write(directory / "aaa-junk.key", "not a key\n")  # skipped in the scan
    write(directory / "prod.key", key + "\n")  # found by its id, not its name
    _decrypt_from_key_dir(target)
    assert (tmp_path / "out.yaml").read_text() == f"a: {SECRET}\n"


def test_key_named_after_another_id_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, key, directory = _sealed_and_key_dir(tmp_path, monkeypatch, tmp_path / "cfg")
    other = api.keygen()
    named = write(directory / f"{api.key_id_of(key)}.key", other)
    with pytest.raises(InputError) as info:
        _decrypt_from_key_dir(target)
    assert str(info.value) == f"key file {str(named)!r} does not hold the key it is named after"
    assert not (tmp_path / "out.yaml").exists()


def test_key_directory_in_a_worktree_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _git(tmp_path / "repo")
    target, key, directory = _sealed_and_key_dir(tmp_path, monkeypatch, repo / "cfg")
    write(directory / f"{api.key_id_of(key)}.key", key)
    with pytest.raises(InputError, match=r"^the key directory .* is inside the git working") as i:
        _decrypt_from_key_dir(target)
    assert i.value.hints[1] == "set XDG_CONFIG_HOME to a directory outside every repository"


def test_key_directory_skips_a_link_into_a_worktree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, key, directory = _sealed_and_key_dir(tmp_path, monkeypatch, tmp_path / "cfg")
    planted = write(_git(tmp_path / "repo") / "x.key", key)
    (directory / "prod.key").symlink_to(planted)
    with pytest.raises(NoKeyError):
        _decrypt_from_key_dir(target)
    (directory / f"{api.key_id_of(key)}.key").symlink_to(planted)
    with pytest.raises(InputError, match=r"^key file .* is inside the git working tree"):
        _decrypt_from_key_dir(target)


def test_key_file_read_refusals(tmp_path: Path) -> None:
    def refusal(path: Path) -> str:
        with pytest.raises(InputError) as info:
            keys_mod.key_from_file(path)
        return str(info.value)

    big = write(tmp_path / "big.key", b"#" * (64 * 1024 + 1))
    assert refusal(big) == f"key file {str(big)!r} is too large to hold a key"
    assert (
        refusal(tmp_path / "none.key") == f"key file {str(tmp_path / 'none.key')!r} does not exist"
    )
    assert refusal(tmp_path) == f"key file {str(tmp_path)!r} is a directory"
    latin = write(tmp_path / "latin.key", b"\xff\xfe key")
    assert refusal(latin) == f"key file {str(latin)!r} is not UTF-8 text"
    loop = tmp_path / "loop.key"
    loop.symlink_to(loop)
    assert refusal(loop).startswith(f"cannot read key file {str(loop)!r}: Too many levels")


def test_passphrase_sources_in_order(tmp_path: Path) -> None:
    expected = KeySource(passphrase=SECRET, env={}).get_passphrase().reveal()
    crlf = write(tmp_path / "pass.txt", SECRET + "\r\n")
    assert KeySource(passphrase_file=str(crlf), env={}).get_passphrase().reveal() == expected
    env = {keys_mod.ENV_PASSPHRASE: SECRET}
    assert KeySource(env=env).get_passphrase().reveal() == expected
    lf = write(tmp_path / "pass2.txt", SECRET + "\n")
    env = {keys_mod.ENV_PASSPHRASE_FILE: str(lf)}
    source = KeySource(env=env)
    assert source.has_passphrase()
    assert source.get_passphrase().reveal() == expected
    lf.unlink()  # asked once: the cached secret, not the file again
    assert source.get_passphrase().reveal() == expected
    blank = write(tmp_path / "blank.txt", " \n")
    with pytest.raises(InputError, match=r"^the passphrase from '.*blank\.txt' is empty$"):
        KeySource(passphrase_file=str(blank), env={}).get_passphrase()


def test_no_passphrase_and_no_terminal_is_no_key() -> None:
    source = KeySource(env={})
    assert not source.has_passphrase()
    assert not source.can_prompt()  # pytest's stdin is no terminal
    with pytest.raises(NoKeyError, match=r"^no key or passphrase available$") as info:
        source.get_passphrase()
    assert info.value.hints == keys_mod.NO_KEY_HINTS


def test_prompted_passphrase_confirmed() -> None:
    answers = iter([SECRET, SECRET + "x"])
    source = KeySource(env={}, prompt=lambda _: next(answers))
    with pytest.raises(InputError, match=r"^the two passphrases differ$"):
        source.get_passphrase(confirm=True)
    answers = iter([SECRET, SECRET])
    assert source.get_passphrase(confirm=True).reveal() == SECRET.encode()


def test_age_identities_from_each_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    (env_text, env_pub), (file_text, file_pub), (dflt_text, dflt_pub) = (
        api.age_keygen() for _ in range(3)
    )
    assert KeySource(env={}).age_identities() == []
    default = keys_mod.age_identity_file()
    default.parent.mkdir(parents=True)
    write(default, dflt_text)
    found = KeySource(env={}).age_identities()
    assert [(i.public, i.given) for i in found] == [(dflt_pub, False)]
    ident = write(tmp_path / "id.txt", file_text)
    source = KeySource(
        age_key_file=str(ident), env={keys_mod.ENV_AGE_KEY: env_text.splitlines()[-1]}
    )
    # given sources only: the default file is not added to them
    assert [(i.public, i.given) for i in source.age_identities()] == [
        (env_pub, True),
        (file_pub, True),
    ]
    assert source.age_identities() is source.age_identities()  # read once


# ---------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("glob", "matches", "misses"),
    [
        ("config/**/*.yaml", ["config/a.yaml", "config/x/y/a.yaml"], ["config/a.yml", "a.yaml"]),
        ("config/**", ["config/a", "config/x/y"], ["other/a"]),
        ("p?.yaml", ["p1.yaml"], ["p12.yaml", "p/.yaml"]),
        ("[ab].yaml", ["a.yaml", "b.yaml"], ["c.yaml"]),
        ("[!ab].yaml", ["c.yaml"], ["a.yaml"]),
        ("[a.yaml", ["[a.yaml"], ["a.yaml"]),  # no closing bracket: a literal '['
    ],
)
def test_glob_to_regex(glob: str, matches: list[str], misses: list[str]) -> None:
    pattern = rules.glob_to_regex(glob)
    assert [p for p in matches if pattern.fullmatch(p)] == matches
    assert [p for p in misses if pattern.fullmatch(p)] == []


AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a: [", "R: not valid YAML: "),
        ("!!set {a}\n", "R: the top level of the rules file must be a mapping (line 1)"),
        ("- a\n", "R: the top level of the rules file must be a mapping (line 1)"),
        ("\n\njust words\n", "R: the top level of the rules file must be a mapping (line 3)"),
        ("nope: 1\n", "R: unknown field 'nope' (line 1)"),
        ("creation_rules: {path: x}\n", "R: 'creation_rules' must be a list"),
        ("creation_rules: [x]\n", "R: each creation rule must be a mapping"),
        (
            "creation_rules:\n- plain: x\n",
            "R: a rule needs exactly one of 'path' or 'path_regex' (li",
        ),
        ("creation_rules:\n- {path: x, path_regex: y}\n", "R: a rule needs exactly one of"),
        ("creation_rules:\n- {path_regex: '('}\n", "R (line 2): "),
        ("creation_rules:\n- {path: x, plain: '(?<=a)'}\n", "R (line 2): "),
        ("creation_rules:\n- {path: x, recipients: {age: y}}\n", "R: 'recipients' must be a list"),
        ("creation_rules:\n- {path: x, recipients: [k]}\n", "R: each recipient must be a mapping"),
        ("creation_rules:\n- path: x\n  recipients: [{key_file: /k}]\n", "R: 'key_file' is not al"),
        ("creation_rules:\n- path: x\n  recipients: [{passphrase: yes please}]\n", "R: 'passphras"),
        ("creation_rules:\n- path: x\n  recipients: [{label: a}]\n", "R: each recipient needs exa"),
        (f"creation_rules:\n- path: x\n  recipients: [{{age: {AGE}, label: 'a b'}}]\n", "R: 'lab"),
        (
            "creation_rules:\n- path: x\n  recipients: [{key_id: short}]\n",
            "R: 'key_id' must be a k",
        ),
        ("creation_rules:\n- path: x\n  recipients: [{age: 5}]\n", "R: 'age' must be a string"),
        ("creation_rules:\n- path: x\n  recipients: [{age: age1nope}]\n", "R (line 3): "),
        ("profiles: config\n", "R: 'profiles' must be a mapping with 'dir'"),
        ("profiles: {dir: ' '}\n", "R: 'profiles.dir' must be a directory path (line 1)"),
        ("profiles: {dir: x, other: 1}\n", "R: unknown field 'other' (line 1)"),
    ],
)
def test_rules_file_refusals(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(InputError) as info:
        rules.parse(text, "R", tmp_path)
    assert str(info.value).startswith(error)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["- a\n", "just words\n", "!!set {a}\n", "[]\n", "42\n"])
def test_a_rules_file_not_a_mapping_is_named(tmp_path: Path, text: str) -> None:
    """It was refused as 'the top level of a profile' (or, tagged, a message of its own)."""
    root = _git(tmp_path)
    rules_file = write(root / rules.RULES_NAME, text)
    target = write(root / "p.yaml", f"pw: {SECRET}\n")
    env = {"SEALEDCFG_KEY": api.keygen()}
    message = f"{rules_file}: the top level of the rules file must be a mapping (line 1)"
    for proc in (invoke("encrypt", str(target), env=env), cli("encrypt", str(target), env=env)):
        assert_one_error(proc, ExitCode.INPUT, message, SECRET)
        assert "hint: its fields: creation_rules, " in proc.stderr
    assert target.read_text() == f"pw: {SECRET}\n"


def test_rules_parse_shapes(tmp_path: Path) -> None:
    assert rules.parse("", "R", tmp_path) == rules.Rules(tmp_path, ())
    parsed = rules.parse(
        "creation_rules:\n- path: 'config/*.yaml'\n  plain: '^host$'\n"
        f"  recipients: [{{age: {AGE}, label: alice}}, {{passphrase: true}}]\n"
        "profiles: {dir: config}\n",
        "R",
        tmp_path,
    )
    assert parsed.profiles_dir == "config"
    rule = parsed.match(tmp_path / "config" / "p.yaml")
    assert rule is not None
    assert (rule.source, rule.plain, len(rule.recipients)) == ("config/*.yaml", "^host$", 2)
    assert parsed.match(tmp_path / "p.yaml") is None
    assert parsed.match("/elsewhere/config/p.yaml") is None


def test_rules_file_unreadable(tmp_path: Path) -> None:
    bad = write(tmp_path / rules.RULES_NAME, b"creation_rules: [\xff]\n")
    with pytest.raises(InputError, match=r"cannot read the rules file \(UnicodeDecodeError\)$"):
        rules.load(bad)
    with pytest.raises(InputError, match=r"cannot read the rules file \(IsADirectoryError\)$"):
        rules.load(tmp_path)


def test_find_rules_file_stops_at_the_repository(tmp_path: Path) -> None:
    write(tmp_path / rules.RULES_NAME, "creation_rules: []\n")
    repo = _git(tmp_path / "repo")
    (repo / "config").mkdir()
    profile = write(repo / "config" / "p.yaml", "a: 1\n")
    assert rules.find_rules_file(profile) is None  # the one above the repository is not its
    write(repo / rules.RULES_NAME, "creation_rules: []\n")
    assert rules.find_rules_file(profile) == repo / rules.RULES_NAME


# ---------------------------------------------------------------- profiles


@pytest.mark.parametrize("name", ["../prod", ".hidden", "prod.yaml", "a/b", "", "x" * 65])
def test_profile_names_refused(name: str) -> None:
    with pytest.raises(InputError, match=r"is not a profile name$") as info:
        profiles.check_name(name)
    assert info.value.hints


def _profiles_repo(root: Path, directory: str = "config") -> Path:
    _git(root)
    write(root / rules.RULES_NAME, f"profiles: {{dir: {directory!r}}}\n")
    return root


def test_profiles_dir_refusals(tmp_path: Path) -> None:
    root = _profiles_repo(tmp_path / "repo")

    def refusal(directory: str) -> str:
        with pytest.raises(InputError) as info:
            profiles.profiles_dir(root, directory, "R")
        return str(info.value)

    (root / "config" / "nested").mkdir(parents=True)
    assert profiles.profiles_dir(root, "./config/./nested", "R") == root / "config" / "nested"
    assert (
        refusal("missing") == f"R: profiles.dir 'missing': {str(root / 'missing')!r} does not exist"
    )
    write(root / "file", "x")
    assert refusal("file") == "R: profiles.dir 'file' is not a directory"
    (root / "link").symlink_to(root / "config")
    assert refusal("link/nested").startswith(
        f"R: profiles.dir 'link/nested': {str(root / 'link')!r} is a symbolic link"
    )
    _git(root / "config" / "nested")
    assert "is another repository" in refusal("config/nested")
    for bad in ("/etc", "..", "a/../b", "c:x", "a\x00b"):
        assert "must be a relative path inside the directory of the rules file" in refusal(bad)


def test_sibling_refusals(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(InputError, match=r"dir\.yaml: not a regular file$"):
        profiles.sibling(tmp_path, "dir")
    (tmp_path / "ln.yaml").symlink_to(tmp_path / "nowhere")
    with pytest.raises(InputError, match=r"ln\.yaml: is a symbolic link; a profile is read only"):
        profiles.sibling(tmp_path, "ln")
    not_dir = write(tmp_path / "plain", "x")
    with pytest.raises(InputError, match=r"plain/p\.yaml: cannot read \(Not a directory\)$"):
        profiles.sibling(not_dir, "p")
    assert profiles.sibling(tmp_path, "none") is None
    write(tmp_path / "both.yml", "a: 1\n")
    assert profiles.sibling(tmp_path, "both") == tmp_path / "both.yml"


def test_resolve_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = _git(tmp_path / "bare")
    with pytest.raises(InputError) as info:
        profiles.resolve("prod", bare)
    assert str(info.value) == (
        f"--profile prod: no {rules.RULES_NAME} with a 'profiles:' section here or above "
        "(up to the repository)"
    )
    write(bare / rules.RULES_NAME, "creation_rules: []\n")
    with pytest.raises(InputError, match=r"with a 'profiles:' section \(.*\.sealedcfg\.yaml\)$"):
        profiles.resolve("prod", bare)
    root = _profiles_repo(tmp_path / "repo")
    (root / "config").mkdir()
    monkeypatch.chdir(tmp_path)  # below the working directory: shown relative to it
    with pytest.raises(InputError, match=r"^no profile 'prod': repo/config/prod\.yaml does not"):
        profiles.resolve("prod", root)
    write(root / "config" / "prod.yaml", "a: 1\n")
    assert profiles.resolve("prod", root) == Path("repo/config/prod.yaml")
    monkeypatch.chdir(root / "config")
    assert profiles.resolve("prod", root) == Path("prod.yaml")
    monkeypatch.chdir(bare)  # not below the working directory: shown whole
    assert profiles.resolve("prod", root) == root / "config" / "prod.yaml"
