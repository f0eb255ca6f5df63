"""The package's boundaries: what imports what, and what the installed runner needs."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from tests.stacks import REPO_ROOT

PACKAGE = REPO_ROOT / "components" / "appstack"
MODULE_NAME = re.compile(r"^((?:delivery|policies|components|tests)(?:\.\w+)+)$")
"""A string naming a checkout module, as `importlib.import_module` would take it."""


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, and every string naming a module it may import dynamically."""
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.update(MODULE_NAME.findall(node.value))
    return names


def test_the_package_imports_nothing_of_the_checkout() -> None:
    """Components never import the policy pack, delivery, the tests or the old `components`."""
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in imported_modules(path):
            top = name.split(".")[0]
            assert top not in {"policies", "delivery", "tests", "components"}, (path, name)


def test_promote_and_verify_do_not_import_each_other() -> None:
    promote = imported_modules(REPO_ROOT / "delivery" / "promote.py")
    verify = imported_modules(REPO_ROOT / "delivery" / "verify.py")
    assert not any(name.startswith("delivery.verify") for name in promote), promote
    assert not any(name.startswith("delivery.promote") for name in verify), verify
    assert "delivery.outputs" in promote and "delivery.outputs" in verify


def test_the_migration_runner_starts_without_pulumi() -> None:
    """`python -m appstack.migrate` runs inside every deployment: it loads no SDK."""
    code = "import sys, appstack.migrate; print(sorted(m for m in sys.modules if 'pulumi' in m))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_contracts_unknown_is_the_sdks_own_sentinel() -> None:
    import pulumi.output
    import pulumi.runtime.rpc

    from appstack import contract

    assert contract.UNKNOWN is pulumi.output.UNKNOWN
    assert contract.WIRE_UNKNOWN == pulumi.runtime.rpc.UNKNOWN
    for unknown in (pulumi.output.UNKNOWN, pulumi.output.Unknown(), pulumi.runtime.rpc.UNKNOWN):
        assert contract.is_unknown(unknown)
    for known in ("", "04da6b54", None, 0, [], {}):
        assert not contract.is_unknown(known)


def test_the_readme_shows_the_tested_consumer_program() -> None:
    """The README's library example is tests/components/consumer, which test_consumer runs."""
    program = (Path(__file__).parent / "consumer" / "__main__.py").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"```python\n{program}```\n" in readme
