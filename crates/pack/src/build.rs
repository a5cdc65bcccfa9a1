//! The pack builder (cargo feature `build`): turns `api-v2.jsonl.zst` into a pack.
//!
//! The output depends only on the input bytes and the [`Options`]: zstd runs
//! single-threaded per frame, the work is split over threads but every result lands at a
//! fixed index, no hash map is iterated, and nothing reads the clock.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use zstd::zstd_safe::{CCtx, CDict, CParameter};

use crate::format::*;

/// sha256 of the uncompressed lines of the source `api-v2.jsonl.zst` (from its README).
pub const SOURCE_SHA256: &str = "dc9901dd5f1507022ef35515270cf852e704ff1ac8b3273330d3f7393e0a934b";

/// Why a pack could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Reading or decompressing the input failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The input's path.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The input's sha256 is not the expected one.
    #[error("input sha256 is {actual}, expected {expected}")]
    Checksum {
        /// The sha256 of the uncompressed input.
        actual: String,
        /// The sha256 the options asked for.
        expected: String,
    },
    /// The input's content does not have the expected shape.
    #[error("line {line}: {msg}")]
    Input {
        /// 1-based line number (0 when it is about the whole input).
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// zstd failed (dictionary training or compression).
    #[error("zstd: {0}")]
    Zstd(String),
    /// The data does not fit the format's 32-bit offsets.
    #[error("pack would exceed 4 GiB")]
    TooLarge,
}

fn input(line: usize, msg: impl Into<String>) -> BuildError {
    BuildError::Input {
        line,
        msg: msg.into(),
    }
}

/// How to build a pack. [`Options::default`] is what the committed pack uses.
#[derive(Debug, Clone)]
pub struct Options {
    /// zstd level for every frame.
    pub level: i32,
    /// Largest dictionary trained for one endpoint, in bytes; `0` disables dictionaries.
    pub max_dict_size: usize,
    /// A dictionary is at most this fraction (1/n) of the endpoint's total raw size.
    pub dict_ratio: usize,
    /// Endpoints with fewer resources than this get no dictionary.
    pub min_dict_samples: usize,
    /// The sha256 (hex) the uncompressed input must have; `None` skips the check.
    pub expect_sha256: Option<String>,
    /// Worker threads (the output does not depend on it).
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            level: 19,
            max_dict_size: 64 << 10,
            dict_ratio: 32,
            min_dict_samples: 8,
            expect_sha256: Some(SOURCE_SHA256.to_string()),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
        }
    }
}

/// Builds the pack from `api-v2.jsonl.zst` with the default options, refusing an input
/// whose sha256 is not [`SOURCE_SHA256`].
pub fn from_jsonl_zst(path: impl AsRef<Path>) -> Result<Vec<u8>, BuildError> {
    from_jsonl_zst_with(path, &Options::default())
}

/// Builds the pack from a `PATH<TAB>JSON` lines file compressed with zstd.
pub fn from_jsonl_zst_with(path: impl AsRef<Path>, opts: &Options) -> Result<Vec<u8>, BuildError> {
    let lines = read_jsonl_zst(path)?;
    from_lines(&lines, opts)
}

/// Decompresses a `.jsonl.zst` file (long mode allowed, window up to 2^27).
pub fn read_jsonl_zst(path: impl AsRef<Path>) -> Result<Vec<u8>, BuildError> {
    let path = path.as_ref();
    let io = |source| BuildError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut dec = zstd::stream::read::Decoder::new(file).map_err(io)?;
    dec.window_log_max(27).map_err(io)?;
    let mut lines = Vec::new();
    dec.read_to_end(&mut lines).map_err(io)?;
    Ok(lines)
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What one source line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Root,
    Meta,
    List(usize),
    Resource(usize, i32),
    Encounters(usize, i32),
}

struct Line<'a> {
    kind: Kind,
    json: &'a [u8],
}

struct Endpoint {
    name: String,
    count: u32,
    entries: Vec<(i32, Option<String>)>,
    list_line: usize,
}

