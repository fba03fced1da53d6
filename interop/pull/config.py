"""Options of a pull, grouped into small frozen dataclasses (STYLE 5.4), and :class:`Secret`.

A :class:`Secret` never shows its value in ``repr``/``str`` (so it cannot leak into a log line, an exception
message or the manifest by accident); only :meth:`Secret.reveal` gives it, at the one place that sends it.
"""

from __future__ import annotations

import enum
import os
import random
from dataclasses import dataclass, field
from pathlib import Path


class Secret:
    """A credential: printed as ``'***'``; :meth:`reveal` returns the value to send."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


def read_secret(*, env: str | None = None, file: Path | None = None) -> Secret | None:
    """A secret from an environment variable or the first line of a file (never from a command-line value).

    Parameters
    ----------
    env : name of the environment variable holding the secret.
    file : file whose first line is the secret.
    """
    if file is not None:
        lines = file.read_text(encoding="utf-8").splitlines()
        return Secret(lines[0].strip()) if lines else None
    if env is not None and os.environ.get(env):
        return Secret(os.environ[env])
    return None


class AuthKind(str, enum.Enum):
    none = "none"
    bearer = "bearer"
    basic = "basic"
    smart = "smart"


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """How to authenticate. For ``smart`` (SMART Backend Services): ``client_id``, ``private_key`` (PEM file),
    ``token_url`` (else discovered from ``.well-known/smart-configuration``), ``scope``, ``alg``, ``kid``."""

    kind: AuthKind = AuthKind.none
    token: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    client_id: str | None = None
    private_key: Path | None = None
    token_url: str | None = None
    scope: str = "system/*.read"
    alg: str = "RS384"
    kid: str | None = None

    def secrets(self) -> tuple[str, ...]:
        """Every secret value in this configuration (to check that outputs never contain one)."""
        values = [s.reveal() for s in (self.token, self.password) if s is not None]
        return tuple(v for v in values if v)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries on 429, 5xx and connection errors: exponential backoff with jitter, Retry-After honoured.

    ``delay(n)`` for the n-th retry (1-based) is ``min(max_delay, base_delay * 2**(n-1))`` plus up to
    ``jitter`` times that, at random.
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: float = 0.25

    def delay(self, retry: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), max(self.max_delay, retry_after))
        backoff = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return backoff + backoff * self.jitter * (rng or random).random()


class Mode(str, enum.Enum):
    bulk = "bulk"
    rest = "rest"


class ExportLevel(str, enum.Enum):
    patient = "patient"
    group = "group"
    system = "system"


@dataclass(frozen=True, slots=True)
class PullOptions:
    """Everything a pull needs; built by the CLI (``interop pull``) or by a test.

    Patients: the study's ResearchSubjects (default), else ``patients`` (ids) / ``identifiers``
    (``system|value``), or a ``group`` (pre-screening; all its members).
    """

    base: str
    study: str
    out: Path
    mode: Mode = Mode.bulk
    level: ExportLevel = ExportLevel.patient
    group: str | None = None
    patients: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    types: tuple[str, ...] = ()                 # empty: the study's types (interop.pull.scope)
    since: str | None = None
    type_filters: tuple[str, ...] = ()
    fill_types: tuple[str, ...] = ("AdverseEvent",)
    count: int = 100
    timeout: float = 60.0
    concurrency: int = 4
    verify: bool = True
    ca_bundle: Path | None = None
    auth: AuthConfig = field(default_factory=AuthConfig)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll_max_wait: float = 3600.0               # give up polling an export after this many seconds
    poll_default_delay: float = 2.0             # when the status answer has no Retry-After

    def tls_verify(self) -> bool | str:
        """httpx ``verify``: a CA bundle path, True (system store), or False (only with --insecure)."""
        if self.ca_bundle is not None:
            return str(self.ca_bundle)
        return self.verify
