"""Where a second torch thread starts to pay: the threshold of training.threads.

For LSTMs of growing size it times plain training steps (forward, backward, Adam) with
1 thread and with N threads (default: all CPUs), interleaved round by round so both see
the same load, and prints steps/s and the speed-up against the work measure the thread
policy uses (trainable parameters x batch size).  MIN_WORK_PER_THREAD in
lstm_tui/training/threads.py is set from these figures (see benchmarks/RESULTS.md).

    python benchmarks/bench_threads.py [--threads N] [--rounds 3] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from lstm_tui.training.threads import MIN_WORK_PER_THREAD, cpu_count, step_work

SIZES = [(32, 32), (64, 32), (128, 32), (128, 64), (256, 64), (512, 64), (1024, 64)]
INPUT, SEQ = 27, 20


def steps_per_sec(hidden: int, batch: int, threads: int, seconds: float) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(INPUT, hidden, batch_first=True)
    head = torch.nn.Linear(hidden, INPUT)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, 1e-3)
    x = torch.randn(batch, SEQ, INPUT)
    y = torch.randint(0, INPUT, (batch,))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        out, _ = lstm(x)
        loss = torch.nn.functional.cross_entropy(head(out[:, -1]), y)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=cpu_count())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    print(f"bench_threads  {time.strftime('%Y-%m-%d %H:%M')}  torch {torch.__version__}  "
          f"python {platform.python_version()}  {platform.machine()}  cpus {cpu_count()}")
    print(f"LSTM input {INPUT}, seq_len {SEQ}, Adam; median of {args.rounds} interleaved "
          f"rounds of {args.seconds:g} s; policy threshold now {MIN_WORK_PER_THREAD:,}\n")
    print(f"{'hidden':>6} {'batch':>5} {'work':>12} {'1 thread':>10} "
          f"{f'{args.threads} threads':>11} {'speed-up':>9}")
    for hidden, batch in SIZES:
        one, many = [], []
        for _ in range(args.rounds):
            one.append(steps_per_sec(hidden, batch, 1, args.seconds))
            many.append(steps_per_sec(hidden, batch, args.threads, args.seconds))
        n_params = 4 * hidden * (INPUT + hidden + 2) + hidden * INPUT + INPUT
        a, b = statistics.median(one), statistics.median(many)
        print(f"{hidden:>6} {batch:>5} {step_work(n_params, batch):>12,} {a:>10.1f} "
              f"{b:>11.1f} {b / a:>8.2f}x", flush=True)


if __name__ == "__main__":
    main()
