//! Making a stored body's links absolute while copying it: the pack keeps PokeAPI's links
//! relative (`/api/v2/...`), the HTTP layer serves them under its own origin.

use std::sync::OnceLock;

use memchr::memmem;

/// Copies a JSON body into `out`, turning every string value that starts with
/// `/api/v2/` into `{origin}/api/v2/...` (`origin` without a trailing slash, e.g.
/// `http://127.0.0.1:8000`).
///
/// Only a `"/api/v2/` whose quote opens a string is rewritten: the byte before the quote
/// must be `:`, `[` or `,`. In minified JSON an escaped quote inside a string is always
/// preceded by `\`, so text that merely contains `/api/v2/` is left alone.
pub fn absolutize(body: &[u8], origin: &str, out: &mut Vec<u8>) {
    static FINDER: OnceLock<memmem::Finder<'static>> = OnceLock::new();
    let finder = FINDER.get_or_init(|| memmem::Finder::new(b"\"/api/v2/"));
    out.reserve(body.len() + body.len() / 16);
    let mut last = 0;
    for at in finder.find_iter(body) {
        if at > 0 && matches!(body[at - 1], b':' | b'[' | b',') {
            out.extend_from_slice(&body[last..=at]);
            out.extend_from_slice(origin.as_bytes());
            last = at + 1;
        }
    }
    out.extend_from_slice(&body[last..]);
}
