//! PokeAPI-shaped JSON bodies, rendered from the embedded Pokédex with the shared models.

use std::collections::HashMap;

use bytes::Bytes;
use serde::Serialize;

use crate::pokeapi::{
    ApiResource, NamedResource, Pokemon, PokemonAbility, PokemonStat, PokemonType, Resource,
    Species, Type, TypePokemon, Variety,
};
use crate::pokedex::{Pokedex, PokemonRow, SpeciesRow, TypeRow, STAT_NAMES};

/// Sizes of real PokeAPI bodies (pikachu, its species, the electric type), for padding.
const REAL_SIZES: [(Resource, usize); 3] = [
    (Resource::Pokemon, 245_786),
    (Resource::Species, 44_273),
    (Resource::Type, 17_025),
];

/// Names of move damage classes by id.
const DAMAGE_CLASSES: [&str; 3] = ["status", "physical", "special"];

/// Renders bodies whose links all point at `base` (`http://host:port/api/v2`).
pub(crate) struct Renderer {
    base: String,
    dex: &'static Pokedex,
    pad: bool,
    /// species id → its Pokémon (indexes into `dex.pokemon`).
    varieties: HashMap<u32, Vec<usize>>,
    /// type id → (slot, Pokémon index).
    members: HashMap<u32, Vec<(u32, usize)>>,
}

impl Renderer {
    pub(crate) fn new(base: String, pad: bool) -> Self {
        let dex = Pokedex::get();
        let mut varieties: HashMap<u32, Vec<usize>> = HashMap::new();
        let mut members: HashMap<u32, Vec<(u32, usize)>> = HashMap::new();
        for (i, p) in dex.pokemon.iter().enumerate() {
            varieties.entry(p.species_id).or_default().push(i);
            for (slot, &t) in p.types.iter().enumerate() {
                members.entry(t).or_default().push((slot as u32 + 1, i));
            }
        }
        Renderer {
            base,
            dex,
            pad,
            varieties,
            members,
        }
    }

    fn link(&self, resource: &str, id: u32, name: &str) -> NamedResource {
        NamedResource {
            name: name.to_owned(),
            url: format!("{}/{resource}/{id}/", self.base),
        }
    }

    fn pokemon_link(&self, index: usize) -> NamedResource {
        let p = &self.dex.pokemon[index];
        self.link("pokemon", p.id, &p.name)
    }

    pub(crate) fn pokemon(&self, p: &PokemonRow) -> Bytes {
        let dex = self.dex;
        let species = dex
            .species_by_id(p.species_id)
            .map_or("", |s| s.name.as_str());
        let body = Pokemon {
            id: p.id,
            name: p.name.clone(),
            base_experience: p.base_experience,
            height: p.height,
            weight: p.weight,
            is_default: p.is_default,
            order: p.order,
            species: self.link("pokemon-species", p.species_id, species),
            types: p
                .types
                .iter()
                .enumerate()
                .map(|(slot, &t)| PokemonType {
                    slot: slot as u32 + 1,
                    kind: self.link("type", t, dex.type_by_id(t).map_or("", |t| &t.name)),
                })
                .collect(),
            stats: STAT_NAMES
                .iter()
                .enumerate()
                .map(|(i, name)| PokemonStat {
                    base_stat: p.base_stats[i],
                    effort: p.efforts[i],
                    stat: self.link("stat", i as u32 + 1, name),
                })
                .collect(),
            abilities: p
                .abilities
                .iter()
                .map(|&(id, is_hidden, slot)| PokemonAbility {
                    ability: dex.abilities.get(&id).map(|n| self.link("ability", id, n)),
                    is_hidden,
                    slot,
                })
                .collect(),
        };
        self.finish(Resource::Pokemon, &body)
    }

