//! One readable line for the resources people look up most (`get move/pound`,
//! `get evolution-chain/10`): the fields that say what the thing is. Every other endpoint
//! gets its English name; `--json` always has the whole body.
//!
//! Each line is read from the body's bytes by a struct that names only its fields (see
//! [`super::lenient`]): the rest of the body is skipped as it is parsed, never built, so
//! summarising a 30 MB body costs about what the line needs, not a tree of the body.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::lenient::{Count, Fields, List, Named, Shown, Text};

/// A resource's `id` and `name`, if it has them.
#[derive(Deserialize, Default)]
pub struct Head<'a> {
    /// Its id, shown as written (`-` when there is none).
    #[serde(default)]
    pub id: Shown,
    /// Its name.
    #[serde(default, borrow)]
    pub name: Text<'a>,
}

/// The `id` and `name` of `body` (`-` and `-` if it has none, or is not an object).
pub fn head(body: &[u8]) -> (String, String) {
    let head: Head = serde_json::from_slice(body).unwrap_or_default();
    let name = head.name.0.map_or("-".into(), |n| n.into_owned());
    (head.id.0, name)
}

#[derive(Deserialize)]
struct Move<'a> {
    #[serde(default, borrow, rename = "type")]
    kind: Named<'a>,
    #[serde(default, borrow)]
    damage_class: Named<'a>,
    #[serde(default)]
    power: Shown,
    #[serde(default)]
    accuracy: Shown,
    #[serde(default)]
    pp: Shown,
}

/// An entry of a list tagged with a language (`effect_entries`, `names`).
#[derive(Deserialize)]
struct Tagged<'a> {
    #[serde(default, borrow)]
    language: Named<'a>,
    #[serde(default, borrow)]
    short_effect: Text<'a>,
    #[serde(default, borrow)]
    name: Text<'a>,
}

#[derive(Deserialize)]
struct Ability<'a> {
    #[serde(default, borrow)]
    generation: Named<'a>,
    #[serde(default, borrow)]
    effect_entries: List<Tagged<'a>>,
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(default, borrow)]
    category: Named<'a>,
    #[serde(default)]
    cost: Shown,
    #[serde(default, borrow)]
    effect_entries: List<Tagged<'a>>,
}

/// One link of an evolution chain.
#[derive(Deserialize, Default)]
struct Link<'a> {
    #[serde(default, borrow)]
    species: Named<'a>,
    #[serde(default, borrow)]
    evolves_to: List<Link<'a>>,
}

#[derive(Deserialize)]
struct Chain<'a> {
    #[serde(default, borrow)]
    chain: Link<'a>,
}

#[derive(Deserialize)]
struct Species<'a> {
    #[serde(default, borrow)]
    generation: Named<'a>,
    #[serde(default, borrow)]
    color: Named<'a>,
    #[serde(default, borrow)]
    evolves_from_species: Named<'a>,
}

#[derive(Deserialize)]
struct Type {
    #[serde(default)]
    moves: Count,
    #[serde(default)]
    pokemon: Count,
}

#[derive(Deserialize)]
struct Berry<'a> {
    #[serde(default, borrow)]
    firmness: Named<'a>,
    #[serde(default)]
    growth_time: Shown,
    #[serde(default, borrow)]
    natural_gift_type: Named<'a>,
}

#[derive(Deserialize)]
struct Other<'a> {
    #[serde(default, borrow)]
    names: List<Tagged<'a>>,
}

/// `body` read as `T`, or the line saying it could not be. The client checked that the
/// body is a JSON object of bounded depth, so this is rare; serde's own message is not
/// shown, as it names this program's Rust types (`expected struct Move`), not the body.
fn read<'a, T: Deserialize<'a>>(body: &'a [u8], line: impl FnOnce(T) -> String) -> String {
    match serde_json::from_slice(body) {
        Ok(t) => line(t),
        Err(_) => "(not the shape expected)".into(),
    }
}

/// A line about `body`, a resource of `endpoint`.
pub fn summary(endpoint: &str, body: &[u8]) -> String {
    match endpoint {
        "move" => read(body, |m: Move| {
            format!(
                "{} {}, power {}, accuracy {}, pp {}",
                m.kind.shown(),
                m.damage_class.shown(),
                m.power,
                m.accuracy,
                m.pp
            )
        }),
        "ability" => read(body, |a: Ability| {
            let effect = english(&a.effect_entries, |e| &e.short_effect);
            format!("{}: {effect}", a.generation.shown())
        }),
        "item" => read(body, |i: Item| {
            let effect = english(&i.effect_entries, |e| &e.short_effect);
            format!("{}, cost {}: {effect}", i.category.shown(), i.cost)
        }),
        "evolution-chain" => read(body, |c: Chain| chain(&c.chain)),
        "pokemon-species" => read(body, |s: Species| {
            let from = match &s.evolves_from_species.0 {
                None => String::new(),
                Some(from) => format!(", evolves from {from}"),
            };
            format!("{}, {}{from}", s.generation.shown(), s.color.shown())
        }),
        "type" => read(body, |t: Type| {
            format!("{} moves, {} Pokémon", t.moves.0, t.pokemon.0)
        }),
        "berry" => read(body, |b: Berry| {
            format!(
                "{}, {} h to grow, natural gift {}",
                b.firmness.shown(),
                b.growth_time,
                b.natural_gift_type.shown()
            )
        }),
        _ => {
            let names = read(body, |o: Other| english(&o.names, |e| &e.name));
            if names.is_empty() {
                let fields = owned::<Fields>(body).map_or(0, |f| f.0);
                format!("{fields} fields")
            } else {
                names
            }
        }
    }
}

