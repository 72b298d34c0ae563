"""Where the service finds its templates, static files, migrations and Alembic configuration.

An installed package carries copies of the top-level `templates/`, `static/` and `migrations/`
folders inside itself (package data, see `setup.py`); a checkout (an editable install, `make
run`) uses the folders at the project's root. Either way nothing depends on the working
directory.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_ROOT = PACKAGE_DIR.parent


def is_checkout() -> bool:
    """Running from the project's own tree rather than from an installed package."""
    return (_CHECKOUT_ROOT / "pyproject.toml").is_file() and not (
        PACKAGE_DIR / "templates"
    ).is_dir()


def resource_dir(name: str) -> Path:
    """`templates`, `static` or `migrations`: inside the package if installed, else the
    checkout's top-level folder."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else _CHECKOUT_ROOT / name


def default_instance_path() -> Path:
    """The checkout's `instance/` folder, or `instance/` in the working directory when the
    service runs from an installed package (`INSTANCE_PATH` overrides either)."""
    return _CHECKOUT_ROOT / "instance" if is_checkout() else Path.cwd() / "instance"


def alembic_config() -> object:
    """Alembic's configuration, built here rather than read from `alembic.ini`, so that an
    installed package can migrate without the checkout."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resource_dir("migrations")))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return cfg


def upgrade_database(revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(), revision)  # type: ignore[arg-type]
