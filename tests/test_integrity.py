"""What an application reads is exactly what was sealed, or the tool refuses.

Each attack here was first reproduced against the previous engine (issue 7):
a key-less attacker with write access rewrote the sealed layout, and
`verify`, `decrypt` and `load()` accepted data nobody sealed.  The file MAC
now covers the meaning of the opened text (FORMAT.md §5.5).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, OpenError, SealedcfgError
from sealedcfg.format import token as tokens
from sealedcfg.ops import rotation, values
from sealedcfg.yamltext import document

from .conftest import write
from .subproc import cli

TOKEN = re.compile(r"sealedcfg;v1;[^\s,\]}]+")


def seal(
    work: Path, keys: KeySource, text: str, name: str = "p.yaml", plain: str | None = None
) -> Path:
    target = write(work / name, text)
    api.encrypt_file(target, keys, plain=plain)
    return target


def refused(target: Path, keys: KeySource) -> type[SealedcfgError]:
    """The error every reader gives; each must refuse, none may return data."""
    kinds = set()
    for read in (
        lambda: api.decrypt_file(target, keys),
        lambda: api.load_all(target, keys=keys),
        lambda: api.load_all(target, keys=keys, text_keys=True),
    ):
        with pytest.raises(SealedcfgError) as info:
            read()
        kinds.add(type(info.value))
    assert not api.verify_file(target, keys).ok
    assert len(kinds) == 1, kinds
    return kinds.pop()


def mutate(target: Path, change: Callable[[str], str]) -> None:
    text = target.read_text()
    changed = change(text)
    assert changed != text, "the mutation did not apply"
    target.write_bytes(changed.encode())


# ---------------------------------------------------------------- layout


@pytest.mark.parametrize(
    ("desc", "plaintext", "plain", "change"),
    [
        (
            "comment line indented under a | token",
            "a: |\n  line1\nb: x\n",
            None,
            lambda t: t.replace("\nb: ", "\n  # injected\nb: ", 1),
        ),
        (
            "parent of a sealed block scalar re-indented under it",
            "outer:\n  k: |\n    line\n  x: 1\n",
            None,
            lambda t: t.replace("\n  x: ", "\n      x: ", 1),
        ),
        (
            "block mapping rewritten as flow: one key becomes two",
            "users:\n  alice, mallory: admin\n",
            r".",
            lambda t: t.replace(
                "users:\n  alice, mallory: admin\n", "users: {alice, mallory: admin}\n"
            ),
        ),
        (
            "a key with a |2 value moved to another indentation",
            "a:\n  k: |2\n     x\n",
            r"^a\.k$",
            lambda t: t.replace("a:\n  k: |2\n     x\n", "k: |2\n     x\na:\n"),
        ),
        (
            "whitespace-only line under a plaintext-by-rule |- block",
            "a: |-\n  text\nb: 1\n",
            r"^a$",
            lambda t: t.replace("  text\n", "  text\n   \n", 1),
        ),
        (
            "--- inserted before the header: a new empty document",
            "a: 1\n",
            None,
            lambda t: t.replace("sealedcfg:", "---\nsealedcfg:", 1),
        ),
        (
            "<< quoted: inherited settings silently dropped",
            "base: &d\n  x: 1\nsvc:\n  <<: *d\n  y: 2\n",
            r".",
            lambda t: t.replace("<<:", '"<<":'),
        ),
        (
            "quoted key 8080 unquoted: its type changes",
            '"8080": web\n',
            r".",
            lambda t: t.replace('"8080":', "8080:"),
        ),
        (
            "quoted value on unquoted: a bool to YAML 1.1 readers",
            'flag: "on"\n',
            r".",
            lambda t: t.replace('"on"', "on"),
        ),
        (
            "an anchor defined again and the definitions reordered",
            "a: &x one\nb: &x two\nc: *x\n",
            r".",
            lambda t: t.replace("a: &x one\nb: &x two\n", "b: &x two\na: &x one\n"),
        ),
        (
            "keys reordered (dict order is what Python readers see)",
            "a: 1\nb: 2\n",
            None,
            lambda t: "\n".join([t.split("\n")[1], t.split("\n")[0], *t.split("\n")[2:]]),
        ),
        (
            "a core tag added outside a token",
            "n: 5\n",
            None,
            lambda t: t.replace("n: sealedcfg", "n: !!str sealedcfg", 1),
        ),
        (
            "an application tag added outside a token",
            "n: 5\n",
            None,
            lambda t: t.replace("n: sealedcfg", "n: !Ref sealedcfg", 1),
        ),
        (
            "plaintext value replaced by its own plaintext (must stay sealed)",
            "pw: hunter2\n",
            None,
            lambda t: TOKEN.sub("hunter2", t, count=1),
        ),
    ],
)
def test_meaning_changes_are_refused(
    work: Path,
    keys: KeySource,
    desc: str,
    plaintext: str,
    plain: str | None,
    change: Callable[[str], str],
) -> None:
    target = seal(work, keys, plaintext, plain=plain)
    mutate(target, change)
    assert refused(target, keys) in (OpenError, InputError), desc


@pytest.mark.parametrize(
    "line_break", ["\r", "\x85", "\u2028", "\u2029"], ids=["CR", "NEL", "LS", "PS"]
)
def test_ambiguous_line_breaks_are_refused_everywhere(
    work: Path, keys: KeySource, line_break: str
) -> None:
    target = seal(work, keys, "x: |+\n  v\n\ny: 1\n", plain="^y$")
    mutate(target, lambda t: t.replace("\ny: 1", f"\n{line_break}y: 1", 1))
    assert refused(target, keys) is InputError
    plain = write(work / "q.yaml", f"a: 1{line_break}b: 2\n")
    with pytest.raises(InputError, match="line break"):
        api.encrypt_file(plain, keys)


@pytest.mark.parametrize(
    ("desc", "change"),
    [
        ("a comment line", lambda t: t.replace("db:\n", "# reviewed\ndb:\n", 1)),
        ("a blank line", lambda t: t.replace("\nlist:", "\n\nlist:", 1)),
        ("a trailing comment", lambda t: t.replace("db:\n", "db:   # the database\n", 1)),
        ("flow whitespace", lambda t: t.replace("flow: {a: ", "flow: {  a:   ", 1)),
        ("quote style of a plain-rule string", lambda t: t.replace("'web'", '"web"', 1)),
        ("block list re-indented", lambda t: t.replace("\n- ", "\n  - ")),
    ],
)
def test_layout_that_keeps_the_meaning_still_opens(
    work: Path, keys: KeySource, desc: str, change: Callable[[str], str]
) -> None:
    text = "db:\n  host: 'web'\n  pw: s3cret\nlist:\n- a\n- b\nflow: {a: 1, b: 2}\n"
    target = seal(work, keys, text, plain=r"host$")
    mutate(target, change)
    assert api.load_all(target, keys=keys) == [yaml.safe_load(text)], desc
    assert api.verify_file(target, keys).ok


# ---------------------------------------------------------------- binding


def test_a_profile_copied_over_another_is_refused(work: Path, keys: KeySource, key: str) -> None:
    (work / ".git").mkdir()
    (work / "config").mkdir()
    staging = seal(work, keys, "db: staging-pw\n", name="config/staging.yaml")
    prod = seal(work, keys, "db: prod-pw\n", name="config/prod.yaml")
    shutil.copyfile(staging, prod)
    with pytest.raises(InputError, match=r"sealed for 'config/staging\.yaml'"):
        api.load(prod, keys=keys)
    assert not api.verify_file(prod, keys).ok
    proc = cli("export", str(prod), env={"SEALEDCFG_KEY": key})
    assert proc.returncode == 3
    assert proc.stderr.startswith("sealedcfg: error: ")
    assert "sealedcfg rebind" in proc.stderr
    assert "staging-pw" not in proc.stdout + proc.stderr


def test_rebind_needs_the_key_and_authenticates(work: Path, keys: KeySource, key: str) -> None:
    (work / ".git").mkdir()
    old = seal(work, keys, "db: pw\n", name="old.yaml")
    new = work / "new.yaml"
    old.rename(new)
    with pytest.raises(InputError):
        api.load(new, keys=keys)
    with pytest.raises(OpenError):
        rotation.rebind(new, KeySource(key=api.keygen(), env={}))
    assert rotation.rebind(new, keys) == ("old.yaml", "new.yaml")
    assert api.load(new, keys=keys) == {"db": "pw"}
    mutate(new, lambda t: t.replace('bind: "new.yaml"', 'bind: "old.yaml"'))
    with pytest.raises(OpenError):  # the bind field is authenticated
        rotation.rebind(new, keys)


# ---------------------------------------------------------------- sealed means openable


@pytest.mark.parametrize(
    "text",
    ['password: "hunter2"#note\n', "l:\n- 'x'#c\n"],
    ids=["quoted then #", "list item quoted then #"],
)
def test_a_value_that_would_not_read_back_is_refused_at_encrypt(
    work: Path, keys: KeySource, text: str
) -> None:
    target = write(work / "p.yaml", text)
    with pytest.raises(InputError, match="line") as info:
        api.encrypt_file(target, keys)
    assert "hunter2" not in info.value.message
    assert target.read_text() == text


def test_everything_that_seals_opens(work: Path, keys: KeySource, key: str) -> None:
    for i, text in enumerate(["key: &a:b value\n", "a: !!binary aGVsbG8=\n", "a: !!int 3\n"]):
        target = write(work / f"p{i}.yaml", text)
        try:
            api.encrypt_file(target, keys)
        except InputError:
            continue  # refused before sealing is fine; sealed-but-unopenable is not
        proc = cli("decrypt", str(target), env={"SEALEDCFG_KEY": key})
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == text
        assert not TOKEN.search(proc.stdout)


def test_cr_only_text_is_refused_before_sealing(work: Path, keys: KeySource) -> None:
    target = write(work / "cr.yaml", b"a: 1\rb: 2\r")
    with pytest.raises(InputError, match="lone CR"):
        api.encrypt_file(target, keys)
    assert target.read_bytes() == b"a: 1\rb: 2\r"


# ---------------------------------------------------------------- one parser, one model


def test_flow_host_port_reads_the_same_everywhere(work: Path, keys: KeySource) -> None:
    target = seal(work, keys, "nodes: [redis-1.prod.internal:6379]\n")
    assert api.load(target, keys=keys) == {"nodes": ["redis-1.prod.internal:6379"]}
    assert values.get(target, "nodes.0", keys) == "redis-1.prod.internal:6379"


def test_yaml_1_1_directive_is_honoured_by_every_reader(work: Path, keys: KeySource) -> None:
    target = seal(work, keys, "%YAML 1.1\n---\nx: off\nnum: 014\ny: 1\n")
    assert [(e.path, e.type) for e in api.ls(target)] == [
        ("x", "bool"),
        ("num", "int"),
        ("y", "int"),
    ]
    assert api.load(target, keys=keys) == {
        "x": False,
        "num": 12,
        True: 1,
    }  # `y` is a bool key in 1.1
    assert values.get(target, "x", keys) is False


def test_typed_keys_are_addressable_as_written(work: Path, keys: KeySource) -> None:
    target = seal(work, keys, 'true: a\n0x10: b\nnull: c\n"": d\nday: 2024-02-30\n')
    assert values.get(target, "true", keys) == "a"
    assert values.get(target, "0x10", keys) == "b"
    assert values.get(target, "null", keys) == "c"
    assert values.get(target, "day", keys) == "2024-02-30"  # no such date: a string
    assert api.load(target, keys=keys) == {
        True: "a",
        16: "b",
        None: "c",
        "": "d",
        "day": "2024-02-30",
    }
    names = api.load_all(target, keys=keys, text_keys=True)[0]
    assert list(names) == ["true", "0x10", "null", "", "day"]


def test_keys_a_loader_would_merge_are_refused(work: Path, keys: KeySource) -> None:
    target = write(work / "p.yaml", "0x10: a\n16: b\n")
    with pytest.raises(InputError, match="same value"):
        api.encrypt_file(target, keys)


def test_sealed_files_load_in_standard_yaml_tools(work: Path, keys: KeySource) -> None:
    text = (
        "bin: !!binary aGVsbG8=\nn: !!int 3\ns: !!str 4\nref: !Ref bucket\n"
        "t: !!timestamp 2024-01-01\n"
    )
    target = seal(work, keys, text)
    sealed = target.read_text()
    assert "!!" not in sealed
    assert "!Ref" in sealed  # application tags stay readable outside
    loaded = yaml.load(sealed, Loader=_RefLoader)  # noqa: S506 - a SafeLoader subclass
    assert all(isinstance(v, str) for v in loaded.values() if not isinstance(v, dict))
    YAML(typ="safe", pure=True).load(sealed.replace("!Ref ", ""))
    assert api.decrypt_file(target, keys).decode() == text
    assert api.load(target, keys=keys)["bin"] == b"hello"


class _RefLoader(yaml.SafeLoader):
    pass


def _ref(loader: yaml.SafeLoader, node: yaml.Node) -> object:
    assert isinstance(node, yaml.ScalarNode)
    return loader.construct_scalar(node)


_RefLoader.add_constructor("!Ref", _ref)


# ---------------------------------------------------------------- metadata


def test_metadata_is_kept_by_rotate_reseal_and_edit(work: Path, keys: KeySource) -> None:
    target = seal(work, keys, "items:\n- a\n- b\nkey: v\n")
    meta = (("expires", "2027-03-01"), ("provider", "stripe"))
    # Give two values metadata the way a key holder would: re-seal them with it.
    from sealedcfg.engine import access, sealing
    from sealedcfg.yamltext.document import splice

    with access.opened(target, keys) as (profile, data_key, header):
        assert profile.opened is not None
        repl = []
        for node in profile.body.nodes:
            if sealing.is_token(node) and node.path[1:] in (("items", 1), ("key",)):
                source = profile.opened.by_path[node.path][1]
                tok = sealing.seal_node(data_key, header.file_id, node, source, meta)
                repl.append((node.start, node.end, tok))
        sealed = document.parse(splice(profile.body.text, repl), "p.yaml")
        final = sealing.finish_header(header, data_key, profile.opened.body, sealed=sealed)
        target.write_bytes(profile.to_bytes(sealed.text, final))

    def metas() -> dict[str, dict[str, str]]:
        return {e.path: e.meta for e in api.ls(target) if e.kind == "sealed"}

    assert metas()["key"] == dict(meta)
    values.unset(target, "items.0", keys)  # items.1 moves to items.0: re-sealed at its new path
    assert metas()["items.0"] == dict(meta)
    rotation.rotate(target, keys)
    assert metas()["items.0"] == dict(meta)
    assert metas()["key"] == dict(meta)
    values.set_value(target, "key", "new-value", keys)
    assert metas()["key"] == dict(meta)
    assert api.load(target, keys=keys) == {"items": ["b"], "key": "new-value"}


def test_sealing_checks_metadata_against_the_grammar(work: Path, keys: KeySource) -> None:
    from sealedcfg.engine import access, sealing

    target = seal(work, keys, "k: v\n")
    with access.opened(target, keys) as (profile, data_key, header):
        node = next(n for n in profile.body.nodes if sealing.is_token(n))
        for bad in ((("B", "x"),), (("a", "x y"),), (("b", "1"), ("a", "2"))):
            with pytest.raises(InputError, match="metadata"):
                sealing.seal_node(data_key, header.file_id, node, "v", bad)
    with pytest.raises(tokens.TokenError):
        tokens.parse("sealedcfg;v1;str;b=1+a=2;" + "A" * 60)


# ---------------------------------------------------------------- helpers


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.text(max_size=6), st.sampled_from(["", '""', "1:x", "a.b", "\\", '"'])),
        min_size=1,
        max_size=4,
    )
)
def test_display_paths_read_back(keys_: list[str]) -> None:
    from sealedcfg.yamltext import document, paths

    shown = document.format_path((0, *keys_))
    assert paths.split(shown) == (None, keys_)


def test_the_empty_key_is_addressable(work: Path, keys: KeySource) -> None:
    target = seal(work, keys, '"": top\na:\n  "": inner\n  "1:x": c\n')
    assert values.get(target, '""', keys) == "top"
    assert values.get(target, 'a.""', keys) == "inner"
    values.set_value(target, 'a.""', "changed", keys)
    assert api.load(target, keys=keys) == {"": "top", "a": {"": "changed", "1:x": "c"}}
    assert [e.path for e in api.ls(target)] == ['""', "a", 'a.""', "a.1:x"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a: &x secret\n&x b: 1\nc: *x\n", "anchor on a mapping key"),
        ('a: "\\ud800"\n', "lone surrogate"),
        ('"\\udfff": x\n', "lone surrogate"),
        ("a: 0x" + "f" * 4000 + "\n", "too large"),
        ("%YAML 1.1\n---\na: 1" + ":59" * 3000 + "\n", "too large"),
    ],
    ids=["key anchor", "surrogate value", "surrogate key", "huge hex", "huge sexagesimal"],
)
def test_what_readers_disagree_on_or_cannot_print_is_refused(
    work: Path, keys: KeySource, text: str, why: str
) -> None:
    target = write(work / "p.yaml", text)
    with pytest.raises(InputError, match=why):
        api.encrypt_file(target, keys)
    assert target.read_text() == text


def test_encrypt_does_not_adopt_values_it_did_not_seal(
    work: Path, keys: KeySource, key: str
) -> None:
    target = seal(work, keys, "admins: [alice, bob]\n", plain=r"^admins")
    planted = target.read_text().replace("[alice, bob]", "[alice, bob, eve]")
    target.write_text(planted)
    proc = cli("encrypt", str(target), env={"SEALEDCFG_KEY": key})
    assert proc.returncode == 4  # plain by rule: nothing to seal, and not authentic
    with pytest.raises(OpenError):
        api.load(target, keys=keys)
    target = seal(work, keys, "admins:\n  alice: a\n", name="q.yaml")
    target.write_text(target.read_text().replace("admins:\n", "admins:\n  eve: e\n"))
    proc = cli("encrypt", str(target), env={"SEALEDCFG_KEY": key})
    assert proc.returncode == 3
    assert "admins.eve" in proc.stderr
    assert "--adopt" in proc.stderr
    proc = cli("encrypt", "--adopt", str(target), env={"SEALEDCFG_KEY": key})
    assert proc.returncode == 0, proc.stderr
    assert "adopted: admins.eve" in proc.stderr
    assert api.load(target, keys=keys) == {"admins": {"eve": "e", "alice": "a"}}


def test_an_older_token_of_the_same_value_does_not_open(work: Path, keys: KeySource) -> None:
    """The MAC covers each token's type and metadata, not only the value."""
    from sealedcfg.lifecycle import store

    target = seal(work, keys, "api_key: sk-123\nother: x\n")
    store.change_meta(target, "api_key", {"expires": "2027-01-01"}, keys)
    first = target.read_text()
    store.change_meta(target, "api_key", {"expires": "2030-01-01"}, keys)
    second = target.read_text()
    old_token = next(t for t in TOKEN.findall(first) if "expires=2027" in t)
    new_token = next(t for t in TOKEN.findall(second) if "expires=2030" in t)
    target.write_text(second.replace(new_token, old_token))  # same value, same key, same path
    with pytest.raises(OpenError):
        api.load(target, keys=keys)


