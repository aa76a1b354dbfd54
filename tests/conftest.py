"""Fixtures shared by several test modules."""

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
