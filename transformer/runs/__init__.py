"""Runs: training in the background while pages watch, one module per job.

    limiter.py      the process-wide limit on concurrent runs, and the queue for the rest
    job.py          BackgroundJob: status and controls (start, pause, step, resume, stop)
    live.py         LiveRun, the server's side of a run: files what its training process sends
    worker.py       the training process's side: trains, takes snapshots, obeys the controls
    fork_server.py  the fork server that starts training processes with PyTorch loaded
    history.py      a run's snapshot history, bounded in bytes per run and per server
    snapshot.py     a frozen copy of a model during training, and grading answers with it
    race.py         RaceRun: several models learn one task turn by turn in one thread
    preset_cache.py presets trained once per server: shared while training, kept in memory and on disk
    follow.py       class codes: other sessions follow one run, read only

Import the modules themselves (`from transformer.runs.live import LiveRun`): this file imports
nothing, so that the limiter loads without PyTorch.
"""
