//! Opening a pack: the header, then every table, each bound checked before it is read.
//! A corrupt or hostile pack is a [`PackError`], never a panic or an oversized allocation.

use std::sync::OnceLock;

use crate::blob::Dict;
use crate::error::corrupt;
use crate::format::*;
use crate::list::{cmp_ascii_ci, Entry, List};
use crate::{Pack, PackError, MAX_RAW_LEN};

/// Reads table `i` of `rec` bytes per record, checking bounds.
fn section(
    bytes: &'static [u8],
    pos: &mut usize,
    count: u32,
    rec: usize,
) -> Result<&'static [u8], PackError> {
    let len = (count as usize)
        .checked_mul(rec)
        .ok_or_else(|| corrupt("table size overflows"))?;
    let end = pos
        .checked_add(len)
        .ok_or_else(|| corrupt("table size overflows"))?;
    let s = bytes.get(*pos..end).ok_or(PackError::Truncated {
        need: end,
        have: bytes.len(),
    })?;
    *pos = end;
    Ok(s)
}

fn range(
    first: u32,
    len: u32,
    total: u32,
    what: &str,
) -> Result<std::ops::Range<usize>, PackError> {
    match first.checked_add(len) {
        Some(end) if end <= total => Ok(first as usize..end as usize),
        _ => Err(corrupt(format!(
            "{what} range {first}+{len} beyond {total}"
        ))),
    }
}

