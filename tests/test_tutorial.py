"""docs/tutorial.ipynb runs top to bottom (nbclient, a kernel from this environment)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tutorial_notebook_runs_top_to_bottom(monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="pip install -e \".[test]\"")
    from nbclient import NotebookClient
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME

    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "commit the tutorial without outputs"
    client = NotebookClient(nb, timeout=240, kernel_name=NATIVE_KERNEL_NAME,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    # the kernel is this interpreter (the venv's), not whatever 'python3' a Jupyter install names
    client.kernel_manager_class = _this_python_kernel(sys.executable)
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 3
    text = "".join(str(o.get("data", {}).get("text/plain", "")) + o.get("text", "")
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "licence_approvals_halved" in text and "motor makers" in text


def _this_python_kernel(python: str):
    from jupyter_client.manager import KernelManager

    class ThisPython(KernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            return [python, *cmd[1:]] if cmd and os.path.basename(cmd[0]).startswith("python") else cmd
    return ThisPython


def test_the_tutorials_licence_section_says_what_its_runs_show():
    """Section 5's words, checked on the runs it makes (seed 1): an outside student found the
    queue below the baseline's in October, where the text had it above "into 2026"."""
    import rechain
    from rechain.scenario import load_scenario
    base = load_scenario(ROOT / "scenarios" / "baseline.toml")
    halved = load_scenario(ROOT / "scenarios" / "licence_approvals_halved.toml")
    runs = {sc.name: rechain.run(sc, seed=1) for sc in (base, halved)}
    queue = {k: r.series("licences_pending_t") for k, r in runs.items()}
    refused = {k: r.series("licences_refused") for k, r in runs.items()}
    b, h = base.name, halved.name
    spring = slice("2025-04", "2025-09")
    ratio = refused[h].loc[spring].sum() / refused[b].loc[spring].sum()
    assert 2.3 < ratio < 3.0                                   # "almost three times"
    assert all(refused[h][m] < 2 * refused[b][m] for m in ("2025-05", "2025-06"))   # "less than double"
    assert all(queue[h][m] > queue[b][m] for m in ("2025-11", "2025-12", "2026-01", "2026-02"))
