"""``interop pull``: fetch trial participants' data from a hospital FHIR R4 server into a Bulk-style folder.

Entry point: :func:`interop.pull.run.run_pull` with :class:`interop.pull.config.PullOptions`. The folder it writes
(one ``<Type>.ndjson`` per resource type plus ``manifest.json``) is read by ``convert`` and ``screen`` like any
Bulk Data export (``interop.normalize.inputs.open_inputs``).

Modules: ``config`` (options, secrets), ``auth`` (bearer, basic, SMART Backend Services), ``client`` (HTTP with
retries and OperationOutcome reporting), ``bulk`` (``$export`` kick-off, polling, download, resume, cancel),
``rest`` (study subjects, ``$everything``, type searches), ``scope`` (which resource types and patients),
``writer`` (de-duplicated NDJSON), ``manifest`` (what was asked and what came back), ``run`` (the orchestration).
"""
