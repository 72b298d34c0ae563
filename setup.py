"""Packaging details that pyproject.toml cannot express: the top-level `templates/`, `static/` and
`migrations/` folders ship inside the package, and translations are compiled at build time.

The layout keeps those folders at the project's root (where a newcomer looks for them); an
installed package finds its copies through `incident_service.resources`.
"""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

# Top-level folders mapped to packages inside `incident_service`.
DATA_PACKAGES = {
    "incident_service.templates": "templates",
    "incident_service.static": "static",
    "incident_service.migrations": "migrations",
}


def _data_packages() -> dict[str, str]:
    """Every folder under the mapped ones becomes a (data-only) package of its own."""
    mapping: dict[str, str] = {}
    for package, folder in DATA_PACKAGES.items():
        mapping[package] = folder
        for sub in sorted(p for p in Path(folder).rglob("*") if p.is_dir()):
            if sub.name == "__pycache__":
                continue
            relative = sub.relative_to(folder)
            mapping[".".join([package, *relative.parts])] = str(sub)
    return mapping


class BuildWithCatalogs(build_py):  # type: ignore[misc]
    """Compile the .po catalogs to .mo before copying package data, so a wheel built from a
    fresh clone serves every language."""

    def run(self) -> None:
        from babel.messages.frontend import CommandLineInterface

        CommandLineInterface().run(
            ["pybabel", "-q", "compile", "-d", "incident_service/translations"]
        )
        super().run()


DATA = _data_packages()

setup(
    packages=find_packages(include=["incident_service*", "workers*", "seeds*"]) + list(DATA),
    package_dir=DATA,
    package_data={
        "incident_service": ["py.typed", "translations/*/LC_MESSAGES/*.mo"],
        "incident_service.releases.documents": ["*.css"],
        **{package: ["*"] for package in DATA},
    },
    exclude_package_data={package: ["__pycache__", "*.pyc"] for package in DATA},
    cmdclass={"build_py": BuildWithCatalogs},
)
