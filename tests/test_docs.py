"""The examples in the docs run as written."""

from __future__ import annotations

import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
PAGES = ["actions.md", "custom_tasks.md", "randomization.md", "new_tasks.md", "integrations.md", "dm_control.md"]
BLOCKS = [
    pytest.param(page, i, code, id=f"{page}-{i}")
    for page in PAGES
    for i, code in enumerate(re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), re.S))
]


@pytest.mark.parametrize("page, index, code", BLOCKS)
def test_example_runs(page, index, code):
    exec(compile(code, f"{page}[{index}]", "exec"), {"__name__": "__doc_example__"})
