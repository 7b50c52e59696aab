//! What users see for broken apps: every problem of a run at once, each at its file, line and
//! column with a fix. Snapshotted so a change in wording is reviewed.

use crate::harness::{Test, unwrapped};

fn errors_of(fixture: &str) -> String {
    let out = Test::new().app(fixture).args(["--dry-run"]).run();
    out.code(2);
    assert!(
        !out.app.join(".exo-deploy").exists(),
        "nothing is written for an invalid app"
    );
    out.stderr
}

/// The report with each message's wrapped lines joined again, to look for whole sentences.

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
        "the app's configuration has 21 errors",
        // what Exosphere accepted is accepted, with a note: a free-text name in the original
        // format, a variable Exosphere set too, a cpu below a task's least
        "`ROLE` is set by exo-deploy: this value is not used",
        "application.yml:1:7",
        "the app `Space_Tweet` is `space-tweet` in the names of what exo-deploy creates",
        "the container of `admin` gets 64 CPU units, its task 128",
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
        "invalid outbound rule `tcp 70000`",
        "`10.0.0.0` is not a CIDR block",
        "invalid outbound rule `udp`",
        "unknown container-insights `on-demand`",
        "ENI trunking is on, and no cluster's instance type can use it",
        "invalid registry host `ghcr.io/acme`",
        "ECR images are pulled with the service's execution role: remove this entry",
        "invalid pull credentials secret `hunter2 is not a secret`",
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
    let sentences = unwrapped(&stderr);
    assert!(
        sentences.contains("the app has no deployment settings (no `remote`)")
            && stderr.contains("        remote:\n          environments:\n            production:\n              region: us-east-1\n"),
        "the smallest block to add, in the app's own format: {stderr}"
    );
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

#[test]
fn services_that_cannot_fit_their_cluster_while_deploying_are_config_errors_with_the_numbers() {
    let stderr = errors_of("invalid/capacity");
    let sentences = unwrapped(&stderr);
    for expected in [
        // jobs 2, reports 1 and ExoCom, plus the 2 new tasks while jobs deploys, on 2 instances
        // with 2 task interfaces each
        "they need 6 tasks at once (jobs 2, reports 1, exocom 1, plus 2 while `jobs` deploys), and 2 × t3.small have network interfaces for 4",
        "raise `private-cluster-instances` max to 5",
        "a t3.xlarge holds 3 tasks",
        "`web` asks for 1024 MiB, and ECS gives tasks 384 MiB of a t3.nano",
        "`reports` asks for 4096 CPU units, and a t3.small has 2048",
        "reports/service.yml:3:8",
    ] {
        assert!(
            sentences.contains(expected),
            "missing {expected:?} in\n{stderr}"
        );
    }
    insta::assert_snapshot!(stderr);
}

