#!/usr/bin/env bash
# npm run bench [-- KERNELSPEC … | -- bench.py options]: the benchmark on the project's Jupyter
# stack (.venv). With no kernelspec named: nslab beside bash_kernel (bash, pinned in
# requirements.txt) and ipykernel (python3), in one run. The nslab and bash_kernel kernelspecs
# are installed into a throwaway prefix named by JUPYTER_PATH (the user's own are not used),
# removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d /tmp/nslab-bench-specs.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
node dist/src/cli/main.js install --prefix "$prefix" >/dev/null
.venv/bin/python -m bash_kernel.install --prefix "$prefix" >/dev/null
kernels=()
for arg in "$@"; do case $arg in -*) break;; *) kernels+=("$arg"); shift;; esac; done
[ ${#kernels[@]} -gt 0 ] || kernels=(nslab bash python3)
JUPYTER_PATH="$prefix/share/jupyter" .venv/bin/python bench/bench.py "${kernels[@]}" "$@"
