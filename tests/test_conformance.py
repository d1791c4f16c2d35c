"""docs/conformance.md covers every clause of §4–§8, and every test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STANDARD = ROOT.parent / "shared" / "standard" / "community-social-work-service-guide.zh.txt"
DOC = ROOT / "docs" / "conformance.md"
CLAUSE = re.compile(r"^\s*([4-8](?:\.\d+)*)\s+\S")
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _rows() -> list[list[str]]:
    lines = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])] for line in lines[1:]]


def _clauses_of_the_standard() -> set[str]:
    text = STANDARD.read_text(encoding="utf-8")
    body = text[text.index("4 总则") :]
    found = {m.group(1) for line in body.splitlines() if (m := CLAUSE.match(line))}
    return {c for c in found if len(c) <= 7 and not c.endswith(".")}


def test_every_clause_of_sections_4_to_8_is_listed() -> None:
    listed = {row[0] for row in _rows()}
    if STANDARD.exists():
        missing = sorted(_clauses_of_the_standard() - listed, key=lambda c: [int(p) for p in c.split(".")])
        assert missing == [], f"clauses missing from docs/conformance.md: {missing}"
    assert {"4.1", "6.1.4", "7.5.3", "8.3.4"} <= listed


def test_every_row_names_a_test_or_a_reason() -> None:
    for clause, _need, _feature, proof in _rows():
        assert TEST_REF.search(proof) or "不在范围" in proof or proof.startswith("见"), clause


def test_every_test_named_exists() -> None:
    refs = TEST_REF.findall(DOC.read_text(encoding="utf-8"))
    assert refs
    for path, name in refs:
        module = ROOT / path
        assert module.exists(), path
        names = {
            n.name for n in ast.walk(ast.parse(module.read_text(encoding="utf-8"))) if isinstance(n, ast.FunctionDef)
        }
        assert name in names, f"{path}::{name} is named in docs/conformance.md but does not exist"
