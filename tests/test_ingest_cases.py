"""Bad-input corpus: every FHIR code in interop/codes.py has tests/cases/<CODE>.yaml with a case that
fires (issues with the promised code and location; the good resources still come through) and one that
does not (STYLE 3.3)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cdisc.issues import ConversionError, registered_codes
from interop import codes  # noqa: F401  (declares the FHIR codes)
from interop.ingest.validate import Limits
from interop.normalize.inputs import open_inputs
from interop.normalize.pseudonym import load_pseudonym_key

CASES = Path(__file__).parent / "cases"
FHIR_CODES = sorted(c for c in registered_codes() if c.startswith("FHIR"))


def _load(code: str) -> dict:
    return yaml.safe_load((CASES / f"{code}.yaml").read_text())


def _run(case: dict, options: dict, folder: Path, monkeypatch):
    if "pseudonym" in case:
        spec = case["pseudonym"]
        monkeypatch.delenv(spec["env"], raising=False)
        if "value" in spec:
            monkeypatch.setenv(spec["env"], spec["value"])
        load_pseudonym_key(env=spec["env"])
        return None
    folder.mkdir()
    for name, text in case["files"].items():
        (folder / name).write_text(text)
    limits = Limits(**{k: options[k] for k in ("max_depth", "max_string") if k in options})
    return open_inputs([folder], timezone=options.get("timezone", "Europe/Paris"), limits=limits,
                       validate_models=options.get("validate_models", False))


def test_every_fhir_code_has_a_case_file():
    assert FHIR_CODES, "codes not declared"
    missing = [c for c in FHIR_CODES if not (CASES / f"{c}.yaml").is_file()]
    assert missing == []


@pytest.mark.parametrize("code", FHIR_CODES)
def test_case_fires_with_location_and_good_resources_survive(code, tmp_path, monkeypatch):
    spec = _load(code)
    assert spec["code"] == code
    case, options = spec["fires"], spec.get("options", {})
    if "raises" in case:
        with pytest.raises(ConversionError) as caught:
            _run(case, options, tmp_path / "in", monkeypatch)
        assert caught.value.issue.code == case["raises"]
        return
    with _run(case, options, tmp_path / "in", monkeypatch) as ingest:
        found = [(i.code, i.where) for i in ingest.issues]
        for expected in case["expect"]:
            matches = [w for c, w in found if c == expected["code"]
                       and all(_field(w, k) == v for k, v in expected.items() if k != "code")]
            assert matches, f"{expected} not in {found}"
        kept = {e.key for e in ingest.inventory if not e.dropped}
        assert set(case["kept"]) <= kept


@pytest.mark.parametrize("code", FHIR_CODES)
def test_case_that_passes_raises_no_issue_of_the_code(code, tmp_path, monkeypatch):
    spec = _load(code)
    case, options = spec["passes"], dict(spec.get("options", {}))
    options.pop("timezone", None)
    result = _run(case, options, tmp_path / "in", monkeypatch)
    if result is None:
        return
    with result as ingest:
        assert [i for i in ingest.issues if i.code == code] == []


def _field(where, name):
    value = getattr(where, name)
    return Path(value).name if name == "file" and value else value
