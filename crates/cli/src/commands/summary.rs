//! One readable line for the resources people look up most (`get move/pound`,
//! `get evolution-chain/10`): the fields that say what the thing is. Every other endpoint
//! gets its English name; `--json` always has the whole body.

use serde_json::Value;

/// A line about `body`, a resource of `endpoint`.
pub fn summary(endpoint: &str, body: &Value) -> String {
    let name = |v: &Value| v["name"].as_str().unwrap_or("?").to_owned();
    let num = |v: &Value| match v {
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    };
    match endpoint {
        "move" => format!(
            "{} {}, power {}, accuracy {}, pp {}",
            name(&body["type"]),
            name(&body["damage_class"]),
            num(&body["power"]),
            num(&body["accuracy"]),
            num(&body["pp"]),
        ),
        "ability" => format!(
            "{}: {}",
            name(&body["generation"]),
            english(&body["effect_entries"], "short_effect")
        ),
        "item" => format!(
            "{}, cost {}: {}",
            name(&body["category"]),
            num(&body["cost"]),
            english(&body["effect_entries"], "short_effect")
        ),
        "evolution-chain" => chain(&body["chain"]),
        "pokemon-species" => {
            let from = match &body["evolves_from_species"] {
                Value::Null => String::new(),
                from => format!(", evolves from {}", name(from)),
            };
            format!(
                "{}, {}{from}",
                name(&body["generation"]),
                name(&body["color"])
            )
        }
        "type" => format!(
            "{} moves, {} Pokémon",
            body["moves"].as_array().map_or(0, Vec::len),
            body["pokemon"].as_array().map_or(0, Vec::len)
        ),
        "berry" => format!(
            "{}, {} h to grow, natural gift {}",
            name(&body["firmness"]),
            num(&body["growth_time"]),
            name(&body["natural_gift_type"])
        ),
        _ => match english(&body["names"], "name") {
            n if n.is_empty() => format!("{} fields", body.as_object().map_or(0, |o| o.len())),
            n => n,
        },
    }
}

/// A Pokémon's encounters in one line.
pub fn encounters(body: &Value) -> String {
    let areas = body.as_array().map_or(0, Vec::len);
    format!(
        "found in {areas} location area{}",
        if areas == 1 { "" } else { "s" }
    )
}

/// The English text of `field` in a list of entries tagged with a language.
fn english(entries: &Value, field: &str) -> String {
    entries
        .as_array()
        .and_then(|all| all.iter().find(|e| e["language"]["name"] == "en"))
        .and_then(|e| e[field].as_str())
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// `bulbasaur → ivysaur → venusaur`; branches as `eevee → vaporeon | jolteon | …`.
fn chain(link: &Value) -> String {
    let species = link["species"]["name"].as_str().unwrap_or("?");
    let next: Vec<String> = link["evolves_to"]
        .as_array()
        .map(|all| all.iter().map(chain).collect())
        .unwrap_or_default();
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

    #[test]
    fn common_resources_say_what_they_are() {
        let pound = json!({"type": {"name": "normal"}, "damage_class": {"name": "physical"},
            "power": 40, "accuracy": 100, "pp": 35});
        assert_eq!(
            summary("move", &pound),
            "normal physical, power 40, accuracy 100, pp 35"
        );
        let chain_body = json!({"chain": {"species": {"name": "bulbasaur"}, "evolves_to": [
            {"species": {"name": "ivysaur"}, "evolves_to": [
                {"species": {"name": "venusaur"}, "evolves_to": []}]}]}});
        assert_eq!(
            summary("evolution-chain", &chain_body),
            "bulbasaur → ivysaur → venusaur"
        );
        let other = json!({"names": [{"language": {"name": "fr"}, "name": "Rouge"},
            {"language": {"name": "en"}, "name": "Red"}]});
        assert_eq!(summary("version", &other), "Red");
        assert_eq!(encounters(&json!([1, 2])), "found in 2 location areas");
    }
}
