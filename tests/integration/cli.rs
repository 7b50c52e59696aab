//! The command-line contract: flags, exit codes, environments, and `--json` for pipelines.

use crate::harness::Test;

#[test]
fn dry_run_prints_the_summary_and_plan_and_writes_the_directory() {
    let out = Test::new().app("spacetweet").args(["--dry-run"]).run();
    out.code(0)
        .stderr_contains(
            "space-tweet 0.1.0 (original exo-deploy format), environment `production` in us-west-2",
        )
        .stderr_contains("web       public   http://spacetweet.io → :3000")
        .stderr_contains("users     private  users.production.space-tweet.internal")
        .stderr_contains("notifier  worker   over ExoCom only")
        .stderr_contains("private cluster: t3.medium × 1–6")
        .stderr_contains("plan (dry run: only rendering, the post-render hook and a read-only look at the scale overrides in effect run):")
        .stderr_contains("build and push the image of `web` from [APP]/web-server")
        .stderr_contains(
            "ensure the state bucket 123456789012-space-tweet-production-terraform in us-west-2",
        )
        .stderr_contains("ensure the hosted zone of spacetweet.io")
        .stderr_contains("terraform apply the saved plan");
    assert!(out.stdout.is_empty(), "human output goes to stderr only");
    assert!(out.app.join(".exo-deploy/production/main.tf").is_file());
}

#[test]
fn teardown_and_nuke_dry_runs_show_their_plans() {
    Test::new()
        .app("spacetweet")
        .args(["--teardown", "--dry-run"])
        .run()
        .code(0)
        .stderr_contains("count the resources the Terraform state records")
        .stderr_contains(
            "terraform destroy the app's infrastructure, only when the state records resources",
        );
    let out = Test::new()
        .app("spacetweet")
        .args(["--nuke", "--dry-run"])
        .run();
    out.code(0)
        .stderr_contains("delete the hosted zone of spacetweet.io and its records")
        .stderr_contains("delete the state bucket 123456789012-space-tweet-production-terraform with every version");
    assert!(
        !out.stderr.contains("push the image"),
        "teardown never pushes"
    );
}

#[test]
fn several_environments_need_the_env_flag() {
    Test::new()
        .app("spacetweet-exosphere")
        .args(["--dry-run"])
        .run()
        .code(2)
        .stderr_contains("this app has 2 environments; say which one to use")
        .stderr_contains("pass `-e NAME` with one of `production`, `staging`");
}

#[test]
fn an_unknown_environment_gets_a_suggestion() {
    Test::new()
        .app("spacetweet-exosphere")
        .args(["--dry-run", "-e", "prod"])
        .run()
        .code(2)
        .stderr_contains("there is no environment `prod`")
        .stderr_contains("did you mean `production`?");
}

#[test]
fn the_staging_environment_uses_its_own_settings() {
    Test::new()
        .app("spacetweet-exosphere")
        .args(["--dry-run", "--env", "staging"])
        .run()
        .code(0)
        .stderr_contains("environment `staging` in us-east-1")
        .stderr_contains("http://staging.spacetweet.io");
}

