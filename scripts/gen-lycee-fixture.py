#!/usr/bin/env python3
"""Generate the LDAP fixtures of the lycée demo: deterministic, so a rerun gives the same files.

    python3 scripts/gen-lycee-fixture.py            # writes the three files below

Writes:
  tests/fixtures/lycee.ldif   the people of the "Lycée Victor Hugo" (ENT annuaire schema):
                              ~150 élèves in 10 classes, their parents, 25 enseignants,
                              10 personnels, and the fixed entries the conformance tests use;
                              read by slapd (tests/ldap/slapd.sh) and by LdifDirectory.
  tests/ldap/services.ldif    the service account cn=cartable,ou=services,… (slapd only).
  tests/ldap/supann.ldif      a few SUPANN/eduPerson people under ou=supann (slapd only).

Every person's password is "pw-" + uid. Hashes are argon2id ({ARGON2}$argon2id$…), made by
the Rust example `cargo run -p cartable-ldap --example hash_password -- --stdin` with a salt
derived from the uid (so the output is reproducible; never do that for real accounts).
The generated files are committed: CI never runs this script.

Only the Python standard library is needed (Python 3.9+), plus cargo for the hashes.
"""

from __future__ import annotations

import base64
import hashlib
import random
import subprocess
import sys
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUFFIX = "dc=lycee-hugo,dc=fr"
PEOPLE = f"ou=people,{SUFFIX}"
SUPANN = f"ou=supann,{SUFFIX}"
UAI = "0750001A"
MAIL_DOMAIN = "lycee-hugo.example.org"
SERVICE_PASSWORD = "cartable-service-pw"
SEED = 20240902

CLASSES = [f"2nde-{i}" for i in range(1, 5)] + [f"1re-{i}" for i in range(1, 4)] + [
    f"Tle-{i}" for i in range(1, 4)
]
PUPILS_PER_CLASS = 15

GIVEN_F = [
    "Léa", "Zoé", "Chloé", "Inès", "Maëlle", "Anaïs", "Hélène", "Cécile", "Éloïse", "Océane",
    "Agathe", "Emma", "Louise", "Camille", "Manon", "Sarah", "Fatou", "Mei", "Lina", "Aya",
    "Rose", "Alice", "Jade", "Mila", "Lou", "Romane", "Ambre", "Margaux", "Clémence", "Solène",
    "Noémie", "Joséphine", "Bérénice", "Aïcha", "Gaëlle",
]
GIVEN_M = [
    "Noé", "Loïc", "Gaël", "Jérôme", "Raphaël", "Théo", "Mathéo", "Clément", "Lucas", "Hugo",
    "Jules", "Adam", "Nathan", "Yanis", "Ibrahim", "Amadou", "Noah", "Léo", "Gabriel", "Arthur",
    "Nolan", "Timéo", "Maël", "Benoît", "Hervé", "Joël", "Anthony", "Quentin", "Kévin", "Éric",
]
SURNAMES = [
    "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Leroy", "Moreau", "Simon",
    "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François",
    "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Müller",
    "N'Diaye", "D'Almeida", "O'Brien", "L'Hermite", "Le Gall", "Saint-Éloi", "Nguyen",
    "Da Silva", "Lévêque", "Côté", "Béranger", "Noël", "Ménard", "Aït Ahmed", "El Amrani",
    "Chevalier", "Perrin", "Barbier", "Dumas", "Brun", "Schmitt", "Colin", "Lemoine",
]
SUBJECTS = [
    "Mathématiques", "Français", "Histoire-géographie", "Anglais", "Espagnol", "Allemand",
    "Physique-chimie", "SVT", "SES", "Philosophie", "EPS", "NSI", "Arts plastiques",
]
# Staff: (profile codes, function).
STAFF_ROLES = [
    (["National_DIR"], "Proviseur adjoint"),
    (["National_EVS"], "Conseiller principal d'éducation"),
    (["National_EVS"], "Assistant d'éducation"),
    (["National_ETA"], "Secrétaire de direction"),
    (["National_ETA"], "Gestionnaire"),
    (["National_DOC"], "Professeur documentaliste"),
    (["National_COL"], "Agent d'accueil"),
    (["National_PERS"], "Infirmière scolaire"),
]


def ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def slug(text: str) -> str:
    return "".join(c for c in ascii_fold(text).lower() if c.isalnum())


def ldif_line(attr: str, value: str) -> str:
    """One attribute line, base64 (attr::) when RFC 2849 requires it."""
    safe = (
        value.isascii()
        and value == value.strip()
        and not value.startswith((":", "<"))
        and "\n" not in value
        and "\r" not in value
        and "\0" not in value
    )
    if safe:
        return f"{attr}: {value}"
    return f"{attr}:: {base64.b64encode(value.encode()).decode()}"


