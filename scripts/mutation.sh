#!/usr/bin/env bash
# Mutation testing of the core with mutmut 3 (slow: run by hand, never in CI).
#
#   scripts/mutation.sh [GROUP...]     groups: training models runs tasks config sweeps
#                                      (default: all, in that order)
#   scripts/mutation.sh GROUP=MODULE   one file of a group: training=engine, runs=writer,
#                                      sweeps=runner, config=config (folder GROUP-MODULE)
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
# MUTATION_SEED (default 16) draws another sample: with a fresh MUTATION_DIR it measures
# tests written against one sample on mutants they were not written for (held out).
# MUTATION_ONLY=survivors re-tests only the group's surviving mutants, and those no test
# reached before (after new tests).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
WORK=${MUTATION_DIR:-$ROOT/.mutation}
CHILDREN=${MUTATION_CHILDREN:-1}
SEED=${MUTATION_SEED:-16}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PATH="$VENV/bin:$PATH"

# group -> mutated globs, and its test selection (test files and pytest options, words)
declare -A MUTATE TESTS
MUTATE[training]='"src/lstm_tui/training/*"'
TESTS[training]='tests/unit/test_engine.py tests/unit/test_optim.py tests/unit/test_engine_contract.py
    tests/unit/test_experiment.py tests/unit/test_gpu_readiness.py
    tests/unit/test_mut_engine.py tests/unit/test_mut_optim.py tests/unit/test_training_record.py
    --deselect tests/unit/test_engine.py::test_nth_element_easy_mode_converges
    --deselect tests/unit/test_experiment.py::test_killed_process_leaves_a_readable_interrupted_run'
MUTATE[models]='"src/lstm_tui/models/*"'
TESTS[models]='tests/unit/test_models.py tests/unit/test_sampling_distribution.py
    tests/unit/test_engine_contract.py tests/unit/test_gpu_readiness.py tests/unit/test_mut_models.py tests/unit/test_mut_sampling.py tests/unit/test_mut_network.py'
MUTATE[runs]='"src/lstm_tui/runs/*", "src/lstm_tui/fsio.py"'   # fsio: the store's atomic files
TESTS[runs]='tests/unit/test_store.py tests/unit/test_store_contract.py tests/unit/test_store_atomic.py
    tests/unit/test_experiment.py tests/unit/test_run_listing.py tests/unit/test_store_tidy.py
    tests/unit/test_expect.py tests/unit/test_mut_store.py
    --deselect tests/unit/test_experiment.py::test_killed_process_leaves_a_readable_interrupted_run'
MUTATE[tasks]='"src/lstm_tui/tasks/*"'
TESTS[tasks]='tests/unit/test_tasks.py tests/unit/test_engine_contract.py tests/unit/test_series.py
    tests/unit/test_sequence_classification.py tests/unit/test_registry.py tests/unit/test_text8.py
    tests/unit/test_mut_tasks.py tests/unit/test_mut_tasks_more.py'
MUTATE[config]='"src/lstm_tui/config.py"'
TESTS[config]='tests/unit/test_config.py tests/unit/test_presets.py tests/unit/test_mut_config.py'
MUTATE[sweeps]='"src/lstm_tui/sweeps/runner.py", "src/lstm_tui/training/ensemble/*"'
TESTS[sweeps]='tests/unit/test_sweeps_runner.py tests/unit/test_sweep_metric.py tests/unit/test_ensemble.py
    tests/unit/test_sweeps_scheduler.py tests/unit/test_mut_runner.py tests/unit/test_mut_ensemble.py
    tests/unit/test_training_record.py
    tests/unit/test_series.py::test_ensemble_members_of_a_series_equal_their_runs
    tests/unit/test_gpu_readiness.py::test_member_bytes_counts_data_and_parameters_too
    --deselect tests/unit/test_sweeps_scheduler.py::test_the_same_points_are_pruned_on_every_backend'
# GROUP=module narrows a group to one file, e.g. training=engine (its own folder under .mutation/)
# A module whose tests are elsewhere, or a smaller selection, has its own (used instead of
# the group's); otherwise GROUP=MODULE runs the group's selection
ENGINE_TESTS='tests/unit/test_engine.py tests/unit/test_engine_contract.py tests/unit/test_mut_engine.py
    --deselect tests/unit/test_engine.py::test_nth_element_easy_mode_converges'
TESTS[training=window]="$ENGINE_TESTS tests/unit/test_mut_window.py"
TESTS[training=task_reports]="$ENGINE_TESTS tests/unit/test_series.py tests/unit/test_mut_task_reports.py"
TESTS[training=policy]='tests/unit/test_gpu_readiness.py tests/unit/test_cuda.py tests/unit/test_mut_policy.py'
TESTS[training=rng]='tests/unit/test_gpu_readiness.py tests/unit/test_engine_contract.py tests/unit/test_mut_rng.py'
TESTS[training=placement]='tests/unit/test_gpu_readiness.py tests/unit/test_sweeps_devices.py tests/unit/test_mut_placement.py'
# threads: its tests that really set torch threads hang every forked mutant (see below);
# test_mut_threads.py records the calls instead
TESTS[training=threads]='tests/unit/test_threads.py tests/unit/test_mut_threads.py
    --deselect tests/unit/test_threads.py::test_the_engine_applies_the_rule'
STORE_TESTS='tests/unit/test_store.py tests/unit/test_store_contract.py tests/unit/test_store_tidy.py
    tests/unit/test_run_listing.py tests/unit/test_provenance.py tests/unit/test_mut_store.py'
