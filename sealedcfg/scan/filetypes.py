"""File kinds: how literal a bare (unquoted) value is, and how much to trust names.

* QUOTED: source code and strict formats (Python, JS/TS, Go, Java, Ruby, JSON, TOML, HCL):
  a bare value is a variable, call or number, so only string literals count.
* WORD: shell, .env, Dockerfile, netrc: a bare value is a literal up to whitespace.
* LINE: YAML, ini, properties, XML, unknown text: a bare value runs to the end of the line.
* DOC: Markdown, reStructuredText, text, and `*.example`/`*.sample`/`*.template` files:
  examples are the norm, so every generic value must look random, passwords included.
  Provider tokens are reported everywhere: a real key pasted into a README is a leak.
* LOCK: lockfiles are hashes and URLs by construction; only provider tokens are checked.
"""

from __future__ import annotations

from enum import Enum
from functools import lru_cache


class Kind(Enum):
    QUOTED = "quoted"
    WORD = "word"
    LINE = "line"
    DOC = "doc"
    LOCK = "lock"


_QUOTED_EXT = frozenset(
    {
        "py",
        "pyi",
        "js",
        "mjs",
        "cjs",
        "jsx",
        "ts",
        "tsx",
        "mts",
        "cts",
        "go",
        "java",
        "kt",
        "kts",
        "scala",
        "groovy",
        "gradle",
        "rb",
        "php",
        "cs",
        "rs",
        "swift",
        "c",
        "h",
        "cc",
        "cpp",
        "hpp",
        "m",
        "dart",
        "lua",
        "pl",
        "pm",
        "r",
        "ex",
        "exs",
        "erl",
        "clj",
        "vue",
        "svelte",
        "json",
        "jsonc",
        "json5",
        "toml",
        "tf",
        "tfvars",
        "hcl",
        "nomad",
        "ipynb",
    }
)
_WORD_EXT = frozenset({"sh", "bash", "zsh", "ksh", "fish", "ps1", "bat", "cmd", "env", "envrc"})
_DOC_EXT = frozenset({"md", "markdown", "rst", "txt", "adoc", "asciidoc", "org", "html", "htm"})
_TEMPLATE_SUFFIXES = ("example", "sample", "template", "tmpl", "dist", "tpl", "skel")
_LOCKFILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "pipfile.lock",
        "cargo.lock",
        "go.sum",
        "gemfile.lock",
        "composer.lock",
        "uv.lock",
        "pdm.lock",
        "packages.lock.json",
        "flake.lock",
        "mix.lock",
        "pubspec.lock",
    }
)


_I18N_DIRS = ("locale", "locales", "i18n", "l10n", "lang", "langs", "translations", "messages")


def kind_of(path: str) -> Kind:
    norm = path.replace("\\", "/").lower()
    base = norm.rsplit("/", 1)[-1]
    if base in _LOCKFILES:
        return Kind.LOCK
    # Translation catalogues map `password:` to the word for it: strict, like docs.
    if any(f"/{d}/" in f"/{norm}" for d in _I18N_DIRS):
        return Kind.DOC
    parts = base.split(".")
    if len(parts) > 1 and parts[-1] in _TEMPLATE_SUFFIXES:
        return Kind.DOC
    if base.startswith(".env") or base in {".netrc", "_netrc", ".envrc", ".npmrc", ".pypirc"}:
        return Kind.WORD
    if base.startswith(("dockerfile", "containerfile")) or base.endswith(".dockerfile"):
        return Kind.WORD
    ext = parts[-1] if len(parts) > 1 else ""
    if ext in _QUOTED_EXT:
        return Kind.QUOTED
    if ext in _WORD_EXT:
        return Kind.WORD
    if ext in _DOC_EXT:
        return Kind.DOC
    return Kind.LINE


@lru_cache(maxsize=64)
def is_netrc(path: str) -> bool:
    return path.replace("\\", "/").rsplit("/", 1)[-1].lower() in {".netrc", "_netrc"}


@lru_cache(maxsize=64)
def is_pgpass(path: str) -> bool:
    return path.replace("\\", "/").rsplit("/", 1)[-1].lower() in {".pgpass", "pgpass.conf"}


@lru_cache(maxsize=64)
def is_dockerfile(path: str) -> bool:
    base = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return base.startswith(("dockerfile", "containerfile")) or base.endswith(".dockerfile")


_TEST_DIRS = ("test", "tests", "spec", "specs", "__tests__", "testdata", "fixtures", "testing")


@lru_cache(maxsize=256)
def is_test_path(path: str) -> bool:
    """Unit tests and their fixtures: short made-up passwords are the norm there."""
    norm = path.replace("\\", "/").lower()
    parts = norm.split("/")
    base = parts[-1]
    stem = base.rsplit(".", 1)[0]
    return (
        any(p in _TEST_DIRS for p in parts[:-1])
        or stem.startswith("test_")
        or stem.endswith(("_test", "_spec", ".test", ".spec", "tests", "test"))
    )


_SPACED_EXT = frozenset({"conf", "cfg", "cnf", "properties"})


@lru_cache(maxsize=64)
def is_spaced_config(path: str) -> bool:
    """Configs whose lines may be `name value` (redis.conf, Java .properties)."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return "." in base and base.rsplit(".", 1)[-1] in _SPACED_EXT