class Person:
    def __init__(self, uid, given, sn, profiles, classes=(), display=None, **extra):
        self.uid = uid
        self.given = given
        self.sn = sn
        self.display = display or f"{given} {sn}"
        self.profiles = list(profiles)
        self.extra = extra  # attribute -> value or list of values
        self.object_classes = ["inetOrgPerson", "ENTPerson"]
        self.comment = ""
        self.mail = None


class Fixture:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.people: list[Person] = []
        self.uids: set[str] = set()
        self.mails: set[str] = set()

    def uid_for(self, given: str, sn: str) -> str:
        base = (slug(given)[:1] + slug(sn))[:12]
        uid, n = base, 1
        while uid in self.uids:
            n += 1
            uid = f"{base}{n}"
        return uid

    def mail_for(self, person: Person) -> str:
        local = f"{slug(person.given)}.{slug(person.sn)}" or person.uid
        mail, n = f"{local}@{MAIL_DOMAIN}", 1
        while mail in self.mails:
            n += 1
            mail = f"{local}{n}@{MAIL_DOMAIN}"
        return mail

    def add(self, person: Person, *object_classes: str, comment: str, mail: str | None = None):
        assert person.uid not in self.uids, person.uid
        self.uids.add(person.uid)
        person.object_classes += list(object_classes)
        person.comment = comment
        person.mail = mail or self.mail_for(person)
        self.mails.add(person.mail)
        self.people.append(person)
        return person

    def name(self, female: bool | None = None, sn: str | None = None):
        if female is None:
            female = self.rng.random() < 0.5
        given = self.rng.choice(GIVEN_F if female else GIVEN_M)
        return given, sn or self.rng.choice(SURNAMES)