/// Splits and classifies the lines; returns them and the endpoints in root order.
fn parse(jsonl: &[u8]) -> Result<(Vec<Line<'_>>, Vec<Endpoint>), BuildError> {
    let raw: Vec<(&str, &[u8])> = jsonl
        .strip_suffix(b"\n")
        .unwrap_or(jsonl)
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| {
            let tab = memchr::memchr(b'\t', l).ok_or_else(|| input(i + 1, "no tab"))?;
            let path =
                std::str::from_utf8(&l[..tab]).map_err(|_| input(i + 1, "path not UTF-8"))?;
            Ok((path, &l[tab + 1..]))
        })
        .collect::<Result<_, BuildError>>()?;

    let mut paths: Vec<&str> = raw.iter().map(|(p, _)| *p).collect();
    paths.sort_unstable();
    if let Some(w) = paths.windows(2).find(|w| w[0] == w[1]) {
        return Err(input(0, format!("duplicate path {:?}", w[0])));
    }
    let root_line = raw
        .iter()
        .position(|(p, _)| *p == ".")
        .ok_or_else(|| input(0, "no root index (`.`)"))?;
    let root: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(raw[root_line].1)
        .map_err(|e| input(root_line + 1, e.to_string()))?;
    let names: Vec<&str> = root
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "meta")
        .collect();
    let mut sorted: Vec<(&str, usize)> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    sorted.sort();
    let ep_index = |name: &str| {
        sorted
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|i| sorted[i].1)
    };

    let mut endpoints: Vec<Option<Endpoint>> = names.iter().map(|_| None).collect();
    let mut lines = Vec::with_capacity(raw.len());
    for (i, &(path, json)) in raw.iter().enumerate() {
        let ln = i + 1;
        let parts: Vec<&str> = path.split('/').collect();
        let ep = |name: &str| {
            ep_index(name).ok_or_else(|| input(ln, format!("unknown endpoint {name:?}")))
        };
        let id = |s: &str| {
            s.parse::<i32>()
                .map_err(|_| input(ln, format!("bad id {s:?}")))
        };
        let kind = match parts[..] {
            ["."] => Kind::Root,
            ["meta"] => Kind::Meta,
            [name] => {
                let e = ep(name)?;
                endpoints[e] = Some(parse_list(name, json, ln, i)?);
                Kind::List(e)
            }
            [name, n] => Kind::Resource(ep(name)?, id(n)?),
            [name, n, "encounters"] => Kind::Encounters(ep(name)?, id(n)?),
            _ => return Err(input(ln, format!("unexpected path {path:?}"))),
        };
        lines.push(Line { kind, json });
    }
    if !lines.iter().any(|l| l.kind == Kind::Meta) {
        return Err(input(0, "no `meta`"));
    }
    let endpoints = endpoints
        .into_iter()
        .zip(&names)
        .map(|(e, n)| e.ok_or_else(|| input(0, format!("endpoint {n:?} has no list"))))
        .collect::<Result<_, _>>()?;
    Ok((lines, endpoints))
}

fn parse_list(
    name: &str,
    json: &[u8],
    ln: usize,
    line_index: usize,
) -> Result<Endpoint, BuildError> {
    #[derive(serde::Deserialize)]
    struct ListJson {
        count: u32,
        results: Vec<ResultJson>,
    }
    #[derive(serde::Deserialize)]
    struct ResultJson {
        name: Option<String>,
        url: String,
    }
    let list: ListJson =
        serde_json::from_slice(json).map_err(|e| input(ln, format!("list: {e}")))?;
    let prefix = format!("/api/v2/{name}/");
    let entries = list
        .results
        .into_iter()
        .map(|r| {
            let id = r
                .url
                .strip_prefix(&prefix)
                .and_then(|s| s.strip_suffix('/'))
                .and_then(|s| s.parse::<i32>().ok())
                .ok_or_else(|| input(ln, format!("list url {:?} is not {prefix}{{id}}/", r.url)))?;
            Ok((id, r.name))
        })
        .collect::<Result<_, BuildError>>()?;
    Ok(Endpoint {
        name: name.to_string(),
        count: list.count,
        entries,
        list_line: line_index,
    })
}

/// Which dictionary group a line belongs to: endpoint `e` is group `e`, encounters are
/// group `n_endpoints`; lists, root and meta get no dictionary.
fn group_of(kind: Kind, n_endpoints: usize) -> Option<usize> {
    match kind {
        Kind::Resource(e, _) => Some(e),
        Kind::Encounters(..) => Some(n_endpoints),
        _ => None,
    }
}

/// Runs `f(i)` for `i in 0..n` on `threads` threads; results in index order.
fn par_map<T: Send>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = f(i);
                out.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    out.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every index computed"))
        .collect()
}

