"""axe-core (tests/js/node_modules, pinned in tests/js/package.json) run inside a page.

The script is evaluated through the browser's debugging protocol, which the page's CSP
(`script-src 'self'`) does not govern, so the page is checked exactly as it is served.
"""

from functools import cache
from pathlib import Path

AXE = Path(__file__).resolve().parents[1] / "js" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@cache
def _source() -> str:
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: scripts/_venv.sh installs tests/js's npm packages (npm ci)")
    return AXE.read_text()


def serious_violations(page, *, exclude: list[str] | None = None) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.1 AA and best
    practice), each as {id, impact, help, targets}."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_source() + "\n;undefined")
    context = {"exclude": [[selector] for selector in exclude]} if exclude else {"include": [["html"]]}
    results = page.evaluate(
        """async (context) => {
          const result = await window.axe.run(context, { resultTypes: ["violations"] });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" "))
          }));
        }""",
        context,
    )
    return [violation for violation in results if violation["impact"] in BLOCKING]