#[test]
fn a_cluster_that_exactly_fits_its_services_while_deploying_passes() {
    // 2 × t3.xlarge hold 2 × 3 tasks: jobs 2, reports 1 and ExoCom, and the 2 new tasks of the
    // largest deployment (jobs) make 6; every deployment at once would make 7, which ECS starts
    // in rounds: a warning, not a refusal
    let fits = |max: u32| {
        Test::new()
            .app("invalid/capacity")
            .edit("application.yml", |t| {
                t.replace("size: t3.small", "size: t3.xlarge")
                    .replace("{min: 1, max: 2}", &format!("{{min: 1, max: {max}}}"))
                    .replace(
                        "public-cluster-size: t3.nano",
                        "public-cluster-size: t3.small",
                    )
            })
            .edit("web/service.yml", |t| {
                t.replace("memory: 1024", "memory: 960")
            })
            .edit("reports/service.yml", |t| {
                t.replace("cpu: 4096", "cpu: 2048")
            })
            .args(["--dry-run"])
            .run()
    };
    let exact = fits(2);
    exact.code(0);
    assert!(
        unwrapped(&exact.stderr).contains("the private cluster cannot start every service's new tasks at once: they need 7 tasks, 5376 CPU units and 3584 MiB when every service deploys at once, and 2 × t3.xlarge have room for 6, 8192 and 30802;"),
        "{}",
        exact.stderr
    );
    assert!(
        unwrapped(&exact.stderr).contains("ECS starts them in about 2 rounds when a deploy changes them all, and a deploy waits up to 2 × --rollout-timeout"),
        "{}",
        exact.stderr
    );
    let roomy = fits(3);
    roomy.code(0);
    assert!(
        !roomy.stderr.contains("cannot start every service"),
        "{}",
        roomy.stderr
    );
    let out = fits(1);
    out.code(2);
    assert!(
        unwrapped(&out.stderr).contains(
            "they need 6 tasks at once (jobs 2, reports 1, exocom 1, plus 2 while `jobs` deploys)"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_load_balancer_needs_its_certificate_in_its_region_and_subnets_of_at_least_a_27() {
    let stderr = errors_of("invalid/network");
    let sentences = unwrapped(&stderr);
    for expected in [
        "the certificate is in eu-west-1, and the load balancer in us-east-1",
        "request or import one in us-east-1",
        "a /24 VPC gives /28 subnets, and the load balancer needs at least /27",
        "application.yml:8:17",
    ] {
        assert!(
            sentences.contains(expected),
            "missing {expected:?} in\n{stderr}"
        );
    }
    insta::assert_snapshot!(stderr);
}

#[test]
fn an_image_name_beside_a_folder_to_build_may_not_name_a_tag() {
    let out = Test::new()
        .app("spacetweet")
        .edit("application.yml", |t| {
            t.replace(
                "      location: ./users-service\n",
                "      location: ./users-service\n      docker_image: spacetweet/users:1.4\n",
            )
        })
        .args(["--dry-run"])
        .run();
    out.code(2);
    let sentences = unwrapped(&out.stderr);
    for expected in [
        "`spacetweet/users:1.4` names a tag, and exo-deploy chooses the tags of the images it builds",
        "write it without the tag, like `spacetweet/users`",
        "application.yml:",
    ] {
        assert!(
            sentences.contains(expected),
            "missing {expected:?} in\n{}",
            out.stderr
        );
    }
}

#[test]
fn every_check_of_a_service_runs_when_its_image_cannot_be_built() {
    // a missing Dockerfile used to hide every other problem of the service
    let test = Test::new().app("minimal").edit("web/service.yml", |t| {
        t.replace("port: 8080", "port: 70000")
    });
    std::fs::remove_file(test.path().join("app/web/Dockerfile")).expect("remove the Dockerfile");
    let out = test.args(["--dry-run"]).run();
    out.code(2)
        .stderr_contains("service `web` has no Dockerfile in `./web`")
        .stderr_contains("port 70000 is out of range")
        .stderr_contains("has 2 errors");
}

#[test]
fn a_dependency_exo_deploy_cannot_deploy_or_a_database_without_its_engine_is_a_config_error() {
    let out = Test::new()
        .app("bookshop")
        .edit("application.yml", |t| t.replace("type: rds", "type: redis"))
        .args(["-e", "staging", "--dry-run"])
        .run();
    out.code(2);
    let text = unwrapped(&out.stderr);
    assert!(
        text.contains("unsupported dependency type `redis` of `postgres`"),
        "{text}"
    );
    assert!(
        text.contains("exo-deploy deploys `exocom` (the message bus) and `rds` (a database)"),
        "{text}"
    );
    let out = Test::new()
        .app("bookshop")
        .edit("application.yml", |t| {
            t.replace("        engine: postgres\n", "")
                .replace("db-name: books", "db-name: 9books")
        })
        .args(["-e", "staging", "--dry-run"])
        .run();
    out.code(2);
    let text = unwrapped(&out.stderr);
    assert!(
        text.contains("the database `postgres` has no `engine`"),
        "{text}"
    );
    assert!(
        text.contains("invalid database name (`db-name`) `9books`"),
        "{text}"
    );
}

#[test]
fn release_settings_are_checked_where_they_are_written_and_webhook_paths_never_shown() {
    let out = Test::new()
        .app("minimal")
        .edit("application.yml", |t| {
            t.replace(
                "      region: us-east-1\n",
                "      region: us-east-1\n      keep-releases: 0\n      role-arn: arn:aws:iam::123:role/x\n      notify:\n        - url: ftp://hooks.example.com/x\n        - url: https://hooks.example.com/T000/B000/secretpath\n          secret: not-a-reference\n",
            )
        })
        .args(["--dry-run"])
        .run();
    out.code(2);
    let text = unwrapped(&out.stderr);
    for expected in [
        "keep-releases 0 is out of range",
        "use a value from 1 to 1000",
        "an IAM role ARN looks like `arn:aws:iam::123456789012:role/deploy`",
        "a webhook url looks like `https://hooks.example.com/deploys`",
        "application.yml:7:22",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    // a valid one: config and its origins show the webhook by its host only
    let good = |args: &[&str]| {
        Test::new()
            .app("minimal")
            .edit("application.yml", |t| {
                t.replace(
                    "      region: us-east-1\n",
                    "      region: us-east-1\n      notify:\n        - url: https://hooks.example.com/T000/B000/secretpath\n          secret: ssm:/hello/webhook\n",
                )
            })
            .args(args)
            .run()
    };
    for args in [
        &["config"][..],
        &["config", "--show-origin"][..],
        &["--dry-run"][..],
    ] {
        let out = good(args);
        out.code(0);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            all.contains("https://hooks.example.com/…") || args == ["--dry-run"],
            "{all}"
        );
        assert!(!all.contains("secretpath"), "{args:?}: {all}");
    }
    good(&["--dry-run"]).stderr_contains("post the release to 1 webhook");

    // a url that is itself a secret is written as a reference, read only when sending; a
    // reference that is not one is an error at it
    let referenced = |url: &str| {
        Test::new()
            .app("minimal")
            .edit("application.yml", |t| {
                t.replace(
                    "      region: us-east-1\n",
                    &format!("      region: us-east-1\n      notify:\n        - url: {url}\n"),
                )
            })
            .args(["config"])
            .run()
    };
    let good = referenced("secretsmanager:deploy-webhook-url");
    good.code(0);
    assert!(
        good.stdout.contains("deploy-webhook-url"),
        "{}",
        good.stdout
    );
    // exo-deploy reads it itself: a whole secret, not one key of a JSON secret
    // (quoted: YAML reads a plain value ending in `:` as a key)
    let keyed = referenced(
        "'arn:aws:secretsmanager:us-east-1:123456789012:secret:hooks-AbCdEf:slack-url::'",
    );
    keyed.code(2);
    assert!(
        unwrapped(&keyed.stderr)
            .contains("can only read a whole secret, not one key of a JSON secret"),
        "{}",
        keyed.stderr
    );
    let bad = referenced("ssm:no-leading-slash");
    bad.code(2);
    let text = unwrapped(&bad.stderr);
    assert!(
        text.contains("a secret must be a reference to where its value is stored")
            && text.contains("application.yml:8:16"),
        "{text}"
    );
}

#[test]
fn an_unreadable_application_yml_does_not_hide_the_problems_of_the_service_files() {
    // application.yml cannot be read as written (a misspelt key), and neither can a
    // service.yml: both are reported in one run
    let out = Test::new()
        .app("minimal")
        .edit("application.yml", |t| {
            t.replace("name: hello", "name: hello\nversoin: 1")
        })
        .edit("web/service.yml", |t| format!("{t}\nhealthcheck: /\n"))
        .args(["--dry-run"])
        .run();
    out.code(2)
        .stderr_contains("unknown key `versoin`")
        .stderr_contains("did you mean `version`?")
        .stderr_contains("unknown key `healthcheck`")
        .stderr_contains("the app's configuration has 2 errors");
}

#[test]
fn a_namespace_exocom_no_longer_reads_is_a_warning_not_silence() {
    // the original format's `namespace` went to the LiveScript ExoCom; the Go ExoCom (0.23+)
    // has none: the config passes, and says the namespace does nothing
    let out = Test::new()
        .app("spacetweet")
        .edit("application.yml", |t| {
            t.replace(
                "    users:\n      location: ./users-service\n",
                "    users:\n      location: ./users-service\n      namespace: mongo-user\n",
            )
        })
        .args(["--dry-run"])
        .run();
    out.code(0);
    let text = unwrapped(&out.stderr);
    assert!(
        text.contains("ExoCom 0.27.0 has no namespaces: `users` sends and receives its messages by the names it uses"),
        "{text}"
    );
    assert!(text.contains("application.yml:26:18"), "{}", out.stderr);
    assert!(text.contains("give it a `message-translation`"), "{text}");
}

#[test]
fn an_instance_type_newer_than_the_table_is_left_to_ec2_with_a_note() {
    // a family the table lacks may be one AWS launched after exo-deploy: a note, and the
    // deploy's preflight asks EC2; a size its known family lacks is an error
    let out = Test::new()
        .app("spacetweet")
        .edit("application.yml", |t| {
            t.replace(
                "private-cluster-size: t3.medium",
                "private-cluster-size: z9g.large",
            )
        })
        .args(["--dry-run"])
        .run();
    out.code(0);
    let text = unwrapped(&out.stderr);
    assert!(
        text.contains("the instance type `z9g.large` is not in exo-deploy's table: the deploy's preflight asks EC2 for it"),
        "{text}"
    );
    let out = Test::new()
        .app("spacetweet")
        .edit("application.yml", |t| {
            t.replace(
                "private-cluster-size: t3.medium",
                "private-cluster-size: t3.huge",
            )
        })
        .args(["--dry-run"])
        .run();
    out.code(2);
    let text = unwrapped(&out.stderr);
    assert!(
        text.contains("there is no instance type `t3.huge`"),
        "{text}"
    );
    assert!(
        text.contains("its family comes in t3.nano, t3.micro"),
        "{text}"
    );
}

#[test]
fn a_service_of_no_cpu_is_refused_at_its_value() {
    let out = Test::new()
        .app("spacetweet")
        .edit("users-service/service.yml", |t| {
            t.replacen("cpu: 128", "cpu: 0", 1)
        })
        .args(["--dry-run"])
        .run();
    out.code(2);
    let text = unwrapped(&out.stderr);
    assert!(
        text.contains("users-service/service.yml:22:"),
        "{}",
        out.stderr
    );
    assert!(text.contains("cpu 0 is out of range"), "{text}");
    assert!(text.contains("use a value from 1 to 16384"), "{text}");
}
