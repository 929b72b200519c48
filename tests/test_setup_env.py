"""scripts/setup_env.py and scripts/mcp_bridge.py: the plugin's Python environment, without Claude Code.

* The interpreter search is a pure function of a PATH string and a version probe: it is run
  against fake PATH folders holding stub interpreters.
* The SessionStart hook builds the environment once, answers with nothing when nothing
  changed, reinstalls when requirements.txt changes, and reports a failure without failing.
  Its requirements here are tiny wheels made by the test, installed with ``PIP_NO_INDEX``.
* A script re-runs itself under ``MEDIAGEN_PYTHON``; a shim in front of the interpreter cannot
  make it loop.
* The MCP stand-in answers at once, then hands over to the real server and announces its tools.

``tests/test_plugin_install.py`` runs all of it under the real Claude Code CLI.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import setup_env
from tests.conftest import ROOT

SCRIPTS = ROOT / "scripts"


# -- the interpreter search --------------------------------------------------------------------

def stub(folder: Path, name: str, version: str | None, exit_code: int = 0) -> Path:
    """An executable that answers the version probe like a Python would (or fails like a Store stub)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    body = f"printf '%s' '{version}'" if version else "echo 'Python was not found' >&2"
    path.write_text(f"#!/bin/sh\n{body}\nexit {exit_code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.mark.skipif(os.name == "nt", reason="stub interpreters are shell scripts")
def test_first_new_enough_candidate_wins_in_path_order(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    stub(old, "python3", "3.8")
    stub(new, "python", "3.12")
    stub(new, "python3", "3.11")
    # python3 is looked up first on the whole PATH: the 3.8 in `old` is too old, so the search
    # moves on to the next name, not the next folder.
    assert setup_env.find_interpreter(os.pathsep.join([str(old), str(new)])) == [str(new / "python")]
    assert setup_env.find_interpreter(os.pathsep.join([str(new), str(old)])) == [str(new / "python3")]


@pytest.mark.skipif(os.name == "nt", reason="stub interpreters are shell scripts")
def test_store_stubs_and_old_pythons_are_skipped(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    stub(bin_dir, "python3", None, exit_code=9009)       # the Windows "App execution alias"
    stub(bin_dir, "python", "2.7")
    assert setup_env.find_interpreter(str(bin_dir)) is None
    stub(bin_dir, "py", "3.13")                           # the launcher, called as `py -3`
    assert setup_env.find_interpreter(str(bin_dir)) == [str(bin_dir / "py"), "-3"]


def test_search_with_an_injected_probe(tmp_path: Path) -> None:
    """The probe is a parameter: the same search, with versions from a table."""
    bin_dir = tmp_path / "bin"
    for name in ("python3", "python", "py"):
        stub(bin_dir, name, "0.0")
    versions = {"python3": (3, 9), "python": None, "py": (3, 10)}
    seen = []

    def probe(command: list) -> tuple | None:
        seen.append([Path(command[0]).name, *command[1:]])
        return versions[Path(command[0]).name]

    assert setup_env.find_interpreter(str(bin_dir), probe=probe) == [str(bin_dir / "py"), "-3"]
    assert seen == [["python3"], ["python"], ["py", "-3"]]
    assert setup_env.find_interpreter(str(bin_dir), probe=probe, minimum=(3, 11)) is None
    assert setup_env.find_interpreter("", probe=probe) is None


def test_real_interpreter_is_probed_and_found() -> None:
    folder = str(Path(sys.executable).parent)
    found = setup_env.find_interpreter(folder, candidates=((Path(sys.executable).name,),))
    assert found == [str(Path(sys.executable))]
    assert setup_env.python_version([sys.executable]) == sys.version_info[:2]
    assert setup_env.python_version([str(ROOT / "no-such-python")]) is None


def test_venv_interpreter_path_per_platform(tmp_path: Path) -> None:
    assert setup_env.venv_python(tmp_path, windows=False) == tmp_path / "bin" / "python"
    assert setup_env.venv_python(tmp_path, windows=True) == tmp_path / "Scripts" / "python.exe"


# -- the SessionStart hook -------------------------------------------------------------------------

def wheel(folder: Path, name: str, version: str = "1.0") -> Path:
    """A minimal pure-Python wheel (one module saying its version), so pip needs no index."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    files = {f"{name}.py": f"VERSION = {version!r}\n".encode(),
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    files[f"{dist}/RECORD"] = ("\n".join(record + [f"{dist}/RECORD,,"]) + "\n").encode()
    target = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return target


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A plugin data folder, a requirements file of local wheels, and pip kept off the network."""
    wheels = tmp_path / "wheels"
    wheel(wheels, "mgtest_alpha")
    wheel(wheels, "mgtest_beta")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.delenv("MEDIAGEN_PYTHON", raising=False)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("mgtest_alpha\n")
    env_file = tmp_path / "session-env.sh"
    env_file.write_text("")
    env = {"CLAUDE_PLUGIN_DATA": str(tmp_path / "data"), "CLAUDE_ENV_FILE": str(env_file),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    return {"env": env, "requirements": requirements, "data": tmp_path / "data", "env_file": env_file}


def run_hook(plugin: dict, **env) -> dict | None:
    out = io.StringIO()
    assert setup_env.hook({**plugin["env"], **env}, out, plugin["requirements"]) == 0
    text = out.getvalue()
    return json.loads(text) if text else None


def imports(python: Path, module: str) -> bool:
    return subprocess.run([str(python), "-c", f"import {module}"], capture_output=True).returncode == 0


def test_hook_builds_once_then_answers_nothing_then_updates(plugin: dict) -> None:
    place = setup_env.Place(plugin["data"])
    first = run_hook(plugin)
    assert first is not None and "installed its Python packages into" in first["systemMessage"]
    assert json.loads(place.state.read_text())["announced"] is True
    assert imports(place.python, "mgtest_alpha") and not imports(place.python, "mgtest_beta")
    exported = plugin["env_file"].read_text()
    assert exported == f"export MEDIAGEN_PYTHON={place.python}\n"
    built = place.state.stat().st_mtime_ns

    assert run_hook(plugin) is None                      # nothing changed: stdout stays empty
    assert place.state.stat().st_mtime_ns == built       # and nothing was reinstalled
    assert plugin["env_file"].read_text().count("export MEDIAGEN_PYTHON=") == 2

    plugin["requirements"].write_text("mgtest_alpha\nmgtest_beta\n")
    again = run_hook(plugin)
    assert again is not None and "requirements.txt changed" in again["systemMessage"]
    assert imports(place.python, "mgtest_beta")
    state = json.loads(place.state.read_text())
    assert state["requirements_sha256"] == setup_env.requirements_digest(plugin["requirements"])
    assert setup_env.ready_python(place, plugin["requirements"]) == place.python

    place.python.unlink()                                # e.g. the base Python was removed: rebuilt
    rebuilt = run_hook(plugin)
    assert rebuilt is not None and "installed its Python packages" in rebuilt["systemMessage"]
    assert imports(place.python, "mgtest_alpha") and imports(place.python, "mgtest_beta")


def test_a_build_by_the_mcp_server_is_still_announced_once(plugin: dict) -> None:
    """The MCP stand-in may build first (hooks off, or a slow hook start): the hook then tells the user."""
    place = setup_env.Place(plugin["data"])
    path = plugin["env"]["PATH"]
    built = setup_env.ensure(place, plugin["requirements"], path)
    assert built.action == "created" and imports(built.python, "mgtest_alpha")
    assert setup_env.ensure(place, plugin["requirements"], path).action == "ready"
    answer = run_hook(plugin)
    assert answer is not None and "installed its Python packages into" in answer["systemMessage"]
    assert run_hook(plugin) is None


def test_build_lock_is_visible_to_the_stand_in(tmp_path: Path) -> None:
    lock = tmp_path / "venv.lock"
    assert not setup_env._is_locked(lock)
    with setup_env.exclusive(lock):
        assert setup_env._is_locked(lock) is (os.name != "nt")
    assert not setup_env._is_locked(lock)


def test_hook_reports_a_failed_install_and_still_exits_zero(plugin: dict) -> None:
    plugin["requirements"].write_text("mgtest_missing_package\n")
    answer = run_hook(plugin)
    assert answer is not None
    assert "could not set up its Python packages" in answer["systemMessage"]
    assert "setup.log" in answer["systemMessage"]
    assert answer["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert plugin["env_file"].read_text() == ""          # nothing to export
    assert setup_env.ready_python(setup_env.Place(plugin["data"]), plugin["requirements"]) is None


def old_python() -> str | None:
    """The executable of a working Python 3.7-3.9 on this machine, if there is one."""
    import glob
    import shutil

    candidates = [shutil.which(f"python3.{minor}") for minor in (9, 8, 7)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.[789].*/bin/python3")))
    for candidate in filter(None, candidates):
        try:
            proc = subprocess.run([candidate, "-c", "import sys; print(sys.executable)"], capture_output=True,
                                  text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if proc.returncode == 0 and (setup_env.python_version([candidate]) or (3, 10)) < (3, 10):
            return proc.stdout.strip()
    return None


OLD_PYTHON = old_python()          # looked up once, with the real HOME (tests run with a private one)


@pytest.mark.skipif(os.name == "nt" or OLD_PYTHON is None, reason="needs a Python 3.7-3.9 besides this one")
def test_hook_on_an_old_python_builds_with_a_new_one(plugin: dict, tmp_path: Path) -> None:
    """python3 is 3.7-3.9: the hook still runs on it, and builds with `python`, the newer one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(OLD_PYTHON)
    (bin_dir / "python").symlink_to(sys.executable)
    env = {**os.environ, **plugin["env"], "PATH": str(bin_dir), "PYTHONPATH": str(SCRIPTS)}
    env.pop("MEDIAGEN_PYTHON", None)
    code = (f"import io, sys, setup_env; out = io.StringIO(); "
            f"setup_env.hook(None, out, setup_env.Path({str(plugin['requirements'])!r})); "
            f"sys.stdout.write('%d.%d ' % sys.version_info[:2] + out.getvalue())")
    proc = subprocess.run([str(bin_dir / "python3"), "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    version, answer = proc.stdout.split(" ", 1)
    assert tuple(map(int, version.split("."))) < (3, 10)
    assert "installed its Python packages" in json.loads(answer)["systemMessage"]
    built = setup_env.Place(plugin["data"]).python
    assert setup_env.python_version([str(built)]) == sys.version_info[:2]


@pytest.mark.skipif(os.name == "nt", reason="stub interpreters are shell scripts")
def test_hook_names_the_missing_interpreter(plugin: dict, tmp_path: Path) -> None:
    bin_dir = tmp_path / "only-old"
    stub(bin_dir, "python3", "3.9")
    answer = run_hook(plugin, PATH=str(bin_dir))
    assert answer is not None
    assert "no Python 3.10 or newer on PATH (tried python3, python, py -3)" in answer["systemMessage"]


def test_hook_does_nothing_outside_a_plugin_or_with_a_chosen_interpreter(plugin: dict) -> None:
    assert run_hook(plugin, CLAUDE_PLUGIN_DATA="") is None
    assert run_hook(plugin, MEDIAGEN_PYTHON=sys.executable) is None
    assert not plugin["data"].exists()
    assert plugin["env_file"].read_text() == ""


def test_hook_command_line_keeps_stdout_for_the_protocol(tmp_path: Path) -> None:
    """As Claude Code runs it: JSON on stdin; with the environment ready, stdout stays empty."""
    place = setup_env.Place(tmp_path / "data")
    place.python.parent.mkdir(parents=True)
    place.python.symlink_to(sys.executable)              # a ready environment for the real requirements
    place.state.write_text(json.dumps({"requirements_sha256": setup_env.requirements_digest(setup_env.REQUIREMENTS)}))
    env_file = tmp_path / "env.sh"
    env = {k: v for k, v in os.environ.items() if k != "MEDIAGEN_PYTHON"}
    env.update({"CLAUDE_PLUGIN_DATA": str(place.data), "CLAUDE_ENV_FILE": str(env_file)})
    proc = subprocess.run([sys.executable, str(SCRIPTS / "setup_env.py"), "hook"],
                          input='{"hook_event_name": "SessionStart", "source": "startup"}',
                          capture_output=True, text=True, env=env, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr
    assert env_file.read_text() == f"export MEDIAGEN_PYTHON={place.python}\n"


def test_hooks_json_runs_the_setup_script() -> None:
    config = json.loads((ROOT / "hooks" / "hooks.json").read_text())
    [entry] = config["hooks"]["SessionStart"]
    [handler] = entry["hooks"]
    assert handler["type"] == "command"
    for launcher in ("python3", "python", "py -3"):
        assert f'{launcher} "${{CLAUDE_PLUGIN_ROOT}}/scripts/setup_env.py" hook' in handler["command"]
    assert handler["timeout"] >= setup_env.PIP_TIMEOUT_S


# -- re-running a script under MEDIAGEN_PYTHON ------------------------------------------------------

def probe_script(tmp_path: Path) -> Path:
    script = tmp_path / "probe.py"
    script.write_text("import sys\nimport setup_env\nsetup_env.reexec_in_plugin_env()\n"
                      "sys.stdout.write(sys.executable + ' ' + ' '.join(sys.argv[1:]))\n")
    return script


def test_script_reruns_under_the_chosen_interpreter(tmp_path: Path) -> None:
    other = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(other)], check=True)
    target = setup_env.venv_python(other)
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS), "MEDIAGEN_PYTHON": str(target)}
    proc = subprocess.run([sys.executable, str(probe_script(tmp_path)), "a b", "c"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{target} a b c"


@pytest.mark.skipif(os.name == "nt", reason="the shim is a shell script")
def test_a_shim_in_front_of_the_interpreter_cannot_loop(tmp_path: Path) -> None:
    shim = tmp_path / "python-shim"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS), "MEDIAGEN_PYTHON": str(shim)}
    proc = subprocess.run([sys.executable, str(probe_script(tmp_path)), "x"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.endswith(" x"), proc.stderr


def test_without_the_variable_nothing_happens(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MEDIAGEN_PYTHON"}
    env["PYTHONPATH"] = str(SCRIPTS)
    proc = subprocess.run([sys.executable, str(probe_script(tmp_path))], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == sys.executable


# -- the MCP stand-in ---------------------------------------------------------------------------------

BRIDGE = """
import sys, time
import mcp_bridge
def prepare():
    time.sleep(float(sys.argv[1]))
    return sys.executable
sys.exit(mcp_bridge.run(prepare, lambda python: [python, sys.argv[2]]))
"""


def test_stand_in_answers_at_once_then_hands_over(tmp_path: Path) -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.shared.exceptions import MCPError

    driver = tmp_path / "bridge_driver.py"
    driver.write_text(BRIDGE)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(SCRIPTS)}
    params = StdioServerParameters(command=sys.executable, args=[str(driver), "3", str(SCRIPTS / "mcp_server.py")],
                                   env=env, cwd=str(tmp_path))
    changed = asyncio.Event()

    async def on_message(message) -> None:
        if getattr(getattr(message, "root", message), "method", None) == "notifications/tools/list_changed":
            changed.set()

    async def scenario() -> tuple:
        with (tmp_path / "server.log").open("w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write, message_handler=on_message) as session:
                    init = await session.initialize()
                    before = (await session.list_tools()).tools
                    try:
                        await session.call_tool("list_models", {})
                        early = None
                    except MCPError as exc:
                        early = exc
                    await asyncio.wait_for(changed.wait(), timeout=60)
                    after = {t.name for t in (await session.list_tools()).tools}
                    models = await session.call_tool("list_models", {"kind": "image"})
                    return init, before, early, after, models

    init, before, early, after, models = asyncio.run(scenario())
    assert init.server_info.version == "setup" and "installing" in (init.instructions or "")
    assert before == []
    assert early is not None and "installing its Python packages" in str(early)
    assert {"generate_image", "start_video", "list_models", "check_setup"} <= after
    assert not models.is_error and json.loads(models.content[0].text)["models"]
