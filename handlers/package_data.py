"""Where the folders that ship with the product are, installed from a wheel or in a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped_dir(package: str, name: str) -> Path:
    """The folder ``name`` that ships with ``package`` (``"handlers", "locales"``).

    Installed from a wheel, it is inside the package (pyproject.toml maps the repository's
    top-level ``locales/`` to ``handlers/locales/`` and ``migrations/`` to ``bot/migrations/``);
    in a checkout (editable install, tests, scripts) it is the top-level folder beside the
    package. Raises ``FileNotFoundError`` naming both places when neither exists.
    """
    package_dir = resources.files(package)
    if not isinstance(package_dir, Path):  # a zipped install, which pip never makes
        raise FileNotFoundError(f"{package} is not installed as plain files: {package_dir}")
    for folder in (package_dir / name, package_dir.parent / name):
        if folder.is_dir():
            return folder
    raise FileNotFoundError(
        f"no {name}/ in {package_dir} nor in {package_dir.parent}: the install is incomplete"
    )
