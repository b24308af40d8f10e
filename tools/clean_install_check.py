r"""Clean-install notebook check (issue 18.5): the generated notebooks run as a new user runs them.

What a reader who opens a chapter's notebook outside the book's environment gets (Colab,
Binder, a fresh Python): the package installed *non-editably*, the notebook in some other
folder, no repository on ``sys.path``.  This script builds exactly that and executes every
generated notebook (:mod:`tools/notebooks.py`) to the end:

1. copies the files a fresh clone of this working tree would have (tracked files and
   untracked ones git does not ignore; no ``.venv``, no build outputs) into a temporary
   folder, so nothing is built inside the repository;
2. makes a fresh venv there and ``pip install``\ s into it only the package from that copy
   (non-editable: a wheel built from it) and what executing a notebook needs
   (``ipykernel``, ``nbconvert``, ``myst-nb`` for ``glue``), at the versions of
   ``requirements/book-lock.txt`` where its Python minor version matches the lock's
   (``--no-compile``: byte-compiling every installed file would double the install's CPU
   time; a notebook compiles what it imports);
3. writes the notebooks (``tools/notebooks.py``, run here by the calling Python, which
   needs jupytext) into the temporary folder and puts a guard cell first in each: it
   asserts that ``expreg_nb`` is imported from the fresh venv's site-packages, that the
   kernel is the venv's Python and that no ``sys.path`` entry lies in the repository;
4. runs ``jupyter nbconvert --to notebook --execute`` on each, with the venv's
   ``jupyter``, from an empty temporary folder, with ``PYTHONPATH``, ``EXPREG_RESULTS``,
   ``EXPREG_SCALE``, ``MATPLOTLIBRC`` and ``MPLBACKEND`` removed from the environment and
   the Jupyter data and config folders pointed into the temporary folder (so no kernel
   spec of the user's can stand in for the venv's), ``--jobs`` at a time (default 2) with
   one BLAS thread each.

The exit status is 1 if any notebook fails (its error is printed) or the install does not
come from the venv.  ``--keep`` keeps the temporary folder.  Used by ``.ci/run``.

Command line::

    .venv/bin/python tools/clean_install_check.py [--jobs N] [--keep] [CHAPTER.md ...]
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "book-lock.txt"
#: What executing a generated notebook needs besides the package (nbconvert's kernel, glue).
RUNNERS = ["ipykernel", "nbconvert", "myst-nb"]
#: Removed from the notebooks' environment: each would let the repository or the book's
#: settings leak into a run that must look like a new user's.
SCRUB = ("PYTHONPATH", "PYTHONHOME", "EXPREG_RESULTS", "EXPREG_SCALE", "EXPREG_BACKEND", "MATPLOTLIBRC",
         "MPLBACKEND", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "VIRTUAL_ENV")

GUARD = '''\
# clean-install check (tools/clean_install_check.py): the package must come from the fresh venv
import os, pathlib, sys
import expreg_nb
_site = pathlib.Path({site!r}).resolve()
_repo = pathlib.Path({repo!r}).resolve()
_file = pathlib.Path(expreg_nb.__file__).resolve()
assert _site in _file.parents, f"expreg_nb imported from {{_file}}, not from the clean venv {{_site}}"
assert pathlib.Path(sys.prefix).resolve() == pathlib.Path({prefix!r}).resolve(), sys.prefix
for _p in sys.path:
    _r = pathlib.Path(_p or os.getcwd()).resolve()
    assert _r != _repo and _repo not in _r.parents, f"the repository is on sys.path: {{_p!r}}"
print("clean install:", _file)
'''


def _clone_files(dest: Path) -> int:
    """Copy what a fresh clone of the working tree would hold into ``dest``; return the file count."""
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, check=True).stdout.decode()
    n = 0
    for rel in sorted(set(filter(None, out.split("\0")))):
        src = ROOT / rel
        if src.is_file():  # a tracked file deleted in the working tree is not there
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
            n += 1
    return n


def _lock_args(python: Path) -> list[str]:
    want = next((line.split(":", 1)[1].strip() for line in LOCK.read_text().splitlines()
                 if line.startswith("# python:")), None)
    have = subprocess.run([str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    if want == have:
        return ["-c", str(LOCK)]
    print(f"no lock for Python {have} (lock: {want!r}): installing from the ranges in pyproject.toml")
    return []


def _site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip()).resolve()


def _run_notebook(jupyter: Path, nb: Path, outdir: Path, cwd: Path, env: dict) -> tuple[Path, int, float, str]:
    start = time.perf_counter()
    proc = subprocess.run([str(jupyter), "nbconvert", "--to", "notebook", "--execute", str(nb),
                           "--output-dir", str(outdir), "--ExecutePreprocessor.timeout=600",
                           "--ExecutePreprocessor.kernel_name=python3"],
                          cwd=cwd, env=env, capture_output=True, text=True)
    return nb, proc.returncode, time.perf_counter() - start, proc.stdout + proc.stderr


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("chapters", nargs="*", type=Path, help="chapters to run (default: every chapter)")
    ap.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tools"))
    import nbformat
    import notebooks

    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="expreg-clean-install-")).resolve()
    assert ROOT not in work.parents, f"the temporary folder {work} must lie outside the repository"
    try:
        src, env_dir, nb_dir, out_dir, run_dir = (work / p for p in ("src", "venv", "notebooks", "executed", "run"))
        for d in (src, nb_dir, out_dir, run_dir, work / "jupyter-data", work / "jupyter-config"):
            d.mkdir(parents=True)
        print(f"copied {_clone_files(src)} files of the working tree to {src}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        python, jupyter = env_dir / "bin" / "python", env_dir / "bin" / "jupyter"
        pip = [str(python), "-m", "pip", "install", "--quiet", "--quiet", "--no-compile",
               "--disable-pip-version-check"]
        subprocess.run([*pip, *_lock_args(python), str(src), *RUNNERS], check=True, cwd=run_dir)
        site = _site_packages(python)
        where = subprocess.run([str(python), "-c", "import expreg_nb; print(expreg_nb.__file__)"],
                               capture_output=True, text=True, check=True, cwd=run_dir,
                               env={k: v for k, v in os.environ.items() if k not in SCRUB}).stdout.strip()
        installed = Path(where).resolve()
        # rules out: an editable install or the clone itself being imported instead of the venv's copy
        if site not in installed.parents or ROOT in installed.parents:
            print(f"FAIL: expreg_nb imports from {installed}, not from the clean venv's {site}")
            return 1
        print(f"installed non-editably: {installed} ({time.perf_counter() - t0:.0f} s)", flush=True)

        guard = GUARD.format(site=str(site), repo=str(ROOT), prefix=str(env_dir))
        sources = [p.resolve() for p in args.chapters] or notebooks.chapters()
        nbs = []
        for md in sources:
            nb = notebooks.to_notebook(md)
            nb.cells.insert(0, nbformat.v4.new_code_cell(guard))
            out = nb_dir / md.relative_to(ROOT).with_suffix(".ipynb")
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(out))
            (out_dir / out.parent.relative_to(nb_dir)).mkdir(parents=True, exist_ok=True)
            nbs.append(out)
        env = {k: v for k, v in os.environ.items() if k not in SCRUB}
        env.update(PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}", PYTHONNOUSERSITE="1",
                   JUPYTER_DATA_DIR=str(work / "jupyter-data"), JUPYTER_CONFIG_DIR=str(work / "jupyter-config"),
                   JUPYTER_PLATFORM_DIRS="1", IPYTHONDIR=str(work / "ipython"), TQDM_DISABLE="1",
                   OPENBLAS_NUM_THREADS=env.get("OPENBLAS_NUM_THREADS", "1"),
                   OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"))
        failed = []
        t1 = time.perf_counter()
        with cf.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            futures = [pool.submit(_run_notebook, jupyter, nb, out_dir / nb.parent.relative_to(nb_dir), run_dir, env)
                       for nb in nbs]
            for fut in cf.as_completed(futures):
                nb, rc, secs, log = fut.result()
                name = nb.relative_to(nb_dir)
                print(f"{'ok  ' if rc == 0 else 'FAIL'} {name} ({secs:.0f} s)", flush=True)
                if rc != 0:
                    failed.append(name)
                    print(log[-6000:], flush=True)
        total = time.perf_counter() - t0
        print(f"{len(nbs) - len(failed)} of {len(nbs)} notebooks ran to the end from a clean install "
              f"(notebooks {time.perf_counter() - t1:.0f} s, in all {total:.0f} s, {args.jobs} at a time)")
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
