//! The URL checks, each refusal by name and never showing the password.

use super::*;

fn refused(url: &str) -> String {
    let e = parse(url).expect_err(url);
    let line = e.to_string();
    assert!(!line.contains("hunter2"), "the password is shown: {line}");
    assert!(!line.contains('\n'), "{line}");
    line
}

#[test]
fn bad_percent_encoding_is_refused_naming_the_part_never_the_password() {
    for (url, part) in [
        ("postgres://u:hunter2%zz@h/db", "its password holds a %"),
        (
            "postgres://u:hunter2@h/db%",
            "its database name ends with a lone %",
        ),
        ("postgres://u%4@h/db", "its user name holds"),
        ("postgres://u:hunter2@h%/db", "its host holds"),
        (
            "postgres://u:hunter2@h/db?application_name=%g1",
            "its query holds",
        ),
        ("postgres://u:%zzhunter2@h/db", "its password"),
    ] {
        let line = refused(url);
        assert!(line.contains(part), "{url}: {line}");
    }
    assert!(
        parse("postgres://u:a%25b@h/db").is_ok(),
        "%25 is a literal %"
    );
}

#[test]
fn several_hosts_are_refused_by_name() {
    for url in [
        "postgres://u:hunter2@a,b/db",
        "postgres://u:hunter2@a:1,b:2/db",
        "postgres://u:hunter2@a/db?host=c,d",
    ] {
        let line = refused(url);
        assert!(line.contains("asyncdex works against one server"), "{line}");
    }
    let line = refused("postgres://u:hunter2@a,b/db");
    assert!(line.contains("2 hosts (a, b)"), "{line}");
}

#[test]
fn a_password_in_the_query_is_never_shown() {
    let s = shown("postgres://u:hunter2@h/db?password=hunter2&sslmode=require");
    assert_eq!(s, "postgres://u@h/db?sslmode=require");
    let line = refused("postgres://u@h/db?password=hunter2&sslmode=require");
    assert!(line.contains("requires TLS"), "{line}");
}

#[test]
fn connect_timeout_is_whole_seconds_from_1_to_300_or_refused_by_name() {
    for (value, forever) in [
        ("0", true),
        ("-1", true),
        ("301", false),
        ("99999999999", false),
        ("abc", false),
        ("1.5", false),
        ("", false),
    ] {
        let line = refused(&format!(
            "postgres://u:hunter2@h/db?connect_timeout={value}"
        ));
        assert!(
            line.contains(&format!(
                "its connect_timeout is {value:?}: give whole seconds from 1 to 300"
            )),
            "{line}"
        );
        assert_eq!(line.contains("wait forever"), forever, "{line}");
    }
    // Every occurrence is checked (tokio-postgres takes the last one).
    refused("postgres://u@h/db?connect_timeout=5&connect_timeout=0");
    for (query, seconds) in [
        ("", 10),
        ("?connect_timeout=1", 1),
        ("?connect_%74imeout=%33", 3),
    ] {
        let config = parse(&format!("postgres://u@h/db{query}")).unwrap();
        assert_eq!(
            config.get_connect_timeout(),
            Some(&Duration::from_secs(seconds)),
            "{query}"
        );
    }
    assert!(parse("postgres://u@h/db?connect_timeout=300").is_ok());
}

#[test]
fn tcp_user_timeout_is_whole_seconds_from_1_to_300_or_refused_by_name() {
    for (value, hint) in [
        ("0", "leave it out"),
        ("-5", "leave it out"),
        ("301", "libpq reads milliseconds"),
        ("10000", "libpq reads milliseconds"),
        ("99999999999999999999999", "libpq reads milliseconds"),
        ("abc", ""),
        ("2.5", ""),
        ("", ""),
    ] {
        let line = refused(&format!(
            "postgres://u:hunter2@h/db?tcp_user_timeout={value}"
        ));
        assert!(
            line.contains(&format!(
                "its tcp_user_timeout is {value:?}: give whole seconds from 1 to 300{}",
                if hint.is_empty() { "" } else { " (" }
            )) && line.contains(hint),
            "{line}"
        );
    }
    refused("postgres://u@h/db?tcp_user_timeout=5&tcp_%75ser_timeout=0");
    for (query, seconds) in [
        ("", None),
        ("?tcp_user_timeout=1", Some(1)),
        ("?tcp_user_timeout=300", Some(300)),
    ] {
        let config = parse(&format!("postgres://u@h/db{query}")).unwrap();
        assert_eq!(
            config.get_tcp_user_timeout(),
            seconds.map(Duration::from_secs).as_ref(),
            "{query}"
        );
    }
}

#[test]
fn an_ipv6_host_is_shown_in_brackets() {
    let config = parse("postgres://u:hunter2@[::1]:1/db").unwrap();
    assert_eq!(redact(&config), "postgres://u@[::1]:1/db");
    let config = parse("postgres://u:hunter2@[fe80::1]/db").unwrap();
    assert_eq!(redact(&config), "postgres://u@[fe80::1]:5432/db");
    assert_eq!(
        shown("postgres://u:hunter2@[::1]:1/db"),
        "postgres://u@[::1]:1/db"
    );
    let line = refused("postgres://u:hunter2@[::1]:1,[::2]:2/db");
    assert!(line.contains("2 hosts ([::1], [::2])"), "{line}");
}

#[test]
fn a_url_without_a_password_takes_pgpassword() {
    let env = || Some("from-the-env".into());
    let without = parse_with("postgres://u@h/db", env()).unwrap();
    let with = parse_with("postgres://u:given@h/db", env()).unwrap();
    assert_eq!(without.get_password(), Some(&b"from-the-env"[..]));
    assert_eq!(with.get_password(), Some(&b"given"[..]), "the URL's wins");
    assert_eq!(without.get_ssl_mode(), SslMode::Disable);
}
