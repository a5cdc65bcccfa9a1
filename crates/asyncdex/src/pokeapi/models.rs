//! Typed PokeAPI models: the fields asyncdex uses, in PokeAPI's own names and shapes.
//!
//! Unknown fields are ignored (a real Pokémon body has ~20 top-level fields and ~250 KB of
//! moves and sprites we never read), so the models parse real bodies and keep parsing when
//! PokeAPI adds fields. The mirror serializes these same structs, so client and server can
//! never disagree on a shape.

use serde::{Deserialize, Serialize};

/// A link to another resource: `{"name": "electric", "url": ".../type/13/"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedResource {
    /// The resource's name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

/// A link without a name: `{"url": ".../evolution-chain/10/"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiResource {
    /// Its URL.
    pub url: String,
}

/// A page of a list endpoint: `/api/v2/pokemon/?limit=20&offset=0`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// How many resources the endpoint has in all.
    pub count: u64,
    /// Absolute URL of the next page; `None` on the last.
    pub next: Option<String>,
    /// Absolute URL of the previous page; `None` on the first.
    pub previous: Option<String>,
    /// This page's entries.
    pub results: Vec<NamedResource>,
}

/// A Pokémon: `/api/v2/pokemon/{id or name}/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pokemon {
    /// PokeAPI id.
    pub id: u32,
    /// Lowercase name.
    pub name: String,
    /// Base experience gained for defeating it; unknown for some forms.
    pub base_experience: Option<u32>,
    /// Height in decimetres.
    pub height: u32,
    /// Weight in hectograms.
    pub weight: u32,
    /// Whether this is its species' default form.
    pub is_default: bool,
    /// Sort order; unknown for some forms.
    pub order: Option<i32>,
    /// The species it belongs to.
    pub species: NamedResource,
    /// Its one or two types, by slot.
    #[serde(default)]
    pub types: Vec<PokemonType>,
    /// Its base stats.
    #[serde(default)]
    pub stats: Vec<PokemonStat>,
    /// Its abilities.
    #[serde(default)]
    pub abilities: Vec<PokemonAbility>,
}

impl Pokemon {
    /// The base stat called `name` (`"hp"`, `"speed"`...), if listed.
    pub fn base_stat(&self, name: &str) -> Option<u32> {
        self.stats
            .iter()
            .find(|s| s.stat.name == name)
            .map(|s| s.base_stat)
    }

    /// Type names in slot order (`["grass", "poison"]`).
    pub fn type_names(&self) -> Vec<&str> {
        self.types.iter().map(|t| t.kind.name.as_str()).collect()
    }
}

/// One of a Pokémon's types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PokemonType {
    /// 1 or 2.
    pub slot: u32,
    /// The type (`type` in JSON).
    #[serde(rename = "type")]
    pub kind: NamedResource,
}

/// One of a Pokémon's base stats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PokemonStat {
    /// The base value.
    pub base_stat: u32,
    /// Effort points given.
    pub effort: u32,
    /// Which stat.
    pub stat: NamedResource,
}

/// One of a Pokémon's abilities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PokemonAbility {
    /// The ability (PokeAPI sends `null` for a few removed ones).
    pub ability: Option<NamedResource>,
    /// Whether it is a hidden ability.
    pub is_hidden: bool,
    /// Slot 1–3.
    pub slot: u32,
}

/// A species: `/api/v2/pokemon-species/{id or name}/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // PokeAPI's own field names; see its documentation.
pub struct Species {
    pub id: u32,
    pub name: String,
    pub order: Option<i32>,
    pub gender_rate: i32,
    pub capture_rate: u32,
    pub base_happiness: Option<u32>,
    pub is_baby: bool,
    pub is_legendary: bool,
    pub is_mythical: bool,
    pub hatch_counter: Option<u32>,
    pub has_gender_differences: bool,
    pub forms_switchable: bool,
    pub generation: NamedResource,
    pub evolves_from_species: Option<NamedResource>,
    pub evolution_chain: Option<ApiResource>,
    #[serde(default)]
    pub varieties: Vec<Variety>,
}

/// A Pokémon that belongs to a species.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variety {
    /// Whether it is the species' default form.
    pub is_default: bool,
    /// The Pokémon.
    pub pokemon: NamedResource,
}

/// A type: `/api/v2/type/{id or name}/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Type {
    /// PokeAPI id.
    pub id: u32,
    /// Lowercase name.
    pub name: String,
    /// The generation that introduced it.
    pub generation: NamedResource,
    /// Physical or special (before generation IV); `null` for some types.
    pub move_damage_class: Option<NamedResource>,
    /// Every Pokémon of this type.
    #[serde(default)]
    pub pokemon: Vec<TypePokemon>,
}

/// A Pokémon listed on a type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypePokemon {
    /// The slot the type takes on that Pokémon.
    pub slot: u32,
    /// The Pokémon.
    pub pokemon: NamedResource,
}
