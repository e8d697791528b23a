#!/usr/bin/env bash
# billpayctl scaffold against cookiecutter on the same templates, in the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS=$PWD/.tools
if [ ! -x "$TOOLS/cookiecutter/bin/cookiecutter" ]; then
  python3 -m venv "$TOOLS/cookiecutter"
  "$TOOLS/cookiecutter/bin/pip" install -q --disable-pip-version-check cookiecutter==2.7.1
fi
cargo build --release -q -p billpayctl
exec python3 bench/scaffold/run.py "$PWD/target/release/billpayctl" "$TOOLS/cookiecutter/bin/cookiecutter" "${1:-30}"
