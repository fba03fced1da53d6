"""Keyed pseudonyms of patients: HMAC-SHA256 of a stable input under a secret key (issue #8, Privacy).

Used for USUBJID/SUBJID when a subject has no enrolment identifier. The secret is read from a file or
an environment variable; it is never written out, logged or put in an issue message. The same patient
(same stable input, e.g. the Patient's canonical key ``"Patient/123"``) and the same secret always give
the same pseudonym; without the secret the pseudonym cannot be recomputed or reversed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from cdisc.issues import ConversionError, Location, issue
from interop import codes

DEFAULT_ENV = "FHIR2CDISC_PSEUDONYM_KEY"
DEFAULT_LENGTH = 16


@dataclass(frozen=True, slots=True)
class PseudonymKey:
    """A loaded secret. Its repr never shows the secret."""

    secret: bytes = field(repr=False)
    origin: str            # "env:NAME" or "file:<path>" (where it came from; not the secret)

    def __post_init__(self):
        if not self.secret:
            raise ValueError("empty pseudonym secret")


def load_pseudonym_key(*, env: str = DEFAULT_ENV, file: Path | None = None) -> PseudonymKey:
    """The secret from ``file`` (if given) or the environment variable ``env``.

    Raises
    ------
    ConversionError
        FHIR023 when neither gives a non-empty secret (the message names where it looked, not values).
    """
    if file is not None:
        path = Path(file)
        try:
            secret = path.read_bytes().strip()
        except OSError as exc:
            raise ConversionError(issue(codes.FHIR023, f"pseudonym key file cannot be read "
                                                       f"({type(exc).__name__})", Location(file=str(path)))) from exc
        if secret:
            return PseudonymKey(secret, f"file:{path}")
        raise ConversionError(issue(codes.FHIR023, "pseudonym key file is empty", Location(file=str(path))))
    value = os.environ.get(env, "").strip()
    if value:
        return PseudonymKey(value.encode("utf-8"), f"env:{env}")
    raise ConversionError(issue(codes.FHIR023, f"no pseudonym secret: set the environment variable {env} "
                                               f"or give a key file"))


def compute_pseudonym(stable_input: str, key: PseudonymKey, *, length: int = DEFAULT_LENGTH) -> str:
    """Upper-case hex HMAC-SHA256 of ``stable_input`` under the key, truncated to ``length`` characters.

    Parameters
    ----------
    stable_input
        Something that identifies the patient across runs, e.g. the canonical key ``"Patient/123"``.
    key
        From :func:`load_pseudonym_key`.
    length
        4..64 hex characters (16 = 64 bits, collision-free in practice for a trial).

    Examples
    --------
    >>> compute_pseudonym("Patient/p1", PseudonymKey(b"key", "test"))
    'BA9B61EDF8FCE718'
    """
    if not 4 <= length <= 64:
        raise ValueError("pseudonym length must be 4..64")
    digest = hmac.new(key.secret, stable_input.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:length].upper()
