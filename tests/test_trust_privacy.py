"""Privacy (issue #8): no patient identifier leaves the converter; keyed pseudonyms where no enrolment id.

A generated cohort gets distinctive PHI strings in every Patient (names, MRN, national id, address, phone,
email, exact birth date) and free-text notes on clinical resources; ``interop convert`` and ``interop screen``
run as subprocesses, and every byte of every output file, stdout and stderr is searched for each string
(as is, case-folded, upper-cased, Latin-1, JSON-escaped; see ``test_trust_support.searchable_forms``).
"""

from __future__ import annotations

from pathlib import Path

import pyreadstat
import pytest

from interop.normalize.pseudonym import PseudonymKey, compute_pseudonym
from interop.pipeline import ConvertOptions, convert
from tests.test_trust_support import find_leaks, generate_cohort, package_files, read_ndjson, run_interop, write_ndjson

STUDY = "len-cdm"
KEY_A = "trust-key-A-5f0c91d2e8b34a77"
KEY_B = "trust-key-B-90aa13c6f7d24e01"
NOTE_TYPES = ("Condition", "Observation", "MedicationStatement", "AdverseEvent", "Encounter")


def phi_of(index: int) -> dict[str, str]:
    """Distinctive PHI strings of the ``index``-th patient (no two patients share any)."""
    tag = "QWXYZ"[index]
    return {
        "family": f"Zorblaxfam{tag}", "given": f"Quentwgiv{tag}", "mrn": f"MRNQ7Z{index}X9K1",
        "national": f"NID99887766554{index}", "line": f"{index}7 Vexquorth Boulevard", "city": f"Qwertopolis{tag}",
        "postal": f"QZ{index}8X7", "phone": f"+99 555 01{index}3 4567", "email": f"zz{index}.private@phi-test.example",
        "note": f"Notephi{tag} patient said her neighbour Zorblaxfam{tag} drove her", "birth": f"1961-0{index + 1}-23",
    }


