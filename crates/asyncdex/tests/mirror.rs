//! The mirror behaves like PokeAPI: lists and links, slash forms, case, 404s, 400s,
//! headers, latency (on tokio's paused clock), and the real bodies.

use std::time::Duration;

use asyncdex::mirror::{app, MirrorConfig, MirrorState};
use asyncdex::pokeapi::{Page, Pokemon, Species, Type};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const BASE: &str = "http://mirror.test/api/v2";

struct Reply {
    status: StatusCode,
    content_type: String,
    cache_control: Option<String>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

async fn get_with(config: MirrorConfig, path: &str) -> Reply {
    let router = app(MirrorState::new(BASE, config));
    let resp = router
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name| {
        resp.headers()
            .get(name)
            .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    let cache_control = header("cache-control");
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        content_type,
        cache_control,
        body,
    }
}

async fn get(path: &str) -> Reply {
    get_with(MirrorConfig::default(), path).await
}

#[tokio::test]
async fn list_pages_link_to_each_other_and_cover_every_pokemon() {
    let first = get("/api/v2/pokemon/").await;
    assert_eq!(first.status, StatusCode::OK);
    let page: Page = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(page.count, 1351);
    assert_eq!(page.results.len(), 20, "default limit is 20");
    assert_eq!(page.previous, None);
    assert_eq!(
        page.next.as_deref(),
        Some("http://mirror.test/api/v2/pokemon/?offset=20&limit=20")
    );
    assert_eq!(page.results[0].name, "bulbasaur");
    assert_eq!(page.results[0].url, "http://mirror.test/api/v2/pokemon/1/");

    // Follow `next` to the end: every Pokémon exactly once, `next: null` on the last page.
    let mut names = Vec::new();
    let mut url = Some(format!("{BASE}/pokemon/?limit=200"));
    let mut pages = 0;
    while let Some(u) = url {
        let page: Page =
            serde_json::from_slice(&get(u.trim_start_matches("http://mirror.test")).await.body)
                .unwrap();
        names.extend(page.results.into_iter().map(|r| r.name));
        url = page.next;
        pages += 1;
    }
    assert_eq!(pages, 7);
    assert_eq!(names.len(), 1351);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 1351);

    let last: Page =
        serde_json::from_slice(&get("/api/v2/pokemon?offset=1340&limit=20").await.body).unwrap();
    assert_eq!(last.results.len(), 11);
    assert_eq!(last.next, None);
    assert_eq!(
        last.previous.as_deref(),
        Some("http://mirror.test/api/v2/pokemon/?offset=1320&limit=20")
    );
}

#[tokio::test]
async fn other_lists_have_their_counts() {
    for (path, count) in [
        ("/api/v2/pokemon-species/", 1025),
        ("/api/v2/type", 21),
        ("/api/v2/move/", 937),
        ("/api/v2/evolution-chain/", 541),
    ] {
        let reply = get(path).await;
        assert_eq!(reply.json()["count"], count, "{path}");
    }
}

#[tokio::test]
async fn slash_forms_and_case_give_the_same_body() {
    let canonical = get("/api/v2/pokemon/25/").await;
    assert_eq!(canonical.status, StatusCode::OK);
    for path in [
        "/api/v2/pokemon/25",
        "/api/v2/pokemon/pikachu",
        "/api/v2/pokemon/PiKaChU/",
    ] {
        assert_eq!(get(path).await.body, canonical.body, "{path}");
    }
    assert_eq!(get("/api/v2/type/ELECTRIC").await.json()["id"], 13);
    assert_eq!(
        get("/api/v2/pokemon-species/pikachu/").await.json()["id"],
        25
    );
}

#[tokio::test]
async fn unknown_ids_are_404_not_found_in_plain_text() {
    for path in [
        "/api/v2/pokemon/99999/",
        "/api/v2/pokemon/0",
        "/api/v2/pokemon/missingno",
        "/api/v2/type/-1/",
    ] {
        let reply = get(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.body, b"Not Found");
        assert!(
            reply.content_type.starts_with("text/plain"),
            "{}",
            reply.content_type
        );
        assert_eq!(reply.cache_control, None, "errors are not cacheable");
    }
}

