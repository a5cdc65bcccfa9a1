//! The embedded Pokédex: every Pokémon, species, type, ability and stat, compiled in.
//!
//! asyncdex works offline. Its mirror needs data, and drawing "a random Pokémon" needs the
//! list of ids that really exist (1–1025 and 10001–10326: 1351 Pokémon, not the lesson's
//! 898). Both come from this table.
//!
//! `pokedex.tsv` is generated from PokeAPI's own CSV tables by `scripts/gen_pokedex.py`
//! and committed, so a fresh clone needs nothing else. It is parsed once, on first use.
//! Data © PokeAPI contributors (BSD-3-Clause); see `NOTICE`.
//!
//! ```
//! let dex = asyncdex::pokedex::Pokedex::get();
//! assert_eq!(dex.pokemon.len(), 1351);
//! assert_eq!(dex.pokemon_by_name("pikachu").unwrap().id, 25);
//! ```

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("pokedex.tsv");

/// Names of the six main stats, in the order PokeAPI lists them.
pub const STAT_NAMES: [&str; 6] = [
    "hp",
    "attack",
    "defense",
    "special-attack",
    "special-defense",
    "speed",
];

/// One Pokémon (a form with its own stats; several may share a species).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PokemonRow {
    /// PokeAPI id (1–1025 for defaults, 10001+ for alternate forms).
    pub id: u32,
    /// Lowercase identifier, as in the API (`"pikachu"`).
    pub name: String,
    /// The species this Pokémon belongs to.
    pub species_id: u32,
    /// Height in decimetres.
    pub height: u32,
    /// Weight in hectograms.
    pub weight: u32,
    /// Base experience, unknown for some forms.
    pub base_experience: Option<u32>,
    /// Sort order, unknown for some forms.
    pub order: Option<i32>,
    /// Whether this is its species' default form.
    pub is_default: bool,
    /// Type ids, by slot.
    pub types: Vec<u32>,
    /// Base stats in [`STAT_NAMES`] order.
    pub base_stats: [u32; 6],
    /// Effort values in [`STAT_NAMES`] order.
    pub efforts: [u32; 6],
    /// Abilities: (ability id, is hidden, slot).
    pub abilities: Vec<(u32, bool, u32)>,
}

/// One species.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are PokeAPI's, named as in the API.
pub struct SpeciesRow {
    pub id: u32,
    pub name: String,
    pub generation_id: u32,
    pub evolves_from_species_id: Option<u32>,
    pub evolution_chain_id: Option<u32>,
    pub gender_rate: i32,
    pub capture_rate: u32,
    pub base_happiness: Option<u32>,
    pub is_baby: bool,
    pub hatch_counter: Option<u32>,
    pub has_gender_differences: bool,
    pub forms_switchable: bool,
    pub is_legendary: bool,
    pub is_mythical: bool,
    pub order: Option<i32>,
}

/// One type (`electric`, `fairy`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeRow {
    /// PokeAPI id.
    pub id: u32,
    /// Lowercase identifier.
    pub name: String,
    /// Generation that introduced it.
    pub generation_id: u32,
    /// 1 status, 2 physical, 3 special; none for fairy, stellar, unknown and shadow.
    pub damage_class_id: Option<u32>,
}

/// The three tables that have their own endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// [`Pokedex::pokemon`]
    Pokemon,
    /// [`Pokedex::species`]
    Species,
    /// [`Pokedex::types`]
    Type,
}

/// The whole embedded Pokédex, with indexes for lookup by id and name.
#[derive(Debug)]
pub struct Pokedex {
    /// All 1351 Pokémon, by ascending id.
    pub pokemon: Vec<PokemonRow>,
    /// All 1025 species, by ascending id.
    pub species: Vec<SpeciesRow>,
    /// All types, by ascending id.
    pub types: Vec<TypeRow>,
    /// Ability id → name.
    pub abilities: HashMap<u32, String>,
    /// Stat id → name.
    pub stats: HashMap<u32, String>,
    /// Generation id → name.
    pub generations: HashMap<u32, String>,
    pokemon_index: Index,
    species_index: Index,
    type_index: Index,
}

/// Position of each row by id and by name.
#[derive(Debug, Default)]
struct Index {
    by_id: HashMap<u32, usize>,
    by_name: HashMap<String, usize>,
}

impl Index {
    fn build<'a>(rows: impl Iterator<Item = (u32, &'a str)>) -> Self {
        let mut index = Index::default();
        for (pos, (id, name)) in rows.enumerate() {
            index.by_id.insert(id, pos);
            index.by_name.insert(name.to_owned(), pos);
        }
        index
    }
}

