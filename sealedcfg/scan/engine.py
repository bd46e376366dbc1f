"""scan_text: find candidate lines with one cheap pass, then run the rules on those lines.

The prefilter (`prefilter.candidate_lines`) is one RE2 pass over the file that matches any
provider prefix or secret-ish keyword; lines without a match (most of them) cost nothing
more.  On a candidate line, provider regexes run only if it holds a provider prefix and
the name heuristics only if it holds a keyword.  Findings on a
line are deduplicated by span, most specific rule first: a provider token inside a URL
password is reported once, as the provider token.
"""

from __future__ import annotations

import bisect
import re

from . import assign, checks, custom, filetypes, kube, pem, prefilter, providers, values
from .filetypes import Kind
from .model import Finding, fingerprint, redact

_KEYWORD_RE = prefilter.KEYWORD_RE
_URL_CRED_RE = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]{1,30})://(?P<user>[^\s:/@'\"`<>]*)"
    r":(?P<pw>[^\s/@'\"`]+)@(?P<host>[^\s/'\"`?#@:]+)"
)
# `https://<key>:@host`: an API key as the user and an empty password (Basic auth in a URL).
_URL_KEY_USER_RE = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]{1,30})://(?P<user>[^\s:/@'\"`<>]{10,}):@[^\s/'\"`?#@:]+"
)
_PEM_ANY_RE = re.compile(r"^\s*[\"']?-----BEGIN ([A-Z0-9 ]+)-----\s*[\"',]*\s*$")
_ALLOW_RE = re.compile(r"(?:#|//|--|;|/\*|<!--|\bREM\b|%)\s*sealedcfg:\s*allow(?!-)\b")
_ALLOW_NEXT_RE = re.compile(r"(?:#|//|--|;|/\*|<!--|\bREM\b|%)\s*sealedcfg:\s*allow-next-line\b")
# The markers other scanners honour, so a repository moving over keeps its annotations:
# gitleaks' `gitleaks:allow`, detect-secrets' `pragma: allowlist secret` (and `nextline`).
_FOREIGN_ALLOW_RE = re.compile(r"gitleaks:allow|pragma:\s*allowlist[ -]secret")
_FOREIGN_NEXT_RE = re.compile(r"pragma:\s*allowlist[ -]nextline[ -]secret")
_VAULT_HEX_RE = re.compile(r"^\s*[0-9a-f]+\s*$")

_DESCRIPTIONS = {r.rule_id: r.description for r in reversed(providers.RULES)} | {
    "aws-secret-access-key": "AWS secret access key",
    "twilio-auth-token": "Twilio auth token",
    "private-key": "private key",
    "url-credentials": "password in URL",
    "connection-string-password": "password in connection string",
    kube.RULE: "Kubernetes Secret value (base64 is not encryption)",
    assign.GENERIC: "secret assigned to a secret-like name",
}
# Rules that also catch human-chosen passwords (low entropy by nature).
_HUMAN_RULES = frozenset({assign.GENERIC, "connection-string-password", "url-credentials"})
RULE_IDS: tuple[str, ...] = tuple(sorted(_DESCRIPTIONS))


def _masked_lines(lines: list[str], text: str) -> set[int]:
    """Line indices inside key/certificate bodies and encrypted blocks: never scanned."""
    masked: set[int] = set()
    if "-----BEGIN" in text:
        i = 0
        while i < len(lines):
            m = _PEM_ANY_RE.match(lines[i])
            if m:
                end = f"-----END {m.group(1)}-----"
                j = i + 1
                while j < len(lines) and j - i < 400 and end not in lines[j]:
                    j += 1
                if j < len(lines) and j - i < 400:
                    masked.update(range(i + 1, j + 1))
                    i = j
            i += 1
    if "$ANSIBLE_VAULT" in text or "!vault" in text:
        for i, line in enumerate(lines):
            if "$ANSIBLE_VAULT" not in line and not line.rstrip().endswith(("!vault |", "!vault")):
                continue
            indent = len(line) - len(line.lstrip())
            j = i + 1
            while (
                j < len(lines)
                and (_VAULT_HEX_RE.match(lines[j]) or "$ANSIBLE_VAULT" in lines[j])
                and (len(lines[j]) - len(lines[j].lstrip()) > indent or indent == 0)
            ):
                masked.add(j)
                j += 1
    return masked


_FileKey = tuple[Kind, bool, bool, bool]  # what of the path the line rules read


