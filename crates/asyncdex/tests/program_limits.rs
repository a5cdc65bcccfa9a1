//! A program file is input from anyone: its size, its steps, its numbers are bounded
//! before they cost anything, and each refusal is one line naming the file, the line and
//! the field.

use std::time::Duration;

use asyncdex::program::{Program, MAX_FILE_BYTES, MAX_STEPS, MAX_WAIT_MS};

fn parse_err(text: &str) -> String {
    let err = Program::parse(text, "p.toml").unwrap_err().to_string();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn a_wait_longer_than_an_hour_is_refused_at_its_line() {
    let err = parse_err("name = \"x\"\n[[steps]]\nwait_ms = 1000000000000\n");
    assert!(err.starts_with("p.toml:3: `wait_ms`"), "{err}");
    assert!(err.contains(&MAX_WAIT_MS.to_string()), "{err}");
    let ok = format!("[[steps]]\nwait_ms = {MAX_WAIT_MS}\n");
    let program = Program::parse(&ok, "p.toml").unwrap();
    let task = program.task(&program.devices(), None).unwrap();
    assert_eq!(task.critical_path(), Some(Duration::from_secs(3600)));
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_parsing() {
    let mut text = String::from("[[steps]]\nwait_ms = 1\n");
    text.push_str(&"#".repeat(MAX_FILE_BYTES));
    let err = parse_err(&text);
    assert!(err.starts_with("p.toml: "), "{err}");
    assert!(err.contains("too large"), "{err}");
}

#[test]
fn too_many_steps_are_counted_in_the_text_and_refused_at_the_first_too_many() {
    let step = "{ wait_ms = 1 },";
    let text = format!("steps = [\n{}\n]\n", step.repeat(MAX_STEPS + 1));
    assert!(text.len() < MAX_FILE_BYTES);
    let err = parse_err(&text);
    assert!(err.starts_with("p.toml:2: more than 10000 steps"), "{err}");
    let text = format!("steps = [\n{}\n]\n", step.repeat(MAX_STEPS));
    assert!(Program::parse(&text, "p.toml").is_ok());
}

#[test]
fn an_unknown_device_in_a_program_without_devices_says_so() {
    let err = parse_err("[[steps]]\ndevice = \"lamp\"\nsend = \"switch-on\"\n");
    assert!(
        err.starts_with("p.toml:2: `device`: unknown device `lamp`"),
        "{err}"
    );
    assert!(err.contains("declares no devices"), "{err}");
    assert!(!err.contains("has )"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_program_reports_every_step() {
    let text = "[[steps]]\nlabel = \"short\"\nwait_ms = 10\n[[steps]]\nlabel = \"long\"\nwait_ms = 3600000\n[[steps]]\nlabel = \"after\"\nwait_ms = 10\n";
    let program = Program::parse(text, "p.toml").unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let task = program
        .task_until(&program.devices(), None, &cancel)
        .unwrap();
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.cancel();
    });
    let report = task.run().await;
    assert!(
        report.duration() < Duration::from_secs(1),
        "{:?}",
        report.duration()
    );
    let kinds: Vec<Option<asyncdex::ErrorKind>> = report
        .children
        .iter()
        .map(|c| c.result.as_ref().err().map(|e| e.kind()))
        .collect();
    use asyncdex::ErrorKind::Cancelled;
    assert_eq!(kinds, [None, Some(Cancelled), Some(Cancelled)]);
}