impl Pokedex {
    /// The embedded Pokédex, parsed on first use and shared afterwards.
    pub fn get() -> &'static Pokedex {
        static DEX: OnceLock<Pokedex> = OnceLock::new();
        DEX.get_or_init(|| Pokedex::parse(TABLE).expect("embedded pokedex.tsv is valid"))
    }

    /// Parses a table in the format `scripts/gen_pokedex.py` writes.
    pub fn parse(text: &str) -> Result<Pokedex, String> {
        let mut dex = Pokedex {
            pokemon: Vec::new(),
            species: Vec::new(),
            types: Vec::new(),
            abilities: HashMap::new(),
            stats: HashMap::new(),
            generations: HashMap::new(),
            pokemon_index: Index::default(),
            species_index: Index::default(),
            type_index: Index::default(),
        };
        let mut section = "";
        for (n, line) in text.lines().enumerate() {
            if let Some(name) = line.strip_prefix('#') {
                section = name;
                continue;
            }
            let cells: Vec<&str> = line.split('\t').collect();
            let row = Row { cells: &cells };
            let parsed = match section {
                "pokemon" => parse_pokemon(&row).map(|p| dex.pokemon.push(p)),
                "species" => parse_species(&row).map(|s| dex.species.push(s)),
                "type" => parse_type(&row).map(|t| dex.types.push(t)),
                "ability" => row.named().map(|(id, name)| {
                    dex.abilities.insert(id, name);
                }),
                "stat" => row.named().map(|(id, name)| {
                    dex.stats.insert(id, name);
                }),
                "generation" => row.named().map(|(id, name)| {
                    dex.generations.insert(id, name);
                }),
                other => Err(format!("unknown section {other:?}")),
            };
            parsed.map_err(|e| format!("pokedex.tsv line {}: {e}", n + 1))?;
        }
        dex.pokemon_index = Index::build(dex.pokemon.iter().map(|p| (p.id, p.name.as_str())));
        dex.species_index = Index::build(dex.species.iter().map(|s| (s.id, s.name.as_str())));
        dex.type_index = Index::build(dex.types.iter().map(|t| (t.id, t.name.as_str())));
        Ok(dex)
    }

    /// Every Pokémon id that exists, ascending (the population random draws come from).
    pub fn pokemon_ids(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.pokemon.iter().map(|p| p.id)
    }

    /// Position in `table` of the row whose id (all digits) or name (any case) is `key`.
    ///
    /// ```
    /// use asyncdex::pokedex::{Pokedex, Table};
    /// let dex = Pokedex::get();
    /// assert_eq!(dex.locate(Table::Pokemon, "PIKACHU"), dex.locate(Table::Pokemon, "25"));
    /// assert_eq!(dex.locate(Table::Pokemon, "99999"), None);
    /// ```
    pub fn locate(&self, table: Table, key: &str) -> Option<usize> {
        let index = match table {
            Table::Pokemon => &self.pokemon_index,
            Table::Species => &self.species_index,
            Table::Type => &self.type_index,
        };
        match key.parse::<u32>() {
            Ok(id) => index.by_id.get(&id).copied(),
            Err(_) => index.by_name.get(&key.to_lowercase()).copied(),
        }
    }

    /// The Pokémon with this id.
    pub fn pokemon_by_id(&self, id: u32) -> Option<&PokemonRow> {
        lookup(&self.pokemon, &self.pokemon_index.by_id, &id)
    }

    /// The Pokémon with this lowercase name.
    pub fn pokemon_by_name(&self, name: &str) -> Option<&PokemonRow> {
        lookup(&self.pokemon, &self.pokemon_index.by_name, name)
    }

    /// The species with this id.
    pub fn species_by_id(&self, id: u32) -> Option<&SpeciesRow> {
        lookup(&self.species, &self.species_index.by_id, &id)
    }

    /// The species with this lowercase name.
    pub fn species_by_name(&self, name: &str) -> Option<&SpeciesRow> {
        lookup(&self.species, &self.species_index.by_name, name)
    }

    /// The type with this id.
    pub fn type_by_id(&self, id: u32) -> Option<&TypeRow> {
        lookup(&self.types, &self.type_index.by_id, &id)
    }

    /// The type with this lowercase name.
    pub fn type_by_name(&self, name: &str) -> Option<&TypeRow> {
        lookup(&self.types, &self.type_index.by_name, name)
    }
}

fn lookup<'a, T, K, Q>(rows: &'a [T], index: &HashMap<K, usize>, key: &Q) -> Option<&'a T>
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    index.get(key).map(|&pos| &rows[pos])
}

