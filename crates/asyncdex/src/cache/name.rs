//! Which file caches which API: a name that reads like the API root and can never be
//! shared by two roots.
//!
//! A cache answers `pokemon/25` from whatever file it opened, so two API roots that get one
//! file get each other's answers (cache poisoning). A readable slug alone is lossy:
//! `…/x/api/v2` and `…/x-api/v2` both read `x-api-v2`, and `http://` and `https://` the same
//! once the scheme is dropped. So the name is the slug, cut to [`SLUG_MAX`] characters, then
//! a hash of the whole root (scheme, host, port and path):
//!
//! ```text
//! https://pokeapi.co/api/v2  ->  pokeapi-co-api-v2-59b942c76dc6419f.db
//! ```
//!
//! The name is bounded (well under the 255 bytes a file name may have) and made of ASCII
//! letters, digits and `-` only, whatever the root holds. Credentials in the root
//! (`user:pass@`) are never part of it, nor of what the file stores: [`identity`] drops
//! them first. The root itself is kept inside the file and checked when it is opened
//! (see the cache's `open`), so even a file copied under another's name is not used.

use std::path::{Path, PathBuf};

/// The longest readable part of a cache file's name, in characters.
pub const SLUG_MAX: usize = 48;

/// How many hex digits of the root's SHA-256 the name carries (64 bits).
const HASH_DIGITS: usize = 16;

/// What a cache file belongs to: `api` (an API root, or a stable name such as `embedded`)
/// without credentials and without a trailing `/`. This is what the name is made from
/// and what the file stores.
///
/// ```
/// use asyncdex::cache::identity;
/// assert_eq!(identity("http://ash:pikachu@127.0.0.1:80/api/v2/"), "http://127.0.0.1:80/api/v2");
/// assert_eq!(identity("https://pokeapi.co/api/v2"), "https://pokeapi.co/api/v2");
/// assert_eq!(identity("embedded"), "embedded");
/// ```
pub fn identity(api: &str) -> String {
    let api = api.trim_end_matches('/');
    let Some((scheme, rest)) = api.split_once("://") else {
        return api.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}

/// The file in `dir` that caches the API named `api`: see the module docs.
pub fn file_for(dir: &Path, api: &str) -> PathBuf {
    let id = identity(api);
    let readable = id.split_once("://").map_or(&id[..], |(_, rest)| rest);
    let slug: String = readable
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(SLUG_MAX)
        .collect();
    let hash = crate::store::sha256_hex(id.as_bytes());
    dir.join(format!("{slug}-{}.db", &hash[..HASH_DIGITS]))
}

/// Whether a file's stem (the name without `.db`) is one [`file_for`] could have made: a
/// slug of at most [`SLUG_MAX`] ASCII letters, digits and `-`, then `-` and the hash's
/// 16 lowercase hex digits. `cache clear` removes set-aside files only when so named: a
/// set-aside file is garbage, so its name is all that says the cache made it.
pub fn named_like_ours(stem: &str) -> bool {
    let Some((slug, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    slug.len() <= SLUG_MAX
        && slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && hash.len() == HASH_DIGITS
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(api: &str) -> String {
        file_for(Path::new("/c"), api)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn only_names_file_for_makes_read_as_ours() {
        for api in ["embedded", "http://127.0.0.1:8000/api/v2", &"x".repeat(300)] {
            let file = file_for(Path::new("/c"), api);
            let stem = file.file_stem().unwrap().to_string_lossy();
            assert!(named_like_ours(&stem), "{stem}");
        }
        for stem in [
            "notes",
            "my-db",
            "x-0123456789ABCDEF",
            "x-0123456789abcde",
            "a b-0123456789abcdef",
        ] {
            assert!(!named_like_ours(stem), "{stem}");
        }
    }

    #[test]
    fn names_read_like_the_root_and_are_bounded_and_safe() {
        let pokeapi = name("https://pokeapi.co/api/v2/");
        assert!(pokeapi.starts_with("pokeapi-co-api-v2-"), "{pokeapi}");
        assert_eq!(
            pokeapi, "pokeapi-co-api-v2-59b942c76dc6419f.db",
            "as the docs say"
        );
        assert_eq!(pokeapi.len(), "pokeapi-co-api-v2-".len() + 16 + 3);
        assert_eq!(
            pokeapi,
            name("https://pokeapi.co/api/v2"),
            "one trailing / or none"
        );
        let dots = name("../../etc");
        assert!(dots.starts_with("------etc-"), "{dots}");
        let long = name(&format!("http://127.0.0.1:1/{}/api/v2", "a".repeat(300)));
        assert!(long.len() <= SLUG_MAX + 1 + 16 + 3, "{long}");
        for n in [pokeapi, dots, long] {
            let stem = n.strip_suffix(".db").unwrap();
            assert!(stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        }
    }

    #[test]
    fn roots_that_read_alike_get_different_files() {
        let roots = [
            "http://127.0.0.1:18010/x/api/v2",
            "http://127.0.0.1:18010/x-api/v2",
            "http://127.0.0.1:18010/x/api-v2",
            "https://127.0.0.1:18010/x/api/v2",
            "http://127.0.0.1:1801/0/x/api/v2",
        ];
        let names: std::collections::HashSet<String> = roots.iter().map(|r| name(r)).collect();
        assert_eq!(names.len(), roots.len(), "{names:?}");
        let a = format!("http://h/{}a", "p".repeat(300));
        let b = format!("http://h/{}b", "p".repeat(300));
        assert_ne!(name(&a), name(&b), "cut alike, still two files");
    }

    #[test]
    fn credentials_are_never_in_the_name() {
        let with = name("http://ash:secret@127.0.0.1:80/api/v2");
        assert_eq!(with, name("http://127.0.0.1:80/api/v2"));
        assert!(!with.contains("ash") && !with.contains("secret"), "{with}");
        assert_eq!(identity("http://a@b@h/x?q=u@v"), "http://h/x?q=u@v");
    }
}
