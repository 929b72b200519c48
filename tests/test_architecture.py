"""The architecture stays true: layers, faces, network and argparse boundaries, no cycles, sizes, lint.

``design/ARCHITECTURE.md`` describes the rules these tests enforce:

* layers by folder, one direction: core < transport < wire < catalog, config < ops < app < faces
  (cli, mcp); a module imports only its own layer or lower ones;
* faces import only the application layer (and core); nothing imports a face; faces do not
  import each other;
* ``argparse`` only in the faces; network libraries only in ``transport/``;
* no import cycles between modules (imports inside functions count);
* no module over 600 lines; function bodies short (median <= 10, p90 <= 25 lines);
* ruff is clean; every environment variable the package names is declared in the settings table.

Each rule is a function over a package folder, so one test also shows it failing on a copy of the
package with a violation added.
"""
from __future__ import annotations

import ast
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "scripts" / "mediagen"
LAYERS = {"core": 0, "transport": 1, "wire": 2, "catalog": 3, "config": 3, "ops": 4, "app": 5, "cli": 6, "mcp": 6}
FACES = ("cli", "mcp")
NETWORK = ("requests", "urllib3", "http.client", "socket", "urllib.request", "google.auth.transport")
ENV_PREFIXES = ("MEDIAGEN_", "GOOGLE_", "GEMINI_", "CLIPROXY_", "STORAGE_")
OS_VARIABLES = ("HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "XDG_CONFIG_HOME", "XDG_STATE_HOME",
                "XDG_CACHE_HOME", "CLOUDSDK_CONFIG")
MAX_MODULE_LINES = 600


# -- reading the package ------------------------------------------------------------------------------

