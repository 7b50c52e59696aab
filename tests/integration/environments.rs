//! Environments that start from others (`extends`), per-environment service overrides in both
//! formats, and `exo-deploy config [--show-origin]` saying what each value is and where it
//! was written.

use crate::harness::{Test, unwrapped};

/// `exo-deploy -e ENV config --show-origin` on `test`: `key=value` by origin.
fn origins(test: Test, env: &str) -> String {
    let out = test.args(["-e", env, "config", "--show-origin"]).run();
    out.code(0);
    out.stdout.clone()
}

#[test]
fn an_environment_extends_another_and_every_value_says_where_it_was_written() {
    // qa extends staging extends production; the api's service.yml overrides production per
    // environment, and qa inherits staging's override
    let shown = origins(Test::new().app("environments"), "qa");
    for line in [
        "application.yml:14:17  region=us-east-1",
        "application.yml:32:13  domain=qa.ledger.example.com",
        "application.yml:25:23  nat-gateways=single",
        "application.yml:24:49  public-cluster-instances.max=3",
        "application.yml:29:18  environment-variables.LOG_LEVEL=debug",
        "api/service.yml:26:10  services.api.url=qa.ledger.example.com",
        "api/service.yml:21:20  services.api.desired-count=1",
        "api/service.yml:23:12  services.api.cpu=256",
        "api/service.yml:13:18  services.api.port=8080",
    ] {
        assert!(shown.contains(line), "missing {line:?} in\n{shown}");
    }
    // a key no environment of the chain writes is at its default, and not listed
    assert!(!shown.contains("vpc-cidr"), "{shown}");
    // production has none of staging's values
    let production = origins(Test::new().app("environments"), "production");
    assert!(
        production.contains("public-cluster-instances.max=6"),
        "{production}"
    );
    assert!(
        production.contains("services.api.desired-count=3"),
        "{production}"
    );
    assert!(
        production.contains("environment-variables.LOG_LEVEL=warn"),
        "{production}"
    );
    assert!(!production.contains("nat-gateways"), "{production}");

    // the resolved configuration, defaults included, is YAML on stdout
    let out = Test::new()
        .app("environments")
        .args(["-e", "qa", "config"])
        .run();
    out.code(0);
    for line in [
        "nat_gateways: single",
        "flow_logs: false",
        "vpc_cidr: 10.0.0.0/16",
        "desired_count: 1",
        "url: qa.ledger.example.com",
    ] {
        assert!(
            out.stdout.contains(line),
            "missing {line:?} in\n{}",
            out.stdout
        );
    }
}

#[test]
fn the_exosphere_format_overrides_any_service_setting_per_environment() {
    let test = Test::new()
        .app("spacetweet-exosphere")
        .edit("web-server/service.yml", |t| {
            t.replace(
                "    staging:\n      url: staging.spacetweet.io\n",
                "    staging:\n      url: staging.spacetweet.io\n      desired-count: 2\n      cpu: 512\n",
            )
        });
    let shown = origins(test, "staging");
    assert!(shown.contains("services.web.desired-count=2"), "{shown}");
    assert!(shown.contains("services.web.cpu=512"), "{shown}");
}

#[test]
fn an_unknown_environment_to_extend_and_a_circle_of_extends_are_config_errors() {
    let out = Test::new()
        .app("environments")
        .edit("application.yml", |t| {
            t.replace("extends: production", "extends: prod")
        })
        .args(["-e", "staging", "--dry-run"])
        .run();
    out.code(2);
    let text = unwrapped(&out.stderr);
    assert!(
        text.contains(
            "environment `staging` extends `prod`, which is not an environment of the app"
        ),
        "{text}"
    );
    assert!(text.contains("did you mean `production`?"), "{text}");

    let out = Test::new()
        .app("environments")
        .edit("application.yml", |t| {
            t.replace("extends: production", "extends: qa")
        })
        .args(["-e", "qa", "--dry-run"])
        .run();
    out.code(2);
    let text = unwrapped(&out.stderr);
    assert!(
        text.contains("environments extend each other in a circle: qa → staging → qa"),
        "{text}"
    );
    // a service.yml naming an environment the app does not have
    let out = Test::new()
        .app("environments")
        .edit("api/service.yml", |t| t.replace("  qa:\n", "  qaa:\n"))
        .args(["-e", "qa", "--dry-run"])
        .run();
    out.code(2);
    assert!(unwrapped(&out.stderr).contains("qaa"), "{}", out.stderr);
}

#[test]
fn a_more_specific_environment_may_turn_a_variable_into_a_secret() {
    let test = Test::new()
        .app("environments")
        .edit("application.yml", |t| {
            t.replace(
                "    environment-variables:\n      LOG_LEVEL: debug\n",
                "    secrets:\n      LOG_LEVEL: ssm:/ledger/staging/log-level\n",
            )
        });
    let shown = origins(test, "staging");
    assert!(
        shown.contains("secrets.LOG_LEVEL=ssm:/ledger/staging/log-level"),
        "{shown}"
    );
    assert!(
        !shown.contains("environment-variables.LOG_LEVEL"),
        "{shown}"
    );
}
