"""Eligibility screening: the protocol criteria as data (``mappings/studies/<study>.criteria.yaml``) over value
sets (``valuesets/``) and the record, giving three-valued verdicts with evidence.

Public API: :func:`screen_subject` (one patient, one study), :func:`load_criteria` / :func:`load_criteria_set`,
the result types in :mod:`mappings.eligibility.model`. IE and TI rows: ``mappings/ie.py``, ``mappings/ti.py``.
"""

from mappings.eligibility.criteria import CriteriaError, CriteriaSet, load_criteria, load_criteria_set
from mappings.eligibility.engine import derive_patient_status, screen_subject
from mappings.eligibility.model import (Criterion, CriterionResult, Evidence, Outcome, PatientStatus,
                                        ScreeningResult, Verdict)

__all__ = ["CriteriaError", "CriteriaSet", "Criterion", "CriterionResult", "Evidence", "Outcome", "PatientStatus",
           "ScreeningResult", "Verdict", "derive_patient_status", "load_criteria", "load_criteria_set",
           "screen_subject"]