    pub(crate) fn species(&self, s: &SpeciesRow) -> Bytes {
        let dex = self.dex;
        let generation = dex.generations.get(&s.generation_id).map_or("", |g| g);
        let body = Species {
            id: s.id,
            name: s.name.clone(),
            order: s.order,
            gender_rate: s.gender_rate,
            capture_rate: s.capture_rate,
            base_happiness: s.base_happiness,
            is_baby: s.is_baby,
            is_legendary: s.is_legendary,
            is_mythical: s.is_mythical,
            hatch_counter: s.hatch_counter,
            has_gender_differences: s.has_gender_differences,
            forms_switchable: s.forms_switchable,
            generation: self.link("generation", s.generation_id, generation),
            evolves_from_species: s.evolves_from_species_id.and_then(|id| {
                dex.species_by_id(id)
                    .map(|from| self.link("pokemon-species", id, &from.name))
            }),
            evolution_chain: s.evolution_chain_id.map(|id| ApiResource {
                url: format!("{}/evolution-chain/{id}/", self.base),
            }),
            varieties: self.varieties.get(&s.id).map_or_else(Vec::new, |v| {
                v.iter()
                    .map(|&i| Variety {
                        is_default: dex.pokemon[i].is_default,
                        pokemon: self.pokemon_link(i),
                    })
                    .collect()
            }),
        };
        self.finish(Resource::Species, &body)
    }

    pub(crate) fn kind(&self, t: &TypeRow) -> Bytes {
        let generation = self.dex.generations.get(&t.generation_id).map_or("", |g| g);
        let body = Type {
            id: t.id,
            name: t.name.clone(),
            generation: self.link("generation", t.generation_id, generation),
            move_damage_class: t.damage_class_id.and_then(|id| {
                let name = DAMAGE_CLASSES.get(id.checked_sub(1)? as usize)?;
                Some(self.link("move-damage-class", id, name))
            }),
            pokemon: self.members.get(&t.id).map_or_else(Vec::new, |m| {
                m.iter()
                    .map(|&(slot, i)| TypePokemon {
                        slot,
                        pokemon: self.pokemon_link(i),
                    })
                    .collect()
            }),
        };
        self.finish(Resource::Type, &body)
    }

    fn finish(&self, resource: Resource, body: &impl Serialize) -> Bytes {
        let mut json = serde_json::to_vec(body).expect("models always serialize");
        if self.pad {
            let target = REAL_SIZES
                .iter()
                .find(|(r, _)| *r == resource)
                .map_or(0, |&(_, n)| n);
            pad(&mut json, resource, target, &self.base);
        }
        Bytes::from(json)
    }
}

/// Grows a JSON object to about `target` bytes with entries shaped like the real fields
/// the models skip (moves, flavor texts), so a parser does honest work on them.
fn pad(json: &mut Vec<u8>, resource: Resource, target: usize, base: &str) {
    if json.len() >= target || json.last() != Some(&b'}') {
        return;
    }
    json.pop();
    let field = match resource {
        Resource::Species => "flavor_text_entries",
        _ => "moves",
    };
    json.extend_from_slice(format!(",\"{field}\":[").as_bytes());
    let mut i = 1u32;
    while json.len() < target {
        if i > 1 {
            json.push(b',');
        }
        let entry = match resource {
            Resource::Pokemon => format!(
                r#"{{"move":{{"name":"move-{i}","url":"{base}/move/{i}/"}},"version_group_details":[{{"level_learned_at":{lvl},"move_learn_method":{{"name":"level-up","url":"{base}/move-learn-method/1/"}},"order":null,"version_group":{{"name":"red-blue","url":"{base}/version-group/1/"}}}}]}}"#,
                lvl = i % 100
            ),
            Resource::Species => format!(
                r#"{{"flavor_text":"Entry {i}: a Pokémon that waits for nothing.","language":{{"name":"en","url":"{base}/language/9/"}},"version":{{"name":"red","url":"{base}/version/1/"}}}}"#
            ),
            Resource::Type => format!(r#"{{"name":"move-{i}","url":"{base}/move/{i}/"}}"#),
        };
        json.extend_from_slice(entry.as_bytes());
        i += 1;
    }
    json.extend_from_slice(b"]}");
}
