"""Made-up personal data (PHI look-alikes) for sample patients: names, identifiers, address, telecom.

Nothing here is real; the converter must never copy any of it into an output.
"""

from __future__ import annotations

import random

CDM_FAMILY = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Hu", "Zhu"]
CDM_GIVEN = ["Wei", "Fang", "Na", "Xiuying", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yan", "Tao", "Ming", "Hui"]
CLE_FAMILY = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
              "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "Diallo", "Nguyen", "Benali"]
CLE_GIVEN_F = ["Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Nathalie", "Aïcha", "Émilie", "Sophie"]
CLE_GIVEN_M = ["Lucas", "Hugo", "Thomas", "Nicolas", "Julien", "Karim", "Mathieu", "Antoine", "Olivier", "Rémi"]
CDM_STREETS = ["Aiguo Road", "Bayi Avenue", "Hongdu Middle Avenue", "Zhongshan Road", "Yangming Road"]
CLE_STREETS = ["rue de Rivoli", "boulevard Voltaire", "rue Oberkampf", "avenue de Clichy", "rue de la Roquette"]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def make_identity(study_key: str, plan, rng: random.Random) -> dict:
    """Name, MRN, national id, address and telecom for one patient."""
    if study_key == "len-cdm":
        family, given = rng.choice(CDM_FAMILY), rng.choice(CDM_GIVEN)
        birth_year = plan.screen_date.year - plan.age
        national = f"3601{_digits(rng, 2)}{birth_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{_digits(rng, 3)}{rng.choice('0123456789X')}"
        address = {"use": "home", "line": [f"{rng.randint(1, 400)} {rng.choice(CDM_STREETS)}"], "city": "Nanchang",
                   "state": "Jiangxi", "postalCode": "330006", "country": "CN"}
        phone = f"+86 1{rng.choice('3589')}{_digits(rng, 1)} {_digits(rng, 4)} {_digits(rng, 4)}"
        name = {"use": "official", "family": family, "given": [given], "text": f"{family} {given}"}
        email = None
    else:
        family = rng.choice(CLE_FAMILY)
        given = rng.choice(CLE_GIVEN_F if plan.female else CLE_GIVEN_M)
        yy = (plan.screen_date.year - plan.age) % 100
        national = f"{2 if plan.female else 1}{yy:02d}{rng.randint(1, 12):02d}75{_digits(rng, 3)}{_digits(rng, 3)}{rng.randint(1, 97):02d}"
        address = {"use": "home", "line": [f"{rng.randint(1, 180)} {rng.choice(CLE_STREETS)}"], "city": "Paris",
                   "postalCode": f"750{rng.randint(1, 20):02d}", "country": "FR"}
        phone = f"+33 6 {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)}"
        name = {"use": "official", "family": family.upper(), "given": [given]}
        email = f"{given.lower()[0]}.{family.lower()}{rng.randint(1, 99)}@example.fr"
    telecom = [{"system": "phone", "value": phone, "use": "mobile"}]
    if email:
        telecom.append({"system": "email", "value": email})
    return {"name": name, "mrn": _digits(rng, 8), "national_id": national, "address": address, "telecom": telecom}
