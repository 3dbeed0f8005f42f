"""Where a Ray sweep runs: the ray backend's options (RayOptions, from the command line
and the sweep's ``[sweep]`` table) and the connection to a cluster, joined or started
locally on loopback.  Ray is imported only by :func:`connect`, when the backend runs."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import socket
import sys
from dataclasses import dataclass
from typing import Any

from lstm_tui.config import ConfigError, opt
from lstm_tui.errors import first_line
from lstm_tui.sweeps.spec import SweepConfig, SweepSpec

# ---------------------------------------------------------------- options

_TABLE = SweepConfig()     # the [sweep] table's defaults of cpus, gpus and retries


@dataclass(frozen=True)
class RayOptions:
    """The ray backend's options: where and how the points run (see :meth:`build`)."""
    address: str | None = opt(None, "join the cluster at HEAD:PORT (or auto, the one this "
                              "node is in); default: a local instance for this sweep")
    cpus: float = opt(_TABLE.cpus, "CPUs per task (a group asks for as much as one point)")
    gpus: float = opt(_TABLE.gpus, "GPUs per task; a fraction shares one (0.25)")
    retries: int = opt(_TABLE.retries, "tries again after a lost worker or node")
    ensemble: bool = opt(False, "one task per ensemble group instead of one per point")
    where: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)
    # where each value came from: {"gpus": ("--gpus", "gpus")} or (preset, "sweep.gpus")

    @classmethod
    def build(cls, spec: SweepSpec | None = None, *, address: str | None = None,
              cpus: float | None = None, gpus: float | None = None,
              retries: int | None = None, ensemble: bool = False) -> "RayOptions":
        """The command line's values, else the sweep's ``[sweep]`` table's (``cpus``,
        ``gpus``, ``retries``, defaults included).  Bad values: ConfigError."""
        table = spec if spec is not None else _TABLE
        source = spec.source if spec is not None else ""
        values, where = {}, {}
        for name, given in (("cpus", cpus), ("gpus", gpus), ("retries", retries)):
            if given is None:
                values[name], where[name] = getattr(table, name), (source, f"sweep.{name}")
            else:
                values[name], where[name] = given, (f"--{name}", name)
        _check_amount(values["cpus"], *where["cpus"], noun="CPUs")
        _check_amount(values["gpus"], *where["gpus"], noun="GPUs")
        retries = values["retries"]
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(*where["retries"], f"must be an integer >= 0, got {retries!r}")
        return cls(check_address(address), float(values["cpus"]), float(values["gpus"]),
                   retries, bool(ensemble), where)

    def at(self, name: str) -> tuple[str, str]:
        return self.where.get(name, (f"--{name}", name))


def _check_amount(value: Any, source: str, key: str, noun: str) -> None:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float))
          and math.isfinite(value) and value >= 0)
    if not ok:
        raise ConfigError(source, key, f"must be a number >= 0 ({noun} per point), "
                          f"got {value!r}")
    if value > 1 and value != int(value):
        raise ConfigError(source, key, f"must be a whole number when above 1 (Ray splits one "
                          f"{noun[:-1]}, not several), got {value!r}")


def check_address(address: str | None) -> str | None:
    """None, ``auto`` or HOST:PORT; anything else is a ConfigError."""
    if address is None or address == "auto":
        return address
    if not isinstance(address, str) or "://" in address:
        raise ConfigError("--address", "address", f"must be HOST:PORT of a Ray head node "
                          f"(e.g. 10.0.0.5:6379) or auto, got {address!r} (Ray Client "
                          "addresses are not supported: run the sweep on a cluster node)")
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError("--address", "address", f"must be HOST:PORT of a Ray head node "
                          f"(e.g. 10.0.0.5:6379) or auto, got {address!r}")
    return address


# ---------------------------------------------------------------- connecting

def loopback_only() -> None:
    """Make a local Ray instance bind 127.0.0.1 only (Ray's single-machine mode).

    On Linux Ray replaces a loopback node address by the machine's own and listens on
    every interface; with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 it stays on loopback.  The
    variable is read when ray is imported (and inherited by Ray's processes), so it is
    set first; in a process that imported ray already the constant is set as well.
    Never for a driver that joins a cluster: its workers must be able to reach it.
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None and hasattr(constants, "ENABLE_RAY_CLUSTER"):
        constants.ENABLE_RAY_CLUSTER = False


def import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend", "backend", "ray is not installed; install the extra "
                          "with: pip install 'lstm-lab[ray]'") from None
    return ray


def connect(options: RayOptions, workers: int):
    """(ray, started): joins the cluster at ``options.address``, reuses this process's
    connection when there is one, else starts a local instance (started = True)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")   # no calls home
    already = sys.modules.get("ray")
    if already is not None and already.is_initialized():
        _joined_already(already, options.address)
        return already, False
    if options.address is None:
        loopback_only()
    ray = import_ray()
    quiet = dict(include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    if options.address is None:
        ray.init(address="local", num_cpus=max(1, math.ceil(workers * max(options.cpus, 1e-9))),
                 **quiet)
        return ray, True
    try:
        if options.address != "auto":
            _probe(options.address)     # Ray itself would retry an unreachable head for minutes
        ray.init(address=options.address, **quiet)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError, OSError) as exc:
        raise ConfigError("--address", "address", f"cannot join a Ray cluster at "
                          f"{options.address}: {first_line(exc, 300)}") from None
    return ray, False


def _joined_already(ray, address: str | None) -> None:
    """An address asked for must be the cluster this process is connected to already: Ray
    keeps one connection per process, and reusing it would run the sweep elsewhere."""
    if address is None or address == "auto":
        return
    current = ray.get_runtime_context().gcs_address
    host, _, port = address.rpartition(":")
    current_host, _, current_port = current.rpartition(":")
    ip, current_ip = _ip(host), _ip(current_host)
    # loopback names this machine's cluster, which Ray lists by the machine's address
    if port == current_port and (ip == current_ip
                                 or ip.startswith("127.") and _on_this_machine(current_ip)):
        return
    raise ConfigError("--address", "address", f"cannot join a Ray cluster at {address}: "
                      f"this process is connected to the one at {current} already (one per "
                      "process: call ray.shutdown() first, or leave out the address)")


def _ip(host: str) -> str:
    try:
        return socket.gethostbyname(host.strip("[]"))
    except OSError:
        return host


def _on_this_machine(ip: str) -> bool:
    """Whether `ip` is an address of this machine (one a socket can bind to)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET,
                           socket.SOCK_DGRAM) as probe:
            probe.bind((ip, 0))
    except OSError:
        return False
    return True


def _probe(address: str, timeout: float = 5.0) -> None:
    """Raise OSError when nothing listens at HOST:PORT."""
    host, _, port = address.rpartition(":")
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
        pass
