#!/usr/bin/env python3
"""The plugin's own Python environment: find an interpreter, build a virtual environment, run in it.

Standard library only, and readable by any Python 3.7+, because it runs before any dependency
exists (an older interpreter still gets as far as saying what is missing).

* ``setup_env.py hook`` is the plugin's SessionStart hook (``hooks/hooks.json``). With
  ``CLAUDE_PLUGIN_DATA`` set, it makes ``$CLAUDE_PLUGIN_DATA/venv`` with the first of ``python3``,
  ``python`` and ``py -3`` on PATH that is Python 3.10 or newer, installs ``requirements.txt``
  into it, and records the file's SHA-256; a later session reinstalls only when that hash
  changed (a plugin update with new requirements). It then exports ``MEDIAGEN_PYTHON`` (the
  environment's interpreter) to the session's shell commands through ``CLAUDE_ENV_FILE``.
  Its stdout is the hook's answer to Claude Code: empty when nothing changed, otherwise one
  JSON object with a ``systemMessage``; pip's output goes to ``$CLAUDE_PLUGIN_DATA/setup.log``.
  It exits 0 even when the install fails, so a session is never blocked by it.
* ``start(command)``, called by every script before it imports a dependency, re-runs the
  script under ``MEDIAGEN_PYTHON`` when that is set and is not the running interpreter
  (``reexec_in_plugin_env()``), makes stdout and stderr UTF-8 whatever the console, and
  checks the packages of ``requirements.txt`` with ``importlib.util.find_spec``: a missing
  one ends the script with one JSON error document (exit 3) giving the install command.
* ``serve_mcp()`` starts the MCP server in that environment. Claude Code starts plugin servers
  at the same time as the SessionStart hook, so on a first start the environment may not be
  ready: the server then starts behind a stand-in (``mcp_bridge.py``) that answers at once and
  hands over when the install is done, because Claude Code remembers a failed plugin-server
  start for 15 minutes.

Without ``CLAUDE_PLUGIN_DATA`` (the repository opened as a project) nothing is built: the
scripts run with the interpreter that started them, as the README's install step describes.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

MIN_VERSION = (3, 10)
# Tried in this order; ``py -3`` is the Windows launcher.
CANDIDATES = (("python3",), ("python",), ("py", "-3"))
INTERPRETER_VAR = "MEDIAGEN_PYTHON"
# Set for the re-run process so that an interpreter reached through a shim cannot loop.
REEXEC_GUARD_VAR = "MEDIAGEN_PYTHON_REEXEC"
ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
PIP_TIMEOUT_S = 540          # below Claude Code's 600 s hook timeout
HOOK_GRACE_S = 8.0           # how long the MCP stand-in leaves the build to the SessionStart hook
# Requirements whose import name is not their distribution name, and those only the MCP server needs.
IMPORT_NAMES = {"pyyaml": "yaml", "pillow": "PIL", "google-auth": "google.auth"}
MCP_ONLY = ("mcp",)
CONFIG_EXIT_CODE = 3             # mediagen.core.errors.ExitCode.CONFIG
_VERSION_CODE = "import sys; sys.stdout.write('%d.%d' % sys.version_info[:2])"


# -- choosing an interpreter ----------------------------------------------------------------

def python_version(command: list) -> tuple | None:
    """``(major, minor)`` of the Python that ``command`` starts, or None when it does not run."""
    import subprocess  # here, not at the top: every script imports this module before it starts

    try:
        done = subprocess.run([*command, "-c", _VERSION_CODE], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.decode("ascii", "replace").strip()
    if done.returncode != 0 or not text.replace(".", "").isdigit() or text.count(".") != 1:
        return None
    major, minor = text.split(".")
    return int(major), int(minor)


def find_interpreter(path: str, probe=python_version, candidates=CANDIDATES, minimum=MIN_VERSION) -> list | None:
    """The first candidate command found on ``path`` whose Python is at least ``minimum``, or None.

    ``path`` is a PATH string; ``probe(command)`` gives a candidate's ``(major, minor)`` or None
    (a Microsoft Store stub that only opens the Store answers None and is skipped).
    """
    for candidate in candidates:
        found = shutil.which(candidate[0], path=path)
        if found is None:
            continue
        command = [found, *candidate[1:]]
        version = probe(command)
        if version is not None and tuple(version) >= tuple(minimum):
            return command
    return None


def venv_python(venv: Path, windows: bool = os.name == "nt") -> Path:
    """The interpreter inside a virtual environment."""
    return venv / "Scripts" / "python.exe" if windows else venv / "bin" / "python"


def requirements_digest(requirements: Path) -> str:
    """SHA-256 of the requirements file: a change means reinstall."""
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


# -- the environment in the plugin data folder -----------------------------------------------

class Place:
    """Where the environment, its record, its lock and its log live under the plugin data folder."""

    def __init__(self, data_dir: Path | str):
        self.data = Path(data_dir)
        self.venv = self.data / "venv"
        self.state = self.data / "venv-state.json"
        self.lock = self.data / "venv.lock"
        self.log = self.data / "setup.log"

    @property
    def python(self) -> Path:
        return venv_python(self.venv)


class Outcome:
    """What ``ensure`` did: ``action`` is ready, created, updated or failed."""

    def __init__(self, action: str, python: Path | None = None, message: str = "", seconds: float = 0.0):
        self.action, self.python, self.message, self.seconds = action, python, message, seconds


def ready_python(place: Place, requirements: Path = REQUIREMENTS) -> Path | None:
    """The environment's interpreter when it was built for this requirements file, else None."""
    try:
        state = json.loads(place.state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("requirements_sha256") != requirements_digest(requirements):
        return None
    return place.python if place.python.is_file() else None


@contextlib.contextmanager
def exclusive(lock: Path):
    """Hold an exclusive lock on ``lock`` (the hook and a first server start may race)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as handle:
        if os.name == "nt":
            import msvcrt
            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue            # LK_LOCK gives up after ten seconds; keep waiting
        else:
            import fcntl
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if os.name == "nt":
                import msvcrt
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            else:
                import fcntl
                fcntl.flock(handle, fcntl.LOCK_UN)


def ensure(place: Place, requirements: Path = REQUIREMENTS, path: str | None = None) -> Outcome:
    """Make the environment ready for ``requirements`` (at most one builder at a time)."""
    started = time.monotonic()
    with exclusive(place.lock):
        python = ready_python(place, requirements)
        if python is not None and python_version([str(python)]) is not None:
            return Outcome("ready", python)
        try:
            action = _build(place, requirements, os.environ.get("PATH", "") if path is None else path)
        except SetupError as exc:
            return Outcome("failed", None, str(exc), time.monotonic() - started)
        seconds = time.monotonic() - started
        _write_state(place, {**_read_state(place), "action": action, "seconds": round(seconds, 1)})
        return Outcome(action, place.python, "", seconds)


def _read_state(place: Place) -> dict:
    try:
        state = json.loads(place.state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(place: Place, state: dict) -> None:
    partial = place.state.with_name(place.state.name + ".part")
    partial.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
    os.replace(partial, place.state)          # readers never see half a file


def unannounced(place: Place, outcome: Outcome) -> Outcome:
    """The build to tell the user about: this call's, or one the MCP server did before the hook ran."""
    state = _read_state(place)
    if outcome.action == "ready" and state.get("announced") is False:
        outcome = Outcome(state.get("action", "created"), outcome.python, "", float(state.get("seconds") or 0))
    if state.get("announced") is False and outcome.action != "failed":
        with exclusive(place.lock):
            _write_state(place, {**_read_state(place), "announced": True})
    return outcome


class SetupError(Exception):
    """The environment could not be built; the message says why and what to do."""


def _build(place: Place, requirements: Path, path: str) -> str:
    action = "updated"
    if python_version([str(place.python)]) is None:
        action = "created"
        _create_venv(place, path)
    _log(place, f"pip install -r {requirements}")
    _run_logged(place, [str(place.python), "-m", "pip", "install", "--disable-pip-version-check",
                        "-r", str(requirements)], "installing requirements.txt")
    _write_state(place, {"requirements_sha256": requirements_digest(requirements), "python": str(place.python),
                         "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "announced": False})
    return action


def _create_venv(place: Place, path: str) -> None:
    interpreter = find_interpreter(path)
    if interpreter is None:
        names = ", ".join(" ".join(c) for c in CANDIDATES)
        raise SetupError(f"no Python {MIN_VERSION[0]}.{MIN_VERSION[1]} or newer on PATH (tried {names}); "
                         "install one (README: Prerequisites) and start a new session")
    if place.state.exists():
        place.state.unlink()
    shutil.rmtree(place.venv, ignore_errors=True)
    _log(place, f"creating {place.venv} with {' '.join(interpreter)}")
    _run_logged(place, [*interpreter, "-m", "venv", str(place.venv)],
                "creating the virtual environment (Debian/Ubuntu: apt install python3-venv)")


def _run_logged(place: Place, command: list, what: str) -> None:
    import subprocess

    with open(place.log, "ab") as log:
        try:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=PIP_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SetupError(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        raise SetupError(f"{what} failed (exit {done.returncode}): {_log_tail(place)}")


def _log(place: Place, line: str) -> None:
    place.data.mkdir(parents=True, exist_ok=True)
    with open(place.log, "a", encoding="utf-8") as log:
        log.write(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {line}\n")


def _log_tail(place: Place, lines: int = 3) -> str:
    try:
        text = place.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


# -- the SessionStart hook -------------------------------------------------------------------

def hook(env=None, stdout=None, requirements: Path = REQUIREMENTS) -> int:
    """SessionStart: build or check the environment, export its interpreter, answer Claude Code."""
    env = os.environ if env is None else env
    stdout = sys.stdout if stdout is None else stdout
    if env.get(INTERPRETER_VAR) or not env.get("CLAUDE_PLUGIN_DATA"):
        return 0            # an interpreter chosen by the user, or not a plugin: nothing to build
    place = Place(env["CLAUDE_PLUGIN_DATA"])
    outcome = unannounced(place, ensure(place, requirements, env.get("PATH", "")))
    if outcome.python is not None and env.get("CLAUDE_ENV_FILE"):
        import shlex

        with open(env["CLAUDE_ENV_FILE"], "a", encoding="utf-8") as exports:
            exports.write(f"export {INTERPRETER_VAR}={shlex.quote(str(outcome.python))}\n")
    answer = hook_answer(outcome, place, requirements)
    if answer:
        stdout.write(json.dumps(answer) + "\n")
    return 0


def hook_answer(outcome: Outcome, place: Place, requirements: Path = REQUIREMENTS) -> dict | None:
    """The JSON answer for Claude Code: None when nothing changed (stdout stays empty)."""
    if outcome.action == "ready":
        return None
    if outcome.action == "failed":
        message = (f"mediagen could not set up its Python packages: {outcome.message}. Its scripts and MCP "
                   f"server need them (log: {place.log}). Fix the cause and start a new session, or install "
                   f"them into a Python of your own (python3 -m pip install -r {requirements}) and set "
                   f"{INTERPRETER_VAR} to that interpreter before starting Claude Code")
        return {"systemMessage": message,
                "hookSpecificOutput": {"hookEventName": "SessionStart",
                                       "additionalContext": "mediagen's Python packages are not installed: "
                                                            + outcome.message}}
    what = "installed its Python packages into" if outcome.action == "created" else \
        "updated its Python packages (requirements.txt changed) in"
    return {"systemMessage": f"mediagen {what} {place.venv} ({outcome.seconds:.0f} s)."}


# -- running a script in the environment ----------------------------------------------------

def _is_running(target: str) -> bool:
    """Whether ``target`` is the interpreter of this process (a venv's interpreter sits two levels down)."""
    here = os.path.normcase(os.path.abspath(sys.prefix))
    return (os.path.normcase(os.path.abspath(sys.executable)) == os.path.normcase(os.path.abspath(target))
            or here == os.path.normcase(os.path.abspath(os.path.dirname(os.path.dirname(target)))))


def _replace_process(command: list, env) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "nt":                 # Windows has no exec: run it and pass its exit code on
        import subprocess

        sys.exit(subprocess.call(command, env=env))
    os.execve(command[0], command, env)


def reexec_in_plugin_env(argv=None, env=None) -> None:
    """Re-run this script under ``MEDIAGEN_PYTHON`` when it is set and is another interpreter."""
    env = os.environ if env is None else env
    target = env.get(INTERPRETER_VAR)
    if not target or env.get(REEXEC_GUARD_VAR) == target or not os.path.isfile(target) or _is_running(target):
        return
    argv = sys.argv if argv is None else argv
    _replace_process([target, *argv], {**env, REEXEC_GUARD_VAR: target})


def start(command: str) -> None:
    """What every entry script does before it imports mediagen: run in the plugin's Python, write UTF-8,
    and stop with one JSON document when a package it needs is missing."""
    reexec_in_plugin_env()
    utf8_output()
    require_packages(command)


def start_mcp(script: str) -> None:
    """``start`` for the MCP server: its own start-up in the plugin's environment, then the same checks."""
    serve_mcp(script)
    utf8_output()
    require_packages("mcp_server", mcp=True)


def utf8_output(streams=None) -> None:
    """Write stdout and stderr as UTF-8 whatever the console's encoding.

    Windows Python writes to a pipe in the ANSI code page (cp1252), which cannot hold most
    prompts; the one JSON document must still come out whole. Characters UTF-8 cannot encode
    (lone surrogates from undecodable arguments) become ``\\udcxx`` escapes, which JSON reads.
    """
    for stream in (sys.stdout, sys.stderr) if streams is None else streams:
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:
            continue
        with contextlib.suppress(ValueError, OSError, io.UnsupportedOperation):
            reconfigure(encoding="utf-8", errors="backslashreplace")


# -- the packages a script needs -------------------------------------------------------------

def required_packages(requirements: Path = REQUIREMENTS, *, mcp: bool = False) -> dict:
    """Distribution name -> import name for each requirement (the MCP SDK only for the server)."""
    try:
        lines = requirements.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}                       # nothing to check against; the imports will tell
    found = {}
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        name = re.split(r"[\s<>=!~;\[]", text, maxsplit=1)[0]
        if name.lower() in MCP_ONLY and not mcp:
            continue
        found[name] = IMPORT_NAMES.get(name.lower(), name.lower().replace("-", "_"))
    return found


def missing_packages(packages: dict) -> list:
    """The distributions whose import name this Python cannot find (nothing is imported)."""
    missing = []
    for distribution, module in packages.items():
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):          # a parent package is missing or broken
            spec = None
        if spec is None:
            missing.append(distribution)
    return missing


def install_command(requirements: Path = REQUIREMENTS, windows: bool = os.name == "nt") -> str:
    """The exact command that installs the requirements (``py -3`` on Windows)."""
    import shlex

    if windows:
        return f'py -3 -m pip install -r "{requirements}"'
    return f"python3 -m pip install -r {shlex.quote(str(requirements))}"


def missing_document(command: str, missing: list, python: str = sys.executable) -> dict:
    """The output contract's failure document for missing packages (``ExitCode.CONFIG``)."""
    install = install_command()
    return {"ok": False, "command": command,
            "error": {"type": "missing_package",
                      "message": f"Python packages mediagen needs are missing: {', '.join(missing)} "
                                 f"(Python {python})",
                      "hint": f"Install them: {install} (with the Python that runs the scripts), or set "
                              f"{INTERPRETER_VAR} to a Python that has them. The Claude Code plugin installs "
                              "them itself when a session starts.",
                      "details": {"missing": list(missing), "install_command": install, "python": python,
                                  "requirements": str(REQUIREMENTS)}},
            "exit_code": CONFIG_EXIT_CODE, "warnings": []}


def require_packages(command: str, *, mcp: bool = False, stdout=None) -> None:
    """Exit with one JSON document (exit 3) when a required package is missing; return otherwise."""
    missing = missing_packages(required_packages(mcp=mcp))
    if not missing:
        return
    stream = sys.stdout if stdout is None else stdout
    stream.write(json.dumps(missing_document(command, missing), indent=2) + "\n")
    stream.flush()
    sys.exit(CONFIG_EXIT_CODE)


def serve_mcp(script: str, argv=None, env=None) -> None:
    """Start the MCP server in the plugin's environment; return only to run it in this process."""
    env = os.environ if env is None else env
    argv = sys.argv[1:] if argv is None else argv
    reexec_in_plugin_env([script, *argv], env)
    if env.get(INTERPRETER_VAR) or not env.get("CLAUDE_PLUGIN_DATA"):
        return                          # the project layout, or an interpreter the user chose
    place = Place(env["CLAUDE_PLUGIN_DATA"])
    python = ready_python(place)
    if python is None and "--http" in argv:
        python = ensure(place).python   # no client is waiting on stdio: build first
    if python is not None:
        if not _is_running(str(python)):
            _replace_process([str(python), script, *argv], dict(env))
        return
    import mcp_bridge

    sys.exit(mcp_bridge.run(lambda: after_the_hook(place), lambda py: [str(py), script, *argv]))


def after_the_hook(place: Place, grace_s: float = HOOK_GRACE_S) -> Path | None:
    """The environment's interpreter for the MCP stand-in: built by the SessionStart hook, which
    starts at the same moment; built here only when no hook took it on within ``grace_s``
    (hooks turned off), so that the hook is the one that builds and tells the user."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        python = ready_python(place)
        if python is not None:
            return python
        if _is_locked(place.lock):
            break                       # the hook is building: wait for it in ensure()
        time.sleep(0.25)
    return ensure(place).python


def _is_locked(lock: Path) -> bool:
    """Whether another process holds the build lock right now."""
    if os.name == "nt" or not lock.exists():
        return False                    # no cheap probe on Windows: rely on the grace period
    import fcntl

    with open(lock, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def main(argv=None) -> int:
    """``setup_env.py hook`` (the SessionStart hook) or ``setup_env.py find`` (print the interpreter)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["hook"]:
        if sys.stdin is not None and not sys.stdin.isatty():
            sys.stdin.read()            # the hook's input; nothing in it is needed
        return hook()
    if args[:1] == ["find"]:
        found = find_interpreter(os.environ.get("PATH", ""))
        sys.stdout.write((" ".join(found) if found else "") + "\n")
        return 0 if found else 1
    sys.stderr.write("usage: setup_env.py hook|find\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