/// Trains a dictionary on `samples` (deterministic: single-threaded fastCover).
fn train(samples: &[&[u8]], opts: &Options) -> Option<Vec<u8>> {
    const SAMPLE_CAP: usize = 128 << 10;
    const TOTAL_CAP: usize = 24 << 20;
    let total: usize = samples.iter().map(|s| s.len()).sum();
    let size = opts.max_dict_size.min(total / opts.dict_ratio.max(1));
    if opts.max_dict_size == 0 || samples.len() < opts.min_dict_samples || size < 1024 {
        return None;
    }
    // Deterministic subsample: every k-th sample, each cut to SAMPLE_CAP bytes.
    let capped: usize = samples.iter().map(|s| s.len().min(SAMPLE_CAP)).sum();
    let stride = capped.div_ceil(TOTAL_CAP).max(1);
    let mut buf = Vec::new();
    let mut sizes = Vec::new();
    for s in samples.iter().step_by(stride) {
        let s = &s[..s.len().min(SAMPLE_CAP)];
        buf.extend_from_slice(s);
        sizes.push(s.len());
    }
    zstd::dict::from_continuous(&buf, &sizes, size).ok()
}

fn cctx(level: i32) -> Result<CCtx<'static>, BuildError> {
    let mut c = CCtx::create();
    let zerr = |code| BuildError::Zstd(zstd::zstd_safe::get_error_name(code).to_string());
    c.set_parameter(CParameter::CompressionLevel(level))
        .map_err(zerr)?;
    c.set_parameter(CParameter::ChecksumFlag(false))
        .map_err(zerr)?;
    c.set_parameter(CParameter::DictIdFlag(false))
        .map_err(zerr)?;
    c.set_parameter(CParameter::ContentSizeFlag(true))
        .map_err(zerr)?;
    Ok(c)
}

fn compress(
    c: &mut CCtx<'static>,
    dict: Option<&CDict<'static>>,
    src: &[u8],
) -> Result<Vec<u8>, BuildError> {
    let zerr = |code| BuildError::Zstd(zstd::zstd_safe::get_error_name(code).to_string());
    match dict {
        Some(d) => c.ref_cdict(d).map_err(zerr)?,
        None => c.disable_dictionary().map_err(zerr)?,
    };
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(src.len()));
    c.compress2(&mut out, src).map_err(zerr)?;
    Ok(out)
}

/// Builds a pack from the uncompressed `PATH<TAB>JSON` lines.
pub fn from_lines(jsonl: &[u8], opts: &Options) -> Result<Vec<u8>, BuildError> {
    if let Some(expected) = &opts.expect_sha256 {
        let actual = sha256_hex(jsonl);
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(BuildError::Checksum {
                actual,
                expected: expected.clone(),
            });
        }
    }
    let (lines, endpoints) = parse(jsonl)?;
    let n_ep = endpoints.len();

    // 1. One dictionary per endpoint (and one for encounters), where it pays.
    let dicts: Vec<Option<Vec<u8>>> = par_map(n_ep + 1, opts.threads, |g| {
        let samples: Vec<&[u8]> = lines
            .iter()
            .filter(|l| group_of(l.kind, n_ep) == Some(g))
            .map(|l| l.json)
            .collect();
        train(&samples, opts)
    });
    let mut dict_index = vec![DICT_NONE; n_ep + 1];
    let mut dict_bytes: Vec<&[u8]> = Vec::new();
    for (g, d) in dicts.iter().enumerate() {
        if let Some(d) = d {
            dict_index[g] = dict_bytes.len() as u32;
            dict_bytes.push(d);
        }
    }
    let cdicts: Vec<Option<CDict<'static>>> = dicts
        .iter()
        .map(|d| d.as_deref().map(|d| CDict::create(d, opts.level)))
        .collect();

    // 2. One frame per line (root and meta stored as-is), in line order.
    const CHUNK: usize = 64;
    let chunks = par_map(lines.len().div_ceil(CHUNK), opts.threads, |k| {
        let mut c = cctx(opts.level)?;
        let range = k * CHUNK..((k + 1) * CHUNK).min(lines.len());
        lines[range]
            .iter()
            .map(|l| {
                if matches!(l.kind, Kind::Root | Kind::Meta) {
                    return Ok((l.json.to_vec(), DICT_STORED));
                }
                let g = group_of(l.kind, n_ep);
                let cd = g.and_then(|g| cdicts[g].as_ref());
                let d = g.map_or(DICT_NONE, |g| dict_index[g]);
                Ok((compress(&mut c, cd, l.json)?, d))
            })
            .collect::<Result<Vec<_>, BuildError>>()
    });
    let mut frames = Vec::with_capacity(lines.len());
    for c in chunks {
        frames.extend(c?);
    }

    write(&lines, &endpoints, &dict_bytes, &frames)
}

