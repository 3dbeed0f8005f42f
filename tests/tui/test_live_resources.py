"""The Live pane's status line shows the newest CPU/memory (GPU) sample of a training run."""

from __future__ import annotations

from lstm_tui import events as ev
from lstm_tui.config import RunConfig
from lstm_tui.tui.live import RunState
from tests.tui.fakes import started, step


def test_the_status_line_shows_the_newest_resource_sample_while_training():
    cfg = RunConfig()
    state = RunState("k", cfg)
    state.apply(started(cfg))
    state.apply(step(cfg, 10))
    assert "CPU" not in state.progress_line()
    for cpu, rss in ((50.0, 100 * 2**20), (97.0, 300 * 2**20)):
        state.apply(ev.ResourceSample(step=10, seconds=5.0, cpu_percent=cpu, rss_bytes=rss))
    assert state.progress_line().endswith("CPU 97% · RSS 300.0 MB")
    state.apply(ev.ResourceSample(step=10, seconds=10.0, cpu_percent=5.0, rss_bytes=2**30,
                                  gpu_util=88.0, gpu_mem_bytes=2**31, gpu_mem_total=2**32))
    assert "GPU 88% 2.0 GB/4.0 GB" in state.progress_line()
    state.apply(ev.Finished(status="completed", step=20, seconds=1.0, best=0.5, final=0.5))
    assert "CPU" not in state.progress_line()      # a finished run's last sample is stale