def test_a_plaintext_rule_from_the_repository_needs_approval(
    work: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attacker widens a creation rule's `plain:` to '.*': new values would be
    written unsealed.  The pattern is used only once the user approved that text."""
    home = work / "home"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    repo = work / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "config").mkdir()
    rules_file = repo / ".sealedcfg.yaml"
    rules_file.write_text("creation_rules:\n  - path: 'config/*.yaml'\n    plain: 'host$'\n")
    env = {"SEALEDCFG_KEY": key, "XDG_CONFIG_HOME": str(home)}
    ok = cli("approve", "--yes", env=env, cwd=repo)
    assert ok.returncode == 0, ok.stderr
    assert cli("set", "config/a.yaml", "db.host", "h1", env=env, cwd=repo).returncode == 0
    rules_file.write_text("creation_rules:\n  - path: 'config/*.yaml'\n    plain: '.*'\n")
    leak = cli("set", "config/new.yaml", "stripe.api_key", "sk_live_123", env=env, cwd=repo)
    assert leak.returncode == 3
    assert "not approved" in leak.stderr
    assert not (repo / "config" / "new.yaml").exists()
    assert "sk_live_123" not in leak.stderr


def test_a_committed_directory_link_cannot_serve_another_file(work: Path, keys: KeySource) -> None:
    (work / ".git").mkdir()
    seal(work, keys, "db: staging-pw\n", name="app.yaml")
    (work / "prod").symlink_to(".")  # `prod -> .`: prod/app.yaml is app.yaml
    with pytest.raises(InputError, match="symbolic link"):
        api.load(work / "prod" / "app.yaml", keys=keys)
    with pytest.raises(InputError, match="symbolic link"):
        values.set_value(work / "prod" / "app.yaml", "db", "new", keys)


def test_encrypt_with_nothing_new_still_authenticates(work: Path, keys: KeySource) -> None:
    target = seal(work, keys, "a: 1\n")
    mutate(target, lambda t: "admin_override:\n" + t)
    with pytest.raises(OpenError):
        api.encrypt_file(target, keys)


@pytest.mark.parametrize(
    "change",
    [
        lambda repo: (repo / ".sealedcfg.yaml").write_text(
            "creation_rules:\n  - path_regex: 'config/.*'\n    plain: '.*'\n"
        ),
    ],
    ids=["glob text reused as a regex"],
)
def test_an_approval_covers_only_the_rule_approved(
    work: Path, key: str, monkeypatch: pytest.MonkeyPatch, change: Callable[[Path], object]
) -> None:
    home = work / "home"
    repo = work / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "config").mkdir()
    (repo / ".sealedcfg.yaml").write_text(
        "creation_rules:\n  - path: 'config/.*'\n    plain: '.*'\n"
    )
    env = {"SEALEDCFG_KEY": key, "XDG_CONFIG_HOME": str(home)}
    assert cli("approve", "--yes", env=env, cwd=repo).returncode == 0
    change(repo)
    leak = cli("set", "config/new.yaml", "pw", "sk_live_123", env=env, cwd=repo)
    assert leak.returncode == 3, leak.stderr
    assert "not approved" in leak.stderr


def test_a_submodule_checkout_cannot_serve_another_file(work: Path, keys: KeySource) -> None:
    (work / ".git").mkdir()
    sub = work / "prod"
    sub.mkdir()
    (sub / ".git").write_text("gitdir: ../.git/modules/prod\n")  # as git writes a submodule's
    with pytest.raises(InputError, match="submodule"):
        api.load(sub / "app.yaml", keys=keys)
