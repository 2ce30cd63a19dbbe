use super::*;
use std::time::Duration;

fn errors_of(text: &str) -> Vec<ConfigError> {
    match Config::parse(text, "test.toml") {
        Ok(c) => panic!("expected errors, got {c:?}"),
        Err(e) => e.errors,
    }
}

#[test]
fn broker_only_config_listens_where_it_says() {
    let c = Config::parse("[broker]\nlisten = \"127.0.0.1:1884\"\n", "t").expect("valid");
    assert_eq!(c.broker.listen.to_string(), "127.0.0.1:1884");
    assert_eq!(c.broker.max_inflight, 20);
}

#[test]
fn empty_file_gives_secure_defaults() {
    let c = Config::parse("", "t").expect("valid");
    assert!(c.broker.listen.ip().is_loopback());
}

#[test]
fn every_error_is_reported_with_path_and_line() {
    let text = "[broker]\nlisten = \"localhost\"\nlisen = 1\nconnect_timeout = \"fast\"\nmax_inflight = 0\n\n[gateway]\nname = \"a/b\"\n\n[nonsense]\n";
    let errs = errors_of(text);
    let found: Vec<(String, usize)> = errs.iter().map(|e| (e.path.clone(), e.line)).collect();
    assert_eq!(
        found,
        vec![
            ("broker.listen".to_string(), 2),
            ("broker.lisen".to_string(), 3),
            ("broker.connect_timeout".to_string(), 4),
            ("broker.max_inflight".to_string(), 5),
            ("gateway.name".to_string(), 8),
            ("nonsense".to_string(), 10),
        ],
        "{errs:#?}"
    );
    assert!(errs[1].message.contains("expected one of: listen"));
    assert!(errs[2].message.contains("\"10s\""));
}

#[test]
fn wrong_types_name_what_was_expected() {
    let errs = errors_of("[broker]\nmax_inflight = \"many\"\nsys_interval = 5\n");
    assert_eq!(errs[0].message, "must be an integer, got string");
    assert_eq!(errs[1].message, "must be a string, got integer");
}

#[test]
fn syntax_errors_carry_a_line() {
    let errs = errors_of("[broker]\nlisten = \n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, 2, "{errs:?}");
}

#[test]
fn durations_are_human() {
    let c = Config::parse("[broker]\nconnect_timeout = \"1m 30s\"\n", "t").expect("valid");
    assert_eq!(c.broker.connect_timeout, Duration::from_secs(90));
}

#[test]
fn missing_file_names_the_path() {
    let e = Config::load(Path::new("/nonexistent/hearth.toml")).expect_err("must fail");
    let text = e.to_string();
    assert!(text.contains("/nonexistent/hearth.toml"), "{text}");
    assert!(text.contains("cannot read"), "{text}");
}

#[test]
fn every_shipped_example_is_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../config");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("config/ exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = Config::load(&path) {
                panic!("{e}");
            }
            seen += 1;
        }
    }
    assert!(seen > 0, "no example configs found in {dir}");
}
