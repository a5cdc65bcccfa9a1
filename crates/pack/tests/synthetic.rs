//! Builds packs from small synthetic inputs and checks the reader, including on corrupt
//! packs (which must be errors, never panics).

use asyncdex_pack::build::{self, BuildError, Options};
use asyncdex_pack::{absolutize, Entry, Pack, PackError};

/// A tiny PokeAPI-shaped input: three endpoints, one without names, a negative id, an
/// unlisted resource, encounters, and enough `ability` resources to train a dictionary.
fn input() -> (Vec<u8>, Vec<(String, String)>) {
    let mut lines: Vec<(String, String)> = vec![
        (
            ".".into(),
            r#"{"pokemon":"/api/v2/pokemon/","ability":"/api/v2/ability/","machine":"/api/v2/machine/","meta":"/api/v2/meta/"}"#.into(),
        ),
        ("meta".into(), r#"{"deploy_date":"1","hash":"abc","tag":null}"#.into()),
    ];
    let mut results = vec![
        r#"{"name":"stench","url":"/api/v2/ability/1/"}"#.to_string(),
        r#"{"name":"Drizzle","url":"/api/v2/ability/2/"}"#.to_string(),
        r#"{"name":"unknown","url":"/api/v2/ability/-1/"}"#.to_string(),
        r#"{"name":"stench","url":"/api/v2/ability/7/"}"#.to_string(),
    ];
    for i in 10..40 {
        results.push(format!(
            r#"{{"name":"ability-{i}","url":"/api/v2/ability/{i}/"}}"#
        ));
    }
    lines.push((
        "ability".into(),
        format!(
            r#"{{"count":{},"next":null,"previous":null,"results":[{}]}}"#,
            results.len(),
            results.join(",")
        ),
    ));
    for id in [-1, 1, 2, 3, 7].into_iter().chain(10..40) {
        let flavor: Vec<String> = (0..40)
            .map(|k| format!(r#"{{"flavor_text":"Text {k} of ability {id}.","version_group":{{"name":"vg-{k}","url":"/api/v2/version-group/{k}/"}}}}"#))
            .collect();
        lines.push((
            format!("ability/{id}"),
            format!(
                r#"{{"zeta":{id},"id":{id},"effect_entries":[{{"effect":"Has a \"/api/v2/ability/1/\" link in text.","language":{{"name":"en","url":"/api/v2/language/9/"}}}}],"pokemon":[{{"is_hidden":false,"pokemon":{{"name":"p{id}","url":"/api/v2/pokemon/{id}/"}}}}],"names":["/api/v2/x/","/api/v2/y/"],"flavor_text_entries":[{}]}}"#,
                flavor.join(",")
            ),
        ));
    }
    lines.push((
        "machine".into(),
        r#"{"count":2,"next":null,"previous":null,"results":[{"url":"/api/v2/machine/1/"},{"url":"/api/v2/machine/2/"}]}"#.into(),
    ));
    lines.push((
        "machine/1".into(),
        r#"{"id":1,"item":{"name":"tm00","url":"/api/v2/item/1/"}}"#.into(),
    ));
    lines.push((
        "machine/2".into(),
        r#"{"id":2,"item":{"name":"tm01","url":"/api/v2/item/2/"}}"#.into(),
    ));
    lines.push((
        "pokemon".into(),
        r#"{"count":1,"next":null,"previous":null,"results":[{"name":"pikachu","url":"/api/v2/pokemon/25/"}]}"#.into(),
    ));
    lines.push((
        "pokemon/25".into(),
        r#"{"id":25,"name":"pikachu","location_area_encounters":"/api/v2/pokemon/25/encounters"}"#
            .into(),
    ));
    lines.push((
        "pokemon/25/encounters".into(),
        r#"[{"location_area":{"name":"a","url":"/api/v2/location-area/1/"}}]"#.into(),
    ));
    let mut jsonl = Vec::new();
    for (p, j) in &lines {
        jsonl.extend_from_slice(format!("{p}\t{j}\n").as_bytes());
    }
    (jsonl, lines)
}

fn opts() -> Options {
    Options {
        expect_sha256: None,
        threads: 2,
        ..Options::default()
    }
}

fn leak(v: Vec<u8>) -> &'static [u8] {
    v.leak()
}

fn built() -> (&'static [u8], Vec<(String, String)>) {
    let (jsonl, lines) = input();
    (leak(build::from_lines(&jsonl, &opts()).unwrap()), lines)
}

#[test]
fn builds_from_a_jsonl_zst_file_and_reads_every_line_back() {
    let (jsonl, lines) = input();
    let path = std::env::temp_dir().join(format!(
        "asyncdex-pack-test-{}.jsonl.zst",
        std::process::id()
    ));
    std::fs::write(&path, zstd::bulk::compress(&jsonl, 3).unwrap()).unwrap();
    let bytes = build::from_jsonl_zst_with(&path, &opts());
    // The default options insist on the real data's checksum.
    let wrong = build::from_jsonl_zst(&path);
    std::fs::remove_file(&path).unwrap();
    assert!(
        matches!(wrong, Err(BuildError::Checksum { .. })),
        "{wrong:?}"
    );

    let pack = Pack::open(leak(bytes.unwrap())).unwrap();
    assert_eq!(pack.blob_count(), lines.len());
    assert_eq!(
        pack.dict_count(),
        1,
        "ability has enough samples for a dictionary"
    );
    for (p, j) in &lines {
        let body = pack
            .get_path(p)
            .unwrap_or_else(|| panic!("{p} missing"))
            .unwrap();
        assert_eq!(std::str::from_utf8(&body).unwrap(), j, "{p}");
    }
    assert_eq!(pack.root(), lines[0].1.as_bytes());
    assert_eq!(pack.meta(), lines[1].1.as_bytes());
}

#[test]
fn endpoints_lists_and_lookups() {
    let (bytes, _) = built();
    let pack = Pack::open(bytes).unwrap();
    // Root order, without `meta`.
    assert_eq!(
        pack.endpoints().collect::<Vec<_>>(),
        ["pokemon", "ability", "machine"]
    );
    assert!(pack.list("meta").is_none());
    assert!(pack.list("nope").is_none());

    let ability = pack.list("ability").unwrap();
    assert_eq!(ability.count(), 34);
    assert_eq!(ability.len(), 34);
    assert_eq!(
        ability.entries()[2],
        Entry {
            id: -1,
            name: Some("unknown")
        }
    );
    assert_eq!(
        ability.resolve("STENCH"),
        Some(1),
        "first of a duplicated name"
    );
    assert_eq!(ability.resolve("drizzle"), Some(2), "case-insensitive");
    assert_eq!(ability.resolve("Ability-17"), Some(17));
    assert_eq!(ability.resolve("-1"), Some(-1));
    assert_eq!(ability.resolve("3"), Some(3), "unlisted but stored");
    assert_eq!(ability.resolve("4"), None);
    assert_eq!(ability.resolve("missing"), None);
    assert_eq!(ability.resolve(""), None);
    assert!(ability.ids().eq([-1, 1, 2, 3, 7].into_iter().chain(10..40)));

    let machine = pack.list("machine").unwrap();
    assert_eq!(
        machine.entries(),
        [Entry { id: 1, name: None }, Entry { id: 2, name: None }]
    );
    assert_eq!(machine.resolve("2"), Some(2));
    assert_eq!(machine.resolve("tm00"), None);

    let body = pack.get("ability", 7).unwrap().unwrap();
    assert!(body.starts_with(br#"{"zeta":7,"id":7,"#), "key order kept");
    assert!(pack.get("ability", 8).is_none());
    assert!(pack.get("nope", 1).is_none());
    assert!(pack.encounters(25).unwrap().unwrap().starts_with(b"[{"));
    assert!(pack.encounters(1).is_none());
    assert!(pack.get_path("pokemon/25/encounters").is_some());
    assert!(pack.get_path("pokemon/pikachu").is_none(), "paths take ids");
    assert!(pack.get_path("pokemon/25/x").is_none());
    assert!(pack.get_path("pokemon/25/encounters/1").is_none());
    assert!(pack.get_path("").is_none());
    let blob = pack.find("pokemon", 25).unwrap();
    let mut out = b"prefix".to_vec();
    blob.decode_into(&mut out).unwrap();
    assert_eq!(out.len(), 6 + blob.raw_len());
}

#[test]
fn build_is_deterministic_across_thread_counts() {
    let (jsonl, _) = input();
    let one = build::from_lines(
        &jsonl,
        &Options {
            threads: 1,
            ..opts()
        },
    )
    .unwrap();
    let two = build::from_lines(&jsonl, &opts()).unwrap();
    let again = build::from_lines(&jsonl, &opts()).unwrap();
    assert_eq!(one, two);
    assert_eq!(two, again);
}

#[test]
fn bad_inputs_are_refused() {
    let bad = |s: &str| build::from_lines(s.as_bytes(), &opts()).unwrap_err();
    assert!(matches!(bad("no tab\n"), BuildError::Input { .. }));
    assert!(
        matches!(bad("meta\t{}\n"), BuildError::Input { .. }),
        "no root"
    );
    let e = bad(".\t{\"a\":\"/api/v2/a/\"}\nmeta\t{}\na\t{\"count\":1,\"next\":null,\"previous\":null,\"results\":[{\"url\":\"/api/v2/b/1/\"}]}\n");
    assert!(e.to_string().contains("/api/v2/b/1/"), "{e}");
    let e = bad(".\t{\"a\":\"/api/v2/a/\"}\nmeta\t{}\n");
    assert!(e.to_string().contains("has no list"), "{e}");
}

/// Opens `bytes` and, if that works, decodes everything reachable: must never panic.
fn exercise(bytes: &'static [u8], paths: &[(String, String)]) -> Result<(), PackError> {
    let pack = Pack::open(bytes)?;
    for (p, _) in paths {
        if let Some(r) = pack.get_path(p) {
            let _ = r;
        }
    }
    for l in pack.lists() {
        let _ = l.resolve("stench");
        for e in l.entries() {
            let _ = pack.get(l.name(), e.id);
        }
    }
    Ok(())
}

fn header_u32(bytes: &mut [u8], off: usize, v: u32) {
    bytes[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn corrupt_packs_are_errors_not_panics() {
    let (bytes, paths) = built();
    assert!(exercise(bytes, &paths).is_ok());

    // Every truncation.
    for n in 0..bytes.len() {
        let e = Pack::open(&bytes[..n]).unwrap_err();
        assert!(
            matches!(e, PackError::Truncated { .. } | PackError::Corrupt(_)),
            "len {n}: {e}"
        );
    }
    // Bad magic, version, length.
    let mut b = bytes.to_vec();
    b[0] = b'X';
    assert_eq!(Pack::open(leak(b)).unwrap_err(), PackError::BadMagic);
    let mut b = bytes.to_vec();
    header_u32(&mut b, 8, 99);
    assert_eq!(
        Pack::open(leak(b)).unwrap_err(),
        PackError::UnsupportedVersion(99)
    );
    let mut b = bytes.to_vec();
    b.push(0);
    assert!(matches!(Pack::open(leak(b)), Err(PackError::Corrupt(_))));
    // The first blob's offset pointing past the data area.
    let mut b = bytes.to_vec();
    let n_dicts = u32::from_le_bytes(b[20..24].try_into().unwrap()) as usize;
    header_u32(&mut b, 64 + n_dicts * 8, u32::MAX - 10);
    assert!(matches!(Pack::open(leak(b)), Err(PackError::Corrupt(_))));
    // Table counts far too large.
    for field in [20, 24, 28, 32, 36, 40, 44] {
        let mut b = bytes.to_vec();
        header_u32(&mut b, field, u32::MAX / 2);
        assert!(Pack::open(leak(b)).is_err(), "field {field}");
    }
    // A flipped byte anywhere: an error or a pack that still does not panic.
    let mut opened = 0;
    for i in 0..bytes.len() {
        let mut b = bytes.to_vec();
        b[i] ^= 0x5a;
        opened += exercise(leak(b), &paths).is_ok() as usize;
    }
    assert!(opened > 0);
    // Garbage in a compressed frame: a decode error (or other bytes), no panic.
    let pack = Pack::open(bytes).unwrap();
    let blob = pack.find("pokemon", 25).unwrap();
    let frame_start = bytes.len() - 1000.min(bytes.len() / 2);
    let mut b = bytes.to_vec();
    for x in &mut b[frame_start..] {
        *x = x.wrapping_mul(31).wrapping_add(7);
    }
    let _ = exercise(leak(b), &paths);
    assert!(blob.decode().is_ok());
}

#[test]
fn errors_display_on_one_line() {
    for e in [
        PackError::BadMagic,
        PackError::UnsupportedVersion(2),
        PackError::Truncated { need: 64, have: 3 },
        PackError::Corrupt("x".into()),
    ] {
        assert!(!e.to_string().contains('\n'));
    }
}

#[test]
fn absolutize_rewrites_only_link_values() {
    let body = br#"{"url":"/api/v2/type/13/","list":["/api/v2/a/","/api/v2/b/"],"text":"see \"/api/v2/x/\" or /api/v2/y/","k":"x/api/v2/z"}"#;
    let mut out = Vec::new();
    absolutize(body, "http://127.0.0.1:8000", &mut out);
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        r#"{"url":"http://127.0.0.1:8000/api/v2/type/13/","list":["http://127.0.0.1:8000/api/v2/a/","http://127.0.0.1:8000/api/v2/b/"],"text":"see \"/api/v2/x/\" or /api/v2/y/","k":"x/api/v2/z"}"#
    );
    out.clear();
    absolutize(b"\"/api/v2/\"", "http://h", &mut out);
    assert_eq!(
        out, b"\"/api/v2/\"",
        "no byte before the quote: not a value in an object"
    );
    out.clear();
    absolutize(b"", "http://h", &mut out);
    assert!(out.is_empty());
}
