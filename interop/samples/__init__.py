"""Deterministic synthetic FHIR R4 cohorts for len-cdm and len-cle (issue 2).

Public API::

    from interop.samples import write_cohort, iter_patients, write_samples
    write_cohort("len-cle", 1000, seed=7, fmt="ndjson", out_dir=Path("/tmp/cle"))   # streaming, flat memory
    for plan, resources in iter_patients(load_study("len-cdm"), 28, 20220815): ...  # plain dicts
"""

from interop.samples.checked_in import FIXED_SEEDS, write_samples
from interop.samples.plan import PatientPlan, compute_outcome, iter_plans
from interop.samples.write import WriteSummary, iter_patients, write_bundles, write_cohort, write_ndjson

__all__ = ["FIXED_SEEDS", "PatientPlan", "WriteSummary", "compute_outcome", "iter_patients", "iter_plans",
           "write_bundles", "write_cohort", "write_ndjson", "write_samples"]