def _url_hits(line: str, idx: int, kind: Kind) -> list[assign.Hit]:
    hits: list[assign.Hit] = []
    for m in _URL_CRED_RE.finditer(line):
        pw, user = m.group("pw"), m.group("user")
        if (
            len(pw) < 3
            or pw == user
            or "example" in m.group().lower()
            or values.is_placeholder(pw)
            or values.is_reference(pw)
            or values.is_reference(user)
            or any(w in pw.lower() for w in ("password", "passwd", "secret", "pass"))
            or (kind is Kind.DOC and not values.looks_random(pw))
            or providers.PROVIDER_PREFIX_RE.match(pw)
        ):
            continue
        hits.append((idx, m.start("pw"), "url-credentials", pw))
    if ":@" in line:
        for m in _URL_KEY_USER_RE.finditer(line):
            user = m.group("user")
            if values.looks_random(user) and not values.is_placeholder(user):
                hits.append((idx, m.start("user"), "url-credentials", user))
    return hits


def _line_hits(
    lines: list[str], idx: int, kind: Kind, fkey: _FileKey, provider: bool = True
) -> list[assign.Hit]:
    line = lines[idx]
    low = line.lower()
    hits: list[assign.Hit] = []
    if provider:
        for m in providers.provider_re().finditer(line):
            found = providers.match_at(line, m.start())
            if found is not None:
                hits.append((idx, m.start(), found[0].rule_id, found[1]))
    for col, rule, token in providers.infix_hits(line):
        hits.append((idx, col, rule.rule_id, token))
    if "PRIVATE KEY" in line:
        for m in pem.BEGIN_RE.finditer(line):
            body = pem.body(lines, idx, m.end())
            if body is not None:
                # The fingerprint hashes the key material; the span covers the header only.
                hits.append((idx, m.start(), "private-key", body[: m.end() - m.start()]))
    if pem.PPK_HEADER in line:
        material = pem.ppk_body(lines, idx)
        if material is not None:
            # As for PEM keys: key material, over the span of the header.
            col = line.index(pem.PPK_HEADER)
            hits.append((idx, col, "private-key", material[: len(line) - col]))
    if "://" in line:
        hits.extend(_url_hits(line, idx, kind))
    if _KEYWORD_RE.search(low):
        hits.extend(assign.connection_hits(line, idx, kind))
        if "author" in low:
            hits.extend(assign.header_hits(line, idx, kind))
        if kind is not Kind.LOCK:
            hits.extend(assign.cli_hits(line, idx, kind, lines))
            if "identified" in low or "password" in low:
                hits.extend(assign.sql_hits(line, idx, kind))
        if "secret" in low:
            hits.extend(assign.aws_hits(line, idx))
        if kind is not Kind.LOCK:
            hits.extend(
                assign.assignment_hits(
                    lines,
                    idx,
                    kind,
                    netrc=fkey[1],
                    dockerfile=fkey[2],
                    spaced=fkey[3],
                )
            )
    return hits


# Lines repeat across a repository's files (imports, boilerplate, the same setting in
# every environment's config): a line whose findings depend on nothing but its own text
# and the file's kind is judged once per process.  Lines that read their neighbours are
# never cached: key bodies, curl continuation lines, multi-line XML, YAML block scalars,
# a `name:` whose `value:` follows, and a 40-character value the AWS rule reads in
# context (`_CONTEXT_RE` over-approximates each).  Bounded in entries and line length.
_MEMO_LINE = 400
_MEMO_ENTRIES = 1 << 14
_MemoKey = tuple[str, bool, _FileKey]
_memo: dict[_MemoKey, tuple[tuple[int, str, str], ...]] = {}
_CONTEXT_RE = re.compile(
    r"[A-Za-z0-9/+]{40}|PRIVATE KEY|PuTTY-User| -u|--user|>\s*$|[|>][-+]?\d?\s*(?:#.*)?$"
)


def clear_memo() -> None:
    """Forget the judged lines (a bench's repeats each start as a new process would)."""
    _memo.clear()


def _context_free(line: str) -> bool:
    if len(line) > _MEMO_LINE or "\\" in line or _CONTEXT_RE.search(line):
        return False  # a backslash: escaped quotes are read unescaped, pairs included
    pair = assign.pair_name(line)
    return pair is None or not assign.names_secret(pair)


def file_key(path: str, kind: Kind) -> _FileKey:
    return (
        kind,
        filetypes.is_netrc(path),
        filetypes.is_dockerfile(path),
        filetypes.is_spaced_config(path),
    )


