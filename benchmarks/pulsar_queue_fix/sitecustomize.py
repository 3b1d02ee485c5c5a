"""Makes Pulsar 0.16's queued_python manager hold jobs back, for the benchmarks only (on PYTHONPATH of Pulsar).

Pulsar 0.16's QueueManager workers call `_run(..., montior=MonitorStyle.FOREGROUND)`, and `_start_monitor` reads
`monitor`, so the misspelt argument is ignored: each worker starts a job and takes the next at once, and every job
runs at once whatever `num_concurrent_jobs` says. This passes the argument on under its right name, so that a
worker waits for its job and the rest wait in Pulsar's queue, as on a busy server."""
try:
    from pulsar.managers.unqueued import Manager

    _start_monitor = Manager._start_monitor

    def _start_monitor_with_style(self, *args, **kwd):
        if "montior" in kwd:
            kwd["monitor"] = kwd.pop("montior")
        return _start_monitor(self, *args, **kwd)

    Manager._start_monitor = _start_monitor_with_style
except Exception:  # not Pulsar, or a Pulsar without the bug: change nothing
    pass
