"""`sealedcfg check --import-gitleaks FILE`: a `.gitleaks.toml` as a `scan:` section.

Custom rules (id, description, regex, secretGroup, entropy, keywords, path) and
allowlists (global `[allowlist]` / `[[allowlists]]` and per-rule ones) are converted;
what has no equivalent (path-only rules, commit allowlists, `[extend]`) is listed in the
notes, never dropped silently.  Gitleaks patterns are Go RE2, which `scan.custom` runs
on RE2 too; a pattern RE2 rejects is reported and skipped.
"""

from __future__ import annotations

import io
import tomllib
from typing import Any

from sealedcfg.errors import InputError

from . import custom


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _allow(node: dict[str, Any], rule_id: str | None, notes: list[str]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    if node.get("description"):
        out["description"] = str(node["description"])
    for src, dst in (("paths", "paths"), ("regexes", "regexes"), ("stopwords", "stopwords")):
        if node.get(src):
            out[dst] = _list(node[src])
    if node.get("commits"):
        notes.append(f"{rule_id or 'global'} allowlist: 'commits' has no equivalent (skipped)")
    targets = _list(node.get("targetRules"))
    if rule_id is not None:
        out["rules"] = [rule_id]
    elif targets:
        out["rules"] = targets
    if str(node.get("condition", "OR")).upper() == "AND":
        out["condition"] = "AND"
    target = str(node.get("regexTarget", "secret")).lower()
    if target in ("line", "match"):
        out["target"] = "line"  # a match lies within its line: the closest we have
    if not any(k in out for k in ("paths", "regexes", "stopwords")):
        return None
    return out


def convert(text: str, name: str) -> tuple[dict[str, Any], list[str]]:
    """The `scan:` section for a gitleaks config, and notes on what was not converted."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{name}: not valid TOML ({exc})") from None
    notes: list[str] = []
    if "extend" in data:
        notes.append("[extend]: default gitleaks rules not imported (sealedcfg has its own)")
    rules: list[dict[str, Any]] = []
    allow: list[dict[str, Any]] = []
    for node in data.get("rules", []):
        rule_id = str(node.get("id", ""))
        if "regex" not in node:
            notes.append(f"{rule_id}: a path-only rule has no equivalent (skipped)")
            continue
        rule: dict[str, Any] = {"id": rule_id}
        if node.get("description"):
            rule["description"] = str(node["description"])
        rule["regex"] = str(node["regex"])
        if node.get("secretGroup"):
            rule["secret_group"] = int(node["secretGroup"])
        if node.get("entropy"):
            rule["entropy"] = float(node["entropy"])
        if node.get("keywords"):
            rule["keywords"] = _list(node["keywords"])
        if node.get("path"):
            rule["paths"] = _list(node["path"])
        try:
            custom.parse({"rules": [rule]}, name)
        except InputError as exc:
            notes.append(f"{rule_id}: skipped: {exc.message.removeprefix(name + ': ')}")
            continue
        rules.append(rule)
        per_rule = list(node.get("allowlists", []))
        if isinstance(node.get("allowlist"), dict):
            per_rule.append(node["allowlist"])
        for a in per_rule:
            entry = _allow(a, rule_id, notes)
            if entry is not None:
                allow.append(entry)
    globals_ = list(data.get("allowlists", []))
    if isinstance(data.get("allowlist"), dict):
        globals_.append(data["allowlist"])
    for a in globals_:
        entry = _allow(a, None, notes)
        if entry is not None:
            allow.append(entry)
    valid: list[dict[str, Any]] = []
    for entry in allow:
        try:
            custom.parse({"allowlist": [entry]}, name)
        except InputError as exc:
            notes.append(f"allowlist skipped: {exc.message.removeprefix(name + ': ')}")
            continue
        valid.append(entry)
    section: dict[str, Any] = {}
    if rules:
        section["rules"] = rules
    if valid:
        section["allowlist"] = valid
    return section, notes


def to_yaml(section: dict[str, Any]) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump({"scan": section}, out)
    return out.getvalue()
