"""Does the code keep its shape? Imports run one way — pages, API and CLI → domain packages →
models, crypto and taxonomy — with no cycle, even through imports hidden inside functions.

The checker reads the source (AST), so it sees every import a module can make, not just those
that happened to run. Its own tests build a small package with a cycle and an upward import and
check that both are caught.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests import PROJECT_ROOT

PACKAGE = "incident_service"

# The foundation: may import only itself (and third-party libraries).
BASE = (
    "incident_service.constants",
    "incident_service.taxonomy",
    "incident_service.numbers",
    "incident_service.crypto",
    "incident_service.models",
    "incident_service.month_versions",  # the triggers that come with the models' tables
    "incident_service.locks",
    "incident_service.keystore",
    "incident_service.settings",
    "incident_service.resources",
    "incident_service.i18n",
    "incident_service.extensions",
    "incident_service.log_redaction",
    "incident_service.security",
    "incident_service.compression",
    "incident_service.ratelimit",
)

# The edges: pages, the API, the command line and the app factory. Anything may be imported by
# them; nothing below may import them.
EDGE = (
    "incident_service.console",
    "incident_service.wsgi",
    "incident_service.health",
    "incident_service.error_pages",
    "incident_service.api",
    "incident_service.cli",
    "incident_service.summaries",
    "incident_service.auth.access",
    "incident_service.auth.views",
    "incident_service.auth.forms",
    "incident_service.intake.views",
    "incident_service.intake.forms",
    "incident_service.intake.details",  # the steps of the web form after sending
    "incident_service.cases.views",
    "incident_service.cases.evidence_views",
    "incident_service.cases.forms",
)

# Package inits that are edges themselves, without making their whole package one.
EDGE_EXACT = (
    "incident_service",  # create_app
    "incident_service.auth",  # Flask-Login wiring
)

FOREIGN_TOP_LEVEL = ("seeds", "bench", "tests", "workers")


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_under(root: Path, package: str) -> dict[str, Path]:
    return {_module_name(root, path): path for path in sorted((root / package).rglob("*.py"))}


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports_of(root: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import in every module, including those inside functions, resolved to the most
    specific module that exists (``from a import b`` names ``a.b`` when ``b`` is a module)."""
    found: list[Import] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.extend(Import(module, alias.name, node.lineno) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, is_package, node.level, node.module)
                for alias in node.names:
                    candidate = f"{target}.{alias.name}"
                    known = candidate in modules or (root / candidate.replace(".", "/")).is_dir()
                    found.append(Import(module, candidate if known else target, node.lineno))
    return found


def _owner(name: str, prefixes: Iterable[str]) -> str | None:
    """The longest prefix in `prefixes` that `name` is, or lies inside."""
    best = None
    for prefix in prefixes:
        if (name == prefix or name.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best)
        ):
            best = prefix
    return best


def layer(name: str) -> str:
    if name in EDGE_EXACT:
        return "edge"
    edge, base = _owner(name, EDGE), _owner(name, BASE)
    if edge is None and base is None:
        return "domain"
    if base is None or (edge is not None and len(edge) > len(base)):
        return "edge"
    return "base"


ALLOWED = {"edge": {"edge", "domain", "base"}, "domain": {"domain", "base"}, "base": {"base"}}


def cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan), or a self-import."""
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
        graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def internal(found: list[Import], package: str) -> list[Import]:
    return [
        item
        for item in found
        if (item.target == package or item.target.startswith(package + "."))
        and item.target != item.source
    ]


def violations(found: list[Import], package: str) -> list[str]:
    problems = []
    for item in internal(found, package):
        source, target = layer(item.source), layer(item.target)
        if target not in ALLOWED[source]:
            problems.append(
                f"{item.source}:{item.line} ({source}) imports {item.target} ({target})"
            )
    return problems


def _package_imports() -> tuple[dict[str, Path], list[Import]]:
    modules = modules_under(PROJECT_ROOT, PACKAGE)
    return modules, imports_of(PROJECT_ROOT, modules)


def _domain_package(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[:2])


def test_is_there_no_import_cycle_in_the_package():
    _modules, found = _package_imports()
    edges = [(item.source, item.target) for item in internal(found, PACKAGE)]
    assert cycles(edges) == []


def test_do_domain_packages_depend_on_each_other_in_one_direction():
    """intake, cases, pipeline, releases, auth and the audit trail form a DAG as packages too,
    so a newcomer can read them bottom-up."""
    _modules, found = _package_imports()
    edges = {
        (_domain_package(item.source), _domain_package(item.target))
        for item in internal(found, PACKAGE)
        if layer(item.source) == "domain" and layer(item.target) == "domain"
    }
    assert cycles((a, b) for a, b in edges if a != b) == []


def test_do_imports_only_run_downwards():
    _modules, found = _package_imports()
    assert violations(found, PACKAGE) == []


def test_does_the_package_never_import_seeds_bench_tests_or_workers():
    _modules, found = _package_imports()
    foreign = [
        f"{item.source}:{item.line} imports {item.target}"
        for item in found
        if item.target.split(".")[0] in FOREIGN_TOP_LEVEL
    ]
    assert foreign == []


def test_do_workers_import_the_package_and_never_the_other_way():
    modules = modules_under(PROJECT_ROOT, "workers")
    found = imports_of(PROJECT_ROOT, modules)
    assert all(item.target.split(".")[0] != "seeds" for item in found)
    assert any(item.target.startswith(PACKAGE) for item in found)


# --- the checker's own tests: a package that breaks both rules -----------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_does_the_checker_find_a_cycle_hidden_in_a_function(tmp_path):
    _write(
        tmp_path,
        {
            "demo/__init__.py": "",
            "demo/a.py": "from demo import b\n",
            "demo/b.py": "def later():\n    from demo.a import thing\n",
        },
    )
    modules = modules_under(tmp_path, "demo")
    found = imports_of(tmp_path, modules)
    assert cycles((i.source, i.target) for i in internal(found, "demo")) == [["demo.a", "demo.b"]]


def test_does_the_checker_find_an_upward_import(tmp_path):
    _write(
        tmp_path,
        {
            "incident_service/__init__.py": "",
            "incident_service/models.py": "from incident_service.intake import storage\n",
            "incident_service/intake/__init__.py": "",
            "incident_service/intake/storage.py": "from .views import page\n",
            "incident_service/intake/views.py": "from ..models import Report\n",
        },
    )
    modules = modules_under(tmp_path, PACKAGE)
    problems = violations(imports_of(tmp_path, modules), PACKAGE)
    assert len(problems) == 2
    assert any("incident_service.models:1 (base) imports" in p for p in problems)
    assert any("incident_service.intake.storage:1 (domain) imports" in p for p in problems)
