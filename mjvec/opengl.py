"""Which OpenGL platform MuJoCo draws with, chosen where none is set.

MuJoCo draws with the platform named by ``MUJOCO_GL`` (``egl``, ``osmesa``, ``glfw``),
read when ``mujoco`` is imported. Where it is unset on a Linux machine with no display,
``gl_backend()`` tries EGL (a GPU, or Mesa's software EGL), then OSMesa (software), each
in a child process because a process cannot switch platform once PyOpenGL has loaded
one, and makes MuJoCo use the first that draws.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading

import mujoco

__all__ = ["GL_INSTALL", "GLUnavailableError", "gl_backend", "check_context"]

# what makes each OpenGL platform work, on Debian and Ubuntu
GL_INSTALL = {
    "egl": "`apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri` (Mesa's software EGL) or a GPU driver",
    "osmesa": "`apt-get install libosmesa6`",
    "glfw": "a display (DISPLAY), or MUJOCO_GL=egl or MUJOCO_GL=osmesa",
}
_PROBE = """
import mujoco
model = mujoco.MjModel.from_xml_string("<mujoco><worldbody><geom size='1'/></worldbody></mujoco>")
data = mujoco.MjData(model)
mujoco.mj_forward(model, data)
with mujoco.Renderer(model, 8, 8) as renderer:
    renderer.update_scene(data)
    renderer.render()
"""
_gl_lock = threading.Lock()


class GLUnavailableError(RuntimeError):
    """No OpenGL context could be made; the message says what to install or set."""


def gl_backend() -> str:
    """The OpenGL platform MuJoCo draws with; picks one on the first call if ``MUJOCO_GL`` is unset.

    ``MUJOCO_GL`` set: that one. ``PYOPENGL_PLATFORM`` set to ``egl`` or ``osmesa``
    (PyOpenGL is then bound to it): that one. A display, or not Linux: MuJoCo's
    default. Headless Linux: ``egl``, else ``osmesa``, the first that draws a frame in a
    child process. The choice is written to ``MUJOCO_GL`` (children inherit it).

    Raises:
      GLUnavailableError: headless and neither works; the message says what to install.
    """
    with _gl_lock:
        name = os.environ.get("MUJOCO_GL", "").strip().lower()
        if name:
            return name
        platform = os.environ.get("PYOPENGL_PLATFORM", "").strip().lower()
        if platform in ("egl", "osmesa"):
            name = platform
        elif not sys.platform.startswith("linux") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
            return "cgl" if sys.platform == "darwin" else "glfw"
        else:
            errors = {}
            for candidate in ("egl", "osmesa"):
                errors[candidate] = _probe(candidate)
                if errors[candidate] is None:
                    name = candidate
                    break
            else:
                tried = "; ".join(f"{k}: {v}" for k, v in errors.items())
                raise GLUnavailableError(
                    "rendering needs OpenGL and this machine has no display: neither EGL nor OSMesa could"
                    f" draw ({tried}). Install OSMesa (software, any machine) with"
                    f" {GL_INSTALL['osmesa']}, or EGL with {GL_INSTALL['egl']}; or set MUJOCO_GL"
                )
        _use_gl(name)
        return name


def _use_gl(name: str) -> None:
    """Make MuJoCo's ``Renderer`` draw with OpenGL platform ``name`` from now on."""
    os.environ["MUJOCO_GL"] = name
    # mujoco read MUJOCO_GL when it was imported (and found none): read it again
    module = sys.modules.get("mujoco.rendering.classic.gl_context")
    if module is not None and getattr(module, "_MUJOCO_GL", name) != name:
        importlib.reload(module)


def _probe(name: str) -> str | None:
    """None if MuJoCo draws a frame with OpenGL platform ``name`` in a child process, else why not."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE],
            check=False,
            env={**os.environ, "MUJOCO_GL": name},
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as e:
        return f"{type(e).__name__}: {e}"
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def check_context(width: int, height: int) -> None:
    """Make and free one OpenGL context with a ``width`` x ``height`` offscreen buffer, as a camera needs.

    Raises:
      GLUnavailableError: MuJoCo cannot make one; the message says what to install or set.
      ValueError: it makes small ones but not one this large.
    """
    name = gl_backend()
    # a small context first: after a failed one, some platforms (GLFW) abort on the next attempt
    error = _context_error(8, 8)
    if error is not None:
        raise GLUnavailableError(
            f"camera observations need an OpenGL context, and MuJoCo could not make one with MUJOCO_GL={name!r}:"
            f" {error}. It needs {GL_INSTALL.get(name, 'a working OpenGL')}; MUJOCO_GL=osmesa needs"
            f" {GL_INSTALL['osmesa']}"
        )
    # every OpenGL 3 makes framebuffers of 1024 pixels a side (GL_MAX_RENDERBUFFER_SIZE >= 1024)
    if max(width, height) > 1024:
        error = _context_error(width, height)
        if error is not None:
            raise ValueError(
                f"a {width}x{height} camera is larger than the offscreen framebuffer OpenGL makes here"
                f" (MUJOCO_GL={name!r}: {error}): use smaller images"
            )


def _context_error(width: int, height: int) -> str | None:
    """None if MuJoCo makes a context with a ``width`` x ``height`` offscreen buffer here, else why not."""
    model = mujoco.MjModel.from_xml_string(
        f"<mujoco><visual><global offwidth='{width}' offheight='{height}'/></visual>"
        "<worldbody><geom size='1'/></worldbody></mujoco>"
    )
    try:
        renderer = mujoco.Renderer(model, height, width)
    except Exception as e:  # noqa: BLE001 - OpenGL failures arrive as ImportError, RuntimeError, OSError, GLError...
        return f"{type(e).__name__}: {e}"
    renderer.close()
    return None
