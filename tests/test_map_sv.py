"""SV (mappings/sv.py): visits that took place, from Encounters."""

from mappings.study import load_study
from mappings.sv import map_sv
from mappings.subject import derive_subject_context
from tests.builders import consent, encounter, patient, record, research_study, research_subject

CLE = load_study("len-cle")


def sv(*encounters):
    rec = record(patient(), research_study(), research_subject(consent="c1"), consent(), *encounters)
    ctx, _ = derive_subject_context(rec, study=CLE)
    return map_sv(rec, study=CLE, subject=ctx)


def test_finished_encounters_become_visits():
    result = sv(encounter("e1", start="2023-01-10T09:00", end="2023-01-10T11:30"),
                encounter("e2", start="2023-02-07", type_text="Unscheduled"))
    assert result.rows == [
        {"SVSTDTC": "2023-01-10T09:00", "SVENDTC": "2023-01-10T11:30", "_src": ("Encounter/e1",),
         "_rule": "SV.from-encounter"},
        {"SVSTDTC": "2023-02-07", "SVENDTC": "2023-02-07", "_src": ("Encounter/e2",), "_rule": "SV.from-encounter"},
    ]


def test_cancelled_and_undated_encounters_are_unmapped():
    result = sv(encounter("e1", status="cancelled"), encounter("e2", start=None))
    assert result.rows == []
    assert set(result.unmapped) == {"Encounter/e1", "Encounter/e2"}
    assert [i.code for i in result.issues] == ["MAP019"]
