//! Measures pack formats for FORMAT.md.
//!
//! ```text
//! # compare formats (builds each in memory from the source):
//! cargo run --release --features build --example measure -- INPUT.jsonl.zst dict nodict block:65536
//! # the committed pack: open time, decode times, RSS after reading everything:
//! cargo run --release --features build --example measure -- --embedded
//! ```
//! Options: `--level N`, `--dict-size N` (bytes), `--dict-ratio N`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use asyncdex_pack::{absolutize, build, Pack};

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let total: Duration = v.iter().sum();
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    format!(
        "median {:.1} µs, p99 {:.1} µs, max {:.1} µs, total {:.0} ms (n={})",
        q(0.5).as_secs_f64() * 1e6,
        q(0.99).as_secs_f64() * 1e6,
        q(1.0).as_secs_f64() * 1e6,
        total.as_secs_f64() * 1e3,
        v.len()
    )
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Splits the lines into (path, json).
fn split(jsonl: &[u8]) -> Vec<(&str, &[u8])> {
    jsonl
        .strip_suffix(b"\n")
        .unwrap()
        .split(|&b| b == b'\n')
        .map(|l| {
            let t = memchr::memchr(b'\t', l).unwrap();
            (std::str::from_utf8(&l[..t]).unwrap(), &l[t + 1..])
        })
        .collect()
}

fn measure_pack(
    pack: &'static Pack,
    bytes: &'static [u8],
    lines: Option<&std::collections::HashMap<&str, &[u8]>>,
) {
    // Open time (median of 21).
    let mut opens = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let p = Pack::open(black_box(bytes)).unwrap();
        opens.push(t.elapsed());
        black_box(p);
    }
    opens.sort();
    println!("  open: median {:.2} ms", opens[10].as_secs_f64() * 1e3);

    // Warm every dictionary and page once, then time each blob.
    let paths: Vec<String> = all_paths(pack);
    let mut buf = Vec::new();
    for p in &paths {
        buf.clear();
        pack.find_path(p).unwrap().decode_into(&mut buf).unwrap();
    }
    let mut times = Vec::with_capacity(paths.len());
    let mut res_times = Vec::new();
    let mut bytes = 0usize;
    for p in &paths {
        let blob = pack.find_path(p).unwrap();
        buf.clear();
        let t = Instant::now();
        blob.decode_into(&mut buf).unwrap();
        let d = t.elapsed();
        bytes += buf.len();
        times.push(d);
        if p.split('/').count() == 2 {
            res_times.push(d);
        }
        if let Some(lines) = lines {
            assert!(lines[p.as_str()] == &buf[..], "{p} differs");
        }
    }
    println!("  decode, every file:      {}", stats(times));
    println!("  decode, resources only:  {}", stats(res_times));
    println!("  decoded {:.1} MB", bytes as f64 / 1e6);

    // Random order, fresh Vec per call (what `get` does).
    let mut rng = 0x2545F4914F6CDD1Du64;
    let t = Instant::now();
    let n = 20_000;
    for _ in 0..n {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let p = &paths[(rng % paths.len() as u64) as usize];
        black_box(pack.get_path(p).unwrap().unwrap());
    }
    let el = t.elapsed();
    println!(
        "  random get_path x{n}: {:.0} /s on 1 thread ({:.1} µs mean)",
        n as f64 / el.as_secs_f64(),
        el.as_secs_f64() * 1e6 / n as f64
    );

    // absolutize over every resource body.
    let mut out = Vec::new();
    let mut abs = Vec::new();
    let mut abs_bytes = 0;
    for p in &paths {
        let body = pack.get_path(p).unwrap().unwrap();
        out.clear();
        let t = Instant::now();
        absolutize(&body, "http://127.0.0.1:8000", &mut out);
        abs.push(t.elapsed());
        abs_bytes += body.len();
    }
    let total: Duration = abs.iter().sum();
    println!(
        "  absolutize: {}  ({:.0} MB/s)",
        stats(abs),
        abs_bytes as f64 / total.as_secs_f64() / 1e6
    );
}

fn all_paths(pack: &Pack) -> Vec<String> {
    let mut v = vec![".".to_string(), "meta".to_string()];
    for l in pack.lists() {
        v.push(l.name().to_string());
        for id in l.ids() {
            v.push(format!("{}/{id}", l.name()));
            if pack
                .find_path(&format!("{}/{id}/encounters", l.name()))
                .is_some()
            {
                v.push(format!("{}/{id}/encounters", l.name()));
            }
        }
    }
    v
}

