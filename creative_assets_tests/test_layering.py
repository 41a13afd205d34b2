"""Import layering (docs/ARCHITECTURE.md "Layers"): pure modules load neither Dagster nor
``resources/``, and only the Dagster wiring imports ``resources/``.

The rule that decides which modules are pure: every module of ``creative_assets/`` except the
Dagster layer listed in ``DAGSTER_LAYER`` (the assets package, the definitions and the modules that
build jobs, partitions, executors, run requests and instance glue). A new module is pure unless it
is added there, so the test covers it the day it is written.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "creative_assets"

#: creative_assets modules that may import Dagster (and, where ALLOWED_RESOURCE_IMPORTERS says so,
#: resources/); every other module of the package is pure
DAGSTER_LAYER = {
    "creative_assets.assets",  # the package and every module in it
    "creative_assets.definitions",
    "creative_assets.jobs",
    "creative_assets.partitions",
    "creative_assets.execution",
    "creative_assets.celery_app",
    "creative_assets.local_instance",
    "creative_assets.cli_progress",  # follows a run in the instance's event log
    "creative_assets.run_pool",  # executes runs in this process and in worker processes
    "creative_assets.dagster_compat",
    "creative_assets.run_requests",
    "creative_assets.identity.migrations",  # Alembic's env.py runs on import
}
#: the only product code that imports resources/ (bench/ and the tests are harnesses that wire
#: resources themselves, like definitions.py does)
ALLOWED_RESOURCE_IMPORTERS = ("creative_assets.assets", "creative_assets.definitions", "sensors", "resources")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def in_layer(name: str, layer) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in layer)


def pure_modules() -> list[str]:
    names = (module_name(p) for p in sorted(PACKAGE.rglob("*.py")))
    return [n for n in names if not in_layer(n, DAGSTER_LAYER)]


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, at any depth (function-level imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_the_rule_finds_the_pure_modules():
    pure = pure_modules()
    for expected in ("creative_assets.layout", "creative_assets.stage_store", "creative_assets.unit_work"):
        assert expected in pure
    assert "creative_assets.definitions" not in pure and "creative_assets.assets.finals" not in pure
    assert len(pure) > 50, "the package's modules were not found"


@pytest.mark.parametrize("module", pure_modules())
def test_a_pure_module_loads_neither_dagster_nor_resources(module):
    probe = (
        f"import sys, {module}\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'dagster', 'dagster_aws', 'resources'})\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", f"importing {module} loads {done.stdout.strip()}"


def test_only_the_dagster_wiring_imports_resources():
    offenders = []
    for root in ("creative_assets", "sensors", "resources"):
        for path in sorted((REPO / root).rglob("*.py")):
            name = module_name(path)
            if in_layer(name, ALLOWED_RESOURCE_IMPORTERS):
                continue
            offenders += [
                f"{path.relative_to(REPO)}:{line} imports {target}"
                for line, target in imported_modules(path)
                if target == "resources" or target.startswith("resources.")
            ]
    assert offenders == []


def test_resources_import_only_pure_domain_modules():
    """resources/ implement the domain's interfaces; they never reach up into the Dagster layer."""
    offenders = []
    for path in sorted((REPO / "resources").rglob("*.py")):
        for line, target in imported_modules(path):
            if target.startswith(("creative_assets.", "sensors")) and (
                in_layer(target, DAGSTER_LAYER) or target.startswith("sensors")
            ):
                offenders.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    assert offenders == []
