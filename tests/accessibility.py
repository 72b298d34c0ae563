"""axe-core in the browser tests: WCAG 2.2 AA checked on the page a test has open.

axe-core comes from the npm registry, pinned in tests/browser/package-lock.json and installed
by `make test` (scripts/ensure_axe.sh) into tests/browser/node_modules, which git ignores. The
test reads axe.min.js from there and injects it into the open page through WebDriver; the app
never serves it, and the pages themselves carry no script (the browser only needs JavaScript
enabled for WebDriver's own calls).

    from tests.accessibility import AxeAudit
    audit = AxeAudit(driver)
    driver.get(url); audit.check("reporter / ru")
    ...
    audit.assert_clean()   # every page's violations, listed with rule, impact and elements
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from tests.conftest import service_missing

AXE_JS = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"

# WCAG 2.0, 2.1 and 2.2, levels A and AA: every rule axe-core files under those tags.
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then(results => done(JSON.stringify(results.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary})),
  })))))
  .catch(error => done(JSON.stringify({error: String(error)})));
"""

_OPEN_DETAILS = """
const closed = [...document.querySelectorAll("details:not([open])")];
closed.forEach(details => { details.open = true; });
return closed.length;
"""


@cache
def axe_source() -> str:
    """axe.min.js as installed from the lock file; skipped locally (failed in CI) if absent."""
    if not AXE_JS.is_file():
        service_missing("axe-core", f"{AXE_JS} missing: run `bash scripts/ensure_axe.sh`")
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(driver: Any, tags: list[str] | None = None) -> list[dict[str, Any]]:
    """Run axe-core on the page open in `driver`; its WCAG violations (empty when clean)."""
    source = axe_source()
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(source)
    driver.set_script_timeout(60)
    answer = json.loads(driver.execute_async_script(_RUN, tags or WCAG_22_AA))
    if isinstance(answer, dict):
        raise AssertionError(f"axe-core did not run: {answer['error']}")
    return list(answer)


def describe(page: str, violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{page}: {violation['id']} ({violation['impact']}) {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    {' '.join(map(str, node['target']))}")
            for detail in (node["summary"] or "").splitlines():
                lines.append(f"        {detail.strip()}")
    return "\n".join(lines)


class AxeAudit:
    """Checks pages one after another; `assert_clean` fails listing every violation found."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.checked: list[str] = []
        self.reports: list[str] = []

    def check(self, page: str) -> None:
        # The page must be one of this site's, loaded: not an error page of the browser's own.
        state = self.driver.execute_script("return document.readyState")
        assert state == "complete", f"{page}: page not loaded ({state})"
        url = self.driver.current_url
        assert url.startswith(("http://127.0.0.1", "file://")), url
        self._check(page)
        # What a closed <details> holds is not rendered, so axe-core would pass over it: open
        # every section, as the person filling the form does, and check again.
        if self.driver.execute_script(_OPEN_DETAILS):
            self._check(f"{page}, sections open")

    def _check(self, page: str) -> None:
        self.checked.append(page)
        found = axe_violations(self.driver)
        if found:
            self.reports.append(describe(f"{page} <{self.driver.current_url}>", found))

    def assert_clean(self) -> None:
        assert self.checked, "no page was checked"
        print(f"axe-core checked {len(self.checked)} pages: " + "; ".join(self.checked))
        if self.reports:
            report = "\n".join(self.reports)
            raise AssertionError(
                f"WCAG 2.2 AA violations on {len(self.reports)} of {len(self.checked)} pages:\n"
                + report
            )