def build() -> Fixture:
    fx = Fixture()
    # The fixed entries first (the conformance suite relies on them), so that generated
    # uids and mails never take theirs.

    fx.add(
        Person("lmartin", "Léa", "Martin", ["National_ELV"],
               ENTEleveClasses="2nde-3", ENTPersonStructRattach=UAI),
        "ENTEleve", comment="élève, 2nde-3 (fixed entry)",
        mail="lea.martin@lycee-hugo.example.org",
    )
    zlhote = fx.add(
        Person("zlhote", "Zoé", "L'Hôte", ["National_ELV"], display="Zoé L'Hôte",
               ENTEleveClasses="2nde-3", ENTPersonStructRattach=UAI),
        "ENTEleve", comment="élève, 2nde-3, apostrophe in the name (fixed entry)",
    )
    fx.add(
        Person("pdurand", "Paul", "Durand", ["National_ENS"], ENTPersonStructRattach=UAI,
               telephoneNumber="+33 1 23 45 67 89",
               ENTAuxEnsMatiereEnseignEtab="Mathématiques",
               ENTAuxEnsClasses=["2nde-3", "1re-1", "Tle-2"]),
        "ENTAuxEnseignant", comment="enseignant, mathématiques (fixed entry)",
    )
    fx.add(
        Person("smartin", "Sophie", "Martin", ["National_TUT"],
               ENTAuxPersRelEleveEleve="lmartin", ENTPersonStructRattach=UAI),
        "ENTAuxPersRelEleve", comment="parent of lmartin (fixed entry)",
    )
    fx.add(
        Person("nbenali", "Nadia", "Benali", ["National_DIR", "admin"],
               ENTPersonStructRattach=UAI, title="Proviseure"),
        comment="personnel de direction and ENT administrator (fixed entry)",
    )
    fx.add(
        Person("meta", "Ast*rix", "(Le) Gau\\lois", ["National_EVS"],
               display="Ast*rix (Le) Gau\\lois", ENTPersonStructRattach=UAI),
        comment="personnel; LDAP filter metacharacters * ( ) \\ in the name (fixed entry)",
        mail=f"meta@{MAIL_DOMAIN}",
    )
    fx.add(
        Person("parti", "Jean", "Parti", ["National_ENS"], ENTPersonStructRattach=UAI,
               cartableAccountDisabled="TRUE", ENTAuxEnsMatiereEnseignEtab="Histoire-géographie"),
        "ENTAuxEnseignant", comment="enseignant who left: account deactivated (fixed entry)",
    )

    # Pupils by class, with families: most have one parent, some two, some siblings.
    # lmartin's parent is smartin. zlhote gets generated parents, named Fournier: she must
    # stay the only "L'Hôte" (the conformance suite searches that name).
    families: list[tuple[str, list[Person], list[Person]]] = [("Fournier", [zlhote], [])]
    fixed_pupils = {"2nde-3": 2}
    for cls in CLASSES:
        for _ in range(PUPILS_PER_CLASS - fixed_pupils.get(cls, 0)):
            sibling_of = None
            if families and fx.rng.random() < 0.12:
                candidates = [f for f in families if all(
                    c.extra["ENTEleveClasses"] != cls for c in f[1])]
                if candidates:
                    sibling_of = fx.rng.choice(candidates)
            surname = sibling_of[0] if sibling_of else fx.rng.choice(SURNAMES)
            given, _ = fx.name(sn=surname)
            display = None
            if len(fx.people) % 50 == 0:
                # A few names with parentheses, as some ENT exports write nicknames.
                display = f"{given} ({given[:1]}.) {surname}"
            uid = fx.uid_for(given, surname)
            pupil = fx.add(
                Person(uid, given, surname, ["National_ELV"], display=display,
                       ENTEleveClasses=cls, ENTPersonStructRattach=UAI),
                "ENTEleve", comment=f"élève, {cls}",
            )
            if sibling_of:
                sibling_of[1].append(pupil)
            else:
                families.append((surname, [pupil], []))

    for surname, children, parents in families:
        for n in range(1 if fx.rng.random() < 0.7 else 2):
            female = n == 0 if fx.rng.random() < 0.6 else n == 1
            given, _ = fx.name(female=female, sn=surname)
            uid = fx.uid_for(given, surname)
            kids = [c.uid for c in children]
            parents.append(fx.add(
                Person(uid, given, surname, ["National_TUT"],
                       ENTAuxPersRelEleveEleve=kids, ENTPersonStructRattach=UAI),
                "ENTAuxPersRelEleve", comment=f"parent of {', '.join(kids)}",
            ))

    # Teachers (25 with pdurand and parti); one is also a parent.
    for i in range(23):
        given, surname = fx.name()
        subject = SUBJECTS[i % len(SUBJECTS)]
        classes = sorted(fx.rng.sample(CLASSES, 3))
        profiles = ["National_ENS"]
        extra = {}
        if i == 7:
            profiles.append("National_TUT")
            kid = fx.rng.choice([p for p in fx.people if "National_ELV" in p.profiles])
            extra["ENTAuxPersRelEleveEleve"] = kid.uid
        uid = fx.uid_for(given, surname)
        ocs = ["ENTAuxEnseignant"] + (["ENTAuxPersRelEleve"] if extra else [])
        fx.add(
            Person(uid, given, surname, profiles, ENTPersonStructRattach=UAI,
                   ENTAuxEnsMatiereEnseignEtab=subject, ENTAuxEnsClasses=classes, **extra),
            *ocs, comment=f"enseignant, {subject}" + (", also a parent" if extra else ""),
        )

    # Staff (10 with nbenali and meta).
    for profiles, function in STAFF_ROLES:
        given, surname = fx.name()
        uid = fx.uid_for(given, surname)
        fx.add(
            Person(uid, given, surname, profiles, ENTPersonStructRattach=UAI, title=function),
            comment=f"personnel, {function}",
        )
    return fx


def person_ldif(p: Person, hashes: dict[str, str]) -> str:
    lines = [f"# {p.display}: {p.comment}", f"dn: uid={p.uid},{PEOPLE}"]
    lines += [f"objectClass: {oc}" for oc in p.object_classes]
    lines.append(ldif_line("uid", p.uid))
    lines.append(ldif_line("cn", p.display))
    lines.append(ldif_line("sn", p.sn))
    lines.append(ldif_line("givenName", p.given))
    lines.append(ldif_line("displayName", p.display))
    lines.append(ldif_line("mail", p.mail))
    lines += [ldif_line("ENTPersonProfils", v) for v in p.profiles]
    for attr, value in p.extra.items():
        values = value if isinstance(value, list) else [value]
        lines += [ldif_line(attr, v) for v in values]
    lines.append(f"userPassword: {hashes[p.uid]}")
    return "\n".join(lines) + "\n"


def salt_for(uid: str) -> str:
    return hashlib.sha256(f"cartable-fixture:{uid}".encode()).hexdigest()[:32]


def hash_all(items: list[tuple[str, str]]) -> dict[str, str]:
    """uid -> {ARGON2}… for (uid, password) pairs, through the Rust example."""
    stdin = "".join(f"{salt_for(uid)}\t{password}\n" for uid, password in items)
    result = subprocess.run(
        ["cargo", "run", "-q", "-p", "cartable-ldap", "--example", "hash_password", "--",
         "--stdin"],
        input=stdin, capture_output=True, text=True, cwd=REPO, check=False,
    )
    if result.returncode != 0:
        sys.exit(f"hash_password failed:\n{result.stderr}")
    hashes = result.stdout.splitlines()
    if len(hashes) != len(items):
        sys.exit(f"hash_password printed {len(hashes)} hashes for {len(items)} passwords")
    return {uid: h for (uid, _), h in zip(items, hashes)}


