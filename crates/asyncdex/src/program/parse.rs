//! Reading a program file: its TOML text turned into a validated [`Program`], or into
//! one error line that starts with `file:line:`.
//!
//! The text is deserialized (serde, `deny_unknown_fields`) into raw structs that keep each
//! value's span, and a checker walks them into the program's steps; [`Program::parse`]
//! checks everything before anything runs, and every error names the line and the field:
//! unknown device, unknown message, unknown field, an empty block, a step that is two
//! things at once, nesting deeper than [`MAX_DEPTH`].
//!
//! A program file is input from anyone, so everything in it is bounded before it costs
//! anything: the text at [`MAX_FILE_BYTES`] (checked before parsing), the steps at
//! [`MAX_STEPS`] (counted in the text before the parser builds them, so a huge file is
//! refused without the memory its tree would take), nesting at [`MAX_DEPTH`], and every
//! number, `wait_ms`, at [`MAX_WAIT_MS`]. Labels and bodies are kept as written: whoever
//! prints them to a terminal escapes their control characters.
//!
//! The stack is bounded too. Parsing TOML into nested steps recurses once or twice a
//! level (the `toml` parser, serde's deserializer, the checker), and [`MAX_DEPTH`] can only
//! be checked once the tree is there; `toml` stops at 80 levels of keys and 80 of values,
//! about 120 steps deep in all, which takes some 3 MB of stack in a debug build. The
//! caller's stack is not ours to know: a main thread under `ulimit -s 128` overflowed at
//! 21 levels and aborted, with no error line. So [`Program::parse`] parses on a thread of
//! its own with a stack of known size (8 MiB, twice the worst case), and every depth
//! `toml` accepts is refused by the checker as an error, whatever the caller's stack. (A
//! depth scan of the text before parsing would have to lex TOML itself, strings, comments,
//! dotted keys and table headers, to count levels right; a thread costs tens of
//! microseconds once per program and cannot miscount.)

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Program, Step};
use crate::devices::DeviceKind;
use crate::error::{Error, ErrorKind, Result};
use crate::pokeapi::{Key, Resource};

/// Deepest nesting of blocks accepted.
pub const MAX_DEPTH: usize = 16;

/// Stack of the thread a program is parsed on: twice what the deepest nesting `toml`
/// accepts takes in a debug build (see the module's docs).
const PARSE_STACK: usize = 8 * 1024 * 1024;

/// Most steps in one program.
pub const MAX_STEPS: usize = 10_000;

/// Largest program text accepted, in bytes (1 MiB: the lesson's program is 2 KB).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// Longest wait a step may ask for: one hour, in milliseconds. A program is a lesson in
/// timing, not a scheduler; a longer wait is a typo (or an attempt to hang the run).
pub const MAX_WAIT_MS: u64 = 60 * 60 * 1000;

