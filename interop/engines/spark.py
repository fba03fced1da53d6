"""``--engine spark``: the same reading checks and per-patient functions, run on Apache Spark (pyspark).

What runs where:

1. **Read** (executors): every NDJSON file is read by Spark (``SparkContext.textFile``, split across tasks), each
   line parsed with orjson, checked and repaired, moved onto the site clock, summarised and encoded
   (:mod:`interop.normalize.prepared`) by exactly the code of the local engine's workers
   (:func:`interop.engines.reading.prepared_ndjson_partition`); line numbers come from ``zipWithIndex``. Other files
   (JSON Bundles, XML) are read on the driver. The items stream back in input order (``toLocalIterator``).
2. **Decide and group** (driver): :func:`interop.normalize.inputs.group_inputs`, the very code of the local
   engine, so duplicates, owners, references and issues are the same. The driver keeps the summaries in
   temporary SQLite (as the local engine does) and spills resources to its work folder.
3. **Map** (executors): patients go to Spark in batches; each task runs the per-patient function
   (``run_subject``, ``screen_subject``); results come back in patient-key order.

So the output equals the local engine's, byte for byte (``tests/test_engines_spark.py``).

Where Spark runs: ``master=None`` uses ``$SPARK_MASTER`` or ``spark-submit``'s ``--master``, else
``local[*]``. Executors need the project importable (``pip install fhir2cdisc`` on the nodes, or
``spark-submit --py-files``) and the inputs at the same path as the driver (shared file system).
Spark Connect is not supported: step 1 needs the RDD API (``zipWithIndex`` gives exact line numbers for
the reconciliation ledger and issue locations), which Spark Connect does not offer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from interop.engines.reading import discover, prepared_ndjson_partition
from interop.ingest.readers import ReadItem, base_suffix
from interop.ingest.validate import Limits
from interop.normalize.inputs import Ingest, LocalTimes, group_inputs, load_zone, read_on_site_clock
from interop.normalize.prepared import PreparedItem

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class SparkEngine:
    """Run reading and the per-patient functions on a Spark cluster (or ``local[*]``).

    Parameters
    ----------
    master
        Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``...); None: ``$SPARK_MASTER``, else
        ``spark-submit``'s ``--master``, else pyspark's default ``local[*]``.
    batch
        Patients sent to Spark per job in the map step (bounds driver memory; larger amortises job start).
    conf
        Extra Spark settings, e.g. ``{"spark.executor.memory": "4g"}``.
    """

    master: str | None = None
    batch: int = 2000
    conf: dict[str, str] = field(default_factory=dict)
    name: str = "spark"
    _session: object = None

    def session(self):
        """The active SparkSession (created once; stopped by :meth:`stop`)."""
        if self._session is None:
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.appName("fhir2cdisc")
            master = self.master or os.environ.get("SPARK_MASTER")
            if master:  # else spark-submit's --master, or pyspark's own default local[*]
                builder = builder.master(master)
            if (master or "local").startswith("local") and "PYSPARK_PYTHON" not in os.environ:
                os.environ["PYSPARK_PYTHON"] = sys.executable  # local workers run this interpreter (the venv)
            for key, value in {"spark.ui.enabled": "false", **self.conf}.items():
                builder = builder.config(key, value)
            self._session = builder.getOrCreate()
        return self._session

    def stop(self) -> None:
        if self._session is not None:
            self._session.stop()
            self._session = None

    def read(self, paths: Iterable[Path], *, timezone: str, limits: Limits = Limits(), validate_models: bool = False
             ) -> Iterator[tuple[ReadItem | PreparedItem, LocalTimes]]:
        """Step 1: the items of every input in input order; NDJSON read and prepared by the executors."""
        context = self.session().sparkContext
        zone = load_zone(timezone)
        files, problem_items = discover(paths)
        yield from problem_items
        for path in files:
            if base_suffix(path) != ".ndjson":
                yield from read_on_site_clock([path], zone=zone, limits=limits)
                continue
            lines = context.textFile(path.resolve().as_uri(), use_unicode=False).zipWithIndex()
            items = lines.mapPartitions(partial(prepared_ndjson_partition, file=str(path), timezone=timezone,
                                                limits=limits, validate_models=validate_models))
            yield from items.toLocalIterator()

    def open(self, paths: Iterable[Path], *, timezone: str, limits: Limits = Limits(), **options) -> Ingest:
        """Steps 1 and 2: read on Spark, decide and group on the driver (same code as the local engine)."""
        items = self.read(paths, timezone=timezone, limits=limits,
                          validate_models=options.get("validate_models", False))
        return group_inputs(items, timezone=timezone, **options)

    def map_records(self, fn: Callable[[object], R], ingest: Ingest) -> Iterator[R]:
        """``fn`` over every record of ``ingest`` in patient-key order; records are built on the driver."""
        return self.map(fn, ingest.subjects())

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Step 3: ``fn`` over ``items`` on the executors, ``batch`` items per job, results in input order."""
        from interop.engines.local import batched

        context = self.session().sparkContext
        slices = max(1, context.defaultParallelism)
        for chunk in batched(items, self.batch):
            yield from context.parallelize(chunk, min(slices, len(chunk))).map(fn).collect()
