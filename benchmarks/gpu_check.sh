#!/usr/bin/env bash
# Every GPU measurement of issue 14 in one command (a few minutes on one GPU); the
# figures are printed and appended to benchmarks/RESULTS.md.
#
#   benchmarks/gpu_check.sh                 # on the GPU box: device cuda
#   benchmarks/gpu_check.sh --dry           # tiny sizes on the CPU: proves the script runs
#   benchmarks/gpu_check.sh --device cuda:1 --results /tmp/figures.md
#
# PYTHON picks the interpreter (default: .venv/bin/python when there is one, else python3).
set -uo pipefail
cd "$(dirname "$0")/.."

device=cuda
dry=0
results=benchmarks/RESULTS.md
while [ $# -gt 0 ]; do
    case "$1" in
        --dry) dry=1; device=cpu ;;
        --device) device="${2:?--device needs a value}"; shift ;;
        --results) results="${2:?--results needs a file}"; shift ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "gpu_check.sh: unknown option $1 (allowed: --dry, --device D, --results FILE)" >&2
           exit 2 ;;
    esac
    shift
done
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

if [ "$dry" = 1 ]; then
    engine_args=(--rounds 1 --steps 20 --configs "nth_element lstm")
    ensemble_args=(--quick --steps 10 --repeats 1 --members 4,8)
    checks_args=(--dry)
else
    engine_args=(--rounds 3 --steps 600)
    ensemble_args=(--steps 200 --repeats 1 --members 32,128,512,2048)
    checks_args=()
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() {   # run "title" command...: its output goes into the report, a failure is noted
    local title=$1; shift
    echo
    echo "### $title"
    echo
    echo '```'
    echo "\$ ${*#"$PYTHON "}"
    "$@" 2>&1
    local rc=$?
    echo '```'
    if [ $rc -ne 0 ]; then echo "(exit status $rc)"; fi
}

{
    echo
    echo "## GPU check, $(date -u '+%Y-%m-%d %H:%M') UTC, device $device$([ "$dry" = 1 ] && echo ' (dry run: tiny sizes, not figures)')"
    echo
    echo "\`benchmarks/gpu_check.sh$([ "$dry" = 1 ] && echo ' --dry')\` on $(uname -n): $("$PYTHON" -c 'import torch, platform; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, python {platform.python_version()}")' 2>&1)"
    run "Engine vs the plain loop on $device" "$PYTHON" benchmarks/bench_engine.py --device "$device" "${engine_args[@]}"
    run "Engine vs the plain loop on the CPU" "$PYTHON" benchmarks/bench_engine.py --device cpu "${engine_args[@]}"
    run "Ensemble vs sequential on $device, then members" "$PYTHON" benchmarks/bench_ensemble.py --device "$device" "${ensemble_args[@]}"
    run "Engine on $device vs CPU over hidden x batch; fused vs step-wise; tf32; determinism; dropout resume; host syncs" \
        "$PYTHON" benchmarks/gpu_checks.py --device "$device" "${checks_args[@]}"
    if [ "$dry" = 0 ]; then
        run "The cuda-marked tests" "$PYTHON" -m pytest -q -m cuda tests/unit/test_cuda.py
    fi
} | tee "$out"
# the report is appended only once complete, so RESULTS.md never holds half a block
cat "$out" >> "$results"
echo "gpu_check.sh: appended to $results"
grep -q '^(exit status' "$out" && exit 1
exit 0
