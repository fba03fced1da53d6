"""TI (Trial Inclusion/Exclusion Criteria) from the study's criteria file (SDTMIG 3.4, TI): one row per
criterion, in protocol order. TIVERS is the criteria file's ``version`` (protocol version of the criteria)."""

from __future__ import annotations

from mappings.eligibility import load_criteria_set
from mappings.study import StudyDefinition


def build_ti(study: StudyDefinition) -> list[dict]:
    """Every inclusion and exclusion criterion of the study as a TI row (STUDYID/DOMAIN included: study-level)."""
    criteria = load_criteria_set(study.key)
    return [{"STUDYID": study.studyid, "DOMAIN": "TI", "IETESTCD": c.id, "IETEST": c.ietest, "IECAT": c.category,
             "TIVERS": criteria.version} for c in criteria.criteria]
