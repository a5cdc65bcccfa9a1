#!/usr/bin/env python3
"""Generate asyncdex's embedded Pokédex from PokeAPI's CSV tables.

Usage:
    python3 scripts/gen_pokedex.py [CSV_DIR] [--check]

CSV_DIR defaults to ../shared/data/pokedex (PokeAPI's own CSV tables, BSD-3-Clause).
The output, crates/asyncdex/src/pokedex/pokedex.tsv, is committed and compiled into the crate with
`include_str!`, so a fresh clone never needs the CSVs. With --check the script
regenerates the table in memory and exits 1 if the committed file differs (CI runs it
when the CSVs are present).

Format: plain text, one `#section` header line per table, then tab-separated rows.
Empty cells mean "null" in the API. Lists are comma-separated.

    #pokemon   id name species_id height weight base_experience order is_default
               type_ids base_stats(hp,atk,def,spa,spd,spe) efforts abilities(id:hidden:slot,..)
    #species   id name generation_id evolves_from_species_id evolution_chain_id gender_rate
               capture_rate base_happiness is_baby hatch_counter has_gender_differences
               forms_switchable is_legendary is_mythical order
    #type      id name generation_id damage_class_id
    #ability   id name
    #stat      id name
    #generation id name
"""
import csv
import os
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "crates", "asyncdex", "src", "pokedex", "pokedex.tsv")
MAIN_STATS = ["1", "2", "3", "4", "5", "6"]  # hp, attack, defense, sp. atk, sp. def, speed


def rows(csv_dir, name):
    with open(os.path.join(csv_dir, name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def generate(csv_dir):
    types = defaultdict(list)
    for r in rows(csv_dir, "pokemon_types.csv"):
        types[r["pokemon_id"]].append((int(r["slot"]), r["type_id"]))
    stats = defaultdict(dict)
    for r in rows(csv_dir, "pokemon_stats.csv"):
        stats[r["pokemon_id"]][r["stat_id"]] = (r["base_stat"], r["effort"])
    abilities = defaultdict(list)
    for r in rows(csv_dir, "pokemon_abilities.csv"):
        abilities[r["pokemon_id"]].append((int(r["slot"]), r["ability_id"], r["is_hidden"]))

    out = ["#pokemon"]
    for p in rows(csv_dir, "pokemon.csv"):
        pid = p["id"]
        st = stats[pid]
        missing = [s for s in MAIN_STATS if s not in st]
        if missing:
            sys.exit(f"pokemon {pid} lacks stats {missing}")
        if not types[pid]:
            sys.exit(f"pokemon {pid} has no type")
        out.append("\t".join([
            pid, p["identifier"], p["species_id"], p["height"], p["weight"],
            p["base_experience"], p["order"], p["is_default"],
            ",".join(t for _, t in sorted(types[pid])),
            ",".join(st[s][0] for s in MAIN_STATS),
            ",".join(st[s][1] for s in MAIN_STATS),
            ",".join(f"{a}:{h}:{slot}" for slot, a, h in sorted(abilities[pid])),
        ]))

    out.append("#species")
    cols = ["id", "identifier", "generation_id", "evolves_from_species_id", "evolution_chain_id",
            "gender_rate", "capture_rate", "base_happiness", "is_baby", "hatch_counter",
            "has_gender_differences", "forms_switchable", "is_legendary", "is_mythical", "order"]
    for s in rows(csv_dir, "pokemon_species.csv"):
        out.append("\t".join(s[c] for c in cols))

    for section, fname, cols in [
        ("type", "types.csv", ["id", "identifier", "generation_id", "damage_class_id"]),
        ("ability", "abilities.csv", ["id", "identifier"]),
        ("stat", "stats.csv", ["id", "identifier"]),
        ("generation", "generations.csv", ["id", "identifier"]),
    ]:
        out.append("#" + section)
        for r in rows(csv_dir, fname):
            out.append("\t".join(r[c] for c in cols))
    return "\n".join(out) + "\n"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    check = "--check" in sys.argv
    csv_dir = args[0] if args else os.path.join(HERE, "..", "..", "shared", "data", "pokedex")
    text = generate(csv_dir)
    if check:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit("crates/asyncdex/src/pokedex/pokedex.tsv is stale: run python3 scripts/gen_pokedex.py")
        print("pokedex.tsv is up to date")
        return
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUT)} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
