"""The labelled corpus: precision and recall over (path, line, rule), both >= 0.95."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from sealedcfg.scan import RULE_IDS, Finding, scan_file

HERE = Path(__file__).resolve().parent.parent / "fixtures" / "scan"
CORPUS = HERE / "corpus"
# Hand-written, GitHub-style files (Django, Rails, compose, k8s, Terraform, shell, lockfiles,
# docs, ...), written independently of the generator: the generated corpus shares its
# author's blind spots with the scanner.
INDEPENDENT = HERE / "independent"


def _labels(base: Path = HERE) -> dict[str, str]:
    data: dict[str, str] = json.loads((base / "labels.json").read_text(encoding="utf-8"))
    return data


def _scan_corpus(base: Path = HERE) -> dict[str, list[Finding]]:
    corpus = base / "corpus"
    out: dict[str, list[Finding]] = {}
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        rel = path.relative_to(corpus).as_posix()
        result = scan_file(path, display_path=rel)
        assert isinstance(result, list), result
        out[rel] = result
    return out


def _table(expected: set[tuple[str, str]], got: set[tuple[str, str]]) -> str:
    tp = Counter(rule for _, rule in expected & got)
    fp = Counter(rule for _, rule in got - expected)
    fn = Counter(rule for _, rule in expected - got)
    rows = [f"{'rule':32} {'tp':>4} {'fp':>4} {'fn':>4}"]
    for rule in sorted(set(tp) | set(fp) | set(fn)):
        rows.append(f"{rule:32} {tp[rule]:4} {fp[rule]:4} {fn[rule]:4}")
    rows += [f"FP {k} {r}" for k, r in sorted(got - expected)]
    rows += [f"FN {k} {r}" for k, r in sorted(expected - got)]
    return "\n".join(rows)


@pytest.mark.parametrize("base", [HERE, INDEPENDENT], ids=["generated", "independent"])
def test_precision_and_recall(base: Path) -> None:
    expected = set(_labels(base).items())
    got = {(f"{rel}:{f.line}", f.rule_id) for rel, fs in _scan_corpus(base).items() for f in fs}
    tp = len(expected & got)
    precision = tp / len(got) if got else 0.0
    recall = tp / len(expected)
    summary = f"precision={precision:.3f} recall={recall:.3f}\n{_table(expected, got)}"
    assert precision >= 0.95, summary
    assert recall >= 0.95, summary


def test_sealed_and_encrypted_files_are_clean() -> None:
    findings = _scan_corpus()
    for rel in findings:
        if rel.startswith(("sealed/", "encrypted/")):
            assert findings[rel] == [], rel


def test_corpus_covers_every_rule_and_is_large_enough() -> None:
    labels = _labels()
    assert set(labels.values()) == set(RULE_IDS)
    assert len(labels) >= 150
    negatives = 0
    for path in CORPUS.rglob("*"):
        if path.is_file():
            rel = path.relative_to(CORPUS).as_posix()
            lines = path.read_text(encoding="utf-8").split("\n")
            negatives += sum(
                1 for i, ln in enumerate(lines, 1) if ln.strip() and f"{rel}:{i}" not in labels
            )
    assert negatives >= 250


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", HERE / "make_corpus.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_reproduces_the_committed_corpus(tmp_path: Path) -> None:
    labels = _generator().write(tmp_path)
    assert labels == _labels()
    fresh = {p.relative_to(tmp_path / "corpus") for p in (tmp_path / "corpus").rglob("*")}
    committed = {p.relative_to(CORPUS) for p in CORPUS.rglob("*")}
    assert fresh == committed
    for rel in committed:
        if (CORPUS / rel).is_file():
            assert (CORPUS / rel).read_bytes() == (tmp_path / "corpus" / rel).read_bytes(), rel


def test_independent_corpus_is_realistic_and_labelled() -> None:
    labels = _labels(INDEPENDENT)
    files = [p for p in (INDEPENDENT / "corpus").rglob("*") if p.is_file()]
    assert len(files) >= 40
    assert len(labels) >= 60
    clean = {p.relative_to(INDEPENDENT / "corpus").as_posix() for p in files} - {
        k.rsplit(":", 1)[0] for k in labels
    }
    assert len(clean) >= 15  # lockfiles, certificates, public keys, i18n, CSS, CI workflows


@pytest.mark.parametrize("rel", ["sealed/prod.yaml", "sealed/staging.env.yaml"])
def test_sealed_snippets_hold_sealed_tokens(rel: str) -> None:
    assert "sealedcfg;v1;str;;" in (CORPUS / rel).read_text(encoding="utf-8")
