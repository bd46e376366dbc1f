"""Team rules and allowlists from the `scan:` section of `.sealedcfg.yaml`.

    scan:
      rules:
        - id: acme-api-key                 # reported as the rule id
          description: ACME API key
          regex: '\\bacme_[a-z0-9]{32}\\b'   # RE2 syntax (as gitleaks)
          secret_group: 0                  # which group is the secret (0: the whole match)
          keywords: [acme_]                # the line must contain one (case-insensitive)
          entropy: 3.0                     # minimum Shannon entropy of the secret
          paths: ['\\.py$']                 # only files whose path matches one of these
      allowlist:
        - description: test fixtures
          paths: ['^tests/fixtures/']      # any path matching ...
          regexes: ['^dummy']              # ... or any secret (or line) matching ...
          stopwords: [example]             # ... or any secret containing ...
          rules: [generic-secret-assignment]   # optional: only for these rules
          condition: OR                    # AND: every given criterion must match
          target: secret                   # or `line`

The rules file is repository content, so every regex runs on RE2 (linear time: a
pattern cannot make the hook hang) and sizes are capped before anything is compiled.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sealedcfg.errors import InputError

from . import values
from .model import Finding, fingerprint, normalize_path, redact

MAX_RULES = 500
MAX_PATTERN = 4096
_RULE_FIELDS = {"id", "description", "regex", "secret_group", "keywords", "entropy", "paths"}
_ALLOW_FIELDS = {"description", "paths", "regexes", "stopwords", "rules", "condition", "target"}


def _re2() -> Any:
    # google-re2 has no type information; the module is used through this one seam.
    return importlib.import_module("re2")


@dataclass(frozen=True)
class CustomRule:
    rule_id: str
    description: str
    regex: Any
    secret_group: int
    keywords: tuple[str, ...]
    entropy: float | None
    paths: tuple[Any, ...]


@dataclass(frozen=True)
class Allow:
    paths: tuple[Any, ...]
    regexes: tuple[Any, ...]
    stopwords: tuple[str, ...]
    rules: frozenset[str]
    all_of: bool
    on_line: bool

    def allows(self, finding: Finding, secret: str, line: str) -> bool:
        if self.rules and finding.rule_id not in self.rules:
            return False
        path = normalize_path(finding.path)
        target = line if self.on_line else secret
        checks = []
        if self.paths:
            checks.append(any(p.search(path) for p in self.paths))
        if self.regexes:
            checks.append(any(r.search(target) for r in self.regexes))
        if self.stopwords:
            low = secret.lower()
            checks.append(any(w in low for w in self.stopwords))
        if not checks:
            return False
        return all(checks) if self.all_of else any(checks)


@dataclass(frozen=True)
class ScanConfig:
    rules: tuple[CustomRule, ...] = ()
    allow: tuple[Allow, ...] = ()


EMPTY = ScanConfig()


def _compile(pattern: object, name: str, where: str) -> Any:
    text = str(pattern)
    if len(text) > MAX_PATTERN:
        raise InputError(f"{name}: {where}: pattern longer than {MAX_PATTERN} characters")
    re2 = _re2()
    options = re2.Options()
    options.log_errors = False  # RE2 would print to stderr itself: one error line is ours
    options.max_mem = 8 << 20  # bounded memory per pattern, whatever the rules file says
    try:
        return re2.compile(text, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise InputError(f"{name}: {where}: not a valid RE2 pattern ({reason})") from None


def _strings(node: Any, field: str, name: str, where: str) -> list[str]:
    value = node.get(field) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_RULES:
        raise InputError(f"{name}: {where}: '{field}' must be a list (at most {MAX_RULES})")
    return [str(v) for v in value]


def _check_fields(node: Any, allowed: set[str], name: str, where: str) -> None:
    if not isinstance(node, dict):
        raise InputError(f"{name}: {where}: must be a mapping")
    unknown = sorted(str(k) for k in node if k not in allowed)
    if unknown:
        raise InputError(
            f"{name}: {where}: unknown field {unknown[0]!r}",
            hints=(f"allowed here: {', '.join(sorted(allowed))}",),
        )


def _rule(node: Any, name: str, i: int) -> CustomRule:
    where = f"scan.rules[{i}]"
    _check_fields(node, _RULE_FIELDS, name, where)
    rule_id = str(node.get("id") or "")
    if not rule_id or not rule_id.replace("-", "").replace("_", "").isalnum():
        raise InputError(f"{name}: {where}: 'id' must be letters, digits, '-' or '_'")
    if "regex" not in node:
        raise InputError(f"{name}: {where}: a rule needs a 'regex'")
    regex = _compile(node["regex"], name, where)
    try:
        group = int(node.get("secret_group", 0))
        entropy = float(node["entropy"]) if node.get("entropy") is not None else None
    except (TypeError, ValueError):
        raise InputError(f"{name}: {where}: 'secret_group' and 'entropy' must be numbers") from None
    if not 0 <= group <= regex.groups:
        raise InputError(f"{name}: {where}: the regex has no group {group}")
    return CustomRule(
        rule_id=rule_id,
        description=str(node.get("description") or rule_id),
        regex=regex,
        secret_group=group,
        keywords=tuple(k.lower() for k in _strings(node, "keywords", name, where)),
        entropy=entropy,
        paths=tuple(_compile(p, name, where) for p in _strings(node, "paths", name, where)),
    )


def _allow(node: Any, name: str, i: int) -> Allow:
    where = f"scan.allowlist[{i}]"
    _check_fields(node, _ALLOW_FIELDS, name, where)
    condition = str(node.get("condition", "OR")).upper()
    target = str(node.get("target", "secret")).lower()
    if condition not in ("OR", "AND") or target not in ("secret", "line"):
        raise InputError(f"{name}: {where}: condition is OR or AND, target is secret or line")
    return Allow(
        paths=tuple(_compile(p, name, where) for p in _strings(node, "paths", name, where)),
        regexes=tuple(_compile(p, name, where) for p in _strings(node, "regexes", name, where)),
        stopwords=tuple(w.lower() for w in _strings(node, "stopwords", name, where)),
        rules=frozenset(_strings(node, "rules", name, where)),
        all_of=condition == "AND",
        on_line=target == "line",
    )


def parse(section: Any, name: str) -> ScanConfig:
    """The `scan:` section of a rules file (already loaded YAML); errors name the file."""
    if section is None:
        return EMPTY
    _check_fields(section, {"rules", "allowlist"}, name, "scan")
    raw_rules = section.get("rules") or []
    raw_allow = section.get("allowlist") or []
    if not isinstance(raw_rules, list) or not isinstance(raw_allow, list):
        raise InputError(f"{name}: scan: 'rules' and 'allowlist' must be lists")
    if len(raw_rules) + len(raw_allow) > MAX_RULES:
        raise InputError(f"{name}: scan: at most {MAX_RULES} rules and allowlist entries")
    return ScanConfig(
        rules=tuple(_rule(r, name, i) for i, r in enumerate(raw_rules)),
        allow=tuple(_allow(a, name, i) for i, a in enumerate(raw_allow)),
    )


def rule_hits(
    config: ScanConfig, lines: list[str], lower_lines: Iterable[str], path: str
) -> list[tuple[int, int, CustomRule, str]]:
    """(line index, column, rule, secret) for every custom-rule match."""
    out: list[tuple[int, int, CustomRule, str]] = []
    norm = normalize_path(path)
    active = [r for r in config.rules if not r.paths or any(p.search(norm) for p in r.paths)]
    if not active:
        return out
    for idx, low in enumerate(lower_lines):
        for rule in active:
            if rule.keywords and not any(k in low for k in rule.keywords):
                continue
            for m in rule.regex.finditer(lines[idx]):
                secret = m.group(rule.secret_group)
                if not secret:
                    continue
                if rule.entropy is not None and values.shannon_entropy(secret) < rule.entropy:
                    continue
                out.append((idx, m.start(rule.secret_group), rule, secret))
    return out


def finding(rule: CustomRule, path: str, idx: int, col: int, secret: str) -> Finding:
    return Finding(
        path=path,
        line=idx + 1,
        col=col + 1,
        rule_id=rule.rule_id,
        message=f"{rule.description}: {redact(secret)}",
        fingerprint=fingerprint(rule.rule_id, path, secret),
    )