#[test]
fn json_mode_prints_one_event_per_line_on_stdout() {
    let out = Test::new()
        .app("spacetweet")
        .args(["--dry-run", "--json"])
        .run();
    out.code(0);
    crate::events::check(&out);
    let events = out.events();
    // every step a dry run does not perform is reported skipped (`events::check` holds them
    // to the plan); the rest, in order:
    let events: Vec<serde_json::Value> = events
        .into_iter()
        .filter(|e| e["event"] != "step-skipped")
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().expect("event name"))
        .collect();
    // the fixture's services say `startup.command`, which the original exo-deploy ran: each is
    // a warning event at its place, before anything else
    assert_eq!(
        kinds,
        [
            "warning",
            "warning",
            "warning",
            "app",
            "plan",
            "step-started",
            "step-finished",
            "step-started",
            "rendered",
            "step-finished"
        ]
    );
    let warning = &events[0];
    assert_eq!(warning["kind"], "config");
    assert!(
        warning["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("`startup.command` is not the container's command")),
        "{warning}"
    );
    assert!(
        warning["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("service.yml"))
    );
    assert!(warning["line"].as_u64().is_some() && warning["help"].is_string());
    let events = &events[3..];
    assert_eq!(events[0]["app"], "space-tweet");
    assert_eq!(events[0]["services"].as_array().expect("services").len(), 4);
    assert_eq!(events[1]["dry_run"], true);
    assert_eq!(events[1]["steps"][0]["step"], "preflight");
    assert_eq!(events[1]["steps"][0]["checks"][0], "aws");
    assert_eq!(events[1]["steps"][1]["step"], "show-overrides");
    assert_eq!(events[1]["steps"][2]["step"], "use-image");
    assert_eq!(events[1]["steps"][2]["role"], "exocom");
    assert_eq!(events[1]["steps"][3]["step"], "push-image");
    assert_eq!(events[2]["step"], "show-overrides");
    assert_eq!(events[4]["step"], "render");
    assert_eq!(events[5]["files"], 30);
}

#[test]
fn json_mode_reports_each_config_error_with_its_position() {
    let out = Test::new()
        .app("invalid/typos")
        .args(["--dry-run", "--json"])
        .run();
    out.code(2);
    let events = out.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["event"], "error");
    assert_eq!(events[0]["file"], "web/service.yml");
    assert_eq!(events[0]["line"], 2);
    assert_eq!(events[0]["column"], 1);
    assert_eq!(events[0]["message"], "unknown key `prodution`");
    assert_eq!(events[0]["help"], "did you mean `production`?");
    assert_eq!(events[1]["file"], "users/service.yml");
}

#[test]
fn a_folder_without_application_yml_is_a_usage_error() {
    Test::new()
        .args(["--dry-run"])
        .run()
        .code(2)
        .stderr_contains("no application.yml here")
        .stderr_contains("pass it with `-C DIR`");
}

#[test]
fn bad_flags_exit_with_code_2() {
    Test::new()
        .app("minimal")
        .args(["--no-such-flag"])
        .run()
        .code(2);
    Test::new()
        .app("minimal")
        .args(["--teardown", "--nuke"])
        .run()
        .code(2);
    Test::new()
        .app("minimal")
        .args(["render", "--dry-run"])
        .run()
        .code(2);
}

#[test]
fn help_documents_the_exit_codes() {
    let out = Test::new().args(["--help"]).run();
    out.code(0);
    for line in [
        "0  success (for `plan`: with or without changes)",
        "1  failure",
        "2  bad usage or invalid configuration",
        "3  `plan --detailed-exitcode` only: the plan has changes",
    ] {
        assert!(
            out.stdout.contains(line),
            "{line:?} missing:\n{}",
            out.stdout
        );
    }
}

#[test]
fn preflight_reports_every_problem_together_before_changing_anything() {
    let out = Test::new()
        .app("spacetweet")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["--yes", "--endpoint-url", "http://127.0.0.1:9"])
        .run();
    out.code(1)
        .stderr_contains("problems (nothing was changed)")
        .stderr_contains("AWS: no AWS credentials were found")
        .stderr_contains(
            "Docker: cannot reach the Docker daemon at unix:///nonexistent/docker.sock",
        )
        // each problem keeps its own fix
        .stderr_contains("    help: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
        .stderr_contains("    help: start Docker, or point DOCKER_HOST at a running daemon");
    assert!(
        !out.app.join(".exo-deploy").exists(),
        "nothing was rendered or pushed"
    );
}

#[test]
fn the_dry_run_summary_reads_as_snapshotted() {
    // a step's duration depends on the machine
    let seconds = regex::Regex::new(r"\(\d+\.\d s\)").expect("regex");
    for fixture in ["spacetweet", "https-autoscaling"] {
        let out = Test::new().app(fixture).args(["--dry-run"]).run();
        out.code(0);
        let stderr = seconds.replace_all(&out.stderr, "([SECONDS] s)");
        insta::assert_snapshot!(format!("dry_run__{fixture}"), stderr);
    }
}

