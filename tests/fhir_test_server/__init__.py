"""Test-only FHIR servers for ``interop pull`` (never imported by product code).

- :mod:`tests.fhir_test_server.sekmet_server`: starts the pinned ``sekmet-fhir`` server (a real FHIR R4 server:
  search paging, ``_include``, ``$everything``, async ``$export``) on 127.0.0.1 and loads it with samples.
- :mod:`tests.fhir_test_server.faulty`: our own small server for what sekmet cannot do on demand: SMART Backend
  Services tokens that expire, 429 with Retry-After, 5xx, a connection dropped mid-download, OperationOutcome
  errors, and a record of every request (to check DELETE on abort and that finished files are not fetched again).
"""