#[tokio::test]
async fn every_endpoint_of_pokeapi_answers() {
    for endpoint in [
        "berry",
        "move",
        "ability",
        "evolution-chain",
        "item",
        "machine",
    ] {
        let reply = get(&format!("/api/v2/{endpoint}/1/")).await;
        assert_eq!(reply.status, StatusCode::OK, "{endpoint}");
        assert_eq!(reply.json()["id"], 1, "{endpoint}");
    }
    let encounters = get("/api/v2/pokemon/25/encounters").await;
    assert_eq!(encounters.status, StatusCode::OK);
    assert!(encounters.json().as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(
        get("/api/v2/pokemon/pikachu/encounters/").await.body,
        encounters.body
    );
    assert_eq!(
        get("/api/v2/move-ailment/-1/").await.json()["name"],
        "unknown"
    );
    assert_eq!(get("/api/v2/move/POUND/").await.json()["id"], 1);
}

#[tokio::test]
async fn unknown_endpoints_are_400() {
    for path in [
        "/api/v2/no-such-endpoint/",
        "/api/v2/no-such-endpoint/1/",
        "/api/v2/pokemon/25/extra/",
        "/api/v2/type/13/encounters",
        "/",
        "/api/v3/pokemon/1",
    ] {
        assert_eq!(get(path).await.status, StatusCode::BAD_REQUEST, "{path}");
    }
}

#[tokio::test]
async fn percent_encoded_traversal_is_not_path_structure() {
    for path in ["/api/v2/pokemon/..%2F..%2Fetc", "/api/v2/pokemon/%2e%2e/"] {
        assert_eq!(get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn success_has_pokeapi_headers() {
    let reply = get("/api/v2/pokemon/1/").await;
    assert!(reply.content_type.starts_with("application/json"));
    assert_eq!(
        reply.cache_control.as_deref(),
        Some("public, max-age=86400, s-maxage=86400")
    );
}

#[tokio::test]
async fn meta_is_pokeapis_deploy_stamp_and_the_counters_are_the_mirrors_own() {
    let meta = get("/api/v2/meta").await.json();
    let keys: Vec<&String> = meta.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["deploy_date", "hash", "tag"]);
    let ours = get("/asyncdex/meta").await.json();
    assert_eq!(ours["counts"]["pokemon"], 1351);
    assert_eq!(ours["counts"]["pokemon-species"], 1025);
    assert_eq!(ours["counts"].as_object().unwrap().len(), 49);
    assert_eq!(ours["latency_ms"], 0.0);
    let root = get("/api/v2/").await.json();
    assert_eq!(root["pokemon"], "http://mirror.test/api/v2/pokemon/");
    assert_eq!(root["move"], "http://mirror.test/api/v2/move/");
}

#[tokio::test(start_paused = true)]
async fn latency_is_a_timer_of_the_configured_length() {
    let config = MirrorConfig {
        latency: Duration::from_millis(100),
        ..MirrorConfig::default()
    };
    let t0 = tokio::time::Instant::now();
    let reply = get_with(config.clone(), "/api/v2/pokemon/25/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(t0.elapsed(), Duration::from_millis(100));

    // Twenty requests at once wait together: one latency, not twenty.
    let router = app(MirrorState::new(BASE, config));
    let t0 = tokio::time::Instant::now();
    let calls = (1..=20).map(|id| {
        router.clone().oneshot(
            Request::get(format!("/api/v2/pokemon/{id}/"))
                .body(Body::empty())
                .unwrap(),
        )
    });
    for resp in futures::future::join_all(calls).await {
        assert_eq!(resp.unwrap().status(), StatusCode::OK);
    }
    assert_eq!(t0.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn jitter_stays_within_its_bounds() {
    let config = MirrorConfig {
        latency: Duration::from_millis(100),
        jitter: Duration::from_millis(20),
        seed: 3,
        ..MirrorConfig::default()
    };
    let router = app(MirrorState::new(BASE, config));
    for _ in 0..10 {
        let t0 = tokio::time::Instant::now();
        let req = Request::get("/api/v2/pokemon/1/")
            .body(Body::empty())
            .unwrap();
        router.clone().oneshot(req).await.unwrap();
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_millis(80) && waited <= Duration::from_millis(120),
            "{waited:?}"
        );
    }
}

#[tokio::test]
async fn bodies_parse_into_the_models_and_link_back_to_the_mirror() {
    let p: Pokemon = serde_json::from_slice(&get("/api/v2/pokemon/25/").await.body).unwrap();
    assert_eq!(
        (p.id, p.name.as_str(), p.height, p.weight),
        (25, "pikachu", 4, 60)
    );
    assert_eq!(p.type_names(), vec!["electric"]);
    assert_eq!(p.species.url, format!("{BASE}/pokemon-species/25/"));
    assert_eq!(p.base_stat("speed"), Some(90));
    let s: Species =
        serde_json::from_slice(&get("/api/v2/pokemon-species/25/").await.body).unwrap();
    assert_eq!(s.evolves_from_species.unwrap().name, "pichu");
    assert!(s
        .varieties
        .iter()
        .any(|v| v.is_default && v.pokemon.name == "pikachu"));
    let t: Type = serde_json::from_slice(&get("/api/v2/type/13/").await.body).unwrap();
    assert!(t
        .pokemon
        .iter()
        .any(|m| m.pokemon.name == "pikachu" && m.slot == 1));
    assert_eq!(t.move_damage_class.unwrap().name, "special");
    // A form with unknown base experience and order is `null`, as in PokeAPI.
    let mega = get("/api/v2/pokemon/10326/").await.json();
    assert_eq!(mega["base_experience"], Value::Null);
}

#[tokio::test]
async fn bodies_are_real_pokeapi_bodies() {
    let reply = get("/api/v2/pokemon/25/").await;
    assert!(
        (200_000..400_000).contains(&reply.body.len()),
        "{}",
        reply.body.len()
    );
    let p: Pokemon = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(p.name, "pikachu");
    let body = reply.json();
    for field in [
        "moves",
        "sprites",
        "forms",
        "game_indices",
        "cries",
        "held_items",
    ] {
        assert!(!body[field].is_null(), "pokemon/25 has {field}");
    }
}

/// Real PokeAPI bodies, when `ASYNCDEX_FIXTURES` points at them (CI sets it).
fn fixture(name: &str) -> Option<Value> {
    let Ok(dir) = std::env::var("ASYNCDEX_FIXTURES") else {
        eprintln!("ASYNCDEX_FIXTURES is not set: skipping the comparison with {name}");
        return None;
    };
    let text = std::fs::read_to_string(std::path::Path::new(&dir).join(name))
        .unwrap_or_else(|e| panic!("ASYNCDEX_FIXTURES={dir}: cannot read {name}: {e}"));
    Some(serde_json::from_str(&text).unwrap())
}

/// Strips the host from links, so mirror links compare with the fixtures' relative ones.
fn relative(mut v: Value) -> Value {
    match &mut v {
        Value::String(s) if s.starts_with(BASE) => *s = s.replacen("http://mirror.test", "", 1),
        Value::Array(items) => items.iter_mut().for_each(|i| *i = relative(i.take())),
        Value::Object(map) => map.values_mut().for_each(|i| *i = relative(i.take())),
        _ => {}
    }
    v
}

#[tokio::test]
async fn mirror_bodies_match_real_pokeapi_fields() {
    let cases = [
        (
            "pokemon-25.json",
            "/api/v2/pokemon/25/",
            &[
                "id",
                "name",
                "height",
                "weight",
                "base_experience",
                "order",
                "is_default",
                "species",
                "types",
                "stats",
                "abilities",
            ][..],
        ),
        (
            "pokemon-species-25.json",
            "/api/v2/pokemon-species/25/",
            &[
                "id",
                "name",
                "order",
                "gender_rate",
                "capture_rate",
                "base_happiness",
                "is_baby",
                "is_legendary",
                "is_mythical",
                "hatch_counter",
                "has_gender_differences",
                "forms_switchable",
                "generation",
                "evolves_from_species",
                "evolution_chain",
                "varieties",
            ][..],
        ),
        (
            "type-13.json",
            "/api/v2/type/13/",
            &["id", "name", "generation", "move_damage_class", "pokemon"][..],
        ),
    ];
    for (file, path, fields) in cases {
        let Some(real) = fixture(file) else { return };
        let mine = relative(get(path).await.json());
        for field in fields {
            assert_eq!(mine[field], real[field], "{file}: field {field}");
        }
        // And not only those fields: the whole body is the real one.
        assert_eq!(mine, real, "{file}");
    }
}

#[test]
fn models_parse_real_bodies() {
    let Some(p) = fixture("pokemon-25.json") else {
        return;
    };
    let p: Pokemon = serde_json::from_value(p).unwrap();
    assert_eq!((p.id, p.name.as_str()), (25, "pikachu"));
    assert_eq!(p.abilities.len(), 2);
    let s: Species = serde_json::from_value(fixture("pokemon-species-25.json").unwrap()).unwrap();
    assert_eq!(
        s.evolution_chain.unwrap().url,
        "/api/v2/evolution-chain/10/"
    );
    let t: Type = serde_json::from_value(fixture("type-13.json").unwrap()).unwrap();
    assert_eq!(t.name, "electric");
    let list: Page = serde_json::from_value(fixture("pokemon-list.json").unwrap()).unwrap();
    assert_eq!(list.count, 1351);
    // The static list and the embedded data name the same Pokémon in the same order.
    let names: Vec<&str> = asyncdex_pack::Pack::embedded()
        .list("pokemon")
        .unwrap()
        .entries()
        .iter()
        .map(|e| e.name.unwrap())
        .collect();
    assert_eq!(
        list.results
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        names
    );
}