/// Blocks of consecutive lines of about `block` raw bytes compressed together.
fn measure_blocks(lines: &[(&str, &[u8])], block: usize, level: i32) {
    let t = Instant::now();
    type Block = (Vec<u8>, Vec<(usize, usize)>); // raw bytes, (offset, len) of each file
    let mut blocks: Vec<Block> = Vec::new();
    let mut cur = Vec::new();
    let mut spans = Vec::new();
    for (_, json) in lines {
        spans.push((cur.len(), json.len()));
        cur.extend_from_slice(json);
        if cur.len() >= block {
            blocks.push((std::mem::take(&mut cur), std::mem::take(&mut spans)));
        }
    }
    if !cur.is_empty() {
        blocks.push((cur, spans));
    }
    let compressed: Vec<Vec<u8>> = std::thread::scope(|s| {
        let half = blocks.len() / 2;
        let (a, b) = blocks.split_at(half);
        let h = s.spawn(move || {
            a.iter()
                .map(|(raw, _)| zstd::bulk::compress(raw, level).unwrap())
                .collect::<Vec<_>>()
        });
        let mut second: Vec<Vec<u8>> = b
            .iter()
            .map(|(raw, _)| zstd::bulk::compress(raw, level).unwrap())
            .collect();
        let mut first = h.join().unwrap();
        first.append(&mut second);
        first
    });
    let size: usize =
        compressed.iter().map(Vec::len).sum::<usize>() + lines.len() * 12 + blocks.len() * 8;
    println!(
        "block:{block}: {} blocks, size {:.2} MB (incl. 12 B/file + 8 B/block index), built in {:.0} s",
        blocks.len(),
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let mut dec = zstd::bulk::Decompressor::new().unwrap();
    let mut times = Vec::new();
    let mut res_times = Vec::new();
    let mut buf = Vec::with_capacity(block * 8);
    for ((raw, spans), c) in blocks.iter().zip(&compressed) {
        for &(off, len) in spans {
            let t = Instant::now();
            buf.clear();
            buf.reserve(raw.len());
            dec.decompress_to_buffer(c, &mut buf).unwrap();
            let body = buf[off..off + len].to_vec();
            let d = t.elapsed();
            assert_eq!(&body[..], &raw[off..off + len]);
            times.push(d);
            res_times.push(d);
        }
    }
    println!("  decode one file (whole block): {}", stats(times));
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = build::Options::default();
    let mut take = |flag: &str| -> Option<String> {
        let i = args.iter().position(|a| a == flag)?;
        args.remove(i);
        Some(args.remove(i))
    };
    if let Some(l) = take("--level") {
        opts.level = l.parse().unwrap();
    }
    if let Some(d) = take("--dict-size") {
        opts.max_dict_size = d.parse().unwrap();
    }
    if let Some(d) = take("--dict-ratio") {
        opts.dict_ratio = d.parse().unwrap();
    }
    if args.first().map(String::as_str) == Some("--embedded") {
        let rss0 = rss_kib();
        let t = Instant::now();
        let pack = Pack::embedded();
        println!(
            "embedded pack: {} bytes, {} dicts, first open {:.2} ms, RSS {} KiB before",
            pack.size(),
            pack.dict_count(),
            t.elapsed().as_secs_f64() * 1e3,
            rss0
        );
        measure_pack(pack, asyncdex_pack::EMBEDDED, None);
        println!("  RSS after reading everything: {} KiB", rss_kib());
        return;
    }
    let input = args.remove(0);
    let jsonl = build::read_jsonl_zst(&input).unwrap();
    let lines = split(&jsonl);
    for s in &args {
        if let Some(b) = s.strip_prefix("block:") {
            measure_blocks(&lines, b.parse().unwrap(), opts.level);
            continue;
        }
        let mut o = opts.clone();
        if s == "nodict" {
            o.max_dict_size = 0;
        }
        let t = Instant::now();
        let bytes: &'static [u8] = build::from_lines(&jsonl, &o).unwrap().leak();
        let pack: &'static Pack = Box::leak(Box::new(Pack::open(bytes).unwrap()));
        println!(
            "{s} (level {}, dict max {} B, ratio 1/{}): size {:.2} MB ({} bytes, {} dicts), built in {:.0} s",
            o.level,
            o.max_dict_size,
            o.dict_ratio,
            bytes.len() as f64 / 1e6,
            bytes.len(),
            pack.dict_count(),
            t.elapsed().as_secs_f64()
        );
        measure_pack(pack, bytes, Some(&lines.iter().copied().collect()));
    }
}