/// The fields that make a step what it is: each step has exactly one.
const STEP_FIELDS: [&str; 5] = ["sequence", "parallel", "device", "fetch", "wait_ms"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgram {
    name: Option<String>,
    #[serde(default)]
    devices: BTreeMap<String, Spanned<String>>,
    steps: Option<Spanned<Vec<Spanned<RawStep>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    label: Option<String>,
    sequence: Option<Vec<Spanned<RawStep>>>,
    parallel: Option<Vec<Spanned<RawStep>>>,
    device: Option<String>,
    send: Option<String>,
    body: Option<String>,
    fetch: Option<String>,
    wait_ms: Option<u64>,
}

impl Program {
    /// Parses and validates `text`; errors start with `file:line:`.
    pub fn parse(text: &str, file: &str) -> Result<Program> {
        if text.len() > MAX_FILE_BYTES {
            return Err(Error::invalid_input(format!(
                "{file}: {} bytes is too large for a program (at most {MAX_FILE_BYTES})",
                text.len()
            )));
        }
        if let Some(line) = step_over_limit(text) {
            return Err(Error::invalid_input(format!(
                "{file}:{line}: more than {MAX_STEPS} steps"
            )));
        }
        std::thread::scope(|scope| {
            let parser = std::thread::Builder::new()
                .name("program-parse".into())
                .stack_size(PARSE_STACK)
                .spawn_scoped(scope, || Program::parse_here(text, file))
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Io,
                        format!("{file}: cannot start a thread to read it: {e}"),
                    )
                })?;
            parser
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// [`Program::parse`] once the text is within its bounds, on the stack it runs on:
    /// deep nesting needs [`PARSE_STACK`] of it.
    fn parse_here(text: &str, file: &str) -> Result<Program> {
        let at = |span: Range<usize>, msg: String| {
            // Point at the field the message names (`send`...), if it is inside the span.
            // A `[[steps]]` table's span is its header line: look on to the next header.
            let start = span.start.min(text.len());
            let end = text[start..]
                .match_indices("\n[")
                .map(|(i, _)| start + i)
                .find(|&i| i >= span.end.min(text.len()))
                .unwrap_or(text.len());
            let field = msg.strip_prefix('`').and_then(|m| m.split('`').next());
            let pos = field
                .and_then(|f| field_offset(&text[start..end], f))
                .map_or(start, |off| start + off);
            let line = text[..pos].matches('\n').count() + 1;
            Error::invalid_input(format!("{file}:{line}: {}", one_line(&msg)))
        };
        let raw: RawProgram = toml::from_str(text).map_err(|e| {
            let msg = e.message().trim().to_owned();
            match e.span() {
                Some(span) => at(span, msg),
                None => Error::invalid_input(format!("{file}: {}", one_line(&msg))),
            }
        })?;
        let mut devices = BTreeMap::new();
        for (id, kind) in &raw.devices {
            let parsed = kind
                .get_ref()
                .parse::<DeviceKind>()
                .map_err(|e| at(kind.span(), format!("device `{id}`: {e}")))?;
            devices.insert(id.clone(), parsed);
        }
        let Some(steps) = raw.steps else {
            return Err(Error::invalid_input(format!(
                "{file}: no `steps`: a program needs at least one"
            )));
        };
        let mut check = Checker {
            devices: &devices,
            at: &at,
            count: 0,
        };
        let name = raw.name.unwrap_or_else(|| "program".into());
        let span = steps.span();
        let root = check.block(true, name.clone(), steps.into_inner(), span, 1)?;
        Ok(Program {
            name,
            devices,
            root,
        })
    }
}

/// Where the `MAX_STEPS + 1`-th step field is written (its line), if the text has that
/// many: a bound checked on the text, before the parser allocates a tree for it. (It may
/// count a field name quoted inside a string too: only a program near the limit could
/// be refused for that.)
fn step_over_limit(text: &str) -> Option<usize> {
    let mut count = 0;
    let mut at = Vec::new();
    for field in STEP_FIELDS {
        for (i, _) in text.match_indices(field) {
            let before = text[..i].chars().next_back();
            let after = text[i + field.len()..].trim_start_matches([' ', '\t']);
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
                && after.starts_with('=')
            {
                count += 1;
                at.push(i);
            }
        }
        if count > MAX_STEPS {
            at.sort_unstable();
            let pos = at[MAX_STEPS];
            return Some(text[..pos].matches('\n').count() + 1);
        }
    }
    None
}

/// Escapes control characters (a newline inside a quoted TOML string, say), so an error
/// that quotes the user's text stays one line. (Found by the fuzz target.)
fn one_line(msg: &str) -> String {
    msg.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// Where `field = ...` is written inside `text`, if it is.
fn field_offset(text: &str, field: &str) -> Option<usize> {
    text.match_indices(field).map(|(i, _)| i).find(|&i| {
        let before = text[..i].chars().next_back();
        let after = text[i + field.len()..].trim_start();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && after.starts_with('=')
    })
}

struct Checker<'a, F> {
    devices: &'a BTreeMap<String, DeviceKind>,
    at: &'a F,
    count: usize,
}

impl<F: Fn(Range<usize>, String) -> Error> Checker<'_, F> {
    fn block(
        &mut self,
        is_sequence: bool,
        label: String,
        steps: Vec<Spanned<RawStep>>,
        span: Range<usize>,
        depth: usize,
    ) -> Result<Step> {
        let field = if is_sequence { "sequence" } else { "parallel" };
        if steps.is_empty() {
            let what = if depth == 1 { "steps" } else { field };
            return Err((self.at)(
                span,
                format!("`{what}` is empty: a block needs at least one step"),
            ));
        }
        if depth > MAX_DEPTH {
            return Err((self.at)(
                span,
                format!("blocks nest more than {MAX_DEPTH} deep"),
            ));
        }
        let children = steps
            .into_iter()
            .map(|s| self.step(s, depth))
            .collect::<Result<Vec<_>>>()?;
        Ok(if is_sequence {
            Step::Sequence(label, children)
        } else {
            Step::Parallel(label, children)
        })
    }

    fn step(&mut self, step: Spanned<RawStep>, depth: usize) -> Result<Step> {
        self.count += 1;
        let span = step.span();
        if self.count > MAX_STEPS {
            return Err((self.at)(span, format!("more than {MAX_STEPS} steps")));
        }
        let raw = step.into_inner();
        let kinds = [
            raw.sequence.is_some(),
            raw.parallel.is_some(),
            raw.device.is_some(),
            raw.fetch.is_some(),
            raw.wait_ms.is_some(),
        ];
        let err = |msg: String| (self.at)(span.clone(), msg);
        match kinds.iter().filter(|k| **k).count() {
            0 => return Err(err("a step needs one of `sequence`, `parallel`, `device`, `fetch`, `wait_ms`".into())),
            1 => {}
            _ => return Err(err("a step is one thing: use only one of `sequence`, `parallel`, `device`, `fetch`, `wait_ms`".into())),
        }
        if raw.device.is_none() && (raw.send.is_some() || raw.body.is_some()) {
            return Err(err("`send` and `body` belong to a `device` step".into()));
        }
        if let Some(steps) = raw.sequence {
            let label = raw.label.unwrap_or_else(|| "sequence".into());
            return self.block(true, label, steps, span, depth + 1);
        }
        if let Some(steps) = raw.parallel {
            let label = raw.label.unwrap_or_else(|| "parallel".into());
            return self.block(false, label, steps, span, depth + 1);
        }
        if let Some(device) = raw.device {
            let Some(kind) = self.devices.get(&device) else {
                let known: Vec<&str> = self.devices.keys().map(String::as_str).collect();
                let has = if known.is_empty() {
                    "the program declares no devices: add them under [devices]".to_owned()
                } else {
                    format!("the program has {}", known.join(", "))
                };
                return Err(err(format!("`device`: unknown device `{device}` ({has})")));
            };
            let Some(message) = raw.send else {
                return Err(err(format!("`send`: missing: what should `{device}` do?")));
            };
            if !matches!(message.as_str(), "connect" | "disconnect")
                && !kind.messages().contains(&message.as_str())
            {
                return Err(err(format!(
                    "`send`: unknown message type `{message}` for {device} ({kind}); it knows connect, disconnect, {}",
                    kind.messages().join(", ")
                )));
            }
            let label = raw.label.unwrap_or_else(|| format!("{device}: {message}"));
            return Ok(Step::Send {
                label,
                device,
                message,
                body: raw.body,
            });
        }
        if let Some(target) = raw.fetch {
            let (resource, key) = target.trim_matches('/').split_once('/').ok_or_else(|| {
                err(format!(
                    "`fetch`: {target:?} is not RESOURCE/ID (like pokemon/25)"
                ))
            })?;
            let resource = Resource::from_segment(resource).ok_or_else(|| {
                err(format!(
                    "`fetch`: unknown resource `{resource}` (pokemon, pokemon-species, type)"
                ))
            })?;
            let key = key
                .parse::<Key>()
                .map_err(|e| err(format!("`fetch`: {e}")))?;
            let label = raw
                .label
                .unwrap_or_else(|| format!("fetch {resource}/{key}"));
            return Ok(Step::Fetch {
                label,
                resource,
                key,
            });
        }
        let ms = raw.wait_ms.unwrap_or_default();
        if ms > MAX_WAIT_MS {
            return Err(err(format!(
                "`wait_ms`: {ms} is longer than a step may wait (at most {MAX_WAIT_MS}, one hour)"
            )));
        }
        let label = raw.label.unwrap_or_else(|| format!("wait {ms} ms"));
        Ok(Step::Wait(label, Duration::from_millis(ms)))
    }
}
