"""Sample exports with ground truth, for the demo, notebooks, tests and benchmarks."""
from __future__ import annotations

import dataclasses
from typing import Callable, Dict, Tuple

from ..errors import ConfigError
from .perf import PerfConfig, generate_perf
from .process_creation import ProcessSampleConfig, generate_process_creation
from .resource_access import SampleConfig, generate_resource_access
from .syslog import SyslogSampleConfig, generate_syslog
from .usage import UsageConfig, generate_usage

GENERATORS: Dict[str, Tuple[type, Callable[..., dict]]] = {
    "resource-access": (SampleConfig, generate_resource_access),
    "usage": (UsageConfig, generate_usage),
    "perf": (PerfConfig, generate_perf),
    "process-creation": (ProcessSampleConfig, generate_process_creation),
    "log-patterns": (SyslogSampleConfig, generate_syslog),
}


def generate(kind: str, out_dir: str, **options) -> dict:
    """Write sample data of ``kind`` to ``out_dir``; returns its labels."""
    if kind not in GENERATORS:
        raise ConfigError(f"no sample data of kind '{kind}'; kinds: {', '.join(GENERATORS)}")
    config_cls, generator = GENERATORS[kind]
    accepted = {f.name for f in dataclasses.fields(config_cls)}
    rejected = sorted(set(options) - accepted)
    if rejected:
        raise ConfigError(
            f"option(s) {', '.join('--' + r.replace('_', '-') for r in rejected)} do not apply to {kind} sample data"
        )
    return generator(out_dir, **options)


__all__ = ["GENERATORS", "generate", "generate_perf", "generate_process_creation", "generate_resource_access",
           "generate_syslog", "generate_usage"]