pub(crate) fn open(bytes: &'static [u8]) -> Result<Pack, PackError> {
    if bytes.len() < HEADER_LEN {
        if bytes.len() >= 8 && bytes[..8] != MAGIC {
            return Err(PackError::BadMagic);
        }
        return Err(PackError::Truncated {
            need: HEADER_LEN,
            have: bytes.len(),
        });
    }
    if bytes[..8] != MAGIC {
        return Err(PackError::BadMagic);
    }
    let h = |off| u32_at(bytes, off);
    let version = h(hdr::VERSION);
    if version != VERSION {
        return Err(PackError::UnsupportedVersion(version));
    }
    if h(hdr::FLAGS) != 0 || bytes[56..HEADER_LEN].iter().any(|&b| b != 0) {
        return Err(corrupt("unknown flags"));
    }
    let total = h(hdr::TOTAL_LEN) as usize;
    if total != bytes.len() {
        return Err(if total > bytes.len() {
            PackError::Truncated {
                need: total,
                have: bytes.len(),
            }
        } else {
            corrupt(format!("{} bytes, header says {total}", bytes.len()))
        });
    }
    let (n_dicts, n_endpoints, n_blobs) = (h(hdr::N_DICTS), h(hdr::N_ENDPOINTS), h(hdr::N_BLOBS));
    let (n_entries, n_res) = (h(hdr::N_ENTRIES), h(hdr::N_RES));
    let mut pos = HEADER_LEN;
    let dict_t = section(bytes, &mut pos, n_dicts, DICT_REC)?;
    let blob_t = section(bytes, &mut pos, n_blobs, BLOB_REC)?;
    let ep_t = section(bytes, &mut pos, n_endpoints, ENDPOINT_REC)?;
    let entry_t = section(bytes, &mut pos, n_entries, ENTRY_REC)?;
    let order_t = section(bytes, &mut pos, n_entries, ORDER_REC)?;
    let res_t = section(bytes, &mut pos, n_res, RES_REC)?;
    let strings = section(bytes, &mut pos, h(hdr::STRINGS_LEN), 1)?;
    let data = section(bytes, &mut pos, h(hdr::DATA_LEN), 1)?;
    if pos != bytes.len() {
        return Err(corrupt("trailing bytes after the data area"));
    }
    let data_len = data.len() as u32;

    let mut dicts = Vec::with_capacity(n_dicts as usize);
    for i in 0..n_dicts as usize {
        let (off, len) = (
            u32_at(dict_t, i * DICT_REC),
            u32_at(dict_t, i * DICT_REC + 4),
        );
        let r = range(off, len, data_len, "dictionary")?;
        dicts.push(Dict {
            bytes: &data[r],
            prepared: OnceLock::new(),
        });
    }
    for i in 0..n_blobs as usize {
        let o = i * BLOB_REC;
        let (off, clen, rawlen, dict) = (
            u32_at(blob_t, o),
            u32_at(blob_t, o + 4),
            u32_at(blob_t, o + 8),
            u32_at(blob_t, o + 12),
        );
        range(off, clen, data_len, "blob")?;
        let ok = rawlen <= MAX_RAW_LEN
            && match dict {
                DICT_STORED => clen == rawlen,
                DICT_NONE => true,
                d => d < n_dicts,
            };
        if !ok {
            return Err(corrupt(format!("blob {i} record")));
        }
    }
    let stored = |field: usize, what: &str| -> Result<&'static [u8], PackError> {
        let b = h(field);
        if b >= n_blobs || u32_at(blob_t, b as usize * BLOB_REC + 12) != DICT_STORED {
            return Err(corrupt(format!("{what} blob")));
        }
        let o = b as usize * BLOB_REC;
        let (off, len) = (u32_at(blob_t, o) as usize, u32_at(blob_t, o + 4) as usize);
        Ok(&data[off..off + len])
    };
    let root = stored(hdr::ROOT_BLOB, "root")?;
    let meta = stored(hdr::META_BLOB, "meta")?;

    let name_at = |off: u32, len: u32| -> Result<&'static str, PackError> {
        let r = range(off, len, strings.len() as u32, "name")?;
        std::str::from_utf8(&strings[r]).map_err(|_| corrupt("name is not UTF-8"))
    };
    let blob_ok = |b: u32| -> Result<u32, PackError> {
        if b < n_blobs {
            Ok(b)
        } else {
            Err(corrupt(format!("blob {b} beyond {n_blobs}")))
        }
    };
    let read_res = |first: u32, len: u32| -> Result<Vec<(i32, u32)>, PackError> {
        let r = range(first, len, n_res, "resource")?;
        let mut v = Vec::with_capacity(r.len());
        for i in r {
            let o = i * RES_REC;
            let id = i32_at(res_t, o);
            if v.last().is_some_and(|&(prev, _)| prev >= id) {
                return Err(corrupt("resource ids not ascending"));
            }
            v.push((id, blob_ok(u32_at(res_t, o + 4))?));
        }
        Ok(v)
    };

    let mut lists = Vec::with_capacity(n_endpoints as usize);
    for e in 0..n_endpoints as usize {
        let f = |k: usize| u32_at(ep_t, e * ENDPOINT_REC + 4 * k);
        let name = name_at(f(0), f(1))?;
        let list_blob = blob_ok(f(2))?;
        let count = f(3);
        let er = range(f(4), f(5), n_entries, "entry")?;
        let mut entries = Vec::with_capacity(er.len());
        for i in er.clone() {
            let o = i * ENTRY_REC;
            let id = i32_at(entry_t, o);
            let (noff, nlen) = (u32_at(entry_t, o + 4), u32_at(entry_t, o + 8));
            let name = if noff == NO_NAME {
                None
            } else {
                Some(name_at(noff, nlen)?)
            };
            entries.push(Entry { id, name });
        }
        let named = entries.iter().filter(|e| e.name.is_some()).count();
        let mut by_name = Vec::with_capacity(named);
        for i in er.start..er.start + named {
            let k = u32_at(order_t, i * ORDER_REC);
            let entry = entries
                .get(k as usize)
                .ok_or_else(|| corrupt("name order index out of range"))?;
            let n = entry
                .name
                .ok_or_else(|| corrupt("name order points at a nameless entry"))?;
            if let Some(&prev) = by_name.last() {
                let p: &Entry = &entries[prev as usize];
                if cmp_ascii_ci(p.name.unwrap_or_default().as_bytes(), n.as_bytes()).is_gt() {
                    return Err(corrupt("name order not sorted"));
                }
            }
            by_name.push(k);
        }
        lists.push(List {
            name,
            count,
            list_blob,
            entries,
            by_name,
            resources: read_res(f(6), f(7))?,
            encounters: read_res(f(8), f(9))?,
        });
    }
    let mut by_endpoint: Vec<u32> = (0..n_endpoints).collect();
    by_endpoint.sort_by_key(|&i| lists[i as usize].name);
    if by_endpoint
        .windows(2)
        .any(|w| lists[w[0] as usize].name == lists[w[1] as usize].name)
    {
        return Err(corrupt("duplicate endpoint"));
    }
    Ok(Pack {
        data,
        blob_table: blob_t,
        n_blobs,
        dicts,
        lists,
        by_endpoint,
        root,
        meta,
        root_blob: h(hdr::ROOT_BLOB),
        meta_blob: h(hdr::META_BLOB),
        len: bytes.len(),
    })
}
