"""Data flows one way (README "Development", DESIGN §2): lower layers never import higher ones.

Every import between the project's packages is read from the source (ast, no import runs). `FORBIDDEN` says which
packages a layer may not import; `KNOWN` lists the imports that still run back up today. The test fails on a new
one, and on a known one that is gone (so the list stays true and shrinks as the layering is straightened).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "db": {"metrics", "assistant", "handlers", "scheduler", "render", "crm"},
    "metrics": {"assistant", "handlers", "scheduler", "render", "crm"},
    "crm": {"assistant", "handlers", "scheduler", "render"},
    "render": {"handlers", "scheduler", "assistant"},
    "assistant": {"handlers", "scheduler"},
    "scheduler": {"handlers"},
}
KNOWN = {
    ("assistant/intents.py", "scheduler.digest_schedule"),
    ("assistant/intents.py", "scheduler.digests"),
    ("assistant/call_answers.py", "scheduler.forecast_calls"),
}


def upward_imports(root: Path = ROOT) -> set[tuple[str, str]]:
    found = set()
    for layer, banned in FORBIDDEN.items():
        for path in sorted((root / layer).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    if module.split(".")[0] in banned:
                        found.add((path.relative_to(root).as_posix(), module))
    return found


def test_lower_layers_import_no_higher_ones_beyond_the_known_list():
    found = upward_imports()
    assert found - KNOWN == set(), "new imports running back up a layer"
    assert KNOWN - found == set(), "these are straightened: take them off KNOWN"


def test_the_check_sees_an_upward_import(tmp_path):
    """The reader finds imports at any depth, `import x.y` and `from x import y` alike."""
    fake = tmp_path / "db"
    fake.mkdir()
    (fake / "oops.py").write_text("def f():\n    import handlers.app\n    from metrics import cache\n")
    assert upward_imports(tmp_path) == {("db/oops.py", "handlers.app"), ("db/oops.py", "metrics")}