fn u32_of(n: usize) -> Result<u32, BuildError> {
    u32::try_from(n).map_err(|_| BuildError::TooLarge)
}

/// Lays out the pack (see `FORMAT.md`).
fn write(
    lines: &[Line<'_>],
    endpoints: &[Endpoint],
    dicts: &[&[u8]],
    frames: &[(Vec<u8>, u32)],
) -> Result<Vec<u8>, BuildError> {
    let put = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());

    // Data area: dictionaries, then frames in line order.
    let mut data = Vec::new();
    let mut dict_t = Vec::new();
    for d in dicts {
        put(&mut dict_t, u32_of(data.len())?);
        put(&mut dict_t, u32_of(d.len())?);
        data.extend_from_slice(d);
    }
    let mut blob_t = Vec::new();
    for (line, (frame, dict)) in lines.iter().zip(frames) {
        put(&mut blob_t, u32_of(data.len())?);
        put(&mut blob_t, u32_of(frame.len())?);
        put(&mut blob_t, u32_of(line.json.len())?);
        put(&mut blob_t, *dict);
        data.extend_from_slice(frame);
    }

    let mut strings = Vec::new();
    let mut ep_t = Vec::new();
    let mut entry_t = Vec::new();
    let mut order_t = Vec::new();
    let mut res_t = Vec::new();
    let mut n_entries = 0usize;
    let mut n_res = 0usize;
    for (e, ep) in endpoints.iter().enumerate() {
        let mut resources: Vec<(i32, usize)> = Vec::new();
        let mut encounters: Vec<(i32, usize)> = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            match l.kind {
                Kind::Resource(x, id) if x == e => resources.push((id, i)),
                Kind::Encounters(x, id) if x == e => encounters.push((id, i)),
                _ => {}
            }
        }
        resources.sort_unstable();
        encounters.sort_unstable();

        put(&mut ep_t, u32_of(strings.len())?);
        put(&mut ep_t, u32_of(ep.name.len())?);
        strings.extend_from_slice(ep.name.as_bytes());
        put(&mut ep_t, u32_of(ep.list_line)?);
        put(&mut ep_t, ep.count);
        put(&mut ep_t, u32_of(n_entries)?);
        put(&mut ep_t, u32_of(ep.entries.len())?);
        for (id, name) in &ep.entries {
            put(&mut entry_t, *id as u32);
            match name {
                Some(n) => {
                    put(&mut entry_t, u32_of(strings.len())?);
                    put(&mut entry_t, u32_of(n.len())?);
                    strings.extend_from_slice(n.as_bytes());
                }
                None => {
                    put(&mut entry_t, NO_NAME);
                    put(&mut entry_t, 0);
                }
            }
        }
        // Named entries sorted by lowercased name (stable), then the nameless ones.
        let mut order: Vec<usize> = (0..ep.entries.len()).collect();
        order.sort_by(|&a, &b| {
            let key = |i: usize| ep.entries[i].1.as_ref().map(|n| n.to_ascii_lowercase());
            match (key(a), key(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
        });
        for i in order {
            put(&mut order_t, u32_of(i)?);
        }
        n_entries += ep.entries.len();
        for table in [&resources, &encounters] {
            put(&mut ep_t, u32_of(n_res)?);
            put(&mut ep_t, u32_of(table.len())?);
            for &(id, line) in table.iter() {
                put(&mut res_t, id as u32);
                put(&mut res_t, u32_of(line)?);
            }
            n_res += table.len();
        }
    }

    let find = |k: Kind| lines.iter().position(|l| l.kind == k).unwrap_or(0);
    let body_len = dict_t.len()
        + blob_t.len()
        + ep_t.len()
        + entry_t.len()
        + order_t.len()
        + res_t.len()
        + strings.len()
        + data.len();
    let total = HEADER_LEN + body_len;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&MAGIC);
    for x in [
        VERSION,
        0,
        u32_of(total)?,
        u32_of(dicts.len())?,
        u32_of(endpoints.len())?,
        u32_of(lines.len())?,
        u32_of(n_entries)?,
        u32_of(n_res)?,
        u32_of(strings.len())?,
        u32_of(data.len())?,
        u32_of(find(Kind::Root))?,
        u32_of(find(Kind::Meta))?,
    ] {
        put(&mut out, x);
    }
    out.resize(HEADER_LEN, 0);
    for part in [
        &dict_t, &blob_t, &ep_t, &entry_t, &order_t, &res_t, &strings, &data,
    ] {
        out.extend_from_slice(part);
    }
    debug_assert_eq!(out.len(), total);
    Ok(out)
}