HEADER = """\
# {title}
# Generated by scripts/gen-lycee-fixture.py (deterministic); do not edit by hand.
# {note}
# (No "version: 1" line: slapadd 2.5 takes it for an entry without dn.)
"""


def supann_people() -> list[tuple[str, list[str]]]:
    """(uid, attribute lines without userPassword) of the SUPANN fixture."""
    rows = [
        ("etudiant1", "Élise", "Fontaine", ["student", "member"], "Licence 2 Informatique"),
        ("enseignant1", "Karim", "Benoît", ["faculty", "employee", "member"], "UFR Sciences"),
        ("biatss1", "Odile", "Marchand", ["staff", "employee", "member"], "Direction du numérique"),
    ]
    people = []
    for uid, given, sn, affiliations, entity in rows:
        display = f"{given} {sn}"
        lines = [
            f"dn: uid={uid},{SUPANN}",
            "objectClass: inetOrgPerson",
            "objectClass: eduPerson",
            "objectClass: supannPerson",
            ldif_line("uid", uid),
            ldif_line("cn", display),
            ldif_line("sn", sn),
            ldif_line("givenName", given),
            ldif_line("displayName", display),
            ldif_line("mail", f"{slug(given)}.{slug(sn)}@univ.example.org"),
        ]
        lines += [ldif_line("eduPersonAffiliation", a) for a in affiliations]
        lines += [
            ldif_line("eduPersonPrimaryAffiliation", affiliations[0]),
            ldif_line("eduPersonPrincipalName", f"{uid}@univ.example.org"),
            ldif_line("supannEtablissement", "{UAI}0751717J"),
            ldif_line("supannEntiteAffectation", entity),
        ]
        people.append((uid, lines))
    return people


def main() -> None:
    fx = build()
    supann = supann_people()
    items = [(p.uid, f"pw-{p.uid}") for p in fx.people]
    items += [(uid, f"pw-{uid}") for uid, _ in supann]
    items.append(("cn=cartable", SERVICE_PASSWORD))
    hashes = hash_all(items)

    counts: dict[str, int] = {}
    for p in fx.people:
        for code in p.profiles:
            counts[code] = counts.get(code, 0) + 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    parts = [HEADER.format(
        title="The people of the Lycée Victor Hugo (ENT annuaire schema, tests/ldap/schema/ent.schema).",
        note=f"{len(fx.people)} people ({summary}). Password of each: \"pw-\" + uid.",
    )]
    parts.append(
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: lycee-hugo\n"
        f"{ldif_line('o', 'Lycée Victor Hugo')}\n"
    )
    parts.append(f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n")
    parts.append(f"dn: ou=structures,{SUFFIX}\nobjectClass: organizationalUnit\nou: structures\n")
    parts.append(
        f"dn: ENTStructureUAI={UAI},ou=structures,{SUFFIX}\nobjectClass: ENTStructure\n"
        f"ENTStructureUAI: {UAI}\n{ldif_line('ENTStructureNomCourant', 'LYCÉE VICTOR HUGO')}\n"
        f"ou: lycee-hugo\n"
    )
    parts += [person_ldif(p, hashes) for p in fx.people]
    write(REPO / "tests/fixtures/lycee.ldif", "\n".join(parts))

    services = HEADER.format(
        title="Service accounts of the test directory (slapd only; LdifDirectory does not read it).",
        note=f"cn=cartable: the account Cartable searches with; password \"{SERVICE_PASSWORD}\".",
    )
    services += (
        f"\ndn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services\n\n"
        f"dn: cn=cartable,ou=services,{SUFFIX}\nobjectClass: organizationalRole\n"
        f"objectClass: simpleSecurityObject\ncn: cartable\n"
        f"description: Cartable portal (searches people; reads no password)\n"
        f"userPassword: {hashes['cn=cartable']}\n"
    )
    write(REPO / "tests/ldap/services.ldif", services)

    supann_text = HEADER.format(
        title="A few university people (eduPerson/SUPANN, tests/ldap/schema/supann.schema).",
        note="For the \"supann\" preset of cartable-ldap. Password of each: \"pw-\" + uid.",
    )
    supann_text += f"\ndn: {SUPANN}\nobjectClass: organizationalUnit\nou: supann\n"
    for uid, lines in supann:
        supann_text += "\n" + "\n".join(lines) + f"\nuserPassword: {hashes[uid]}\n"
    write(REPO / "tests/ldap/supann.ldif", supann_text)
    print(f"{len(fx.people)} people in tests/fixtures/lycee.ldif; {summary}")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
