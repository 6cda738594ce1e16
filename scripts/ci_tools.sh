#!/usr/bin/env bash
# The tools CI's tests use that are not Python packages: headless Chromium for the report-layout check
# (tests/report/test_report_layout.py, scripts/check_report_layout.py). Installed with apt from the machine's own
# mirror when missing and this is root; otherwise it says why and exits 0 (those tests then skip, naming the tool).
# CI_INSTALL_TOOLS=0 leaves everything as it is.
set -euo pipefail
[ "${CI_INSTALL_TOOLS:-1}" = 1 ] || { echo "ci-tools: CI_INSTALL_TOOLS=0, nothing installed"; exit 0; }
if command -v chromium >/dev/null 2>&1; then
  echo "ci-tools: $(chromium --version 2>/dev/null | head -n1 || echo chromium) already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ci-tools: chromium missing and cannot be installed here (needs root and apt-get); the layout tests skip"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } >/dev/null 2>&1; then
  echo "ci-tools: installed $(chromium --version 2>/dev/null | head -n1)"
else
  echo "ci-tools: apt-get could not install chromium; the layout tests skip"
fi
