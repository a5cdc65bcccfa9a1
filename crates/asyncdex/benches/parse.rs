//! Parsing real-size bodies (issue #7 target: the name ≥ 5× faster than Python's
//! `json.loads(body)["name"]`).
//!
//! `cargo bench --bench parse`
//!
//! The body is the mirror's padded Pokémon (~240 KB, shaped like PokeAPI's: moves with
//! version-group details). Python's figure comes from
//! `python3 -m timeit -s "import json; b=open('body.json','rb').read()" "json.loads(b)['name']"`
//! on the same body (see BENCHMARKS.md).

use std::hint::black_box;

use asyncdex::pokeapi::{name_of, Pokemon};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn parse(c: &mut Criterion) {
    let body = asyncdex::mirror::pokemon_bodies(25).pop().expect("pikachu");
    let mut group = c.benchmark_group("parse_250kb");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("name_only", |b| {
        b.iter(|| name_of(black_box(&body)).unwrap().len())
    });
    // name_of stops at the name; the mirror writes it second. PokeAPI writes keys in
    // alphabetical order, so its name comes after the 200 KB of moves: the honest case.
    let name_last = {
        let mut value: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&body).expect("a JSON object");
        let name = value.remove("name").expect("a name");
        value.insert("name".into(), name);
        serde_json::to_vec(&value).expect("serializes")
    };
    group.bench_function("name_only_name_last", |b| {
        b.iter(|| name_of(black_box(&name_last)).unwrap().len())
    });
    group.bench_function("typed_model", |b| {
        b.iter(|| {
            serde_json::from_slice::<Pokemon>(black_box(&body))
                .unwrap()
                .id
        })
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| {
            serde_json::from_slice::<serde_json::Value>(black_box(&body)).unwrap()["name"]
                .is_string()
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
