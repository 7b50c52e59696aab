//! What users see for broken apps: every problem of a run at once, each at its file, line and
//! column with a fix. Snapshotted so a change in wording is reviewed.

use crate::harness::Test;

fn errors_of(fixture: &str) -> String {
    let out = Test::new().app(fixture).args(["--dry-run"]).run();
    out.code(2);
    assert!(
        !out.app.join(".exo-deploy").exists(),
        "nothing is written for an invalid app"
    );
    out.stderr
}

#[test]
fn misspelt_keys_in_several_files_are_reported_together_with_suggestions() {
    let stderr = errors_of("invalid/typos");
    assert!(stderr.contains("did you mean `production`?"));
    assert!(stderr.contains("did you mean `receives`?"));
    insta::assert_snapshot!(stderr);
}

#[test]
fn semantic_errors_point_at_the_value_and_say_how_to_fix_it() {
    let stderr = errors_of("invalid/semantics");
    for expected in [
        "the app's configuration has 16 errors",
        "`ROLE` is set by exo-deploy",
        "application.yml:1:7",
        "invalid app name `Space_Tweet`",
        "unsupported bus `rabbitmq`",
        "environment `production` has no region",
        "did you mean `per-az`?",
        "CloudWatch cannot keep logs for 100 days",
        "invalid account id `12345`",
        "port 70000 is out of range",
        "invalid health check `health`",
        "the url `www.spacetweet.io` is already used by service `web`",
        "public service `admin` has no port",
        "worker service `mailer` has a url",
        "autoscaling min 5 is above max 2",
        "a secret must be a reference to where its value is stored, not a value",
        "the folder `./documentation` of service `docs` does not exist",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in\n{stderr}"
        );
    }
    insta::assert_snapshot!(stderr);
}

#[test]
fn exosphere_format_errors_name_types_roles_and_environments() {
    let stderr = errors_of("invalid/exosphere-format");
    assert!(stderr.contains("did you mean `public`?"));
    assert!(stderr.contains("environment `prodution` is not defined in application.yml"));
    assert!(stderr.contains("invalid role `Users`"));
    assert!(stderr.contains("service `search` has no Dockerfile"));
    insta::assert_snapshot!(stderr);
}

#[test]
fn yaml_syntax_errors_show_the_line() {
    let stderr = errors_of("invalid/yaml-syntax");
    assert!(stderr.contains("application.yml:5:9"));
    insta::assert_snapshot!(stderr);
}

#[test]
fn an_app_in_neither_format_is_explained() {
    let stderr = errors_of("invalid/no-format");
    assert!(stderr.contains("found neither `environments`"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn two_public_services_whose_roles_meet_on_one_rule_priority_are_a_config_error() {
    // `svc214` and `svc467` hash to the same listener rule priority; a priority out of range
    // and one on a worker are refused too.
    let stderr = errors_of("invalid/priorities");
    for expected in [
        "public services `svc214` and `svc467` would share the load balancer rule priority 9202",
        "set `production.priority` in `svc467`'s service.yml",
        "listener rule priority 60000 is out of range",
        "worker service `jobs` has a priority",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in\n{stderr}"
        );
    }
    insta::assert_snapshot!(stderr);
}

#[test]
fn a_priority_in_the_config_settles_a_collision() {
    let test = Test::new().app("invalid/priorities");
    let dir = test.path().join("out");
    let out = test
        .edit("svc467/service.yml", |t| {
            t.replace("  url: two", "  priority: 9203\n  url: two")
        })
        .edit("admin/service.yml", |t| t.replace("60000", "50000"))
        .edit("jobs/service.yml", |t| {
            t.replace("production:\n  priority: 7\n", "")
        })
        .args(["render", "--out", dir.to_str().expect("utf-8")])
        .run();
    out.code(0);
    let main = std::fs::read_to_string(dir.join("main.tf")).expect("main.tf");
    for priority in [9202, 9203, 50000] {
        assert!(
            main.contains(&format!("listener_rule_priority = {priority}\n")),
            "priority {priority} missing in main.tf"
        );
    }
}
