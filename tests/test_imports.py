"""The package's layering: every module imports on its own, light modules stay light, no import cycles,
packages depend only downwards, and drawing figures never touches the caller's matplotlib backend."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "econsim"


def _python(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, module_level: bool) -> set[str]:
    """econsim modules imported by a module: at module level only, or anywhere (functions too);
    imports under ``if TYPE_CHECKING:`` never run and are left out."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit_stmt(sub)
                continue
            if module_level and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            visit_stmt(child)

    def visit_stmt(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
        visit(node)

    visit(ast.parse(path.read_text()))
    return {m for m in found if m in MODULES and m != name}


def _parents(module: str) -> list[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_no_module_level_import_cycle():
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        edges = _imports(name, path, module_level=True)
        # importing a module also runs its packages' __init__ (but a package never waits on itself)
        graph[name] = {
            p for m in edges for p in [*_parents(m), m] if not name.startswith(p + ".") and p != name
        }
    assert _find_cycle(graph) is None, " -> ".join(_find_cycle(graph) or [])


# Which package may import which, with function-level imports included: each layer sees only those
# below it. The root ``econsim`` (the facade: ``run``, ``load``... imported on first use, and
# ``__version__``) may be imported by anyone and imports nothing at module level. The model registry
# (``econsim.models``, ``econsim.models.registry``) is a layer of its own below plotting: it names the
# model packages by import path only, so a model's extras (its reports, its figures) may draw with
# ``econsim.plotting`` while plotting finds a model's figures through the registry.
LAYERS = {
    "engine": set(),
    "analysis": {"engine"},
    "mechanisms": {"engine"},
    "registry": {"engine", "analysis"},
    "plotting": {"engine", "analysis", "registry"},
    "models": {"engine", "analysis", "mechanisms", "registry", "plotting"},
    "experiment": {"engine", "analysis", "registry", "plotting"},
    "cadcad": {"engine", "experiment"},
    "server": {"engine", "registry", "models", "experiment"},
    "cli": {
        "engine",
        "analysis",
        "mechanisms",
        "registry",
        "models",
        "plotting",
        "experiment",
        "cadcad",
        "server",
    },
}


def _layer(module: str) -> str:
    if module in ("econsim.models", "econsim.models.registry"):
        return "registry"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_packages_depend_only_on_the_layers_below():
    assert set(LAYERS) | {""} == {_layer(m) for m in MODULES}
    wrong = []
    for name, path in MODULES.items():
        mine = _layer(name)
        for imported in _imports(name, path, module_level=False):
            theirs = _layer(imported)
            if theirs in ("", mine) or mine == "":
                continue
            if theirs not in LAYERS[mine]:
                wrong.append(f"{name} imports {imported}")
    assert not wrong, "\n".join(wrong)
    assert _imports("econsim", MODULES["econsim"], module_level=True) == set()


OPTIONAL = ("ray", "optuna", "SALib", "cadCAD", "radcad")


@pytest.mark.slow  # a fresh interpreter per module, 15 s: runs in CI with -m slow
def test_every_module_imports_in_a_fresh_interpreter():
    # each module is imported in a process that has loaded no econsim module (forked from one that
    # has loaded only the third-party libraries, which keeps this test fast). A module that its
    # package's __init__ imports needs no process of its own: importing it first runs that __init__
    # first, so it imports exactly when its package does.
    packages = sorted((n for n, p in MODULES.items() if p.name == "__init__.py"), key=lambda n: n.count("."))
    modules = sorted(n for n, p in MODULES.items() if p.name != "__init__.py")
    code = f"""
        import importlib, json, os, sys, traceback
        for lib in ("numpy", "scipy.special", "pandas", "pyarrow.parquet", "pydantic", "rich.progress",
                    "matplotlib.figure", "typer", "yaml", "numba", "xarray"):
            importlib.import_module(lib)
        failures, loaded_by, checked = {{}}, {{}}, 0
        for name in {packages!r} + {modules!r}:
            if name in loaded_by.get(name.rpartition(".")[0], ()):
                continue
            checked += 1
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read)
                try:
                    importlib.import_module(name)
                    message = ""
                except ImportError as exc:
                    top = (exc.name or "").split(".")[0]
                    message = "" if top in {OPTIONAL!r} else traceback.format_exc()
                except BaseException:
                    message = traceback.format_exc()
                loaded = [m for m in sys.modules if m.startswith("econsim")]
                os.write(write, json.dumps([message, loaded]).encode())
                os._exit(0)
            os.close(write)
            with os.fdopen(read) as pipe:
                message, loaded = json.loads(pipe.read())
            os.waitpid(pid, 0)
            loaded_by[name] = set(loaded)
            if message:
                failures[name] = message
        print(json.dumps([failures, checked]))
    """
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    failures, checked = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not failures, "\n".join(f"{k}:\n{v}" for k, v in failures.items())
    assert len(packages) <= checked <= len(MODULES)


HEAVY = ("pandas", "pyarrow", "matplotlib", "rich", "pydantic")


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("econsim", (*HEAVY, "scipy", "numba")),
        ("econsim.engine", HEAVY),
        ("econsim.models.honey", HEAVY),
        ("econsim.models.atp", HEAVY),
        ("econsim.models.tokens", HEAVY),
        ("econsim.experiment.executors", ("matplotlib", "rich", "ray")),
    ],
)
def test_light_modules_do_not_import_heavy_libraries(module, absent):
    proc = _python(f"import sys, {module}; print(sorted(m for m in {absent!r} if m in sys.modules))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", f"import {module} loads {proc.stdout.strip()}"


def test_drawing_figures_leaves_the_callers_backend_alone(tmp_path):
    proc = _python(
        f"""
        import sys
        import matplotlib
        matplotlib.use("pdf")  # the caller's choice
        import econsim
        econsim.run({{"model": "honey", "runs": 2, "steps": 5, "seed": 1}}, save_fig={str(tmp_path)!r},
                    progress=False)
        import econsim.models.atp, econsim.models.tokens.figure, econsim.experiment.optimize
        print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["pdf", "False"]
    assert len(list(tmp_path.glob("*.png"))) == 6
