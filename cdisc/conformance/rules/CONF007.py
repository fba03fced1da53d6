"""CONF007 - a value is not in its non-extensible CDISC codelist.

SDTMIG 3.4 section 4.3 and CDISC CT: a variable bound to a non-extensible codelist takes only its
submission values, exactly (case-sensitive).

**Anti-pattern**: AESER = "Yes" or SEX = "Female" (display text instead of the submission value).

**Best practice**: map source codes to CT submission values with the CT table (``assign_ct``); report a
source term that does not map instead of passing it through.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._ct import values_outside_ct, where
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF007", "Value not in non-extensible codelist", Severity.ERROR,
               "recode the value to a submission value of the codelist (exact case)")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per distinct offending value, at its first row, with the row count."""
    return [finding(CODE, f"{ds}.{var} = '{value}' is not in codelist {'/'.join(codes)} ({ct.package} {ct.date}); "
                          f"{count} record(s)", dataset=ds, variable=var, value=value,
                    usubjid=where(package, ds, first), row=first + 1)
            for ds, var, value, first, count, codes in
            values_outside_ct(package, sdtmig=sdtmig, ct=ct, extensible=False)]
