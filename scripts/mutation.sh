#!/usr/bin/env bash
# Mutation testing of the core with mutmut 3 (slow: run by hand, never in CI).
#
#   scripts/mutation.sh [GROUP...]     groups: training models runs tasks config sweeps
#                                      (default: all, in that order)
#
# Each group mutates its modules only and runs a fast test selection of its own (the
# unit tests that exercise it; mutmut then runs, per mutant, just the tests that reach
# the mutated function, fastest first, stopping at the first failure).  Work happens in
# a copy of the working tree under $MUTATION_DIR (default .mutation/, git-ignored), one
# folder per group, so the checkout is never mutated and an interrupted run resumes
# where it stopped.  Results: `cd .mutation/<group> && mutmut results` (survivors),
# `mutmut show <name>` (the diff of one mutant); a summary line per group is printed.
#
# Needs the dev venv plus the extra: pip install -e '.[dev,mutation]'.
# MUTATION_CHILDREN (default 1) mutants run at once; the box is shared.
# MUTATION_SAMPLE=N tests a seeded random sample of N mutants per group instead of all
# (the score is then an estimate; TESTING.md says which groups were sampled).
# MUTATION_ONLY=survivors re-tests only the group's surviving mutants (after new tests).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
WORK=${MUTATION_DIR:-$ROOT/.mutation}
CHILDREN=${MUTATION_CHILDREN:-1}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PATH="$VENV/bin:$PATH"

# group -> "mutated globs|test files and pytest options"
declare -A MUTATE TESTS
MUTATE[training]='"src/lstm_tui/training/*"'
TESTS[training]='"tests/unit/test_engine.py", "tests/unit/test_optim.py", "tests/unit/test_engine_contract.py", "tests/unit/test_experiment.py", "--deselect", "tests/unit/test_engine.py::test_nth_element_easy_mode_converges", "--deselect", "tests/unit/test_experiment.py::test_killed_process_leaves_a_readable_interrupted_run"'
MUTATE[models]='"src/lstm_tui/models/*"'
TESTS[models]='"tests/unit/test_models.py", "tests/unit/test_sampling_distribution.py", "tests/unit/test_engine_contract.py"'
MUTATE[runs]='"src/lstm_tui/runs/*"'
TESTS[runs]='"tests/unit/test_store.py", "tests/unit/test_store_contract.py", "tests/unit/test_store_atomic.py", "tests/unit/test_experiment.py", "--deselect", "tests/unit/test_experiment.py::test_killed_process_leaves_a_readable_interrupted_run"'
MUTATE[tasks]='"src/lstm_tui/tasks/*"'
TESTS[tasks]='"tests/unit/test_tasks.py", "tests/unit/test_engine_contract.py"'
MUTATE[config]='"src/lstm_tui/config.py"'
TESTS[config]='"tests/unit/test_config.py", "tests/unit/test_presets.py"'
MUTATE[sweeps]='"src/lstm_tui/sweeps/runner.py", "src/lstm_tui/sweeps/ensemble.py"'
TESTS[sweeps]='"tests/unit/test_sweeps_runner.py", "tests/unit/test_sweep_metric.py", "tests/unit/test_ensemble.py"'

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(training models runs tasks config sweeps)
command -v mutmut >/dev/null || { echo "mutmut missing: pip install -e '.[mutation]'" >&2; exit 2; }

for group in "${groups[@]}"; do
    [ -n "${MUTATE[$group]:-}" ] || { echo "unknown group $group (training models runs tasks config sweeps)" >&2; exit 2; }
    dir=$WORK/$group
    mkdir -p "$dir"
    # the working tree as it is (tracked and new files), not the ignored ones
    (cd "$ROOT" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$dir"
    cat >> "$dir/pyproject.toml" <<TOML

[tool.mutmut]
source_paths = ["src"]
only_mutate = [${MUTATE[$group]}]
also_copy = ["presets", "README.md"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]
pytest_add_cli_args_test_selection = [${TESTS[$group]}]
process_isolation = "fork"          # fork from the process that ran the stats: torch already imported
timeout_multiplier = 5.0
# never mutate a line that sends a signal: a mutant could signal another process
do_not_mutate_patterns = ['os\.kill', 'killpg']
TOML
    echo "== $group: $(date -u +%H:%M:%S) mutating ${MUTATE[$group]}"
    # subprocesses started by the tests (spawn workers, child pythons) import the mutants
    # too; the folder must exist before Python starts, or its importer cache skips it
    mkdir -p "$dir/mutants/src"
    names=()
    if [ "${MUTATION_ONLY:-}" = survivors ]; then
        mapfile -t names < <(cd "$dir" && mutmut results 2>/dev/null \
            | sed -n 's/^ *\([^ :]*__mutmut_[0-9]*\): *survived.*/\1/p')
        echo "== $group: re-testing ${#names[@]} survivors"
        [ ${#names[@]} -gt 0 ] || continue
    elif [ -n "${MUTATION_SAMPLE:-}" ]; then
        # generate the mutants and the test map without running any, then draw the sample
        (cd "$dir" && PYTHONPATH="$dir/mutants/src" mutmut run "no.such.mutant" >/dev/null 2>&1 || true)
        mapfile -t names < <(cd "$dir" && mutmut results --all true 2>/dev/null \
            | sed -n 's/^ *\([^ :]*__mutmut_[0-9]*\):.*/\1/p' \
            | python3 -c "import random, sys; n = sys.stdin.read().split(); random.Random(16).shuffle(n); print(*sorted(n[:$MUTATION_SAMPLE]), sep='\n')")
        echo "== $group: sample of ${#names[@]} mutants"
    fi
    (cd "$dir" && PYTHONPATH="$dir/mutants/src" mutmut run --max-children "$CHILDREN" "${names[@]}" || true)
    (cd "$dir" && mutmut results > results.txt 2>&1 || true)
    echo "== $group: $(date -u +%H:%M:%S) done; survivors: $dir/results.txt"
done