/// One tab-separated row, with typed cell accessors that name the column on failure.
struct Row<'a> {
    cells: &'a [&'a str],
}

impl Row<'_> {
    fn cell(&self, i: usize) -> Result<&str, String> {
        self.cells
            .get(i)
            .copied()
            .ok_or_else(|| format!("missing column {i}"))
    }

    fn num<T: std::str::FromStr>(&self, i: usize) -> Result<T, String> {
        let cell = self.cell(i)?;
        cell.parse()
            .map_err(|_| format!("column {i}: {cell:?} is not a number"))
    }

    fn opt<T: std::str::FromStr>(&self, i: usize) -> Result<Option<T>, String> {
        match self.cell(i)? {
            "" => Ok(None),
            _ => self.num(i).map(Some),
        }
    }

    fn flag(&self, i: usize) -> Result<bool, String> {
        Ok(self.num::<u8>(i)? != 0)
    }

    fn list(&self, i: usize) -> Result<Vec<u32>, String> {
        let cell = self.cell(i)?;
        cell.split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|_| format!("column {i}: bad list {cell:?}"))
            })
            .collect()
    }

    fn six(&self, i: usize) -> Result<[u32; 6], String> {
        self.list(i)?
            .try_into()
            .map_err(|_| format!("column {i}: expected six stats"))
    }

    fn named(&self) -> Result<(u32, String), String> {
        Ok((self.num(0)?, self.cell(1)?.to_owned()))
    }
}

fn parse_pokemon(row: &Row) -> Result<PokemonRow, String> {
    let abilities = row
        .cell(11)?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|a| {
            let parts: Vec<u32> = a.split(':').filter_map(|x| x.parse().ok()).collect();
            match parts[..] {
                [id, hidden, slot] => Ok((id, hidden != 0, slot)),
                _ => Err(format!("bad ability {a:?}")),
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(PokemonRow {
        id: row.num(0)?,
        name: row.cell(1)?.to_owned(),
        species_id: row.num(2)?,
        height: row.num(3)?,
        weight: row.num(4)?,
        base_experience: row.opt(5)?,
        order: row.opt(6)?,
        is_default: row.flag(7)?,
        types: row.list(8)?,
        base_stats: row.six(9)?,
        efforts: row.six(10)?,
        abilities,
    })
}

fn parse_species(row: &Row) -> Result<SpeciesRow, String> {
    Ok(SpeciesRow {
        id: row.num(0)?,
        name: row.cell(1)?.to_owned(),
        generation_id: row.num(2)?,
        evolves_from_species_id: row.opt(3)?,
        evolution_chain_id: row.opt(4)?,
        gender_rate: row.num(5)?,
        capture_rate: row.num(6)?,
        base_happiness: row.opt(7)?,
        is_baby: row.flag(8)?,
        hatch_counter: row.opt(9)?,
        has_gender_differences: row.flag(10)?,
        forms_switchable: row.flag(11)?,
        is_legendary: row.flag(12)?,
        is_mythical: row.flag(13)?,
        order: row.opt(14)?,
    })
}

fn parse_type(row: &Row) -> Result<TypeRow, String> {
    Ok(TypeRow {
        id: row.num(0)?,
        name: row.cell(1)?.to_owned(),
        generation_id: row.num(2)?,
        damage_class_id: row.opt(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_real_pokemon_id() {
        let dex = Pokedex::get();
        let ids: Vec<u32> = dex.pokemon_ids().collect();
        let expected: Vec<u32> = (1..=1025).chain(10001..=10326).collect();
        assert_eq!(ids, expected);
        assert_eq!(dex.species.len(), 1025);
    }

    #[test]
    fn pikachu_matches_pokeapi() {
        let dex = Pokedex::get();
        let p = dex.pokemon_by_id(25).unwrap();
        assert_eq!(p.name, "pikachu");
        assert_eq!((p.height, p.weight, p.base_experience), (4, 60, Some(112)));
        assert_eq!(p.base_stats, [35, 55, 40, 50, 50, 90]);
        assert_eq!(dex.type_by_id(p.types[0]).unwrap().name, "electric");
        assert_eq!(p.abilities, vec![(9, false, 1), (31, true, 3)]);
        assert_eq!(dex.abilities[&31], "lightning-rod");
        assert_eq!(dex.species_by_name("pikachu").unwrap().id, 25);
    }

    #[test]
    fn parse_names_the_line_of_a_bad_row() {
        let err = Pokedex::parse("#type\n1\tnormal\tone\t2\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("not a number"), "{err}");
    }
}
