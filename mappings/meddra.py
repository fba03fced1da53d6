"""MedDRA coding against a user-supplied MedDRA ASCII distribution (the ``MedAscii`` folder).

MedDRA is licensed: the project ships no dictionary. A user with a subscription points the converter at
the folder of their release; tests use a made-up dictionary in the same format (``tests/data/meddra``).

File format (MedDRA Distribution File Format document; one record per line, fields separated and
terminated by ``$``; English files are extended ASCII, read here as Latin-1):

=============== ===========================================================================
file            fields used (position)
=============== ===========================================================================
``llt.asc``     llt_code (1), llt_name (2), pt_code (3), llt_currency (10: Y current / N)
``pt.asc``      pt_code (1), pt_name (2), pt_soc_code (4: the primary SOC)
``hlt.asc``     hlt_code (1), hlt_name (2)
``hlgt.asc``    hlgt_code (1), hlgt_name (2)
``soc.asc``     soc_code (1), soc_name (2), soc_abbrev (3)
``hlt_pt.asc``  hlt_code (1), pt_code (2)
``hlgt_hlt.asc`` hlgt_code (1), hlt_code (2)
``soc_hlgt.asc`` soc_code (1), hlgt_code (2)
=============== ===========================================================================

Coding rule (:meth:`MedDRA.code_verbatim`): the verbatim term is matched to an LLT name case-insensitively
after collapsing white space; current LLTs win over non-current ones; the LLT gives the PT, the PT its
primary SOC, and the HLT/HLGT are those on the primary path (the PT's HLT whose HLGT belongs to the
primary SOC). No fuzzy matching: a term that does not match exactly is left uncoded and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Iterator, Mapping

from cdisc.issues import Issue, Location, issue
from interop.normalize.record import codings
from mappings.codes import MAP050, MAP051, MAP052, MAP054, MAP058

MEDDRA_SYSTEM = "http://terminology.hl7.org/CodeSystem/mdr"

REQUIRED_FILES = ("llt.asc", "pt.asc", "hlt.asc", "hlgt.asc", "soc.asc", "hlt_pt.asc", "hlgt_hlt.asc",
                  "soc_hlgt.asc")


@dataclass(frozen=True, slots=True)
class MedDRACoding:
    """The MedDRA hierarchy of one coded term (codes as int, names as in the dictionary).

    Attributes map one to one onto AE variables: ``llt``/``llt_code`` -> AELLT/AELLTCD, ``pt``/``pt_code``
    -> AEDECOD/AEPTCD, ``hlt``... -> AEHLT/AEHLTCD, ``hlgt``... -> AEHLGT/AEHLGTCD, ``soc``/``soc_code`` ->
    AEBODSYS/AEBDSYCD and AESOC/AESOCCD (the primary SOC).
    """

    llt_code: int | None
    llt: str | None
    pt_code: int
    pt: str
    hlt_code: int | None
    hlt: str | None
    hlgt_code: int | None
    hlgt: str | None
    soc_code: int | None
    soc: str | None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class _Llt:
    code: int
    name: str
    pt_code: int
    current: bool


@dataclass(frozen=True, slots=True)
class MedDRA:
    """A loaded MedDRA distribution (read-only)."""

    version: str | None
    llts: Mapping[int, _Llt]
    llt_by_name: Mapping[str, tuple[int, ...]]
    pts: Mapping[int, tuple[str, int | None]]          # pt_code -> (name, primary soc code)
    hlts: Mapping[int, str]
    hlgts: Mapping[int, str]
    socs: Mapping[int, str]
    hlts_of_pt: Mapping[int, tuple[int, ...]]
    hlgts_of_hlt: Mapping[int, tuple[int, ...]]
    socs_of_hlgt: Mapping[int, tuple[int, ...]]

    def code_verbatim(self, verbatim: str | None) -> MedDRACoding | None:
        """Code a verbatim term by exact (case-insensitive) LLT name match; None if no LLT matches.

        Examples
        --------
        >>> md = load_meddra(Path(__file__).parents[1] / "tests" / "data" / "meddra")[0]
        >>> md.code_verbatim("  itchy   RASH ").pt
        'Rash'
        """
        key = normalise_term(verbatim)
        codes = self.llt_by_name.get(key) if key else None
        if not codes:
            return None
        ranked = sorted(codes, key=lambda c: (not self.llts[c].current, c))
        return self.code_llt(ranked[0])

    def code_llt(self, llt_code: int) -> MedDRACoding | None:
        """The hierarchy of an LLT code (a PT code is also an LLT code in MedDRA)."""
        llt = self.llts.get(llt_code)
        if llt is None:
            return None
        coding = self.code_pt(llt.pt_code)
        if coding is None:
            return None
        return MedDRACoding(llt.code, llt.name, coding.pt_code, coding.pt, coding.hlt_code, coding.hlt,
                            coding.hlgt_code, coding.hlgt, coding.soc_code, coding.soc, self.version)

    def code_pt(self, pt_code: int) -> MedDRACoding | None:
        """The primary-path hierarchy of a PT code (no LLT)."""
        if pt_code not in self.pts:
            return None
        pt_name, soc_code = self.pts[pt_code]
        hlt_code, hlgt_code = self._primary_path(pt_code, soc_code)
        return MedDRACoding(None, None, pt_code, pt_name, hlt_code, self.hlts.get(hlt_code),
                            hlgt_code, self.hlgts.get(hlgt_code), soc_code, self.socs.get(soc_code), self.version)

    def _primary_path(self, pt_code: int, soc_code: int | None) -> tuple[int | None, int | None]:
        for hlt in sorted(self.hlts_of_pt.get(pt_code, ())):
            for hlgt in sorted(self.hlgts_of_hlt.get(hlt, ())):
                if soc_code in self.socs_of_hlgt.get(hlgt, ()):
                    return hlt, hlgt
        return None, None


def normalise_term(text: str | None) -> str:
    """Case-folded text with runs of white space collapsed (the key LLT names are matched on)."""
    return " ".join((text or "").split()).casefold()


def read_asc(path: Path, *, encoding: str = "latin-1") -> Iterator[tuple[int, list[str]]]:
    """Records of a MedDRA ``.asc`` file as (line number, fields); the trailing ``$`` is dropped."""
    with path.open(encoding=encoding, newline="") as fh:
        for number, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            fields = line.split("$")
            if fields and fields[-1] == "":
                fields = fields[:-1]
            yield number, fields


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def _bad_line(path: Path, number: int, what: str) -> Issue:
    return issue(MAP051, f"{path.name} line {number}: {what}", Location(file=str(path), entry=number))


def _names(path: Path, issues: list[Issue]) -> dict[int, str]:
    out = {}
    for number, fields in read_asc(path):
        code = _int(fields[0]) if fields else None
        if code is None or len(fields) < 2:
            issues.append(_bad_line(path, number, "expected code$name$"))
            continue
        out[code] = fields[1]
    return out


def _links(path: Path, issues: list[Issue]) -> dict[int, tuple[int, ...]]:
    """child code -> parent codes, from a ``parent$child$`` file."""
    out: dict[int, list[int]] = {}
    for number, fields in read_asc(path):
        parent, child = (_int(fields[0]), _int(fields[1])) if len(fields) >= 2 else (None, None)
        if parent is None or child is None:
            issues.append(_bad_line(path, number, "expected parent_code$child_code$"))
            continue
        out.setdefault(child, []).append(parent)
    return {k: tuple(v) for k, v in out.items()}


def _read_version(folder: Path) -> str | None:
    release = folder / "meddra_release.asc"
    if not release.exists():
        return None
    for _, fields in read_asc(release):
        if fields and fields[0].strip():
            return fields[0].strip()
    return None


def load_meddra(folder: Path | str) -> tuple[MedDRA | None, list[Issue]]:
    """Read a MedDRA ASCII distribution folder.

    Parameters
    ----------
    folder : path
        The ``MedAscii`` folder holding the eight files of :data:`REQUIRED_FILES`
        (``meddra_release.asc``, when present, gives the version).

    Returns
    -------
    (MedDRA or None, issues)
        None with an issue when a required file is missing; malformed records are skipped and reported.
    """
    folder = Path(folder)
    missing = [name for name in REQUIRED_FILES if not (folder / name).exists()]
    if missing:
        return None, [issue(MAP050, f"MedDRA folder lacks {', '.join(missing)}",
                            Location(file=str(folder)))]
    issues: list[Issue] = []
    llts, by_name = {}, {}
    path = folder / "llt.asc"
    for number, fields in read_asc(path):
        code, pt = (_int(fields[0]), _int(fields[2])) if len(fields) >= 3 else (None, None)
        if code is None or pt is None:
            issues.append(_bad_line(path, number, "expected llt_code$llt_name$pt_code$..."))
            continue
        current = len(fields) < 10 or fields[9].strip().upper() != "N"
        llts[code] = _Llt(code, fields[1], pt, current)
        by_name.setdefault(normalise_term(fields[1]), []).append(code)
    pts = {}
    path = folder / "pt.asc"
    for number, fields in read_asc(path):
        code = _int(fields[0]) if fields else None
        if code is None or len(fields) < 4:
            issues.append(_bad_line(path, number, "expected pt_code$pt_name$$pt_soc_code$..."))
            continue
        pts[code] = (fields[1], _int(fields[3]))
    meddra = MedDRA(
        version=_read_version(folder),
        llts=MappingProxyType(llts),
        llt_by_name=MappingProxyType({k: tuple(v) for k, v in by_name.items()}),
        pts=MappingProxyType(pts),
        hlts=MappingProxyType(_names(folder / "hlt.asc", issues)),
        hlgts=MappingProxyType(_names(folder / "hlgt.asc", issues)),
        socs=MappingProxyType(_names(folder / "soc.asc", issues)),
        hlts_of_pt=MappingProxyType(_links(folder / "hlt_pt.asc", issues)),
        hlgts_of_hlt=MappingProxyType(_links(folder / "hlgt_hlt.asc", issues)),
        socs_of_hlgt=MappingProxyType(_links(folder / "soc_hlgt.asc", issues)),
    )
    return meddra, issues


def find_meddra_coding(concept: dict | None, verbatim: str | None, meddra: MedDRA | None, where: Location, *,
                       report_uncoded: bool = True) -> tuple[MedDRACoding | None, list[Issue]]:
    """The MedDRA coding of an event or condition: the one rule AE and MH share.

    1. a MedDRA coding in ``concept`` looked up in the dictionary (as an LLT code; every PT is also an
       LLT), MAP054 for a code the dictionary lacks;
    2. else the verbatim term matched to an LLT name (:meth:`MedDRA.code_verbatim`);
    3. without a dictionary, a MedDRA coding with a display is taken as the PT (MAP058: hierarchy empty);
    4. else uncoded (MAP052 when ``report_uncoded``).
    """
    issues: list[Issue] = []
    sent = [(code.strip(), display) for system, code, display in codings(concept)
            if system == MEDDRA_SYSTEM and code and code.strip().isdigit()]
    if meddra is not None:
        for code, _ in sent:
            coding = meddra.code_llt(int(code))
            if coding is not None:
                return coding, issues
            issues.append(issue(MAP054, f"MedDRA code {code} is not in MedDRA {meddra.version or ''}".rstrip(),
                                where))
        coding = meddra.code_verbatim(verbatim)
        if coding is not None:
            return coding, issues
    else:
        for code, display in sent:
            if display:
                return (MedDRACoding(None, None, int(code), display, None, None, None, None, None, None),
                        [issue(MAP058, f"MedDRA code {code} taken as the PT", where)])
    if report_uncoded:
        issues.append(issue(MAP052, "no MedDRA code found" if meddra is None else
                            "verbatim term matches no MedDRA LLT", where))
    return None, issues
