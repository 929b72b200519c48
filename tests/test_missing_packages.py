"""A missing Python package is one JSON document (exit 3) with the exact install command, never a traceback.

Each entry script checks the packages of ``requirements.txt`` with
``importlib.util.find_spec`` before it imports mediagen. The tests run the
scripts under a Python whose path hides packages: ``-S`` leaves site-packages
out altogether, and a folder of links to everything but ``yaml`` hides one.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import RESULT_SCHEMA, ROOT

REQUIREMENTS = ROOT / "requirements.txt"
SCRIPTS = ("batch_gen", "check_api", "estimate_cost", "gallery", "image_gen", "jobs", "mcp_server", "storyboard",
           "video_gen")
ARGS = {"image_gen": ["a red fox"], "video_gen": ["a red fox"], "gallery": ["."], "batch_gen": ["x.txt"],
        "storyboard": ["x.yaml"], "jobs": ["list"], "estimate_cost": ["image"]}


def run_hidden(name: str, python_args: list[str], env: dict, cwd: Path) -> tuple[int, dict, str]:
    done = subprocess.run([sys.executable, *python_args, str(ROOT / "scripts" / f"{name}.py"), *ARGS.get(name, [])],
                          cwd=cwd, env=env, capture_output=True, timeout=60)
    stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    assert "Traceback" not in stderr, stderr
    doc = json.loads(stdout)                       # exactly one JSON document
    jsonschema.validate(doc, RESULT_SCHEMA)
    return done.returncode, doc, stderr


def assert_install_command(doc: dict, *missing: str) -> None:
    assert doc["ok"] is False and doc["exit_code"] == 3 and doc["error"]["type"] == "missing_package"
    for name in missing:
        assert name in doc["error"]["message"]
    command = f"python3 -m pip install -r {REQUIREMENTS}"
    assert command in doc["error"]["hint"] and doc["error"]["details"]["install_command"] == command


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_reports_missing_packages_as_one_json_document(name, base_env, tmp_path) -> None:
    code, doc, _ = run_hidden(name, ["-S"], {**base_env, "PYTHONPATH": ""}, tmp_path)
    assert code == 3 and doc["command"] == name
    assert_install_command(doc, "requests", "PyYAML", "Pillow")


def test_one_hidden_package_is_named_alone(base_env, tmp_path) -> None:
    site = Path(yaml.__file__).resolve().parent.parent
    view = tmp_path / "site-without-yaml"
    view.mkdir()
    for entry in site.iterdir():
        if not entry.name.lower().startswith(("yaml", "_yaml", "pyyaml")):
            (view / entry.name).symlink_to(entry)
    code, doc, _ = run_hidden("image_gen", ["-S"], {**base_env, "PYTHONPATH": str(view)}, tmp_path)
    assert code == 3
    assert_install_command(doc, "PyYAML")
    assert doc["error"]["details"]["missing"] == ["PyYAML"]


def test_the_windows_form_uses_the_py_launcher() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import setup_env

    assert setup_env.install_command(windows=True) == f'py -3 -m pip install -r "{REQUIREMENTS}"'