def _cached_line_hits(
    lines: list[str], idx: int, kind: Kind, provider: bool, fkey: _FileKey
) -> list[assign.Hit]:
    line = lines[idx]
    key = (line, provider, fkey)
    done = _memo.get(key)  # only context-free lines are ever stored: no test needed first
    if done is None:
        hits = _line_hits(lines, idx, kind, fkey, provider)
        if not _context_free(line):
            return hits
        if len(_memo) >= _MEMO_ENTRIES:
            _memo.clear()
        _memo[key] = done = tuple((col, rule, secret) for _, col, rule, secret in hits)
        return hits
    return [(idx, col, rule, secret) for col, rule, secret in done]


def _allowed(lines: list[str], idx: int) -> bool:
    line = lines[idx]
    if "sealedcfg" in line and _ALLOW_RE.search(line):
        return True
    if ("gitleaks" in line or "pragma" in line) and _FOREIGN_ALLOW_RE.search(line):
        return True
    if idx == 0:
        return False
    above = lines[idx - 1]
    if "sealedcfg" in above and _ALLOW_NEXT_RE.search(above):
        return True
    return "pragma" in above and bool(_FOREIGN_NEXT_RE.search(above))


def _claim(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    """Add [start, end) to the sorted, disjoint spans of a line unless it overlaps one.

    Binary search, so a minified one-line file with thousands of hits stays linear-ish.
    """
    i = bisect.bisect_left(taken, (start, end))
    if i > 0 and taken[i - 1][1] > start:
        return False
    if i < len(taken) and taken[i][0] < end:
        return False
    taken.insert(i, (start, end))
    return True


def _encrypted_spans(line: str) -> list[tuple[int, int]]:
    keys = ("sealedcfg;", "ENC[", "ENC(", "{cipher}", "vault:v", "$ANSI", "encrypted:")
    if not any(k in line for k in keys):
        return []
    return [m.span() for m in values.ENCRYPTED_SPAN_RE.finditer(line)]


def scan_text(text: str, path: str, config: custom.ScanConfig | None = None) -> list[Finding]:
    """Findings in `text`; `path` picks the file-type heuristics and keys the fingerprints.

    `config` adds a team's own rules and allowlists (the rules file's `scan:` section).
    """
    kind = filetypes.kind_of(path)
    lines = text.split("\n")
    masked = _masked_lines(lines, text)
    candidates, provider_lines = prefilter.candidate_lines(text)
    hits: dict[tuple[int, int], tuple[str, str]] = {}
    spans: dict[int, list[tuple[int, int]]] = {}
    if kind is Kind.LINE:
        found, plain = kube.hits(lines, text)
    elif kind is Kind.QUOTED and path.lower().endswith(".json"):
        found, plain = kube.json_hits(text)
    else:
        found, plain = [], []
    fkey = file_key(path, kind)
    for idx in candidates:
        if idx not in masked:
            found.extend(_cached_line_hits(lines, idx, kind, idx in provider_lines, fkey))
    if filetypes.is_pgpass(path):  # no keyword on its lines: read whole
        found.extend(assign.pgpass_hits(lines, kind))
    found.extend(plain)
    descriptions = _DESCRIPTIONS
    if config is not None and config.rules:
        extra = custom.rule_hits(config, lines, text.lower().split("\n"), path)
        descriptions = _DESCRIPTIONS | {r.rule_id: r.description for _, _, r, _ in extra}
        found.extend((i, c, r.rule_id, secret) for i, c, r, secret in extra)
    relaxed = filetypes.is_test_path(path)
    for h_idx, col, rule, secret in found:
        if relaxed and rule in _HUMAN_RULES and not values.looks_random(secret):
            continue  # `password="pw123"` in a unit test
        if relaxed and rule == "jwt" and not checks.jwt(secret):
            continue  # the jwt.io tutorial token as a test fixture
        if h_idx in masked:
            continue
        taken = spans.get(h_idx)
        if taken is None:
            taken = spans[h_idx] = _encrypted_spans(lines[h_idx])
        if not _claim(taken, col, col + len(secret)):
            continue
        hits[(h_idx, col)] = (rule, secret)
    findings: list[Finding] = []
    allow = config.allow if config is not None else ()
    allowed: dict[int, bool] = {}
    for (h_idx, col), (rule, secret) in sorted(hits.items()):
        if h_idx not in allowed:
            allowed[h_idx] = _allowed(lines, h_idx)
        if allowed[h_idx]:
            continue
        finding = Finding(
            path=path,
            line=h_idx + 1,
            col=col + 1,
            rule_id=rule,
            message=f"{descriptions[rule]}: {redact(secret)}",
            fingerprint=fingerprint(rule, path, secret),
        )
        if any(a.allows(finding, secret, lines[h_idx]) for a in allow):
            continue
        findings.append(finding)
    return findings
