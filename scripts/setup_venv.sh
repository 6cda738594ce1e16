#!/usr/bin/env bash
# Create (or reuse) the kit's virtual environment at .venv, pinned by constraints.txt.
#
# Idempotent: the dependency install is keyed by a hash of what decides it — constraints.txt,
# requirements-nodeps.txt, the extras, and of pyproject.toml only the dependency tables ([build-system],
# requires-python, dependencies, optional-dependencies; tool settings such as [tool.ruff] or the import-linter
# contracts do not count) — and skipped when unchanged. The kit itself is not copied into the environment: a .pth
# file puts this checkout on the path, so code edits need no reinstall.
#
# With TALKINGFACE_VENV_CACHE=DIR the dependencies live once in DIR/venv-<hash> and each checkout's .venv is a
# small environment whose .pth files add those dependencies and the checkout itself; fresh clones (CI) reuse one
# install and never interfere with each other (an install holds DIR/venv-<hash>.lock, so two checkouts setting up
# at once do not install over each other). EXTRAS selects the optional dependency groups (default: all, tf included).
# A .venv set up over a cache keeps it: run without TALKINGFACE_VENV_CACHE, the cache folder .venv was made from is
# used again (instead of replacing .venv by a full install).
# pip takes its index, mirror and certificate settings from this machine's pip configuration (pip config list).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-eval,syncnet,dagan,lawdnet,tf,train,serve,dev}

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || { echo "error: Python >= 3.10 is needed ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 2; }

# The dependency tables of pyproject.toml, canonically (Python >= 3.11: tomllib); the whole file on Python 3.10.
dep_tables() {
  "$PYTHON" - <<'PY' 2>/dev/null || cat pyproject.toml
import json
import tomllib

with open("pyproject.toml", "rb") as f:
    data = tomllib.load(f)
project = data.get("project", {})
keep = {"build-system": data.get("build-system"), "requires-python": project.get("requires-python"),
        "dependencies": project.get("dependencies"), "optional-dependencies": project.get("optional-dependencies")}
print(json.dumps(keep, sort_keys=True))
PY
}
if [ -z "${TALKINGFACE_VENV_CACHE:-}" ] && [ -f .venv/.deps-path ]; then
  TALKINGFACE_VENV_CACHE=$(dirname "$(cat .venv/.deps-path)")
fi
hash=$(cat constraints.txt requirements-nodeps.txt <(dep_tables) <(echo "$EXTRAS") | sha256sum | cut -c1-16)
if [ -n "${TALKINGFACE_VENV_CACHE:-}" ]; then
  deps="$TALKINGFACE_VENV_CACHE/venv-$hash"
  mkdir -p "$TALKINGFACE_VENV_CACHE"
  exec 8>"$deps.lock"
  flock -w 1800 8 || { echo "error: another setup holds $deps.lock" >&2; exit 1; }
else
  deps="$root/.venv"
fi

pip_install() { "$deps/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt "$@"; }

if [ "$(cat "$deps/.deps-hash" 2>/dev/null)" != "$hash" ]; then
  echo "setup: installing pinned dependencies into $deps (first run takes a few minutes)"
  rm -rf "$deps"
  # Build under the final path (venv scripts embed it); the hash file is written last, so an interrupted
  # install is redone next time.
  "$PYTHON" -m venv "$deps"
  pip_install pip setuptools wheel
  # The dependencies of the kit's extras, not the kit itself (that is the .pth below).
  pip_install ".[${EXTRAS}]"
  "$deps/bin/python" -m pip uninstall --quiet --yes talkingface-kit
  pip_install --no-deps -r requirements-nodeps.txt
  echo "$hash" > "$deps/.deps-hash"
fi

site_of() { "$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }

if [ -n "${TALKINGFACE_VENV_CACHE:-}" ]; then
  # A per-checkout environment layered over the shared dependencies.
  if [ -L .venv ]; then rm -f .venv; fi
  if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.deps-path 2>/dev/null)" != "$deps" ]; then
    rm -rf .venv
    "$PYTHON" -m venv --without-pip .venv
    site_of "$deps" > "$(site_of .venv)/talkingface_deps.pth"
    echo "$deps" > .venv/.deps-path
  fi
  # The command-line tools of the dependencies: native programs are linked; Python console scripts are copied
  # with .venv's python in their #! line (it sees both the dependencies and this checkout).
  for tool in hadolint ruff lint-imports pytest; do
    src="$deps/bin/$tool"
    [ -e "$src" ] || continue
    if head -c 2 "$src" | grep -q '^#!' && head -n1 "$src" | grep -q python; then
      rm -f ".venv/bin/$tool"
      { echo "#!$root/.venv/bin/python"; tail -n +2 "$src"; } > ".venv/bin/$tool"
      chmod 0755 ".venv/bin/$tool"
    else
      ln -sfn "$src" ".venv/bin/$tool"
    fi
  done
fi
echo "$root" > "$(site_of .venv)/talkingface_kit.pth"
echo "setup: .venv ready ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
