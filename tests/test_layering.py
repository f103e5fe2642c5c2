"""The layering: no solver imports a sibling solver, no import cycle among our modules, our
own task modules are plain imports of the benchmark suite (a broken one is an error)."""
import ast
import subprocess
import sys
from pathlib import Path

from structpred.solvers import SOLVERS

PACKAGE = Path(__file__).resolve().parents[1] / "structpred"


def _imports(path: Path, module: str):
    """Modules of ours that ``path`` imports anywhere (module level or in a function)."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    base = module.split(".") if is_package else module.split(".")[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("structpred"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base[:len(base) - node.level + 1]
                target = ".".join(parts + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("structpred"):
                continue
            out.add(target)
            for a in node.names:   # `from . import objective` imports a submodule
                candidate = f"{target}.{a.name}"
                if _module_path(candidate) is not None:
                    out.add(candidate)
    return out


def _module_path(module: str):
    rel = Path(*module.split(".")[1:])
    for p in (PACKAGE / rel.with_suffix(".py"), PACKAGE / rel / "__init__.py"):
        if p.exists():
            return p
    return None


def _all_modules():
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def test_no_solver_module_imports_a_sibling_solver():
    solver_modules = {f"structpred.solvers.{spec.split(':')[0]}" for spec in SOLVERS.values()}
    for module in solver_modules:
        path = _module_path(module)
        siblings = _imports(path, module) & (solver_modules - {module})
        assert not siblings, f"{module} imports the solver module(s) {sorted(siblings)}"


# Cycles tolerated for now (none: svm imports persistence, persistence never imports svm).
KNOWN_CYCLES: set = set()


def test_no_import_cycle_among_our_modules():
    graph = {}
    for module, path in _all_modules():
        # a module's own parent packages are not counted (importing a.b.c runs a/__init__)
        graph[module] = {m for m in _imports(path, module)
                         if not module.startswith(m + ".") and m != module}
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start and frozenset(trail) not in KNOWN_CYCLES:
                    cycles.append(trail)
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in cycles)


def test_a_broken_task_module_is_not_a_silent_skip_of_the_benchmark():
    code = ("import sys; sys.modules['structpred.tasks.parsing'] = None\n"
            "import structpred.bench.tasks")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE.parent)
    assert out.returncode != 0 and "structpred.tasks.parsing" in out.stderr


def test_label_types_sit_below_loaders_and_metrics_and_tasks_below_apps():
    """Loaders and metrics build and read labels (trees, clicks) from structpred.labels, never
    from a task; structpred.labels imports nothing of ours but errors; no task imports an
    application."""
    for module, path in _all_modules():
        ours = _imports(path, module)
        if module.startswith(("structpred.datasets", "structpred.metrics")):
            assert not {m for m in ours if m.startswith("structpred.tasks")}, (module, ours)
        if module.startswith("structpred.labels"):
            assert ours <= {"structpred.errors"} | {m for m in ours if m.startswith("structpred.labels")}, (module, ours)
        if module.startswith("structpred.tasks"):
            assert not {m for m in ours if m.startswith("structpred.apps")}, (module, ours)


def test_one_registry_of_builtin_tasks():
    import structpred.persistence as persistence
    import structpred.tasks as tasks
    from structpred.tasks.registry import BUILTIN_TASKS, builtin_task
    assert persistence.BUILTIN_TASKS is BUILTIN_TASKS
    assert set(tasks.__all__) == set(BUILTIN_TASKS)
    for name in BUILTIN_TASKS:
        assert getattr(tasks, name) is builtin_task(name) and builtin_task(name).__name__ == name
    from structpred.cli.svmstruct import CLASSIFY_BY_MODEL      # the CLI keys models by it too
    assert set(CLASSIFY_BY_MODEL) <= set(BUILTIN_TASKS)
# the oracle backends implement the seam; everything else in structpred.solvers is a solver or
# the solvers' shared core and reaches a task only through a backend (SolverRun's passes)
ORACLE_BACKENDS = {"oracle", "dask_oracle", "thread_rounds"}
# what a solver may read off the task: plain attributes, not methods
TASK_ATTRIBUTES = {"size_joint_feature", "approximate_inference"}
# a backend's internals: reading them is a side door around the interface
BACKEND_INTERNALS = {"model", "batches", "bounds", "X", "Y", "_pool", "_block_batches"}


def _task_methods() -> set:
    import inspect
    from structpred.model import StructuredModel
    return {name for name, member in inspect.getmembers(StructuredModel)
            if callable(member) and not name.startswith("__")} - TASK_ATTRIBUTES


def _seam_violations(path: Path) -> list:
    methods = _task_methods()
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and (node.attr in methods or node.attr in BACKEND_INTERNALS):
            out.append(f"{path.name}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.Name) and node.id == "has_hook":
            out.append(f"{path.name}:{node.lineno} has_hook (capabilities come from the backend)")
    return out


def test_no_solver_calls_a_task_method_except_through_the_oracle_interface():
    """Solvers and their core (SolverRun, objective, QP, working sets, ...) never call a task
    method nor read a backend's internals: they ask the backend for full passes, blocks and
    rows (``OracleBackend``), through ``SolverRun``. Every registered solver module is
    covered, whatever its name."""
    solver_dir = PACKAGE / "solvers"
    modules = {p.stem for p in solver_dir.glob("*.py")} - ORACLE_BACKENDS - {"__init__"}
    assert {spec.split(":")[0] for spec in SOLVERS.values()} <= modules
    bad = [v for m in sorted(modules) for v in _seam_violations(solver_dir / f"{m}.py")]
    assert not bad, "solver code around the oracle interface: " + ", ".join(bad)


def test_the_seam_check_catches_a_side_door(tmp_path):
    """The check above is not vacuous: a solver that reads a backend's batches and calls the
    task's row oracle itself (what RowOracle did) is flagged."""
    src = tmp_path / "careless.py"
    src.write_text("def fit(model, oracle, w):\n"
                   "    b = oracle.batches[0]\n"
                   "    return oracle.model.batch_oracle_rows(b, [0], w)\n")
    found = _seam_violations(src)
    assert any(".batches" in v for v in found) and any(".batch_oracle_rows" in v for v in found)
    assert any(".model" in v for v in found)
