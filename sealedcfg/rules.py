"""`.sealedcfg.yaml`: creation rules, in the manner of sops' creation_rules.

    creation_rules:
      - path: config/*.yaml            # glob from the rules file's directory (** allowed)
        plain: '(^|\\.)(host|port)$'   # dotted paths that stay plaintext
        recipients:
          - key_id: 3q2-7wAbCdE        # a raw key, found by id among the given keys
            key_file: ~/.config/sealedcfg/keys/3q2-7wAbCdE.key
          - passphrase: true

The first rule whose pattern matches a file applies.  The file is found by
walking up from the working directory to the repository root.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealedcfg.errors import InputError

RULES_NAME = ".sealedcfg.yaml"
_RULE_FIELDS = {"path", "path_regex", "plain", "recipients"}
_RECIPIENT_FIELDS = {"key_id", "key_file", "passphrase"}


@dataclass(frozen=True)
class RecipientRule:
    key_id: str | None = None
    key_file: str | None = None
    passphrase: bool = False


@dataclass(frozen=True)
class CreationRule:
    pattern: re.Pattern[str]
    source: str  # the glob or regex as written, for messages
    plain: str | None
    recipients: tuple[RecipientRule, ...]


@dataclass(frozen=True)
class Rules:
    root: Path  # the directory holding .sealedcfg.yaml
    rules: tuple[CreationRule, ...]

    def match(self, file: str | os.PathLike[str]) -> CreationRule | None:
        try:
            rel = Path(os.path.abspath(file)).relative_to(self.root.resolve())
        except ValueError:
            return None
        target = rel.as_posix()
        return next((r for r in self.rules if r.pattern.fullmatch(target)), None)

    def key_file_path(self, recipient: RecipientRule) -> Path | None:
        if not recipient.key_file:
            return None
        path = Path(os.path.expanduser(recipient.key_file))
        return path if path.is_absolute() else self.root / path


def glob_to_regex(glob: str) -> re.Pattern[str]:
    """`*` within a segment, `**` across segments, `?`, and `[...]` classes."""
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
    return re.compile("".join(out))


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
    if not isinstance(data, dict):
        raise InputError(f"{name}: expected a mapping with 'creation_rules'")
    _no_unknown(data, {"creation_rules"}, name)
    raw_rules = data.get("creation_rules") or []
    if not isinstance(raw_rules, list):
        raise InputError(f"{name}: 'creation_rules' must be a list")
    return Rules(root, tuple(_rule(r, name) for r in raw_rules))


def _line(node: Any) -> str:
    lc = getattr(node, "lc", None)
    return f" (line {lc.line + 1})" if lc is not None else ""


def _no_unknown(node: dict[str, Any], allowed: set[str], name: str) -> None:
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
            pattern = re.compile(source)
        plain = node.get("plain")
        if plain is not None:
            plain = str(plain)
            re.compile(plain)
    except re.error as exc:
        raise InputError(f"{name}: invalid regular expression{_line(node)}: {exc.msg}") from None
    recipients = []
    for item in node.get("recipients") or []:
        if not isinstance(item, dict):
            raise InputError(f"{name}: each recipient must be a mapping{_line(node)}")
        _no_unknown(item, _RECIPIENT_FIELDS, name)
        recipients.append(
            RecipientRule(
                key_id=str(item["key_id"]) if item.get("key_id") else None,
                key_file=str(item["key_file"]) if item.get("key_file") else None,
                passphrase=bool(item.get("passphrase", False)),
            )
        )
    return CreationRule(pattern, source, plain, tuple(recipients))
