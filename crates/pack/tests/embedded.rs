//! Checks the committed pack: always its shape, and, when `ASYNCDEX_API_DATA` points at
//! the folder holding `api-v2.jsonl.zst`, every one of its lines byte for byte.

use std::io::Read;
use std::time::Instant;

use asyncdex_pack::Pack;

#[test]
fn embedded_pack_opens_and_has_pokeapi_shape() {
    let t = Instant::now();
    let pack = Pack::try_embedded().expect("embedded pack opens");
    eprintln!("opened the embedded pack in {:?}", t.elapsed());
    assert_eq!(pack.endpoints().len(), 49);
    assert_eq!(pack.endpoints().next(), Some("ability"));
    assert_eq!(pack.blob_count(), 15_514);
    assert!(pack.root().starts_with(br#"{"ability":"/api/v2/ability/""#));
    assert!(pack.meta().starts_with(br#"{"deploy_date":"#));

    let pokemon = pack.list("pokemon").unwrap();
    assert_eq!(pokemon.count() as usize, pokemon.len());
    assert_eq!(pokemon.resolve("PIKACHU"), Some(25));
    let body = pack.get("pokemon", 25).unwrap().unwrap();
    assert!(memchr::memmem::find(&body, br#""name":"pikachu""#).is_some());
    assert!(pack.encounters(25).unwrap().unwrap().starts_with(b"["));
    assert_eq!(
        pack.list("move-ailment").unwrap().resolve("unknown"),
        Some(-1)
    );
    assert!(pack.get("move-ailment", -1).is_some());
    for nameless in [
        "characteristic",
        "contest-effect",
        "evolution-chain",
        "machine",
        "super-contest-effect",
    ] {
        assert!(
            pack.list(nameless)
                .unwrap()
                .entries()
                .iter()
                .all(|e| e.name.is_none()),
            "{nameless}"
        );
    }
    // Every endpoint's list ids are stored resources.
    for l in pack.lists() {
        assert!(l.entries().iter().all(|e| l.contains(e.id)), "{}", l.name());
    }
}

#[test]
fn every_source_line_comes_back_byte_identical() {
    let Some(dir) = std::env::var_os("ASYNCDEX_API_DATA") else {
        eprintln!("note: ASYNCDEX_API_DATA is not set; skipping the full-fidelity check (set it to the folder holding api-v2.jsonl.zst)");
        return;
    };
    let path = std::path::Path::new(&dir).join("api-v2.jsonl.zst");
    let t = Instant::now();
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut dec = zstd::stream::read::Decoder::new(file).unwrap();
    dec.window_log_max(27).unwrap();
    let mut jsonl = Vec::new();
    dec.read_to_end(&mut jsonl).unwrap();
    eprintln!("read the source in {:?}", t.elapsed());

    let t = Instant::now();
    let pack = Pack::embedded();
    let mut buf = Vec::new();
    let mut n = 0;
    for line in jsonl.strip_suffix(b"\n").unwrap().split(|&b| b == b'\n') {
        let tab = memchr::memchr(b'\t', line).unwrap();
        let path = std::str::from_utf8(&line[..tab]).unwrap();
        let blob = pack
            .find_path(path)
            .unwrap_or_else(|| panic!("{path} not in the pack"));
        buf.clear();
        blob.decode_into(&mut buf).unwrap();
        assert!(buf == line[tab + 1..], "{path} differs from the source");
        n += 1;
    }
    assert_eq!(n, 15_514);
    assert_eq!(n, pack.blob_count());
    eprintln!("checked {n} lines in {:?}", t.elapsed());
}