#[test]
fn a_dry_run_runs_the_post_render_hook_and_no_other() {
    let test = Test::new().app("minimal");
    let log = test.path().join("hooks.log");
    let script = "#!/bin/sh\necho \"$EXO_DEPLOY_HOOK dry=$EXO_DEPLOY_DRY_RUN $(ls main.tf)\" >> \"$HOOK_LOG\"\necho linted\n";
    let out = test
        .hook("post-render", script)
        .hook("pre-apply", script)
        .hook("post-apply", script)
        .hook("post-deploy", script)
        .env("HOOK_LOG", log.to_str().expect("utf-8"))
        .args(["--dry-run"])
        .run();
    out.code(0)
        .stderr_contains("run the post-render hook (.exo-deploy/hooks/post-render)")
        .stderr_contains("run the pre-apply hook")
        .stderr_contains("  [post-render] linted")
        .stderr_contains("✓ post-render hook");
    let ran = std::fs::read_to_string(&log).expect("the hook ran");
    assert_eq!(
        ran, "post-render dry=true main.tf\n",
        "only post-render runs in a dry run, in the rendered directory"
    );
}

#[test]
fn a_failing_post_render_hook_fails_the_dry_run_with_its_exit_code() {
    let out = Test::new()
        .app("minimal")
        .hook(
            "post-render",
            "#!/bin/sh\necho 'tflint: 1 issue' >&2\nexit 5\n",
        )
        .args(["--dry-run"])
        .run();
    out.code(1)
        .stderr_contains("  [post-render] tflint: 1 issue")
        .stderr_contains("error: the post-render hook failed with exit code 5");
}

#[test]
fn a_deploy_without_a_terminal_or_yes_refuses_before_changing_anything() {
    // No AWS, Docker or Terraform is reachable here, and none is needed: the refusal comes
    // before preflight, push or bootstrap.
    let out = Test::new()
        .app("minimal")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["--endpoint-url", "http://127.0.0.1:9"])
        .run();
    out.code(2).stderr_contains(
        "there is no terminal to give it: pass --yes to go ahead (nothing was changed)",
    );
    assert!(
        !out.stderr.contains("✓ preflight") && !out.stderr.contains("✗ preflight"),
        "the refusal comes before preflight runs: {}",
        out.stderr
    );
    assert!(
        !out.app.join(".exo-deploy").exists(),
        "nothing was rendered"
    );
}

#[test]
fn hooks_run_when_the_app_folder_is_given_relative_to_the_working_directory() {
    // `cd my-app && exo-deploy` (that is, `-C .`): the hook must be found although it runs in
    // the rendered directory. Its output may hold bytes that are not UTF-8.
    let dir = tempfile::TempDir::new().expect("temp dir");
    let app = dir.path().join("app");
    crate::harness::copy_dir(&crate::harness::repo().join("fixtures/minimal"), &app);
    crate::harness::write_hook(
        &app,
        "post-render",
        "#!/bin/sh\nprintf 'caf\\351 ok\\n'\necho \"in $(basename $(pwd))\"\n",
    );
    let result = std::process::Command::new(env!("CARGO_BIN_EXE_exo-deploy"))
        .current_dir(&app)
        .args(["--dry-run"])
        .env("NO_COLOR", "1")
        .env_remove("EXO_DEPLOY_ENV")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run exo-deploy");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(
        stderr.contains("  [post-render] caf\u{fffd} ok"),
        "{stderr}"
    );
    assert!(stderr.contains("  [post-render] in production"), "{stderr}");
}

#[test]
fn the_dry_run_summary_lists_the_databases_it_will_create() {
    Test::new()
        .app("bookshop")
        .args(["--dry-run", "-e", "staging"])
        .run()
        .code(0)
        .stderr_contains("  databases:\n    postgres: RDS postgres ");
}

#[test]
fn completions_and_the_manual_come_from_the_command_line_itself() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Test::new().args(["completions", shell]).run();
        out.code(0);
        for word in ["rollback", "promote", "teardown", "endpoint-url"] {
            assert!(out.stdout.contains(word), "{shell}: {word} missing");
        }
    }
    // the bash script is bash
    let script = tempfile::NamedTempFile::new().expect("temp file");
    let out = Test::new().args(["completions", "bash"]).run();
    std::fs::write(script.path(), &out.stdout).expect("write script");
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(script.path())
        .output()
        .expect("bash");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let man = Test::new().args(["man"]).run();
    man.code(0);
    assert!(man.stdout.starts_with(".ie"), "roff: {}", &man.stdout[..80]);
    assert!(man.stdout.contains(".TH exo-deploy 1"));
    assert!(man.stdout.contains("rollback") && man.stdout.contains("Exit codes"));
    Test::new()
        .args(["completions", "tcsh"])
        .run()
        .code(2)
        .stderr_contains("[possible values: bash, elvish, fish, powershell, zsh]");
}
