"""IE (Inclusion/Exclusion Criteria Not Met) from the eligibility screening (SDTMIG 3.4, IE).

Only the criteria a trial subject did not meet are recorded (SDTMIG IE: "only those criteria that cause the
subject to be in violation"): an inclusion not met gives IEORRES/IESTRESC ``N``, an exclusion met ``Y``.
IETESTCD/IETEST/IECAT come from the study's criteria file (one place; IECAT values are CT C66797 terms).
IEDTC is the screening date of the screening (docs/FHIR-INPUT.md, Eligibility-specific data).
A criterion that cannot be decided for a subject writes no row and an ELIG006 issue (nothing guessed).

=================  ===========================================================================
IETESTCD, IETEST   criterion ``id`` / ``ietest`` (``mappings/studies/<study>.criteria.yaml``)
IECAT              criterion ``category`` (INCLUSION | EXCLUSION)
IEORRES, IESTRESC  ``N`` (inclusion not met) | ``Y`` (exclusion met)
IEDTC              the screening date (Consent date, else screening Encounter)
=================  ===========================================================================
"""

from __future__ import annotations

from cdisc.issues import Location, issue
from interop.normalize.record import SubjectRecord
from mappings.eligibility import ScreeningResult, screen_subject
from mappings.eligibility.codes import ELIG006, ELIG007
from mappings.result import MapResult, SubjectContext
from mappings.study import StudyDefinition

SCREENED_STATUSES = frozenset({"enrolled", "screen-failure"})


def map_ie(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext,
           screening: ScreeningResult | None = None) -> MapResult:
    """IE rows for one trial subject (the mapper contract, ``mappings/result.py``).

    Parameters
    ----------
    record, study, subject
        As for every mapper.
    screening : ScreeningResult, optional
        A screening already computed for this record and study (the pipeline may reuse ``interop screen``'s);
        computed here otherwise.
    """
    result = MapResult("IE")
    if subject.status not in SCREENED_STATUSES:
        return result
    screening = screening or screen_subject(record, study=study)
    result.issues.extend(screening.issues)
    for item in screening.results:
        sources = tuple(dict.fromkeys(e.resource for e in item.outcome.evidence if e.resource))
        where = Location(resource=record.key, dataset="IE", usubjid=subject.usubjid, variable=item.criterion.id)
        if item.open:
            result.issues.append(issue(ELIG006, f"{item.criterion.id} {item.verdict.value}: "
                                       f"{'; '.join(item.outcome.missing) or 'no decision'}", where))
            result.evidence.update(sources)
            continue
        if not item.fails:
            result.evidence.update(sources)
            continue
        answer = "N" if item.criterion.is_inclusion else "Y"
        result.rows.append({
            "IETESTCD": item.criterion.id, "IETEST": item.criterion.ietest, "IECAT": item.criterion.category,
            "IEORRES": answer, "IESTRESC": answer, "IEDTC": screening.screening_date,
            "_src": sources or (record.key,), "_rule": "IE.criterion-not-met",
        })
        result.issues.append(issue(ELIG007, f"{item.criterion.id} not met by a trial subject", where))
    return result
