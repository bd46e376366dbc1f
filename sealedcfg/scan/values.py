"""Predicates on a candidate secret value: placeholder, reference, encrypted, hash, random.

Every predicate takes the bare value (quotes already removed) and is cheap; the order in
which `assign` calls them does not matter for the result, only for speed.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from . import letters

# Substrings (lower-cased) that mark documentation, templates and redaction.  Kept to
# words a random token essentially never contains.
_PLACEHOLDER_MARKERS = (
    "example",
    "dummy",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "your_",
    "your-",
    "yourpass",
    "yoursecret",
    "yourtoken",
    "yourkey",
    "yourapi",
    "replace_me",
    "replaceme",
    "replace-me",
    "redacted",
    "todo",
    "fixme",
    "sample",
    "notreal",
    "not_real",
    "not-real",
    "fake",
    "***",
    "...",
    "…",
    "<",
    ">",
    "insert",
    "_here",
    "-here",
    "here_",
    "mock",
)
_PLACEHOLDER_WORDS = frozenset(
    {
        "",
        "null",
        "none",
        "nil",
        "true",
        "false",
        "undefined",
        "empty",
        "string",
        "str",
        "value",
        "secret",
        "password",
        "passwd",
        "pass",
        "token",
        "key",
        "apikey",
        "api_key",
        "test",
        "testing",
        "admin",
        "root",
        "guest",
        "default",
        "foo",
        "bar",
        "baz",
        "foobar",
        "postgres",
        "mysql",
        "user",
        "username",
        "required",
        "optional",
        "unset",
        "tbd",
        "n/a",
        "123456",
        "12345678",
        "1234",
        "abc123",
        "qwerty",
        "letmein",
        "xyz",
    }
)
# `xxx` as filler (`sk_live_xxxx`, `xxx-token`), not three x's inside a random token.
_MARKER_RE = re.compile(
    "|".join(re.escape(m) for m in _PLACEHOLDER_MARKERS)
    + r"|xxxx|(?:^|[^a-z0-9])xxx|xxx(?:$|[^a-z0-9])"
)
_RUN_RE = re.compile(r"(.)\1{5,}")
_SEQUENCES = ("123456789", "abcdefghij", "0123456789", "987654321", "qwertyuiop")

_TEMPLATE_RE = re.compile(
    r"\$\{|\$\(|\{\{|\{%|#\{|%\(\w+\)|%[sdr]\b|\{\d*\}|\{[A-Za-z_][\w.]*(?:\([^{}]*\))?[!:]?\w*\}"
    r"|^%\w+%$|^@[\w.]+@$"
    r"|^\$[A-Za-z_]|^\[\w+\]$|`"
)
_ENV_LOOKUP_RE = re.compile(
    r"os\.environ|getenv|process\.env|System\.getenv|Environment\.|\bENV\[|\benv\(|\benv\."
    r"|^env:|^secrets?\.|\bsecrets\.|^vault:|^ssm:|^arn:aws:|secretsmanager|^op://|^azurekeyvault"
    r"|^keyvault:|^gcp:|^sm://|\blookup\("
)
_CALL_RE = re.compile(r"^[\w.$:\[\]<>@!]+\s*\(")
_DOTTED_REF_RE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_IDENT_RE = re.compile(r"^[A-Za-z_$][\w$]*$")

SEALED_RE = re.compile(r"sealedcfg;v1;[a-z]+;[A-Za-z0-9_.=+-]*;[A-Za-z0-9_-]+")
# sops, jasypt, Spring Cloud Config, Vault transit, ansible-vault, sealedcfg.
ENCRYPTED_SPAN_RE = re.compile(
    r"sealedcfg;v1;[a-z]+;[A-Za-z0-9_.=+-]*;[A-Za-z0-9_-]+|ENC\[[^\]]*\]|ENC\([^)]*\)"
    r"|\{cipher\}[A-Za-z0-9+/=]+|vault:v\d+:[A-Za-z0-9+/=]+|\$ANSIBLE_VAULT;[\w.;]+"
    r"|encrypted:[A-Za-z0-9+/=]+"
)
# dotenvx writes `encrypted:<base64 ECIES>`; `age` armour starts `-----BEGIN AGE ENCRYPTED`.
_ENCRYPTED_PREFIXES = (
    "sealedcfg;",
    "ENC[",
    "ENC(",
    "{cipher}",
    "$ANSIBLE_VAULT",
    "!vault",
    "encrypted:",
    "-----BEGIN AGE ENCRYPTED",
)

_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_HASH_RE = re.compile(
    r"^(?:sha1|sha224|sha256|sha384|sha512|md5|blake2b?|h1)[:\-=]"
    r"|^\$(?:2[abxy]?|argon2(?:id|i|d)?|pbkdf2[\w-]*|scrypt|[156]|y|gy)\$"
    r"|^\{(?:bcrypt|sha|ssha|sha256|sha512|pbkdf2|md5|crypt|argon2)[^}]*\}"
    # Resource ids called SIDs: Twilio's two letters + 32 hex, Windows' S-1-5-21-...
    r"|^[A-Z]{2}[0-9a-f]{32}$|^S-1-\d+(?:-\d+)+$",
    re.IGNORECASE,
)
_PUBLIC_RE = re.compile(
    r"^(?:ssh-(?:rsa|ed25519|dss)\s|ecdsa-sha2-|sk-ssh-|sk-ecdsa-|age1[0-9a-z]{50,}"
    r"|pk_(?:live|test)_|npub1|-----BEGIN (?:PUBLIC KEY|CERTIFICATE|RSA PUBLIC KEY|PGP PUBLIC"
    r"|SSH2 PUBLIC|AGE ENCRYPTED))"
)
_EMAIL_RE = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_PATHISH_RE = re.compile(r"^(?:~|\.{1,2})?/?(?:[\w.@-]+/)*[\w.@-]+/?$")
_FILE_EXT_RE = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,5}$")
# Possessive (`++`): a digit or letter run splits into chunks in exponentially many
# ways, and `ab` + 24 digits + `x` took seconds to fail (the same strings match).
# Two-letter camel-case pieces of identifiers (`HoursOfOperation`, `DedicatedIpPools`):
# listed, since any capital and small letter would make random mixed case word-shaped.
_WORDS_ABOVE = 0.0  # mean letter-pair score (bits) from which letters read as words
_TWO_LETTER = "Of|To|By|Id|At|On|In|Is|Or|If|As|Up|No|Db|Ip|Io|Ui|Os|Vm|Ok|My|Me|We|Be|Do|Go|An|It"
_WORD_SEGMENT_RE = re.compile(
    rf"(?:[A-Z]?[a-z]{{2,}}|(?:{_TWO_LETTER})(?![a-z])|[A-Z]{{2,}}s?(?![a-z])|[A-Z][a-z]?(?=\d)"
    rf"|[A-Z](?=[A-Z][a-z])"
    rf"|\d{{1,4}})++"
)
_SEGMENT_SPLIT_RE = re.compile(r"[\s._/\-:]+")
_ALNUM_RUN_RE = re.compile(r"[A-Za-z]+|\d+")
# A lower-case host name under a common top-level domain: `registry.acme.io`.
_HOSTNAME_RE = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:com|net|org|io|dev|app|co|cloud|ai|internal"
    r"|local|localhost|lan|corp|svc|cluster|us|uk|de|eu|fr|nl|gov|edu|info|biz|me|tech|sh)$"
)
_NUMBERISH_RE = re.compile(r"^[\d.,:\-+eE_ ]+[a-zA-Z]{0,3}$")


_C_LOG2_C = tuple(c * math.log2(c) if c else 0.0 for c in range(4097))  # c * log2(c)


def shannon_entropy(value: str) -> float:
    n = len(value)
    if n == 0:
        return 0.0
    counts = Counter(value).values()
    if n < len(_C_LOG2_C):  # a table lookup per symbol: this runs on every candidate value
        return math.log2(n) - sum(map(_C_LOG2_C.__getitem__, counts)) / n
    return math.log2(n) - sum(c * math.log2(c) for c in counts) / n


def is_placeholder(value: str) -> bool:
    """Documentation, template filler or redaction rather than a secret."""
    low = value.lower()
    if low in _PLACEHOLDER_WORDS or _MARKER_RE.search(low):
        return True
    return is_patterned(value)


def is_patterned(value: str) -> bool:
    """Runs (`aaaaaa`) and typed sequences (`123456789`, `qwertyuiop`) make up half of it.

    Only half: a real key may contain a run (Twitter's leading `AAAA...`, repeated digits
    in a Slack id) or a typed test value next to its random part.
    """
    if len(set(value)) <= 2:  # '********', '----', 'abababab'
        return True
    low = value.lower()
    covered = bytearray(len(low))  # each character counted once: sequences overlap
    for m in _RUN_RE.finditer(low):
        covered[m.start() : m.end()] = b"\1" * (m.end() - m.start())
    for seq in _SEQUENCES:
        k = low.find(seq)
        if k != -1:
            covered[k : k + len(seq)] = b"\1" * len(seq)
    return sum(covered) * 2 >= len(value)


# Every form of reference above holds one of these (a quick test before the three
# regexes; most values are tokens or words without any).
_REF_GATE_RE = re.compile(r"[.:(\[${%@`]|getenv|secretsmanager|^azurekeyvault")


def is_reference(value: str) -> bool:
    """A template, an environment lookup or a function call: the value lives elsewhere."""
    if not _REF_GATE_RE.search(value):
        return False
    return bool(_TEMPLATE_RE.search(value) or _ENV_LOOKUP_RE.search(value) or _CALL_RE.match(value))


def is_identifier_ref(value: str) -> bool:
    """`settings.TOKEN` or `DB_PASSWORD` written bare: a variable, not a literal."""
    return bool(_DOTTED_REF_RE.match(value) or _IDENT_RE.match(value))


def is_encrypted(value: str) -> bool:
    return value.startswith(_ENCRYPTED_PREFIXES) or bool(SEALED_RE.search(value))


def is_uuid(value: str) -> bool:
    return len(value) == 36 and bool(_UUID_RE.match(value))


# A validation pattern, not a value: `^.{8,32}$`, `(?=.*\d)`, `[A-Za-z0-9]+`.
_REGEX_RE = re.compile(
    r"^\^|(?<!\\)\$$|\\[dwsbDWS]|\.[*+]|\.\{\d|\][*+?{]|\(\?[=!:<]|\[\^?[\w\\]-\w"
)


def is_regex(value: str) -> bool:
    return bool(_REGEX_RE.search(value))


def is_digits_key(value: str) -> bool:
    """A long run of digits that varies like a random number: `738291046653`, not `20240101`."""
    return (
        8 <= len(value) <= 64
        and value.isdigit()
        and len(set(value)) >= 5
        and not is_placeholder(value)
        and shannon_entropy(value) >= min(2.6, 0.6 * math.log2(len(value)))
    )


_SLUG_RE = re.compile(r"^[a-z]+(?:[-_.][a-z]+)+$")


def could_be_password(value: str) -> bool:
    """A human-chosen password: short and low-entropy is fine, but not symbols only
    (`,.:-@*?!`, a separator list) and not a lower-case slug (`read-only`, `shorter-version`)."""
    if len(value) < 4 or not any(c.isalnum() for c in value):
        return False
    return not _SLUG_RE.match(value)


def is_hash_or_id(value: str) -> bool:
    return bool(_UUID_RE.match(value) or _HASH_RE.match(value))


def is_public_material(value: str) -> bool:
    return bool(_PUBLIC_RE.match(value))


def is_non_secret_shape(value: str) -> bool:
    """Emails, host names, paths, URLs without credentials, numbers, sizes, versions."""
    if _EMAIL_RE.match(value) or _NUMBERISH_RE.match(value) or _HOSTNAME_RE.match(value):
        return True
    if "://" in value:  # a URL; credentials in it are the url-credentials rule's business
        return True
    if value.startswith(("/", "~/", "./", "../")) or re.match(r"^[A-Za-z]:\\", value):
        if "\\" in value:
            return True
        segments = [s for s in value.split("/") if s]
        return bool(_PATHISH_RE.match(value)) and (
            bool(_FILE_EXT_RE.search(value)) or all(_is_word(s) for s in segments)
        )
    return bool(
        _PATHISH_RE.match(value)
        and "/" in value
        and _FILE_EXT_RE.search(value)
        and all(_is_word(s) for s in value.rsplit(".", 1)[0].split("/") if s)
    )


def _is_word(segment: str) -> bool:
    return bool(_WORD_SEGMENT_RE.fullmatch(segment))


def is_wordlike(value: str) -> bool:
    """Made of dictionary-ish words: `my-service-token`, `MyCompanyApiKey`, `DEV_ONLY_2024`.

    A segment that flips between letters and digits more than three times
    (`3ax6xnjp29jd6fds4gc`) is generated, not written: words are `v2beta1`, `DEV2024`.
    With 10 letters or more, the letter-pair score decides (words score above 0 bits,
    random letters mostly below -0.4; see `letters`); shorter ones, and scores between
    the two, must be a quarter vowels.  On 28,863 mixed-case identifiers of botocore's
    and moto's sources, 655 read as random with the vowel test alone, 309 with the score.
    """
    segments = [s for s in _SEGMENT_SPLIT_RE.split(value) if s]
    if not segments or not all(
        _is_word(s) and len(_ALNUM_RUN_RE.findall(s)) <= 4 for s in segments
    ):
        return False
    if _rare_pairs(value):
        return False
    score = letters.pair_score(value)  # None under 9 letter pairs
    if score is not None and score >= _WORDS_ABOVE:
        return True
    if score is not None and score < letters.RANDOM_BELOW:
        return False
    return all(_vowelled(s) for s in segments)  # short, or between the two: vowels decide


# Letter pairs rare inside English words and the abbreviations code is written in (each
# under 1% of pairs, counted over ~160,000 identifiers of published Python packages),
# written as a first letter and the letters that follow it.  Random mixed case splits into
# word-shaped pieces (`zaEIJrp7EY`: za, EI, Jrp) whose pairs are often rare; words' are not.
_RARE_PAIRS = frozenset(
    group[0] + second
    for group in (
        *("ahjoq", "bhkpqvwxz", "cgjqvwxz", "dhkqvwxz", "ejz", "fghjkpqvwxz", "gdfjkqvwxz"),
        *("hbcdfghjknpqvwxz", "ihjwy", "jbcdfghijklmnpqrtvwxyz", "kbcdfghjkpqrtvxyz"),
        *("lhjqwxz", "mghjkqvwxz", "njqwxz", "ohqz", "pbjqwxz", "qabcdefghijkmnopqtvwxyz"),
        *("rhjqxz", "sbjxz", "tgjkqx", "uhjquvwyz", "vbdfghjklmnqrtuvwxyz", "wbcdfgjkmpqtuvwxyz"),
        *("xbdfghjklnoqrsuvwz", "ydfghjkqruvxyz", "zbcdfghjklmnpqrstuvwxyz"),
    )
    for second in group[1:]
)
_PIECE_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")


def _rare_pairs(value: str) -> bool:
    """At least two rare letter pairs, and a third or more of all pairs inside word pieces."""
    rare = total = 0
    for piece in _PIECE_RE.findall(value):
        low = piece.lower()
        for i in range(len(low) - 1):
            total += 1
            rare += low[i : i + 2] in _RARE_PAIRS
    return rare >= 2 and rare * 3 >= total


# Letters of words: small ones and the capital that starts a camel-case piece.
_VOWEL_RE = re.compile("[aeiou]|[AEIOU](?=[a-z])")
_LOWER_LETTERS_RE = re.compile("[a-z]|[A-Z](?=[a-z])")


def _vowelled(segment: str) -> bool:
    """The lower-case letters of a long segment are words only if ~a quarter are vowels.

    Written words are ~38% vowels, random letters ~19%, and random mixed case splits into
    word-shaped chunks as easily as not (`buTSOkhDkglm`).  Runs of capitals are left out:
    they are acronyms (`HTTPHandler`, `MLKEM768X25519PrivateKey`); the capital starting a
    piece counts (`paymentInstruments`, `clusterArns`).
    """
    if len(segment) < 8:
        return True
    lower = len(_LOWER_LETTERS_RE.findall(segment))
    return lower < 6 or len(_VOWEL_RE.findall(segment)) * 4 >= lower


_LOWER_RE = re.compile("[a-z]")
_UPPER_RE = re.compile("[A-Z]")
_DIGIT_RE = re.compile("[0-9]")


def looks_random(value: str) -> bool:
    """High-entropy test for the generic rule (names other than password-like ones).

    At least 10 ASCII characters, not made of words, letters mixed with digits or with both
    cases, and Shannon entropy near what a random string of that length reaches:
    min(3.2, 0.8 * log2(len)) bits per character.  Random 16-char base62 scores ~3.7,
    random 32-char hex ~3.8; `my-app-token-2024` fails the word test first.
    """
    n = len(value)
    if n < 10 or not value.isascii() or is_wordlike(value):
        return False  # generated keys are ASCII; `Zugangsschlüssel` is a word
    has_lower = _LOWER_RE.search(value) is not None
    has_upper = _UPPER_RE.search(value) is not None
    has_digit = _DIGIT_RE.search(value) is not None
    if not ((has_digit and (has_lower or has_upper)) or (has_lower and has_upper)):
        # Letters of one case only (`xkqmzvbtpwrh`): random when its letter pairs say so.
        return (
            value.isalpha()
            and letters.reads_random(value)
            and shannon_entropy(value) >= min(3.0, 0.8 * math.log2(n))
        )
    if is_hex(value):  # 16 symbols: a random hex string scores lower than base62
        return shannon_entropy(value) >= min(3.1, 0.62 * math.log2(n))
    return shannon_entropy(value) >= min(3.2, 0.8 * math.log2(n))


def is_hex(value: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in value)
