#!/usr/bin/env bash
# Create (or reuse) the kit's virtual environment at .venv, pinned by constraints.txt.
#
# Idempotent: the dependency install is keyed by a hash of constraints.txt + pyproject.toml and skipped when
# unchanged. With TALKINGFACE_VENV_CACHE=DIR the environment lives in DIR/venv-<hash> and .venv is a link to it,
# so fresh clones (CI) reuse one install. EXTRAS selects the optional dependency groups (default: all but tf).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-eval,syncnet,dagan,lawdnet,dev}

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || { echo "error: Python >= 3.10 is needed ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 2; }

hash=$(cat constraints.txt pyproject.toml requirements-nodeps.txt <(echo "$EXTRAS") | sha256sum | cut -c1-16)
if [ -n "${TALKINGFACE_VENV_CACHE:-}" ]; then
  venv="$TALKINGFACE_VENV_CACHE/venv-$hash"
  mkdir -p "$TALKINGFACE_VENV_CACHE"
else
  venv="$root/.venv"
fi

if [ "$(cat "$venv/.deps-hash" 2>/dev/null)" != "$hash" ]; then
  echo "setup: installing pinned dependencies into $venv (first run takes a few minutes)"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt pip setuptools wheel
  # Install the dependencies of the kit (not the kit itself: that is an editable install below).
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt ".[${EXTRAS}]"
  "$venv/bin/python" -m pip uninstall --quiet --yes talkingface-kit
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -c constraints.txt -r requirements-nodeps.txt
  echo "$hash" > "$venv/.deps-hash"
fi

if [ -n "${TALKINGFACE_VENV_CACHE:-}" ]; then  # point .venv at the ready environment (atomic rename)
  if [ -e .venv ] && [ ! -L .venv ]; then rm -rf .venv; fi
  ln -sfn "$venv" .venv.tmp && mv -T .venv.tmp .venv
fi

# The kit itself, editable, pointing at this checkout (cheap; redone when the checkout moves).
if [ "$(cat "$venv/.kit-path" 2>/dev/null)" != "$root" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$root" > "$venv/.kit-path"
fi
echo "setup: .venv ready ($("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