for m in checkpoint listing liveness lock provenance resources tags trash; do
    TESTS[runs=$m]="$STORE_TESTS tests/unit/test_mut_$m.py"
done
TESTS[runs=checkpoint]+=' tests/unit/test_experiment.py
    --deselect tests/unit/test_experiment.py::test_killed_process_leaves_a_readable_interrupted_run'
TESTS[runs=lock]+=' tests/unit/test_sweeps_runner.py'

# Mutants run in processes forked from one that ran the tests; after torch has used more
# than one intra-op thread a fork hangs in OpenMP, so no test that sets train.threads > 1
# runs here (tests/unit/test_threads.py is left out for the same reason): without this
# every mutant of the engine's loop reads as a false "timeout" kill.
THREADS_TEST=tests/unit/test_engine_contract.py::test_train_threads_sets_torch_threads

# the words of a test selection as a TOML list; a test file that does not exist (yet: the
# test_mut_<module>.py files are written as survivors are read) drops out
toml_words() {
    local out="" w
    for w in $1; do
        [[ $w == tests/*.py && ! -e $w ]] && continue
        out+="\"$w\", "
    done
    printf '%s' "${out%, }"
}

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(training models runs tasks config sweeps)
command -v mutmut >/dev/null || { echo "mutmut missing: pip install -e '.[mutation]'" >&2; exit 2; }

for arg in "${groups[@]}"; do
    group=${arg%%=*}
    [ -n "${MUTATE[$group]:-}" ] || { echo "unknown group $group (training models runs tasks config sweeps)" >&2; exit 2; }
    mutate=${MUTATE[$group]}
    if [[ $arg == *=* ]]; then     # one module of the group
        mutate="\"src/lstm_tui/$group/${arg#*=}.py\""
        [ "$group" = config ] && mutate='"src/lstm_tui/config.py"'
        [ "$group" = sweeps ] && mutate="\"src/lstm_tui/sweeps/${arg#*=}.py\""
    fi
    dir=$WORK/${arg/=/-}
    mkdir -p "$dir"
    # the working tree as it is (tracked and new files), not the ignored ones
    (cd "$ROOT" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$dir"
    cat >> "$dir/pyproject.toml" <<TOML

[tool.mutmut]
source_paths = ["src"]
only_mutate = [$mutate]
also_copy = ["presets", "README.md", "docs", "mkdocs.yml", "CHANGELOG.md"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "--deselect", "$THREADS_TEST"]
pytest_add_cli_args_test_selection = [$(cd "$ROOT" && toml_words "${TESTS[$arg]:-${TESTS[$group]}}")]
process_isolation = "fork"          # fork from the process that ran the stats: torch already imported
# mutmut's wall limit per mutant is (estimated test time + constant) * multiplier; on a
# loaded box a fork still re-collects its tests for seconds, so a small constant turns
# slow survivors into false "timeout" kills: keep it large (a real hang costs ~1 min)
timeout_constant = 20.0
timeout_multiplier = 2.0
# never mutate a line that sends a signal: a mutant could signal another process
do_not_mutate_patterns = ['os\.kill', 'killpg']
TOML
    echo "== $arg: $(date -u +%H:%M:%S) mutating $mutate"
    # subprocesses started by the tests (spawn workers, child pythons) import the mutants
    # too; the folder must exist before Python starts, or its importer cache skips it
    mkdir -p "$dir/mutants/src"
    names=()
    if [ "${MUTATION_ONLY:-}" = survivors ]; then
        mapfile -t names < <(cd "$dir" && mutmut results 2>/dev/null \
            | sed -n 's/^ *\([^ :]*__mutmut_[0-9]*\): *\(survived\|no tests\).*/\1/p')
        echo "== $arg: re-testing ${#names[@]} survivors"
        [ ${#names[@]} -gt 0 ] || continue
    elif [ -n "${MUTATION_SAMPLE:-}" ]; then
        # generate the mutants and the test map without running any, then draw the sample
        (cd "$dir" && PYTHONPATH="$dir/mutants/src" mutmut run "no.such.mutant" >/dev/null 2>&1 || true)
        mapfile -t names < <(cd "$dir" && mutmut results --all true 2>/dev/null \
            | sed -n 's/^ *\([^ :]*__mutmut_[0-9]*\):.*/\1/p' \
            | python3 -c "import random, sys; n = sys.stdin.read().split(); random.Random($SEED).shuffle(n); n and print(*sorted(n[:$MUTATION_SAMPLE]), sep='\n')")
        echo "== $arg: sample of ${#names[@]} mutants"
        [ ${#names[@]} -gt 0 ] || continue     # e.g. a file of decorated functions only
        # resume: run only those not yet checked (or timed out, which may be a slow box)
        printf '%s\n' "${names[@]}" > "$dir/sample.txt"
        mapfile -t names < <(cd "$dir" && mutmut results --all true 2>/dev/null \
            | sed -n 's/^ *\([^ :]*__mutmut_[0-9]*\): *\(not checked\|timeout\)$/\1/p' \
            | grep -Fxf sample.txt)
        echo "== $arg: ${#names[@]} of them still to run"
        [ ${#names[@]} -gt 0 ] || continue
    fi
    (cd "$dir" && PYTHONPATH="$dir/mutants/src" mutmut run --max-children "$CHILDREN" "${names[@]}" || true)
    (cd "$dir" && mutmut results > results.txt 2>&1 || true)
    echo "== $arg: $(date -u +%H:%M:%S) done; survivors: $dir/results.txt"
done
