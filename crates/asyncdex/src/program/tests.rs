//! The program parser's checks, each error one line naming its line and field.

use super::*;

fn parse_err(text: &str) -> String {
    Program::parse(text, "t.toml").unwrap_err().to_string()
}

const DEV: &str = "[devices]\nlight = \"hue-light\"\n";

#[test]
fn the_smart_home_parses_and_has_the_lessons_critical_path() {
    let program = Program::parse(SMART_HOME, "smart-home.toml").unwrap();
    let task = program.task(&program.devices(), None).unwrap();
    // register 0.5 s (parallel) + wake up 1.5 s (sequence) + sleep 1.0 s (longest child).
    assert_eq!(task.critical_path(), Some(Duration::from_millis(3000)));
    assert!(!program.fetches());
}

#[test]
fn errors_name_the_line_and_the_field() {
    let cases = [
        (
            format!("{DEV}[[steps]]\ndevice = \"lamp\"\nsend = \"switch-on\"\n"),
            "t.toml:4: `device`: unknown device `lamp`",
        ),
        (
            format!("{DEV}[[steps]]\ndevice = \"light\"\nsend = \"dance\"\n"),
            "t.toml:5: `send`: unknown message type `dance`",
        ),
        (
            format!("{DEV}[[steps]]\nsequence = []\n"),
            "t.toml:4: `sequence` is empty",
        ),
        (
            format!("{DEV}[[steps]]\ndevice = \"light\"\nsend = \"switch-on\"\ncolour = \"red\"\n"),
            "unknown field `colour`",
        ),
        (
            format!("{DEV}[[steps]]\nwait_ms = 5\nfetch = \"pokemon/1\"\n"),
            "t.toml:3: a step is one thing",
        ),
        (
            format!("{DEV}[[steps]]\nlabel = \"nothing\"\n"),
            "t.toml:3: a step needs one of",
        ),
        (
            format!("{DEV}[[steps]]\nfetch = \"berry/1\"\n"),
            "unknown resource `berry`",
        ),
        (format!("{DEV}[[steps]]\nfetch = \"pokemon/0\"\n"), "id 0"),
        (
            "[devices]\nlight = \"lava-lamp\"\n[[steps]]\nwait_ms = 1\n".into(),
            "t.toml:2: device `light`: unknown device kind",
        ),
        ("steps = [\n".into(), "t.toml:"),
        ("name = \"x\"\n".into(), "no `steps`"),
    ];
    for (text, expected) in cases {
        let err = parse_err(&text);
        assert!(err.contains(expected), "{expected:?} not in {err:?}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

/// Regression: the fuzz target found a message name with a newline in it
/// (`send = "c\nnect"`) making a two-line error. Kept: fuzz/regressions/.
#[test]
fn errors_stay_one_line_whatever_the_input_quotes() {
    let crash = include_str!("../../fuzz/regressions/multiline-message.toml");
    let err = parse_err(crash);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("c\\nnect"), "{err}");
    let err = parse_err(&format!(
        "{DEV}[[steps]]\ndevice = \"li\\nght\"\nsend = \"x\"\n"
    ));
    assert_eq!(err.lines().count(), 1, "{err}");
    let err = parse_err("[devices]\n\"a\\nb\" = \"lava\"\n[[steps]]\nwait_ms = 1\n");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn absurd_nesting_is_rejected() {
    let nest = |depth: usize| {
        let deep = (0..depth).fold("{ wait_ms = 1 }".to_owned(), |inner, _| {
            format!("{{ sequence = [{inner}] }}")
        });
        parse_err(&format!("steps = [{deep}]\n"))
    };
    let err = nest(20);
    assert!(err.contains("nest more than 16 deep"), "{err}");
    // Far deeper, the TOML parser's own recursion limit answers first: still one line,
    // never a stack overflow.
    let err = nest(1000);
    assert!(err.starts_with("t.toml:1:"), "{err}");
}

/// About the deepest nesting `toml` lets through: `headers` levels of `[[steps.sequence…]]`
/// tables, then `inline` levels of `{ sequence = [ … ] }` in the last one.
fn nested(headers: usize, inline: usize) -> String {
    let mut text = String::from("name = \"deep\"\n");
    for level in 0..headers {
        text += &format!("[[steps{}]]\n", ".sequence".repeat(level));
    }
    text += &format!(
        "sequence = [ {}{{ wait_ms = 1 }}{} ]\n",
        "{ sequence = [ ".repeat(inline),
        " ] }".repeat(inline)
    );
    text
}

#[test]
fn the_deepest_nesting_is_refused_whatever_the_callers_stack() {
    // 128 KiB: what `ulimit -s 128` leaves a main thread. Parsing 120 levels on it took
    // megabytes and aborted the process; the parser's own thread has a stack it knows.
    let small = std::thread::Builder::new().stack_size(128 * 1024);
    let errors = small
        .spawn(|| {
            [nested(78, 38), nested(1, 38), nested(79, 0)]
                .iter()
                .map(|text| Program::parse(text, "t.toml").unwrap_err().to_string())
                .collect::<Vec<_>>()
        })
        .unwrap()
        .join()
        .expect("no overflow");
    for err in errors {
        assert!(
            err.starts_with("t.toml:") && !err.contains('\n'),
            "one line naming the file: {err}"
        );
        assert!(
            err.contains(&format!("more than {MAX_DEPTH} deep")) || err.contains("recurs"),
            "refused for its depth: {err}"
        );
    }
}

#[test]
fn a_program_within_the_depth_parses_on_a_small_stack_too() {
    let text = nested(1, MAX_DEPTH - 2);
    let small = std::thread::Builder::new().stack_size(128 * 1024);
    let program = small
        .spawn(move || Program::parse(&text, "t.toml").map(|p| p.name().to_owned()))
        .unwrap()
        .join()
        .expect("no overflow");
    assert_eq!(program.unwrap(), "deep");
}
