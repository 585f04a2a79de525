"""The built wheel works outside the checkout: installed in a scratch virtualenv, run from a folder
with nothing of the project in it, `leadrelay init` finds its migrations and rules and `preview`
its email templates; and it installs nothing under a generic top-level name."""
from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from tests.conftest import REPO


def run(args: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{args[:3]} exited {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


def test_the_wheel_installs_and_runs_init_and_preview_from_an_empty_folder(tmp_path):
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp_path / "dist", REPO], tmp_path)
    (wheel,) = (tmp_path / "dist").glob("leadrelay-*.whl")
    top_level = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert top_level == {"leadrelay", wheel.name.split("-py3")[0] + ".dist-info"}

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # Dependencies come from the test environment (a path entry: its editable leadrelay is not
    # loaded, since .pth files are only read in site directories); leadrelay comes from the wheel.
    (site / "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", site, wheel], tmp_path)

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LEADRELAY_DATABASE_URL": f"sqlite:///{empty / 'lr.db'}",
           "PREFECT_HOME": str(tmp_path / "prefect")}
    python = venv / "bin" / "python"
    where = run([python, "-c", "import leadrelay.models, leadrelay.email.rendering as r; print(r.__file__)"], empty, env)
    assert where.stdout.strip().startswith(str(site))
    assert "valid" in run([python, "-m", "leadrelay.cli.app", "init"], empty, env).stdout
    preview = run([python, "-m", "leadrelay.cli.app", "preview", "nurture_timing_guide", "--out", empty / "p.html"], empty, env)
    assert "wrote" in preview.stdout and "unsubscribe" in (empty / "p.html").read_text().lower()
