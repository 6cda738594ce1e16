#!/usr/bin/env bash
# Create (or reuse) the kit's virtual environment at .venv, pinned by constraints.txt.
#
# Idempotent: the dependency install is keyed by a hash of constraints.txt, pyproject.toml and
# requirements-nodeps.txt, and skipped when unchanged. The kit itself is not copied into the environment: a .pth
# file puts this checkout on the path, so code edits need no reinstall.
#
# With TALKINGFACE_VENV_CACHE=DIR the dependencies live once in DIR/venv-<hash> and each checkout's .venv is a
# small environment whose .pth files add those dependencies and the checkout itself; fresh clones (CI) reuse one
# install and never interfere with each other. EXTRAS selects the optional dependency groups (default: all but tf).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-eval,syncnet,dagan,lawdnet,dev}

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || { echo "error: Python >= 3.10 is needed ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 2; }

hash=$(cat constraints.txt pyproject.toml requirements-nodeps.txt <(echo "$EXTRAS") | sha256sum | cut -c1-16)
if [ -n "${TALKINGFACE_VENV_CACHE:-}" ]; then
  deps="$TALKINGFACE_VENV_CACHE/venv-$hash"
  mkdir -p "$TALKINGFACE_VENV_CACHE"
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
  # Non-Python tools of the dependencies (Python ones run as `.venv/bin/python -m TOOL`).
  for tool in hadolint; do
    if [ -e "$deps/bin/$tool" ]; then ln -sfn "$deps/bin/$tool" ".venv/bin/$tool"; fi
  done
fi
echo "$root" > "$(site_of .venv)/talkingface_kit.pth"
echo "setup: .venv ready ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