fn owned<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    serde_json::from_slice(body).ok()
}

/// A Pokémon's encounters in one line.
pub fn encounters(body: &[u8]) -> String {
    let areas = owned::<Count>(body).map_or(0, |c| c.0);
    format!(
        "found in {areas} location area{}",
        if areas == 1 { "" } else { "s" }
    )
}

/// The English text of `field` in a list of entries tagged with a language, its
/// whitespace made single spaces.
fn english<'a>(
    entries: &'a List<Tagged<'a>>,
    field: impl Fn(&'a Tagged<'a>) -> &'a Text<'a>,
) -> String {
    entries
        .0
        .iter()
        .find(|e| e.language.0.as_deref() == Some("en"))
        .and_then(|e| field(e).0.as_deref())
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// `bulbasaur → ivysaur → venusaur`; branches as `eevee → vaporeon | jolteon | …`.
fn chain(link: &Link) -> String {
    let species = link.species.shown();
    let next: Vec<String> = link.evolves_to.0.iter().map(chain).collect();
    match next.len() {
        0 => species.to_owned(),
        1 => format!("{species} → {}", next[0]),
        _ => format!("{species} → {}", next.join(" | ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(endpoint: &str, body: serde_json::Value) -> String {
        summary(endpoint, body.to_string().as_bytes())
    }

    #[test]
    fn common_resources_say_what_they_are() {
        let pound = json!({"type": {"name": "normal"}, "damage_class": {"name": "physical"},
            "power": 40, "accuracy": 100, "pp": 35});
        assert_eq!(
            of("move", pound),
            "normal physical, power 40, accuracy 100, pp 35"
        );
        let chain_body = json!({"chain": {"species": {"name": "bulbasaur"}, "evolves_to": [
            {"species": {"name": "ivysaur"}, "evolves_to": [
                {"species": {"name": "venusaur"}, "evolves_to": []}]}]}});
        assert_eq!(
            of("evolution-chain", chain_body),
            "bulbasaur → ivysaur → venusaur"
        );
        let other = json!({"names": [{"language": {"name": "fr"}, "name": "Rouge"},
            {"language": {"name": "en"}, "name": "Red"}]});
        assert_eq!(of("version", other), "Red");
        assert_eq!(of("version", json!({"a": 1, "b": [2]})), "2 fields");
        assert_eq!(encounters(b"[1, 2]"), "found in 2 location areas");
        let species = json!({"generation": {"name": "generation-i"}, "color": {"name": "yellow"},
            "evolves_from_species": {"name": "pichu"}});
        assert_eq!(
            of("pokemon-species", species),
            "generation-i, yellow, evolves from pichu"
        );
    }

    #[test]
    fn a_field_of_another_shape_shows_as_unknown_not_as_a_lost_line() {
        let odd = json!({"type": "normal", "damage_class": null, "power": {"x": 1},
            "accuracy": "high"});
        assert_eq!(of("move", odd), "? ?, power …, accuracy \"high\", pp -");
        assert_eq!(summary("move", br#""text""#), "(not the shape expected)");
        assert_eq!(
            head(br#"{"id": 25, "name": "pikachu"}"#),
            ("25".into(), "pikachu".into())
        );
        assert_eq!(head(b"[]"), ("-".into(), "-".into()));
    }

    #[test]
    fn a_large_body_is_summarised() {
        // A type with 200 000 moves: about 13 MB, read without building it.
        let mut body = String::from(r#"{"id":1,"name":"big","pokemon":[{"slot":1}],"moves":["#);
        for i in 0..200_000 {
            body.push_str(&format!(
                r#"{{"name":"move-{i}","url":"http://h/api/v2/move/{i}/"}},"#
            ));
        }
        body.pop();
        body.push_str("]}");
        assert!(body.len() > 10_000_000);
        assert_eq!(summary("type", body.as_bytes()), "200000 moves, 1 Pokémon");
        assert_eq!(head(body.as_bytes()), ("1".into(), "big".into()));
    }
}