def modules(package: Path) -> dict[str, Path]:
    """Dotted module name (``mediagen.ops.images``) -> file."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in a file, function bodies included.

    ``from a import b`` names ``a.b`` when that is a module of the package (importing a submodule), else
    ``a`` and ``a.b`` (a name from ``a``; ``a.b`` matters for ``from http import client``).
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            subs = [f"{node.module}.{alias.name}" for alias in node.names]
            if not all(_is_module_file(path, sub) for sub in subs):
                found.append((node.lineno, node.module))
            found += [(node.lineno, sub) for sub in subs]
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, "<relative import>"))
    return found


def _is_module_file(path: Path, dotted: str) -> bool:
    """Whether ``dotted`` (``mediagen.x.y``) is a module file of the package that ``path`` belongs to."""
    parts = dotted.split(".")
    root = next((p for p in path.parents if p.name == parts[0]), None)
    if root is None:
        return False
    target = root.joinpath(*parts[1:])
    return target.with_suffix(".py").is_file() or (target / "__init__.py").is_file()


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "core"      # mediagen/__init__ is core


def _internal(module: str, known: dict[str, Path]) -> str | None:
    """The package module an imported name refers to (``mediagen.ops.images.plan`` -> ``mediagen.ops.images``)."""
    while module:
        if module in known:
            return module
        module = module.rpartition(".")[0]
    return None


# -- the rules ------------------------------------------------------------------------------------------

def layer_violations(package: Path) -> list[str]:
    """A module importing a higher layer, anything importing a face, or a face importing below app."""
    known = modules(package)
    found = []
    for name, path in known.items():
        mine = _layer(name)
        for line, imported in imports(path):
            if imported == "<relative import>":
                found.append(f"{name}:{line} uses a relative import (imports are absolute)")
                continue
            target = _internal(imported, known) if imported.startswith(package.name) else None
            if target is None or target == name:
                continue
            theirs = _layer(target)
            if theirs in FACES and theirs != mine:
                found.append(f"{name}:{line} imports the {theirs} face ({target})")
            elif mine in FACES and theirs not in ("app", "core", mine):
                found.append(f"{name}:{line}: a face imports {theirs} ({target}); faces use the app layer")
            elif LAYERS[theirs] > LAYERS[mine]:
                found.append(f"{name}:{line}: {mine} imports the higher layer {theirs} ({target})")
    return found


def library_violations(package: Path) -> list[str]:
    """argparse outside the faces; network libraries outside ``transport/``."""
    found = []
    for name, path in modules(package).items():
        layer = _layer(name)
        for line, imported in imports(path):
            if _is_under(imported, ("argparse",)) and layer not in FACES:
                found.append(f"{name}:{line} imports argparse (only the faces parse arguments)")
            if _is_under(imported, NETWORK) and layer != "transport":
                found.append(f"{name}:{line} imports {imported} (network I/O only in transport/)")
    return sorted(set(found))


def _is_under(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def cycles(package: Path) -> list[list[str]]:
    """Import cycles between package modules (each cycle once)."""
    known = modules(package)
    graph = {name: sorted({t for _, i in imports(path) if (t := _internal(i, known)) and t != name})
             for name, path in known.items()}
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for name in graph:
        if name not in state:
            visit(name, [name])
    return found


def function_lengths(package: Path) -> list[int]:
    """Non-blank, non-comment body lines of every function (docstrings excluded)."""
    lengths = []
    for path in package.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body[1:] if ast.get_docstring(node) is not None else node.body
                if not body:
                    lengths.append(0)
                    continue
                chunk = lines[body[0].lineno - 1:node.end_lineno]
                lengths.append(sum(1 for line in chunk if line.strip() and not line.strip().startswith("#")))
    return lengths


def undeclared_env_names(package: Path) -> list[str]:
    """``MEDIAGEN_*``/``GOOGLE_*``/... names in the package that the settings table does not declare, and OS
    variables read outside ``core/paths.py``."""
    from mediagen.config.settings import all_env_names

    declared = all_env_names()
    pattern = re.compile(r"[\"']((?:%s)[A-Z0-9_]+)[\"']" % "|".join(ENV_PREFIXES))
    os_read = re.compile(r"(?:env|environ)(?:\.get\(|\[)\s*[\"'](%s)[\"']" % "|".join(OS_VARIABLES))
    found = []
    for name, path in modules(package).items():
        text = path.read_text(encoding="utf-8")
        found += [f"{name}: {var} is not in config/settings.py" for var in pattern.findall(text)
                  if var not in declared]
        if not path.as_posix().endswith("core/paths.py"):
            found += [f"{name}: reads {var} (only core/paths.py reads OS variables)" for var in os_read.findall(text)]
    return found


# -- the tests --------------------------------------------------------------------------------------------

def test_layers_and_faces() -> None:
    assert layer_violations(PACKAGE) == []


def test_argparse_only_in_the_faces_and_network_only_in_the_transport() -> None:
    assert library_violations(PACKAGE) == []


def test_no_import_cycles() -> None:
    assert cycles(PACKAGE) == []


def test_sizes() -> None:
    big = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules(PACKAGE).items()}
    assert {name: n for name, n in big.items() if n > MAX_MODULE_LINES} == {}
    lengths = sorted(function_lengths(PACKAGE))
    assert statistics.median(lengths) <= 10
    assert lengths[int(len(lengths) * 0.9)] <= 25


def test_every_environment_variable_is_declared() -> None:
    assert undeclared_env_names(PACKAGE) == []


def test_ruff_is_clean() -> None:
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


VIOLATIONS = {
    "an operation imports the app layer": ("ops/images.py", "from mediagen.app.outcome import Outcome\n",
                                           layer_violations, "ops imports the higher layer app"),
    "the wire imports an operation": ("wire/veo.py", "from mediagen.ops import inputs\n", layer_violations,
                                      "wire imports the higher layer ops"),
    "a face imports an operation": ("cli/jobs.py", "from mediagen.ops.jobstore import store_for\n",
                                    layer_violations, "faces use the app layer"),
    "the app imports a face": ("app/image.py", "from mediagen.cli.common import emit\n", layer_violations,
                               "imports the cli face"),
    "one face imports the other": ("mcp/tools.py", "from mediagen.cli import jobs\n", layer_violations,
                                   "imports the cli face"),
    "argparse below the faces": ("app/jobs.py", "import argparse\n", library_violations, "argparse"),
    "a lazy network import": ("ops/inputs.py", "def _get(url):\n    import requests\n    return requests\n",
                              library_violations, "network I/O only in transport"),
    "a cycle": ("core/console.py", "def _late():\n    from mediagen.core import yamlfile\n", cycles, "yamlfile"),
}


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_each_rule_fails_on_a_deliberate_violation(tmp_path: Path, case: str) -> None:
    copy = tmp_path / "mediagen"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    relative, code, rule, expected = VIOLATIONS[case]
    if case == "a cycle":        # the other half of the cycle
        (copy / "core/yamlfile.py").write_text((copy / "core/yamlfile.py").read_text() +
                                               "\n\ndef _back():\n    from mediagen.core import console\n")
    target = copy / relative
    target.write_text(target.read_text(encoding="utf-8") + "\n" + code, encoding="utf-8")
    assert rule(PACKAGE) == []                    # the real package is clean
    assert any(expected in str(v) for v in rule(copy)), rule(copy)
