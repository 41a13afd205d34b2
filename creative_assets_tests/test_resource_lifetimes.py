"""Resources opened outside a run are closed by a `with`, never left to the garbage collector.

`ConfigurableResource.process_config_and_initialize()` enters a throwaway Dagster instance that is
only exited when its init context is garbage-collected. Exiting it then restores the Dagster
context (the current definitions-state storage) to whatever was current when it was entered, by
then often a disposed instance, and the next `Definitions` load in that process fails with
"Attempted to resolve undefined DagsterInstance weakref". The command line and the review app
therefore open resources with `process_config_and_initialize_cm()` only.
"""

from __future__ import annotations

import ast
import gc
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("creative_assets", "resources", "sensors", "bench", "scripts")


def test_no_product_code_initializes_a_resource_without_closing_it():
    offenders = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr == "process_config_and_initialize":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"use process_config_and_initialize_cm() in a with block: {offenders}"


def test_the_forbidden_call_still_restores_a_disposed_instance():
    """Pins the Dagster behaviour the rule above exists for: if this starts failing, Dagster no
    longer leaks the init context's instance and the rule may be relaxed."""
    from dagster._core.storage.defs_state.base import DefsStateStorage  # non-public: test only

    from resources.storage import LocalCreativeStorage

    with dg.instance_for_test():
        value = LocalCreativeStorage(root="unused").process_config_and_initialize()
    del value
    gc.collect()
    storage = DefsStateStorage.get()
    try:
        assert storage is not None and storage._instance_weakref() is None
    finally:
        from dagster._core.storage.defs_state.base import _current_storage

        _current_storage.set(None)  # leave the context clean for the tests that follow
