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
