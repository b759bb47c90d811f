"""The code stays easy to read: no block of six or more lines written twice in the application,
and no module (application, tests, benchmarks, scripts, the pages' scripts) longer than a
newcomer can take in at once."""

import itertools
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = (
    "core",
    "orders",
    "restaurants",
    "delivery",
    "payments",
    "tracking",
    "pages",
    "privacy",
    "notifications",
    "config",
)
# Tables of another API's words for our statuses: rows alike by nature.
VOCABULARIES = {"tracking/contracts/vocabulary.py"}
WINDOW = 6
MAX_MODULE_LINES = 500
# Beside the applications, the line limit holds for these (vendored and installed code aside).
OTHER_CODE = ("tests/**/*.py", "tests/js/*.mjs", "bench/**/*.py", "scripts/**/*.py", "pages/static/pages/*.js")
NOT_OURS = {"migrations", "node_modules", "vendor"}
# Modules over the limit today, each to be split; the list only ever shrinks.
LONG_MODULES: set[str] = set()


def application_modules() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts and path.relative_to(ROOT).as_posix() not in VOCABULARIES
    )


def modules_under_the_line_limit() -> list[Path]:
    """The application modules, and the tests, benchmarks, scripts and pages' scripts."""
    others = {
        path
        for pattern in OTHER_CODE
        for path in ROOT.glob(pattern)
        if not NOT_OURS & set(path.relative_to(ROOT).parts)
    }
    return sorted({*application_modules(), *others})


def code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line with its white space folded) for each line that says something: not
    blank, not a comment, not an import (nor the names of a bracketed one), not lone brackets."""
    lines = []
    in_import = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = " ".join(raw.split())
        if in_import:
            in_import = not line.endswith(")")
            continue
        if not line or line.startswith("#") or set(line) <= set("()[]{},:"):
            continue
        if line.startswith("import ") or (line.startswith("from ") and " import " in line):
            in_import = line.endswith("(")
            continue
        lines.append((number, line))
    return lines


def repeated_blocks(sources: dict[str, str], window: int = WINDOW) -> list[str]:
    """One line per pair of places where `window` lines stand again, the same after folding."""
    places = defaultdict(list)
    for name, text in sources.items():
        lines = code_lines(text)
        for start in range(len(lines) - window + 1):
            block = tuple(line for _, line in lines[start : start + window])
            places[block].append((name, lines[start][0], lines[start + window - 1][0]))
    pairs: dict = {}
    for where in places.values():
        for (a, a_from, a_to), (b, b_from, b_to) in itertools.pairwise(where):
            pairs.setdefault((a, b), f"{a}:{a_from}-{a_to} ~ {b}:{b_from}-{b_to}")
    return sorted(pairs.values())


def test_the_detector_finds_a_block_written_twice_and_ignores_imports_and_comments():
    block = "\n".join(f"value_{n} = compute({n})" for n in range(WINDOW))
    imports = "\n".join(f"from app.module_{n} import name_{n}" for n in range(WINDOW))
    comments = "\n".join(f"# note {n}" for n in range(WINDOW))
    shorter = "\n".join(f"value_{n} = compute({n})" for n in range(WINDOW - 1))

    assert len(repeated_blocks({"a.py": block, "b.py": "x = 1\n" + block.replace("\n", "\n\n    ")})) == 1
    assert repeated_blocks({"a.py": imports + "\n" + comments, "b.py": comments + "\n" + imports}) == []
    assert repeated_blocks({"a.py": shorter, "b.py": shorter}) == []


def test_no_block_of_six_lines_stands_twice_in_the_application():
    sources = {path.relative_to(ROOT).as_posix(): path.read_text() for path in application_modules()}

    assert repeated_blocks(sources) == [], "write it once and call it from both places"


def test_the_line_limit_covers_tests_benchmarks_scripts_and_the_pages_scripts():
    covered = {path.relative_to(ROOT).as_posix() for path in modules_under_the_line_limit()}

    assert {"orders/services/transitions.py", "tests/conftest.py", "tests/js/order_process_client.mjs"} <= covered
    assert {"bench/_setup.py", "scripts/schema_fuzz.py", "pages/static/pages/kitchen.js"} <= covered
    assert not any(part in NOT_OURS for name in covered for part in name.split("/")), "vendored code is not ours"


def test_no_module_is_longer_than_the_limit():
    lengths = {
        path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines()) for path in modules_under_the_line_limit()
    }
    too_long = {name for name, length in lengths.items() if length > MAX_MODULE_LINES}

    assert too_long - LONG_MODULES == set(), f"split these modules (at most {MAX_MODULE_LINES} lines)"
    assert LONG_MODULES - too_long == set(), "these are short enough now: take them off LONG_MODULES"
