"""CONF008 - a value is not in its extensible CDISC codelist.

CDISC CT: extensible codelists may be extended by the sponsor, but each new term must be declared
in define.xml and must not duplicate the meaning of an existing term.

**Anti-pattern**: CMROUTE = "BY MOUTH" when "ORAL" exists.

**Best practice**: use the existing term; when a new term is truly needed, add it to the define.xml
codelist and explain it in the reviewer notes.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._ct import values_outside_ct, where
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF008", "Value not in extensible codelist", Severity.WARNING,
               "use an existing term, or declare the sponsor extension in define.xml and the reviewer notes")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per distinct value outside an extensible codelist, at its first row."""
    return [finding(CODE, f"{ds}.{var} = '{value}' extends codelist {'/'.join(codes)}; {count} record(s)",
                    dataset=ds, variable=var, value=value, usubjid=where(package, ds, first), row=first + 1)
            for ds, var, value, first, count, codes in
            values_outside_ct(package, sdtmig=sdtmig, ct=ct, extensible=True)]
