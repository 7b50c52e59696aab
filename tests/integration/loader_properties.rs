//! The loader and resolver never panic, whatever the input: random edits of real config files
//! and arbitrary text either resolve or give diagnostics that say where and what.

use std::path::Path;

use proptest::prelude::*;

use crate::harness::{copy_dir, repo};

fn check(dir: &Path) {
    match exo_deploy::config::load(dir) {
        Err(errors) => assert_diagnostics(&errors),
        Ok(raw) => match exo_deploy::model::resolve(&raw, Some("production")) {
            Ok(app) => assert!(!app.name.is_empty()),
            Err(errors) => assert_diagnostics(&errors),
        },
    }
}

fn assert_diagnostics(errors: &exo_deploy::config::ConfigErrors) {
    assert!(
        !errors.diagnostics.is_empty(),
        "an error without a diagnostic"
    );
    for d in &errors.diagnostics {
        assert!(!d.message.is_empty(), "a diagnostic without a message");
        assert!(
            !d.location().is_empty(),
            "a diagnostic that points nowhere: {}",
            d.message
        );
        // rendering the report must not panic either (spans inside the text)
        let _ = format!("{:?}", miette::Report::new(d.clone()));
    }
}

/// Characters that matter to YAML, plus some that matter to us.
fn yamlish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just(":".to_string()),
            Just("-".to_string()),
            Just("\n".to_string()),
            Just("  ".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("\"".to_string()),
            Just("'".to_string()),
            Just("#".to_string()),
            Just("&a".to_string()),
            Just("*a".to_string()),
            Just("!!str".to_string()),
            Just("|".to_string()),
            Just(">".to_string()),
            Just("${x}".to_string()),
            Just("é".to_string()),
            Just("70000".to_string()),
            Just("type".to_string()),
            Just("public".to_string()),
            Just("location".to_string()),
            "[a-z0-9./]{1,6}",
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

fn edit(text: &str, at: usize, delete: usize, insert: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = at % (chars.len() + 1);
    let end = (at + delete).min(chars.len());
    chars[..at].iter().collect::<String>() + insert + &chars[end..].iter().collect::<String>()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn edited_real_configs_never_panic(
        fixture in prop_oneof![Just("spacetweet"), Just("spacetweet-exosphere"), Just("https-autoscaling")],
        file in prop_oneof![Just("application.yml"), Just("web-server/service.yml"), Just("api/service.yml")],
        at in 0usize..2000, delete in 0usize..40, insert in yamlish(),
    ) {
        let tmp = tempfile::TempDir::new().expect("temp dir");
        copy_dir(&repo().join("fixtures").join(fixture), tmp.path());
        let path = tmp.path().join(file);
        if let Ok(text) = std::fs::read_to_string(&path) {
            std::fs::write(&path, edit(&text, at, delete, &insert)).expect("write");
        }
        check(tmp.path());
    }

    #[test]
    fn arbitrary_application_yml_never_panics(text in "\\PC{0,200}", yaml in yamlish()) {
        let tmp = tempfile::TempDir::new().expect("temp dir");
        std::fs::write(tmp.path().join("application.yml"), format!("{yaml}{text}")).expect("write");
        check(tmp.path());
    }
}
