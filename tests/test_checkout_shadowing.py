"""A folder named ``mjvec`` beside the script (the checkout itself, seen from its parent) never shadows the package.

Python imports a folder without ``__init__.py`` as a namespace package when no regular package
of that name is found on ``sys.path``. setuptools' default editable install adds no path: it
appends an import finder to ``sys.meta_path`` *behind* Python's PathFinder, so a checkout named
``mjvec`` in the working directory (or its parent on ``PYTHONPATH``) was imported instead of the
package, nothing registered, and ``gym.make_vec("mjvec/...")`` raised ``NamespaceNotFound``.
``pyproject.toml``'s ``package-dir = {"" = "."}`` makes the editable install a ``.pth`` path
entry, where the regular package wins over the namespace portion; a regular install always did.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import mjvec

PACKAGE = Path(mjvec.__file__).resolve().parent
CHECK = (
    "import mjvec, gymnasium as gym; from pathlib import Path;"
    " assert getattr(mjvec, '__file__', None), f'the folder {list(mjvec.__path__)} was imported as a namespace package';"
    " print(Path(mjvec.__file__).resolve().parent);"
    " gym.make_vec('mjvec:mjvec/InvertedPendulum-v5', 2).close(); gym.make('mjvec/InvertedPendulum-v5').close()"
)
REINSTALL = (
    "a folder named mjvec shadows the installed package: this environment's mjvec was installed before"
    " pyproject.toml's package-dir setting (setuptools' import-finder editable mode); run `pip install -e .` again"
)


@pytest.fixture
def parent_of_a_checkout(tmp_path):
    """A folder holding ``mjvec``: a link to this checkout's root (whatever its own folder is named)."""
    (tmp_path / "mjvec").symlink_to(PACKAGE.parent, target_is_directory=True)
    return tmp_path


def _run(cwd, env=None):
    return subprocess.run([sys.executable, "-c", CHECK], cwd=cwd, env=env, capture_output=True, text=True)


def test_a_script_run_from_the_checkouts_parent_imports_the_package(parent_of_a_checkout):
    out = _run(parent_of_a_checkout)
    assert out.returncode == 0, f"{REINSTALL}\n{out.stderr}"
    assert Path(out.stdout.strip()) == PACKAGE


def test_the_checkouts_parent_on_pythonpath_does_not_shadow_the_package(parent_of_a_checkout, tmp_path_factory):
    import os

    env = {**os.environ, "PYTHONPATH": str(parent_of_a_checkout)}
    out = _run(tmp_path_factory.mktemp("elsewhere"), env=env)
    assert out.returncode == 0, f"{REINSTALL}\n{out.stderr}"
    assert Path(out.stdout.strip()) == PACKAGE
