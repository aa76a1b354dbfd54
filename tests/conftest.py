"""Fixtures shared by several test modules."""

import subprocess
import sys

import mujoco
import numpy as np
import pytest

from mjvec import render


@pytest.fixture(scope="session")
def gl():
    """An OpenGL context can be made here (else skip, saying why)."""
    model = mujoco.MjModel.from_xml_string("<mujoco><worldbody><geom size='1'/></worldbody></mujoco>")
    renderer = render.BatchRenderer(model, width=8, height=8)
    try:
        renderer.render(render.RenderState(model, np.zeros((1, 0)), np.zeros((1, 0))))
    except render.GLUnavailableError as e:
        pytest.skip(f"no OpenGL context: {e}")
    finally:
        renderer.close()


@pytest.fixture
def import_error_without():
    """``f(module, missing)``: the ImportError message of importing ``module`` in a fresh
    interpreter where the package ``missing`` is not installed ("" if the import works)."""

    def message(module: str, missing: str) -> str:
        code = (
            f"import sys; sys.modules[{missing!r}] = None\n"
            f"try:\n    import {module}\nexcept ImportError as e:\n    print(e)\n"
        )
        return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout

    return message
