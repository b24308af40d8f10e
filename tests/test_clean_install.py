"""tools/clean_install_check.py: what it copies, and that its guard cell rejects the editable install."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("clean_install_check", ROOT / "tools" / "clean_install_check.py")
cic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cic)


def test_guard_rejects_the_repository_install(tmp_path):
    guard = cic.GUARD.format(site=str(tmp_path / "site-packages"), repo=str(ROOT), prefix=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", guard], capture_output=True, text=True, cwd=tmp_path)
    # rules out: a guard that passes whatever expreg_nb it imports (here the editable one, from the clone)
    assert proc.returncode != 0 and "not from the clean venv" in proc.stderr


def test_guard_rejects_the_repository_on_sys_path(tmp_path):
    import expreg_nb

    site = Path(expreg_nb.__file__).resolve().parents[1]
    guard = cic.GUARD.format(site=str(site), repo=str(ROOT), prefix=sys.prefix)
    proc = subprocess.run([sys.executable, "-c", guard], capture_output=True, text=True, cwd=ROOT)
    # rules out: a run from inside the repository (its folder on sys.path) going unnoticed
    assert proc.returncode != 0 and "the repository is on sys.path" in proc.stderr


def test_clone_copy_has_the_package_data_and_no_build_outputs(tmp_path):
    n = cic._clone_files(tmp_path)
    # rules out: a copy without the stored results (package data) or one carrying the venv
    assert n > 50 and (tmp_path / "expreg_nb" / "results" / "relu2-width" / "full" / "table.csv").is_file()
    assert (tmp_path / "pyproject.toml").is_file() and not (tmp_path / ".venv").exists()
