"""The repository stands on its own: nothing cites a file outside it, and every cited section of
docs/aws-behaviour.md exists there."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import ROOT

BEHAVIOUR = ROOT / "docs" / "aws-behaviour.md"

# Built from pieces so this file does not trip its own check: the team-only notes file and where it lives.
_TEAM_NOTES = "FA" + "CTS"
OUTSIDE_REFERENCES = [
    re.compile(rf"\b{_TEAM_NOTES}\b"),
    re.compile(rf"{_TEAM_NOTES}\.md", re.IGNORECASE),
    re.compile(re.escape("/work" + "/shared")),
]

# "docs/aws-behaviour.md §2", "aws-behaviour.md \u00a73" (JSON-escaped, as in the ASL), "§1-§3" ranges, and
# relative links "aws-behaviour.md#s2" from docs/*.md.
SECTION_CITATION = re.compile(r"aws-behaviour\.md\s*(?:§|\\u00a7)(\d+)(?:\s*[-\u2013]\s*(?:§|\\u00a7)?(\d+))?")
ANCHOR_CITATION = re.compile(r"aws-behaviour\.md#s(\d+)\b")
LABELLED_LINK = re.compile(r"\[aws-behaviour §(\d+)\]\((?:docs/)?aws-behaviour\.md#s(\d+)\)")
SKIPPED_DIRS = {".git", ".venv", ".tools", "build", "node_modules", "__pycache__", ".aws-sam"}


def tracked_files() -> list[Path]:
    """What git tracks; a tree without .git (an unpacked archive) is walked instead."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout.decode()
        return [ROOT / name for name in out.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        return [
            path
            for path in ROOT.rglob("*")
            if path.is_file() and not SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts)
        ]


def text_files() -> dict[str, str]:
    texts = {}
    for path in tracked_files():
        try:
            raw = path.read_bytes()
        except OSError:  # listed by git but deleted in the working tree
            continue
        if b"\0" in raw[:8192]:  # binary (wheels, images, WAVs)
            continue
        texts[path.relative_to(ROOT).as_posix()] = raw.decode("utf-8", errors="replace")
    return texts


def behaviour_sections() -> tuple[list[int], set[int]]:
    """(section numbers of the `## §N ...` headings in order, ids of the `<a id="sN">` anchors)."""
    text = BEHAVIOUR.read_text(encoding="utf-8")
    headings = [int(n) for n in re.findall(r"^## §(\d+) \S", text, flags=re.MULTILINE)]
    anchors = {int(n) for n in re.findall(r'<a id="s(\d+)"></a>', text)}
    return headings, anchors


def test_no_reference_to_files_outside_the_repository() -> None:
    hits = [
        f"{name}:{number}: {line.strip()[:100]}"
        for name, text in text_files().items()
        for number, line in enumerate(text.splitlines(), start=1)
        if any(pattern.search(line) for pattern in OUTSIDE_REFERENCES)
    ]
    assert not hits, "cite docs/aws-behaviour.md §N instead of a file outside the repository:\n" + "\n".join(hits)


def test_aws_behaviour_sections_are_numbered_in_order_each_with_its_anchor() -> None:
    headings, anchors = behaviour_sections()
    assert headings == list(range(1, len(headings) + 1)), f"headings are numbered {headings}"
    assert len(headings) >= 8, "sections §1-§8 are cited across the project"
    assert anchors == set(headings), f'each `## §N` heading needs <a id="sN"></a>; anchors: {sorted(anchors)}'


def test_every_cited_aws_behaviour_section_exists() -> None:
    headings, anchors = behaviour_sections()
    missing = []
    cited = 0
    for name, text in text_files().items():
        for number, line in enumerate(text.splitlines(), start=1):
            for match in SECTION_CITATION.finditer(line):
                first, last = int(match[1]), int(match[2] or match[1])
                cited += 1
                missing += [f"{name}:{number}: §{n}" for n in range(first, last + 1) if n not in headings]
            for match in ANCHOR_CITATION.finditer(line):
                cited += 1
                if int(match[1]) not in anchors:
                    missing.append(f"{name}:{number}: #s{match[1]}")
            for match in LABELLED_LINK.finditer(line):
                if match[1] != match[2]:
                    missing.append(f"{name}:{number}: link text §{match[1]} points at #s{match[2]}")
    assert cited > 0, "no citation of docs/aws-behaviour.md found: the pattern no longer matches the project's form"
    assert not missing, "cited sections missing from docs/aws-behaviour.md:\n" + "\n".join(missing)
