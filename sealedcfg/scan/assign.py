"""The generic rule: literal values assigned to secret-like names, on one line.

Forms understood: `name = v`, `name: v`, `name := v`, `name => v`, `"name": v`,
`x["name"] = v`, `name: Type = v`, `export NAME=v`, `ENV NAME v`, `--name v`,
`<name>v</name>`, `name="k" value="v"` and a `name:`/`value:` pair on the next lines
(Kubernetes env, ECS task definitions, Terraform variable defaults), connection strings
(`Password=...;`, libpq `host=.. password=..`), the AWS secret access key next to an AWS
name, passwords in command lines (`mysql -pX`, `docker login -p X`, `sshpass -p`,
`redis-cli -a`, `curl -u user:X`), `Authorization: Bearer|Basic` headers, SQL
`IDENTIFIED BY 'x'` / `PASSWORD 'x'`, basic-auth calls, one-line YAML block scalars
(`key: >`), code inside JSON strings (`\"key\": \"x\"`) and `name value` config lines.
How literal a bare value is depends on the file kind (see `filetypes`); how strict the value test is
depends on the name (see `names`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from itertools import islice

from . import checks, names, values
from .filetypes import Kind
from .providers import PROVIDER_PREFIX_RE

Hit = tuple[int, int, str, str]  # (line index, column 0-based, rule id, secret)

GENERIC = "generic-secret-assignment"

# Possessive where a run could be split two ways: backtracking over a run of spaces
# after a name (or in a type) tried every split, quadratic (20,000 spaces: 6 s).
_ASSIGN_RE = re.compile(
    r"""(?<![\w.\-])(?P<q>["'`]?)(?P<name>[A-Za-z_][\w.\-]*+)(?P=q)(?:\s*\])?
    (?P<op>\s*+(?::{1,3}=|=>|\|\|=|\?\?=|[?+.]=|(?<![=!<>:])=(?![=>~])
        |:[ \t]+&?(?:'\w+[ \t]+)?[A-Za-z_](?:[\w\[\].,|?* ]|::)*+\s*=(?![=>~])
        |(?<=[ \t])<-(?=[ \t])
        |(?<=[ \t])(?:string|String|str|int|\[\]byte)[ \t]*=(?![=>~])
        |:(?=\s|$|["'`])))[ \t]*""",
    re.VERBOSE,
)
_FLAG_RE = re.compile(
    r"""(?<![\w-])--?(?P<name>[A-Za-z][\w-]*)(?:=|[ \t]+)(?!-)"""
    r"""(?P<v>"[^"]*"|'[^']*'|[^\s"'`|&;]+)"""
)
_ARGV_RE = re.compile(
    r"""(?P<q>["'])--?(?P<name>[A-Za-z][\w-]*)(?P=q)\s*,\s*(?P<q2>["'])(?P<v>[^"'\s]+)(?P=q2)"""
)
_ELEM_RE = re.compile(
    r"<(?P<name>[A-Za-z_][\w.\-:]*)(?P<attrs>\s[^<>]*)?>"
    r"(?:(?P<v>[^<>]+)|<!\[CDATA\[(?P<cdata>[^\]<>]+)\]\]>)</(?P=name)>"
)
_PAIR_NAME_RE = re.compile(
    r"""(?<![\w-])["']?(?:name|key|Name|Key|variable|ParameterKey)["']?\s*[:=]?\s*["']?"""
    r"""(?P<n>[A-Za-z_][\w.\-]*)"""
)
_PAIR_WORDS_RE = re.compile(r"name|key|variable")  # on the lower-cased line: gates the above
_PAIR_VALUE_NAMES = frozenset({"value", "default", "Value", "ParameterValue", "defaultValue"})
_NEXT_VALUE_RE = re.compile(
    # Possessive: `\s*-?\s*` split a line of spaces every way (quadratic: a 400 KB
    # line under `- name: DB_PASSWORD` hung the hook).
    r"""^\s*+(?:-\s*+)?["']?(?:value|default|Value|ParameterValue)["']?\s*[:=][ \t]*"""
)
# define('DB_PASSWORD', 'x'), os.environ.setdefault("TOKEN", "x"), props.put("password", "x")
_CALL_PAIR_RE = re.compile(
    r"""\b(?:define|setdefault|[Ss]etenv|putenv|setProperty|put|set|get|getProperty"""
    r"""|[Gg]et[Ee]nv\w*|env)"""
    r"""\(\s*["'](?P<name>[A-Za-z_][\w.\-]*)["']\s*,\s*"""
)
# setPassword("x"), .password("x"), withToken("x")
_SETTER_RE = re.compile(r"""(?:\.|\bset|\bwith)(?P<name>[A-Za-z_]\w*)\(\s*(?=["'])""")
_GO_VAR_RE = re.compile(r"\b(?:var|const)\s+(?P<name>\w+)\s+[\w.\[\]*]+\s*=\s*")
_DOCKER_ENV_RE = re.compile(r"^\s*(?:ENV|ARG)\s+(?P<name>[A-Za-z_]\w*)[ \t]+(?=[^=\s])")
_NETRC_RE = re.compile(r"\b(?:password|passwd)[ \t]+")
_CONN_CTX_RE = re.compile(
    r"(?i)\b(?:server|data source|host|uid|user id|username|user|database|initial catalog"
    r"|driver|provider|dsn|port|address|addr|accountname|endpoint|defaultendpointsprotocol)\s*="
)
_CONN_PW_RE = re.compile(
    # Azure storage and Service Bus keys sit in the same `k=v;` strings.
    r"""(?i)(?:^|(?<=[;"'\s{,]))(?:password|pwd|accountkey|sharedaccesskey)\s*=\s*"""
    r"""(?P<v>\{[^}]*\}|[^;"'\s][^;"']*)"""
)
_JDBC_PW_RE = re.compile(r"""(?i)(?:jdbc|odbc):[^\s"']*?[?&;](?:password|pwd)=(?P<v>[^&;\s"']+)""")
_AWS_SECRET_RE = re.compile(
    r"""(?i)secret_?access_?key["']?\s*[:=,]?\s*["']?(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"""
)
_AWS_VALUE_RE = re.compile(r"^[A-Za-z0-9/+]{40}$")
_AUTH_SCHEME_RE = re.compile(r"^(?:Bearer|Basic|Token|token|bearer|Digest|OAuth)\s+(?=\S)")
_AUTH_SCHEMES = frozenset({"Bearer", "Basic", "Token", "token", "bearer", "Digest", "OAuth"})
_GENERIC_MARKERS = ("password", "passwd", "secret")
# libpq keyword/value DSNs: `host=db user=app password=x dbname=app` (no `;` separators).
_LIBPQ_CTX_RE = re.compile(r"(?<![\w.-])(?:host|hostaddr|dbname|user|sslmode)=[^\s;'\"]")
_LIBPQ_PW_RE = re.compile(r"""(?<![\w.-])password=(?P<v>'[^']*'|[^\s"';\\]+)""")
# Commands taking a password in a short flag.  The value pattern is the shell word after it.
_WORD_V = r"""(?P<v>"[^"]*"|'[^']*'|[^\s"'`|;&)\\]+)"""
_MYSQL_WORDS = ("mysql", "mariadb")
_CLI_RES: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    # mysql -uroot -pS3cret (attached: `-p secret` would prompt and take a database name)
    (
        _MYSQL_WORDS,
        re.compile(
            r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlsh|mysqlcheck|mariadb"
            r"|mariadb-dump)\b[^|;&]*?\s-p" + _WORD_V
        ),
    ),
    # docker login -u bot -p secret; podman, helm registry, oras, skopeo, buildah, nerdctl
    (
        ("login",),
        re.compile(
            r"\b(?:docker|podman|buildah|nerdctl|skopeo|oras|helm\s+registry)\s+login\b"
            r"[^|;&]*?\s-p[ \t]+" + _WORD_V
        ),
    ),
    (("sshpass",), re.compile(r"\bsshpass\s+-p[ \t]*" + _WORD_V)),
    (("redis-cli",), re.compile(r"\bredis-cli\b[^|;&]*?\s-a[ \t]+" + _WORD_V)),
)
# curl -u user:secret, curl --user=user:secret (the password after the first colon)
# The credential is one shell word, quoted in pieces or not: `"u":"p"`, `kevin:'p'`.
_SHELL_WORD_V = r"""(?P<v>(?:"[^"]*"|'[^']*'|[^\s"'`|;&)\\])+)"""
_CURL_USER_RE = re.compile(
    r"\b(?:curl|wget|http|xh|https)\b[^|;&]*?\s(?:-u|--user)(?:[ \t]+|=)" + _SHELL_WORD_V
)
# The same flag on a continuation line of such a command (`curl -X POST url \` above).
_USER_FLAG_RE = re.compile(r"(?:^|\s)(?:-u|--user)(?:[ \t]+|=)" + _SHELL_WORD_V)
_CURL_WORD_RE = re.compile(r"\b(?:curl|wget|http|xh|https)\b")
# `Authorization: Bearer x` in headers written any way: curl -H, nginx, Python dicts.
_AUTH_HEADER_RE = re.compile(
    r"""(?i)\b(?:proxy-)?authorization["']?\s*[:=,]?\s*["']?\s*"""
    r"""(?P<scheme>bearer|basic|(?:api-?)?token|apikey|digest)\s+(?P<v>[A-Za-z0-9._~+/=-]{8,})"""
)
# SQL: IDENTIFIED BY 'x', CREATE ROLE r WITH LOGIN PASSWORD 'x', CREATE LOGIN l WITH PASSWORD = 'x'
_SQL_CTX_RE = re.compile(r"(?i)\b(?:create|alter)\s+(?:user|role|login)\b|\bidentified\b")
# Possessive: `\s*=?\s*` split a run of spaces every way (quadratic).
_SQL_PW_RE = re.compile(
    r"""(?i)\b(?:identified(?:\s+with\s+\w+)?\s+by|password)\s*+(?:=\s*+)?"""
    r"""(?P<q>['"])(?P<v>[^'"\n]+)(?P=q)"""
)
# requests HTTPBasicAuth("u", "p"), Go SetBasicAuth("u", "p"), auth=("u", "p")
_BASIC_CALL_RE = re.compile(
    r"""(?:BasicAuth|basic_auth|basicAuth|DigestAuth|\bauth\s*=\s*)\(\s*"""
    r"""(?:"(?P<u1>[^"]*)"|'(?P<u2>[^']*)')\s*,\s*(?=["'])"""
)
# `key value` lines of space-separated configs (redis.conf `requirepass x`, .properties).
_SPACED_RE = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.-]*)[ \t]+(?P<v>[^\s=:\"'#;]+);?\s*$")
_BLOCK_SCALAR_RE = re.compile(r"[|>][-+]?\d?\s*(?:#.*)?$")
_SPACE_RE = re.compile(r"\s")
_WORD_VALUE_RE = re.compile(r"[^\s\"'`]+")
_AFTER_SCHEME_RE = re.compile(r"[ \t]+([^\s\"'`]+)")
_YAML_DECOR_RE = re.compile(r"(?:&[\w-]+\s+)?(?:!!\w+\s+)?")
_CODE_RE = re.compile(r"[\[\](){}|]")
_MAX_VALUE = 2048
_MAX_SECRET = 512
# Work per line is bounded: a minified one-line bundle can hold 100,000 `x=` pairs.
# Provider, URL and key rules still read the whole line; the name heuristics read the
# first _MAX_MATCHES assignments of it.
_MAX_MATCHES = MAX_MATCHES = 2000
_FALSEY = frozenset({"yes", "no", "on", "off", "enabled", "disabled", "0", "1", "-", "~"})


def _quoted_at(line: str, pos: int, kind: Kind) -> tuple[str, int] | None:
    """A string literal starting at pos (optional r/b/u/f prefix): (content, column)."""
    i = pos
    while i < len(line) and i - pos < 2 and line[i] in "rRbBuUfF":
        i += 1
    if i >= len(line) or line[i] not in "\"'`":
        return None
    quote = line[i]
    if quote == "`" and kind is Kind.WORD:
        return None  # shell command substitution
    if line.startswith(quote * 3, i):
        return None  # docstring / heredoc-style block: not a one-line value
    j = i + 1
    stop = min(len(line), i + 1 + _MAX_VALUE)
    while j < stop:
        c = line[j]
        if c == "\\":
            j += 2
            continue
        if c == quote:
            return line[i + 1 : j], i + 1
        j += 1
    return None


def _cut_escape(val: str) -> str:
    """`KEY=v\\nNEXT=w` inside a string literal: the value ends at the escaped newline."""
    if "\\" in val:
        for esc in ("\\n", "\\r", "\\t"):
            k = val.find(esc)
            if k != -1:
                val = val[:k]
    return val


def _bare_at(line: str, pos: int, kind: Kind) -> tuple[str, int] | None:
    rest = line[pos : pos + _MAX_VALUE]  # bounded: a minified line holds thousands
    if kind is Kind.WORD:
        m = _WORD_VALUE_RE.match(rest)
        if not m:
            return None
        return _cut_escape(m.group()).rstrip(";),"), pos
    cut = len(rest)
    for sep in (" #", "\t#", ", ", " //", " ;", "\\n", "\\r", "\\t"):
        k = rest.find(sep)
        if k != -1:
            cut = min(cut, k)
    val = rest[:cut].rstrip().rstrip(",;")
    if val.endswith(("}", "]")) and not any(c in val for c in "{["):
        val = val[:-1]
    return val, pos


def _inside_string(line: str, start: int, found: tuple[str, int, bool]) -> tuple[str, int, bool]:
    """`-H "apikey: v"`: a name that opens a string literal; its value ends at the quote.

    The value is then string content, a literal like a quoted one (`"API_TOKEN=a.b.c"` in
    JSON holds no variable `a.b.c`)."""
    quote = line[start - 1]
    if quote not in "\"'":
        # `"export API_TOKEN=v && make"`: a name further inside an open string.
        value, col, _ = found
        if line.count('"', 0, start) % 2 or line.count("'", 0, start) % 2:
            return value, col, True
        return found
    value, col, _ = found
    end = value.find(quote)
    if end != -1:
        return value[:end], col, True
    return (value, col, True) if line.startswith(quote, col + len(value)) else found


def value_at(line: str, pos: int, kind: Kind) -> tuple[str, int, bool] | None:
    """The value written at pos: (text, column, quoted); None for non-literals in code."""
    q = _quoted_at(line, pos, kind)
    if q is not None:
        return q[0], q[1], True
    if pos >= len(line):
        return None
    if line[pos] in "\"'":
        return None  # an unterminated string: a multi-line value we do not follow
    # In code a bare value is usually a variable; `judge` then asks for a random-looking one.
    b = _bare_at(line, pos, Kind.WORD if kind is Kind.QUOTED else kind)
    if b is None or not b[0]:
        return None
    val, col = b
    if _BLOCK_SCALAR_RE.match(val):
        return None
    if val in _AUTH_SCHEMES:  # `Authorization: Bearer abc` written bare: take the credential
        m = _AFTER_SCHEME_RE.match(line, col + len(val))
        if m:
            col = m.start(1)
            val = m.group(1)
    if kind is Kind.LINE or kind is Kind.DOC:
        # YAML decorations: anchors and core tags are stripped; any other tag, alias,
        # block scalar or flow collection makes the value something we cannot judge.
        m = _YAML_DECOR_RE.match(val)
        if m and m.end():
            col += m.end()
            val = val[m.end() :]
        if val[:1] in ("!", "*", "|", ">", "[", "{"):
            return None
    return val, col, False


def judge(name: str, value: str, quoted: bool, kind: Kind, line_lower: str) -> str | None:
    """Rule id if `value` assigned to `name` is a plaintext secret, else None."""
    tier = names.tier(name)
    if tier is names.Tier.NONE:
        return None
    v = value.strip()
    m = _AUTH_SCHEME_RE.match(v)
    if m:
        v = v[m.end() :].strip()
    if not v or v.lower() in _FALSEY:
        return None
    # Under an auth name, base64 of `user:password` (the `Basic` scheme may be read apart).
    if "auth" in name.lower() and _basic_placeholder(v):
        return None  # `Authorization: Basic base64(user:password)`
    if v.startswith("eyJ") and checks.jwt_header_ok(v):
        return "jwt"  # in a secret-named field even the tutorial tokens count
    if len(v) > _MAX_SECRET:
        return None  # a document or a bundle, not one credential (keys have their own rule)
    if values.is_digits_key(v):
        return GENERIC  # numeric PINs and account keys in a secret-named field
    if values.is_uuid(v):
        # Heroku, Snyk, HubSpot, ... keys are UUIDs: a secret when the name says key/token.
        ok = names.holds_key(name) and not values.is_placeholder(v)
        return GENERIC if ok else None
    if (  # cheapest and most common first: the order does not change the result
        values.is_reference(v)
        or values.is_encrypted(v)
        or (PROVIDER_PREFIX_RE.match(v) and not (v.startswith("eyJ") and "." not in v))
        or values.is_public_material(v)
        or values.is_hash_or_id(v)
        or values.is_regex(v)
        or values.is_placeholder(v)
        or values.is_non_secret_shape(v)
    ):
        return None
    low = v.lower()
    if any(w in low for w in _GENERIC_MARKERS) or low in names.words(name):
        return None
    if (
        not quoted
        and kind is not Kind.WORD
        and "." in v
        and values.is_identifier_ref(v)
        and (kind is Kind.QUOTED or all(values.is_wordlike(p) for p in v.split(".")))
    ):
        return None  # `token: settings.TOKEN` (in a config: unless the parts look random)
    if _SPACE_RE.search(v) and not names.is_passphrase_name(name):
        return None  # prose, a label or a help text
    if _AWS_VALUE_RE.match(v) and names.is_aws_secret_name(name, line_lower):
        return "aws-secret-access-key" if values.looks_random(v) else None
    if len(v) == 32 and values.is_hex(v) and names.is_twilio_token_name(name, line_lower):
        return "twilio-auth-token"
    if kind is Kind.QUOTED and not quoted:
        if _CODE_RE.search(v):
            return None  # `Final[Session | None]`, `items[0].session`: an expression
        return GENERIC if values.looks_random(v) else None  # else a variable or a constant
    if tier is names.Tier.PASSWORD and kind is not Kind.DOC:
        return GENERIC if values.could_be_password(v) else None
    return GENERIC if values.looks_random(v) else None


def _password_value_ok(v: str, kind: Kind) -> bool:
    v = v.strip().strip("{}")
    if len(v) < 4 or v.lower() in _FALSEY:
        return False
    if values.is_reference(v) or values.is_placeholder(v) or values.is_encrypted(v):
        return False
    if any(w in v.lower() for w in _GENERIC_MARKERS):
        return False
    return kind is not Kind.DOC or values.looks_random(v)


def connection_hits(line: str, idx: int, kind: Kind) -> Iterator[Hit]:
    if ";" in line and _CONN_CTX_RE.search(line):
        for m in islice(_CONN_PW_RE.finditer(line), _MAX_MATCHES):
            v = m.group("v").rstrip()
            if _password_value_ok(v, kind):
                yield idx, m.start("v"), "connection-string-password", v
    jdbc = "dbc:" in line.lower()
    for m in islice(_JDBC_PW_RE.finditer(line) if jdbc else (), _MAX_MATCHES):
        if _password_value_ok(m.group("v"), kind):
            yield idx, m.start("v"), "connection-string-password", m.group("v")
    if "password=" in line and _LIBPQ_CTX_RE.search(line):
        for m in islice(_LIBPQ_PW_RE.finditer(line), _MAX_MATCHES):
            v = m.group("v")
            col = m.start("v")
            if v[:1] == "'":
                v, col = v[1:-1], col + 1
            if _password_value_ok(v, kind):
                yield idx, col, "connection-string-password", v


def _word_value(m: re.Match[str]) -> tuple[str, int, bool]:
    v = m.group("v")
    if v[:1] in "\"'":
        return v[1:-1], m.start("v") + 1, True
    return v, m.start("v"), False


def _split_userpass(raw: str) -> tuple[str, int, str, int] | None:
    """A shell word `user:password` unquoted: (user, its offset, password, its offset in raw)."""
    out: list[tuple[str, int]] = []  # unquoted characters with their index in raw
    quote = ""
    for i, c in enumerate(raw):
        if quote:
            if c == quote:
                quote = ""
                continue
        elif c in "\"'":
            quote = c
            continue
        out.append((c, i))
    for k, (c, _) in enumerate(out):
        if c == ":":
            user = "".join(ch for ch, _ in out[:k])
            pw = "".join(ch for ch, _ in out[k + 1 :])
            user_at = out[0][1] if k > 0 else 0
            pw_at = out[k + 1][1] if k + 1 < len(out) else len(raw)
            return user, user_at, pw, pw_at
    return None


_BRACED_RE = re.compile(r"^\{([^{}$\s]+)\}$")


def _unbrace(part: str, at: int) -> tuple[str, int, bool]:
    """`{value}` in a documented command: the literal inside, or a template slot name
    (told apart by the caller); `{{x}}` and `${x}` stay references."""
    m = _BRACED_RE.match(part)
    return (m.group(1), at + 1, True) if m else (part, at, False)


def _curl_credential(m: re.Match[str], idx: int, kind: Kind, low: str) -> Iterator[Hit]:
    parts = _split_userpass(m.group("v"))
    if parts is None:
        return  # `-u name`: curl prompts for the password
    user, user_at, pw, pw_at = parts
    user, user_at, _ = _unbrace(user, user_at)
    pw, pw_at, braced = _unbrace(pw, pw_at)
    if braced and values.is_identifier_ref(pw) and values.is_wordlike(pw):
        return  # `-u {user}:{password}`: a template's slot names
    if values.is_reference(user):
        return
    if pw:  # `-u user:pw`, and `-u :pw` with no user
        yield from _emit("password", (pw, m.start("v") + pw_at, True), idx, kind, low)
    elif user and values.looks_random(user):
        # `-u sk_test_...:`: an API key as the user name and no password (Stripe, Mailgun).
        yield from _emit("token", (user, m.start("v") + user_at, True), idx, kind, low)


def _continues_command(lines: list[str], idx: int) -> bool:
    """Line idx continues (`\\` line ends) a curl/wget/httpie command started above."""
    for j in range(idx - 1, max(-1, idx - 6), -1):
        if not lines[j].rstrip().endswith("\\"):
            return False
        if _CURL_WORD_RE.search(lines[j]):
            return True
    return False


def cli_hits(line: str, idx: int, kind: Kind, lines: list[str] | None = None) -> Iterator[Hit]:
    """Passwords in command lines: mysql -p, docker login -p, sshpass, redis-cli -a, curl -u."""
    low = line.lower()
    judge_kind = Kind.DOC if kind is Kind.DOC else Kind.WORD
    if " -" in line:
        for words, rx in _CLI_RES:
            if any(w in low for w in words):
                for m in islice(rx.finditer(line), _MAX_MATCHES):
                    yield from _emit("password", _word_value(m), idx, judge_kind, low)
    if " -u" not in line and "--user" not in line:
        return
    found = False
    for m in islice(_CURL_USER_RE.finditer(line), _MAX_MATCHES):
        found = True
        yield from _curl_credential(m, idx, judge_kind, low)
    if not found and lines is not None and _continues_command(lines, idx):
        for m in islice(_USER_FLAG_RE.finditer(line), _MAX_MATCHES):
            yield from _curl_credential(m, idx, judge_kind, low)


def _key_as_user(user: str) -> bool:
    return bool(PROVIDER_PREFIX_RE.match(user)) or (
        values.looks_random(user) and not values.is_placeholder(user)
    )


def _basic_placeholder(cred: str) -> bool:
    """`Basic base64(user:password)` whose password is a placeholder."""
    try:
        raw = base64.b64decode(cred, validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    user, sep, pw = raw.partition(":")
    if not sep:
        return False
    if not pw:  # an API key as the user and no password (Stripe, Mailgun, Twilio style)
        return not _key_as_user(user)
    low = pw.lower()
    return (
        values.is_placeholder(pw)
        or values.is_reference(pw)
        or any(w in low for w in _GENERIC_MARKERS)
        or low == user.lower()
    )


def header_hits(line: str, idx: int, kind: Kind) -> Iterator[Hit]:
    low = line.lower()
    for m in islice(_AUTH_HEADER_RE.finditer(line), _MAX_MATCHES):
        v = m.group("v")
        if m.group("scheme").lower() == "basic" and _basic_placeholder(v):
            continue
        yield from _emit("authorization", (v, m.start("v"), True), idx, kind, low)


def sql_hits(line: str, idx: int, kind: Kind) -> Iterator[Hit]:
    if not _SQL_CTX_RE.search(line):
        return
    low = line.lower()
    for m in islice(_SQL_PW_RE.finditer(line), _MAX_MATCHES):
        v = m.group("v")
        if v.startswith("*") and values.is_hex(v[1:]):
            continue  # MySQL `IDENTIFIED BY PASSWORD '*hash'`
        yield from _emit("password", (v, m.start("v"), True), idx, kind, low)


def aws_hits(line: str, idx: int) -> Iterator[Hit]:
    for m in islice(_AWS_SECRET_RE.finditer(line), _MAX_MATCHES):
        v = m.group("v")
        if values.looks_random(v) and not values.is_placeholder(v) and "EXAMPLE" not in v:
            yield idx, m.start("v"), "aws-secret-access-key", v


def _emit(
    name: str,
    found: tuple[str, int, bool] | None,
    idx: int,
    kind: Kind,
    low: str,
    lines: list[str] | None = None,
) -> Iterator[Hit]:
    if found is None:
        return
    value, col, quoted = found
    if len(low) > 2 * _MAX_VALUE:  # the context the name tests need is near the value
        low = low[max(0, col - _MAX_VALUE) : col + _MAX_VALUE]
    rule = judge(name, value, quoted, kind, low)
    if rule is None:
        return
    v = value.strip()
    if rule == GENERIC and lines is not None and _AWS_VALUE_RE.match(v):
        # `secret_key = ...` inside a `provider "aws" {` block or under an `aws:` key.
        context = "\n".join(lines[max(0, idx - 6) : idx + 1]).lower()
        if names.is_aws_secret_name(name, context) and values.looks_random(v):
            rule = "aws-secret-access-key"
    yield idx, col, rule, v


def _unescape_quotes(line: str) -> tuple[str, list[int]]:
    """`\\"` -> `"` (code inside a JSON or source string), with each char's original column."""
    out: list[str] = []
    cols: list[int] = []
    i = 0
    while i < len(line):
        if line[i] == "\\" and line[i + 1 : i + 2] in ('"', "'"):
            i += 1
        out.append(line[i])
        cols.append(i)
        i += 1
    return "".join(out), cols


def _block_value(lines: list[str], idx: int) -> tuple[int, str, int] | None:
    """The one-line body of a YAML block scalar (`key: >` + an indented line)."""
    indent = len(lines[idx]) - len(lines[idx].lstrip())
    j = idx + 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    if j >= len(lines):
        return None
    body = lines[j]
    body_indent = len(body) - len(body.lstrip())
    if body_indent <= indent:
        return None
    nxt = lines[j + 1] if j + 1 < len(lines) else ""
    if nxt.strip() and len(nxt) - len(nxt.lstrip()) >= body_indent:
        return None  # a multi-line text: prose, a key body, a script
    return j, body.strip(), body_indent


# The value is one token: `self, session, cache=None)` is a parameter list, not a row.
_CSV_RE = re.compile(
    r"(?:^|,)[ \t]*(?P<name>[A-Za-z_][\w.\-]*),[ \t]*"
    r"(?P<v>[^\s,\"'`()\[\]{}<>=:]{10,}={0,2})(?=,|$)"
)
_OPEN_TAG_RE = re.compile(r"<(?P<name>[A-Za-z_][\w.\-:]*)(?:\s[^<>]*)?>\s*$")


def _xml_multiline(lines: list[str], idx: int) -> Iterator[Hit]:
    """`<apiToken>` / one value line / `</apiToken>`: an element written over three lines."""
    m = _OPEN_TAG_RE.search(lines[idx])
    if m is None or names.tier(m.group("name")) is names.Tier.NONE:
        return
    body, close = lines[idx + 1], lines[idx + 2].strip()
    if not close.startswith(f"</{m.group('name')}>"):
        return
    v = body.strip()
    if v and "<" not in v:
        col = len(body) - len(body.lstrip())
        yield from _emit(m.group("name"), (v, col, False), idx + 1, Kind.LINE, body.lower())


def assignment_hits(
    lines: list[str],
    idx: int,
    kind: Kind,
    *,
    netrc: bool = False,
    dockerfile: bool = False,
    spaced: bool = False,
) -> Iterator[Hit]:
    line = lines[idx]
    if '\\"' in line or "\\'" in line:
        text, cols = _unescape_quotes(line)
        for h_idx, col, rule, secret in _assignment_hits(
            lines, idx, text, kind, netrc, dockerfile, spaced
        ):
            if h_idx == idx and col < len(cols):
                col = cols[col]
            yield h_idx, col, rule, secret
        return
    yield from _assignment_hits(lines, idx, line, kind, netrc, dockerfile, spaced)


def pair_name(line: str) -> str | None:
    """The name a `name: X` / `value: v` pair gives its value, as `_assignment_hits` reads it."""
    pair = _PAIR_NAME_RE.search(line) if _PAIR_WORDS_RE.search(line.lower()) else None
    return pair.group("n") if pair else None


def names_secret(name: str) -> bool:
    return names.tier(name) is not names.Tier.NONE


def _assignment_hits(
    lines: list[str],
    idx: int,
    line: str,
    kind: Kind,
    netrc: bool,
    dockerfile: bool,
    spaced: bool,
) -> Iterator[Hit]:
    low = line.lower()
    pair = _PAIR_NAME_RE.search(line) if _PAIR_WORDS_RE.search(low) else None
    pair_name = pair.group("n") if pair else None  # the same as pair_name(line)
    saw_value_key = False
    for m in islice(_ASSIGN_RE.finditer(line), _MAX_MATCHES):
        name = m.group("name")
        if name in _PAIR_VALUE_NAMES:
            saw_value_key = True
            if pair_name is None:
                continue
            name = pair_name
        if names.tier(name) is names.Tier.NONE:
            # `process.env.API_KEY = v`, `ENV.fetch.DB_PASSWORD`: the last part names it.
            if "." not in name or names.tier(name.rsplit(".", 1)[1]) is names.Tier.NONE:
                continue  # most assignments on a candidate line: decided before reading a value
            name = name.rsplit(".", 1)[1]
        found = value_at(line, m.end(), kind)
        if found is not None and not found[2] and m.group("q") == "" and m.start() > 0:
            found = _inside_string(line, m.start(), found)
        if found is None and _BLOCK_SCALAR_RE.match(line, m.end()):
            block = _block_value(lines, idx)
            if block is not None:
                j, text, col = block
                yield from _emit(name, (text, col, False), j, kind, lines[j].lower())
            continue
        yield from _emit(name, found, idx, kind, low, lines)
    if spaced and kind is Kind.LINE:
        sm = _SPACED_RE.match(line)
        v = sm.group("v") if sm else ""
        if sm and not (v.endswith(".") and v[:-1].isalpha()):  # `password combination.`: prose
            yield from _emit(
                sm.group("name"), (sm.group("v"), sm.start("v"), False), idx, kind, low
            )
    if "(" in line:
        for bm in islice(_BASIC_CALL_RE.finditer(line), _MAX_MATCHES):
            q = _quoted_at(line, bm.end(), kind)
            if q is not None and q[0]:
                yield from _emit("password", (q[0], q[1], True), idx, kind, low)
            elif q is not None:  # `auth=(key, "")`: the key is the user
                group = "u1" if bm.group("u1") is not None else "u2"
                user = bm.group(group)
                if _key_as_user(user):
                    yield from _emit("token", (user, bm.start(group), True), idx, kind, low)
        for cm in islice(_CALL_PAIR_RE.finditer(line), _MAX_MATCHES):
            yield from _emit(cm.group("name"), value_at(line, cm.end(), kind), idx, kind, low)
        for sm in islice(_SETTER_RE.finditer(line), _MAX_MATCHES):
            q = _quoted_at(line, sm.end(), kind)
            if q is not None:
                yield from _emit(sm.group("name"), (q[0], q[1], True), idx, kind, low)
    if kind is Kind.QUOTED and ("var " in line or "const " in line):
        for gm in islice(_GO_VAR_RE.finditer(line), _MAX_MATCHES):
            yield from _emit(gm.group("name"), value_at(line, gm.end(), kind), idx, kind, low)
    if "-" in line and "," in line:
        # An argv list: `["--token", "v"]` (JSON, Docker CMD, Kubernetes args, subprocess).
        for am in islice(_ARGV_RE.finditer(line), _MAX_MATCHES):
            found = (am.group("v"), am.start("v"), True)
            yield from _emit(am.group("name"), found, idx, kind, low)
    for m in islice(_FLAG_RE.finditer(line) if "-" in line else (), _MAX_MATCHES):
        v = m.group("v")
        quoted = v[:1] in "\"'"
        text = v[1:-1] if quoted else v.rstrip(")")
        found = (text, m.start("v") + (1 if quoted else 0), quoted)
        flag_kind = kind if quoted or kind is Kind.DOC else Kind.WORD
        yield from _emit(m.group("name"), found, idx, flag_kind, low)
    if "," in line:
        # CSV rows and argument lists: `name,value,` - the value must look random.
        for m in islice(_CSV_RE.finditer(line), _MAX_MATCHES):
            v = m.group("v")
            if names.tier(m.group("name")) is not names.Tier.NONE and values.looks_random(v):
                yield from _emit(m.group("name"), (v, m.start("v"), False), idx, Kind.WORD, low)
    if line.rstrip().endswith(">") and idx + 2 < len(lines):
        yield from _xml_multiline(lines, idx)
    if "</" in line:
        for m in islice(_ELEM_RE.finditer(line), _MAX_MATCHES):
            name = m.group("name")
            attrs = m.group("attrs") or ""
            inner = _PAIR_NAME_RE.search(attrs)
            if names.tier(name) is names.Tier.NONE and inner:
                name = inner.group("n")
            group = "v" if m.group("v") is not None else "cdata"
            found = (m.group(group), m.start(group), group == "cdata")
            yield from _emit(name, found, idx, Kind.LINE, low)
    if dockerfile or line.lstrip().startswith(("ENV ", "ARG ")):
        dm = _DOCKER_ENV_RE.match(line)
        if dm:
            yield from _emit(
                dm.group("name"), value_at(line, dm.end(), Kind.WORD), idx, Kind.WORD, low
            )
    if netrc:
        for nm in islice(_NETRC_RE.finditer(line), _MAX_MATCHES):
            yield from _emit("password", value_at(line, nm.end(), Kind.WORD), idx, Kind.WORD, low)
    if pair_name is not None and not saw_value_key and names.tier(pair_name) is not names.Tier.NONE:
        # `- name: DB_PASSWORD` / `  value: ...` on one of the next lines.
        for j in range(idx + 1, min(idx + 4, len(lines))):
            vm = _NEXT_VALUE_RE.match(lines[j])
            if vm:
                yield from _emit(
                    pair_name, value_at(lines[j], vm.end(), kind), j, kind, lines[j].lower()
                )
                break


# ~/.pgpass: `hostname:port:database:username:password`, `\:` and `\\` escaped.
_PGPASS_RE = re.compile(r"^(?:(?:[^:\\\n]|\\.)*:){4}(?P<v>(?:[^:\\\n]|\\.)+)$")


def pgpass_hits(lines: list[str], kind: Kind) -> Iterator[Hit]:
    """The password field of each entry of a PostgreSQL password file."""
    for idx, line in enumerate(lines[:_MAX_MATCHES]):
        m = _PGPASS_RE.match(line)
        if m is not None and not line.lstrip().startswith("#"):
            yield from _emit("password", (m.group("v"), m.start("v"), False), idx, kind, "")
