"""Every module of the project imports on its own, first, in a fresh interpreter: an import cycle that only
works when some other module happens to be imported first fails here (e.g. `handlers.forecast_call`, which once
could not be the first import).

One subprocess loads the third-party packages the project imports, then forks a child per module that imports
just that module: each import starts from nothing of ours (and no module-level state, such as the Prometheus
registry, is built twice), while the shared third-party packages keep it quick.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"tests", "migrations", ".venv", "examples"}

IMPORT_EACH = """
import importlib, os, sys, traceback
ours = set(sys.argv[1].split(","))
for name in sys.argv[2].split(","):  # other packages' modules, loaded once and shared by every fork
    try:
        importlib.import_module(name)
    except Exception:  # a name imported from a module, not a submodule
        pass
failed = []
for name in sys.argv[3:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a child imports one module, starting from nothing of ours
        os.close(read)
        try:
            importlib.import_module(name)
            code = 0
        except BaseException:
            os.write(write, traceback.format_exc(limit=-3).encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        said = pipe.read()
    if os.waitpid(pid, 0)[1] != 0:
        failed.append(name + ": " + said)
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def project_files(root: Path = ROOT) -> list[Path]:
    """The project's own .py files: no hidden folder (.venv, .venv-ci, .git), no virtualenv of any name (one holds a
    pyvenv.cfg), nothing in SKIP."""
    found = []
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d not in SKIP
                               and not (here / d / "pyvenv.cfg").exists())
        found += [here / f for f in sorted(files) if f.endswith(".py")]
    return found


def project_modules(root: Path = ROOT) -> list[str]:
    names = []
    for path in project_files(root):
        rel = path.relative_to(root)
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def third_party(root: Path, ours: set[str]) -> list[str]:
    """The modules (and, for `from x import y`, the possible submodules x.y) the project's modules import from
    outside the project, the standard library's included: loaded once in the parent, they are not timed again."""
    names = set()
    for path in project_files(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return sorted(n for n in names if n.split(".")[0] not in ours | {"__future__"})


def import_each(root: Path, modules: list[str]) -> subprocess.CompletedProcess:
    ours = {m.split(".")[0] for m in modules}
    return subprocess.run([sys.executable, "-c", IMPORT_EACH, ",".join(sorted(ours)),
                           ",".join(third_party(root, ours)), *modules],
                          cwd=root, capture_output=True, text=True, timeout=600)


def test_every_module_imports_first_in_a_fresh_interpreter():
    modules = project_modules()
    assert "handlers.forecast_call" in modules and "scheduler.ledger" in modules
    done = import_each(ROOT, modules)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_check_sees_a_circular_import(tmp_path):
    """Two modules importing a name from each other fail when either is imported first."""
    pkg = tmp_path / "loop"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from loop.b import B\nA = 1\n")
    (pkg / "b.py").write_text("from loop.a import A\nB = 2\n")
    for venv in (".venv-ci", "env"):  # CI's virtualenv sits inside the clone; any folder holding a pyvenv.cfg is one
        (tmp_path / venv / "lib").mkdir(parents=True)
        (tmp_path / venv / "pyvenv.cfg").write_text("home = /usr\n")
        (tmp_path / venv / "lib" / "site.py").write_text("raise SystemExit('not ours')\n")
    modules = project_modules(tmp_path)
    assert modules == ["loop", "loop.a", "loop.b"]
    done = import_each(tmp_path, modules)
    assert done.returncode == 1 and "loop.a: " in done.stdout and "circular import" in done.stdout
