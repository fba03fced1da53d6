"""Engines: where reading and the per-patient functions run. The same code, the same output, either way.

An engine has three operations::

    engine = open_engine("local", workers=4)            # or open_engine("spark", master="spark://h:7077")
    with engine.open(paths, timezone=study.timezone) as ingest:   # read, decide, group -> Ingest
        for output in engine.map_records(task, ingest):          # a picklable function of one record
            ...                                                 # outputs in patient-key order
    engine.map(fn, items)                                       # any picklable function, in input order

- ``local`` (default, :class:`~interop.engines.local.LocalEngine`): this machine, every core by default.
  Workers read, check and prepare the NDJSON (:mod:`interop.engines.reading`); this process decides and
  groups (summaries in temporary SQLite, resources spilled to partition files); workers build each
  partition's records and run the task. Streaming with bounded windows; output identical for any number
  of workers.
- ``spark`` (:class:`~interop.engines.spark.SparkEngine`, needs the ``spark`` extra): NDJSON read, checked and
  prepared by Spark executors, per-patient functions run as Spark tasks; output identical to ``local``.

Per-patient tasks: :func:`interop.pipeline.map_subjects` (conversion, ``run_subject``) and
:class:`interop.engines.tasks.ScreenPatient` (``screen_subject`` for each study).
"""

from __future__ import annotations

from interop.engines.local import LocalEngine, default_workers, ordered_map

ENGINES = ("local", "spark")


def open_engine(name: str = "local", **options):
    """The engine called ``name`` (``local`` | ``spark``) with its options (see each class).

    Spark is imported only when asked for, so the default install does not need pyspark.
    """
    if name == "local":
        return LocalEngine(**options)
    if name == "spark":
        from interop.engines.spark import SparkEngine

        return SparkEngine(**options)
    raise ValueError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")


__all__ = ["ENGINES", "LocalEngine", "default_workers", "open_engine", "ordered_map"]