def inject_phi(patient: dict, phi: dict[str, str]) -> None:
    patient["name"] = [{"use": "official", "family": phi["family"], "given": [phi["given"]],
                        "text": f"{phi['given']} {phi['family']}"}]
    patient["identifier"] = [
        {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
         "system": "https://example.org/fhir2cdisc/hospital/len-cdm/mrn", "value": phi["mrn"]},
        {"system": "urn:oid:2.16.156.10011.1.1", "value": phi["national"]}]
    patient["address"] = [{"line": [phi["line"]], "city": phi["city"], "postalCode": phi["postal"], "country": "CN"}]
    patient["telecom"] = [{"system": "phone", "value": phi["phone"]}, {"system": "email", "value": phi["email"]}]
    patient["birthDate"] = phi["birth"]
    patient["text"] = {"status": "generated",
                       "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{phi["given"]} {phi["family"]}</div>'}


@pytest.fixture(scope="module")
def phi_run(tmp_path_factory):
    """The PHI cohort, converted and screened by subprocesses; the secrets and everything written."""
    root = tmp_path_factory.mktemp("privacy")
    export = generate_cohort(STUDY, 4, 3, root / "export")
    patients = read_ndjson(export / "Patient.ndjson")
    owner_phi = {}
    for index, patient in enumerate(patients):
        phi = phi_of(index)
        inject_phi(patient, phi)
        owner_phi[f"Patient/{patient['id']}"] = phi
    write_ndjson(export / "Patient.ndjson", patients)
    for rtype in NOTE_TYPES:
        resources = read_ndjson(export / f"{rtype}.ndjson")
        for resource in resources:
            ref = (resource.get("subject") or resource.get("patient") or {}).get("reference")
            if ref in owner_phi and rtype != "AdverseEvent" and rtype != "Encounter":
                resource["note"] = [{"text": owner_phi[ref]["note"]}]
            elif ref in owner_phi:
                resource["text"] = {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">'
                                                                  f'{owner_phi[ref]["note"]}</div>'}
        write_ndjson(export / f"{rtype}.ndjson", resources)
    subjects = read_ndjson(export / "ResearchSubject.ndjson")
    assert len(subjects) >= 2, "the cohort needs two subjects: one with an enrolment id, one without"
    del subjects[1]["identifier"]            # this subject gets a keyed pseudonym
    write_ndjson(export / "ResearchSubject.ndjson", subjects)
    key_file = root / "key-a.txt"
    key_file.write_text(KEY_A + "\n")
    convert_run = run_interop("convert", str(export), "--study", STUDY, "--out", str(root / "pkg"),
                              "--pseudonym-key-file", str(key_file), "--fail-on", "never")
    convert_json = run_interop("convert", str(export), "--study", STUDY, "--out", str(root / "pkg-json"),
                               "--format", "json", "--fail-on", "never", env={"FHIR2CDISC_PSEUDONYM_KEY": KEY_A})
    screen_run = run_interop("screen", str(export), "--study", "len-cdm", "--study", "len-cle",
                             "--out", str(root / "screen"), "--pseudonym-key", str(key_file), "--fail-on", "never")
    for run in (convert_run, convert_json, screen_run):
        assert run.returncode == 0, run.stderr.decode(errors="replace")[-2000:]
    blobs = {}
    for folder in ("pkg", "pkg-json", "screen"):
        blobs.update({f"{folder}/{name}": data for name, data in package_files(root / folder).items()})
    for label, run in (("convert", convert_run), ("convert-json", convert_json), ("screen", screen_run)):
        blobs[f"{label} stdout"] = run.stdout
        blobs[f"{label} stderr"] = run.stderr
    secrets = {f"{key} of {ref}": value for ref, phi in owner_phi.items() for key, value in phi.items()}
    return {"root": root, "export": export, "blobs": blobs, "secrets": secrets, "subjects": subjects,
            "key_file": key_file, "patients": patients}


def test_outputs_were_written_and_searched(phi_run):
    names = set(phi_run["blobs"])
    assert {"pkg/dm.xpt", "pkg/provenance.csv", "pkg/issues.json", "pkg/define.xml", "pkg/datasetjson/dm.json",
            "pkg/manifest.json", "screen/len-cdm/screening.html", "screen/len-cle/screening.csv"} <= names
    assert len(phi_run["secrets"]) == 4 * 11


def test_no_phi_string_in_any_output_file_or_log(phi_run):
    assert find_leaks(phi_run["secrets"], phi_run["blobs"]) == []


def test_phi_strings_really_were_in_the_input(phi_run):
    inputs = {p.name: p.read_bytes() for p in phi_run["export"].glob("*.ndjson")}
    missing = set(phi_run["secrets"]) - {label for label, _, _ in find_leaks(phi_run["secrets"], inputs)}
    assert missing == set()


def test_pseudonym_key_never_in_any_output(phi_run):
    assert find_leaks({"key A": KEY_A}, phi_run["blobs"]) == []


def test_usubjid_from_the_researchsubject_identifier(phi_run):
    dm, _ = pyreadstat.read_xport(str(phi_run["root"] / "pkg" / "dm.xpt"))
    enrolled = phi_run["subjects"][0]["identifier"][0]["value"]
    assert enrolled in set(dm["SUBJID"])
    assert f"LEN-CDM-01-{enrolled}" in set(dm["USUBJID"])


def test_subject_without_enrolment_id_gets_the_keyed_pseudonym(phi_run):
    dm, _ = pyreadstat.read_xport(str(phi_run["root"] / "pkg" / "dm.xpt"))
    patient_ref = phi_run["subjects"][1]["individual"]["reference"]
    expected = compute_pseudonym(patient_ref, PseudonymKey(KEY_A.encode(), "test"))
    assert expected in set(dm["SUBJID"])
    assert f"LEN-CDM-01-{expected}" in set(dm["USUBJID"])


def test_env_key_and_file_key_give_the_same_package(phi_run):
    a = package_files(phi_run["root"] / "pkg")
    b = package_files(phi_run["root"] / "pkg-json")
    assert a == b


def _pseudonyms(export: Path, out: Path, key_file: Path) -> set[str]:
    convert(ConvertOptions((export,), STUDY, out, pseudonym_key_file=key_file))
    dm, _ = pyreadstat.read_xport(str(out / "dm.xpt"))
    return set(dm["SUBJID"]) - {"001"}


def test_pseudonym_is_stable_under_one_key_and_changes_with_the_key(phi_run, tmp_path):
    key_b = tmp_path / "key-b.txt"
    key_b.write_text(KEY_B)
    first = _pseudonyms(phi_run["export"], tmp_path / "a1", phi_run["key_file"])
    again = _pseudonyms(phi_run["export"], tmp_path / "a2", phi_run["key_file"])
    other = _pseudonyms(phi_run["export"], tmp_path / "b", key_b)
    assert len(first) == 1 and first == again
    assert other != first and len(other) == 1
    assert find_leaks({"key B": KEY_B}, package_files(tmp_path / "b")) == []
