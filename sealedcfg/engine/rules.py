"""`.sealedcfg.yaml`: creation rules, in the manner of sops' creation_rules.

    creation_rules:
      - path: config/*.yaml            # glob from the rules file's directory (** allowed)
        plain: '(^|\\.)(host|port)$'   # dotted paths that stay plaintext
        recipients:
          - key_id: 3q2-7wAbCdE        # a raw key, found by id among the user's keys
            label: ci
          - age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
            label: alice
          - kms: arn:aws:kms:eu-west-1:111122223333:alias/sealedcfg
          - passphrase: true

    profiles:
      dir: config                      # `--profile prod` is config/prod.yaml

The first rule whose pattern matches a file applies.  The file is found by
walking up from the working directory to the repository root.

The rules file lives in the repository, so anyone with write access controls
it: it may name key *ids*, never a path to read a key from (a `key_file`
field is refused), and the keys it names must come from the user's own
sources (keys.py).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealedcfg.base import limits
from sealedcfg.base.pattern import Pattern, compile_pattern
from sealedcfg.errors import InputError
from sealedcfg.recipients import table
from sealedcfg.recipients.base import LABEL as _LABEL
from sealedcfg.recipients.base import Target

RULES_NAME = ".sealedcfg.yaml"
LIFECYCLE_FIELDS = ("providers", "on_rotate")  # read by lifecycle/commands.py
TOP_FIELDS = frozenset({"creation_rules", "scan", "profiles", *LIFECYCLE_FIELDS})
_RULE_FIELDS = {"path", "path_regex", "plain", "recipients"}
#: A recipient's field in the rules file, and the recipient kind it names.
_RECIPIENT_KINDS = {"key_id": "key", "age": "age", "kms": "kms", "passphrase": "passphrase"}
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{10}[AEIMQUYcgkosw048]")  # canonical base64url of 8 bytes


@dataclass(frozen=True)
class CreationRule:
    pattern: Pattern  # RE2: the rules file is attacker-writable
    source: str  # the glob or regex as written, for messages
    plain: str | None
    recipients: tuple[Target, ...]


@dataclass(frozen=True)
class Rules:
    root: Path  # the directory holding .sealedcfg.yaml
    rules: tuple[CreationRule, ...]
    # The `scan:` section (team rules, allowlists) as a sealedcfg.scan.custom.ScanConfig.
    scan: Any = dataclasses.field(default=None, compare=False)
    # `profiles: {dir: ...}`: where `--profile NAME` looks (engine/profiles.py).
    profiles_dir: str | None = None

    def match(self, file: str | os.PathLike[str]) -> CreationRule | None:
        try:
            rel = Path(os.path.abspath(file)).relative_to(self.root.resolve())
        except ValueError:
            return None
        target = rel.as_posix()
        return next((r for r in self.rules if r.pattern.fullmatch(target)), None)


def glob_to_regex(glob: str) -> Pattern:
    """`*` within a segment, `**` across segments, `?`, and `[...]` classes.

    Compiled with RE2: a glob of many `**` would be a backtracking pattern."""
    out, i = [], 0
    while i < len(glob):
        ch = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            close = glob.find("]", i + 1)
            if close == -1:
                out.append(re.escape(ch))
            else:
                body = glob[i + 1 : close].replace("\\", "\\\\")
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = close
        else:
            out.append(re.escape(ch))
        i += 1
    return compile_pattern("".join(out), f"the path glob {glob!r}")


def find_rules_file(start: str | os.PathLike[str] | None = None) -> Path | None:
    """Walk up from `start` (default: cwd) to the repository root or `/`."""
    here = Path(start or os.getcwd()).resolve()
    if here.is_file():
        here = here.parent
    for directory in (here, *here.parents):
        candidate = directory / RULES_NAME
        if candidate.is_file():
            return candidate
        if (directory / ".git").exists():
            return None
    return None


def load(path: str | os.PathLike[str] | None = None) -> Rules | None:
    """Rules from `path`, or from the nearest rules file; None when there is none."""
    file = Path(path) if path else find_rules_file()
    if file is None:
        return None
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{name}: cannot read the rules file ({type(exc).__name__})") from None
    return parse(text, name, file.parent)


def parse(text: str, name: str, root: Path) -> Rules:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from sealedcfg.yamltext import document
    from sealedcfg.yamltext.expansion import check_alias_expansion

    # The rules file is attacker-writable: bounded like any YAML we read
    # (limits.py) before the round-trip loader (pure Python, and recursive)
    # builds it: 16,000 nested lists crashed it (RecursionError), and 1 MiB of
    # rules took it 8 s.
    if len(text) > limits.MAX_RULES_CHARS:
        raise limits.exceeded(name, "the rules file's size in characters", limits.MAX_RULES_CHARS)
    try:
        body = document.parse(text, name)
    except document.NotAMapping as exc:
        raise _not_a_mapping(name, exc.line) from None
    check_alias_expansion(body, name)
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise InputError(f"{name}: not valid YAML: {exc.problem}{where}") from None
    except YAMLError:
        raise InputError(f"{name}: not valid YAML") from None
    if data is None:
        return Rules(root, ())
    if not isinstance(data, dict):  # a tagged mapping: `!!set {a}`
        lc = getattr(data, "lc", None)
        raise _not_a_mapping(name, lc.line + 1 if lc is not None else 1)
    _no_unknown(data, TOP_FIELDS, name)
    raw_rules = data.get("creation_rules") or []
    if not isinstance(raw_rules, list):
        raise InputError(f"{name}: 'creation_rules' must be a list")
    rules = tuple(_rule(r, name) for r in raw_rules)
    profiles = _profiles(data.get("profiles"), name)
    if data.get("scan") is None:
        return Rules(root, rules, profiles_dir=profiles)
    from sealedcfg.scan import custom

    return Rules(root, rules, custom.parse(data["scan"], name), profiles)


def _not_a_mapping(name: str, line: int) -> InputError:
    return InputError(
        f"{name}: the top level of the rules file must be a mapping (line {line})",
        hints=(f"its fields: {', '.join(sorted(TOP_FIELDS))}",),
    )


def _profiles(node: Any, name: str) -> str | None:
    """`profiles: {dir: DIR}`: checked for shape here, for place when used (profiles.py)."""
    if node is None:
        return None
    if not isinstance(node, dict):
        raise InputError(f"{name}: 'profiles' must be a mapping with 'dir'{_line(node)}")
    _no_unknown(node, {"dir"}, name)
    directory = node.get("dir")
    if not isinstance(directory, str) or not directory.strip():
        raise InputError(f"{name}: 'profiles.dir' must be a directory path{_line(node)}")
    return directory


def _line(node: Any) -> str:
    lc = getattr(node, "lc", None)
    return f" (line {lc.line + 1})" if lc is not None else ""


def _no_unknown(node: dict[str, Any], allowed: Collection[str], name: str) -> None:
    for field in node:
        if field not in allowed:
            raise InputError(
                f"{name}: unknown field {str(field)!r}{_line(node)}",
                hints=(f"allowed here: {', '.join(sorted(allowed))}",),
            )


def _rule(node: Any, name: str) -> CreationRule:
    if not isinstance(node, dict):
        raise InputError(f"{name}: each creation rule must be a mapping{_line(node)}")
    _no_unknown(node, _RULE_FIELDS, name)
    if ("path" in node) == ("path_regex" in node):
        raise InputError(f"{name}: a rule needs exactly one of 'path' or 'path_regex'{_line(node)}")
    try:
        if "path" in node:
            source = str(node["path"])
            pattern = glob_to_regex(source)
        else:
            source = str(node["path_regex"])
            pattern = compile_pattern(source, "path_regex")
        plain = node.get("plain")
        if plain is not None:
            plain = str(plain)
            compile_pattern(plain, "the plaintext rule")
    except InputError as exc:
        raise InputError(f"{name}{_line(node)}: {exc.message}", hints=exc.hints) from None
    raw = node.get("recipients") or []
    if not isinstance(raw, list):
        raise InputError(f"{name}: 'recipients' must be a list{_line(node)}")
    return CreationRule(pattern, source, plain, tuple(_recipient(r, node, name) for r in raw))


def _recipient(item: Any, rule: Any, name: str) -> Target:
    """One recipient of a rule: exactly one of key_id, age, kms, passphrase: true,
    and an optional label (shown by `recipients list`, `ls` and review)."""
    if not isinstance(item, dict):
        raise InputError(f"{name}: each recipient must be a mapping{_line(rule)}")
    if "key_file" in item:
        from sealedcfg.engine.keys import key_dir

        raise InputError(
            f"{name}: 'key_file' is not allowed{_line(item)}: "
            "a key is never read from a path the repository names",
            hints=(
                f"move the key to {key_dir()}/ and keep only its key_id here "
                "(sealedcfg finds it by id)",
                "or give it with SEALEDCFG_KEY_FILE / --key-file",
            ),
        )
    _no_unknown(item, {*_RECIPIENT_KINDS, "label"}, name)
    if "passphrase" in item and not isinstance(item["passphrase"], bool):
        raise InputError(f"{name}: 'passphrase' must be true or false{_line(item)}")
    named = [f for f in _RECIPIENT_KINDS if f in item and item[f] is not False]
    if len(named) != 1:
        raise InputError(
            f"{name}: each recipient needs exactly one of 'key_id', 'age', 'kms' or "
            f"'passphrase: true'{_line(item)}"
        )
    field, label = named[0], item.get("label")
    if label is not None and not (isinstance(label, str) and _LABEL.fullmatch(label)):
        raise InputError(
            f"{name}: 'label' must be a short name (letters, digits, . _ @ -, up to 64)"
            f"{_line(item)}"
        )
    value = item[field]
    if field == "passphrase":
        value = ""
    elif not isinstance(value, str) or (field == "key_id" and not _KEY_ID.fullmatch(value)):
        what = "a key id (11 characters of base64url)" if field == "key_id" else "a string"
        raise InputError(
            f"{name}: '{field}' must be {what}{_line(item)}",
            hints=("`sealedcfg recipients list FILE` shows the ids of a file's keys",),
        )
    kind = table.kind(_RECIPIENT_KINDS[field], name)
    try:
        return kind.parse_target(value, label, f"{name}{_line(item)}")
    except InputError as exc:
        raise InputError(exc.message, hints=exc.hints) from None
