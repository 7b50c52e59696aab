//! `exo-deploy restart` against moto's ECS, seeded directly with the service a deploy of the
//! minimal app makes (cluster `hello-production-public`, service `web`): a new deployment of
//! the same task definition, waited for as a deploy waits.

use crate::harness::Test;
use crate::moto::{Moto, block_on};

const CLUSTER: &str = "hello-production-public";

/// The `web` service as ECS describes it.
fn web(moto: &Moto) -> aws_sdk_ecs::types::Service {
    block_on(async {
        let ecs = moto.ecs("us-east-1").await;
        let s = ecs
            .describe_services()
            .cluster(CLUSTER)
            .services("web")
            .send()
            .await
            .expect("describe");
        s.services()[0].clone()
    })
}

fn deployment_id(moto: &Moto) -> (String, String) {
    let s = web(moto);
    (
        s.deployments()[0].id().unwrap_or_default().to_string(),
        s.task_definition().unwrap_or_default().to_string(),
    )
}

/// The `web` service of the minimal app, as a deploy leaves it in ECS.
fn seed_web(moto: &Moto) {
    block_on(async {
        let ecs = moto.ecs("us-east-1").await;
        ecs.create_cluster()
            .cluster_name(CLUSTER)
            .send()
            .await
            .expect("cluster");
        crate::moto::register_task_definition(
            &ecs,
            "hello-production-web",
            "web",
            "127.0.0.1:5000/team/hello-web@sha256:0000000000000000000000000000000000000000000000000000000000000001",
        )
        .await;
        ecs.create_service()
            .cluster(CLUSTER)
            .service_name("web")
            .task_definition("hello-production-web")
            .desired_count(1)
            .send()
            .await
            .expect("service");
    });
}

fn desired(moto: &Moto) -> i32 {
    web(moto).desired_count()
}

#[test]
fn restart_starts_a_new_deployment_of_the_same_task_definition_and_waits_for_it() {
    let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "1")]);
    seed_web(&moto);
    let before = deployment_id(&moto);
    let out = Test::new()
        .app("minimal")
        .aws(&moto)
        .args(["restart", "web"])
        .run();
    out.code(0)
        .stderr_contains("web: a new deployment replaces its tasks")
        .stderr_contains("web: 1 of 1 new tasks running (completed)");
    insta::assert_snapshot!(masked(&out.stderr));
    let after = deployment_id(&moto);
    assert_ne!(after.0, before.0, "a new deployment");
    assert_eq!(after.1, before.1, "of the same task definition");

    // --all with ExoCom not deployed: refused before web is restarted
    Test::new()
        .app("minimal")
        .aws(&moto)
        .args(["restart", "--all"])
        .run()
        .code(2)
        .stderr_contains("exocom not deployed in hello (production): nothing was restarted");
    assert_eq!(deployment_id(&moto), after, "web untouched");

    Test::new()
        .app("minimal")
        .aws(&moto)
        .args(["restart", "wbe"])
        .run()
        .code(2)
        .stderr_contains("(did you mean `web`?)");
    Test::new()
        .app("minimal")
        .args(["restart"])
        .run()
        .code(2)
        .stderr_contains("<SERVICE>...");
}

#[test]
fn scale_stop_and_start_change_ecs_now_and_every_deploy_shows_the_override_until_reset() {
    // moto-tls: the hardened state bucket's TLS-only policy lets the plain-HTTP SDK in
    let moto = Moto::start_tls(&[("MOTO_ECS_SERVICE_RUNNING", "1")]);
    seed_web(&moto);
    let test = Test::new().app("minimal");
    let app = test.path().join("app");
    let run = |args: &[&str]| Test::new().at(&app).aws(&moto).args(args).run();
    run(&["bootstrap"]).code(0);

    let scaled = run(&["scale", "web", "3"]);
    scaled
        .code(0)
        .stderr_contains("web: 1 → 3 tasks; every deploy shows this override");
    assert_eq!(desired(&moto), 3);
    // a dry run reads the overrides and says so; the deploy would keep the count
    run(&["--dry-run"])
        .code(0)
        .stderr_contains("scale override in effect: web runs 3 tasks (its config says 1), set by ");

    // refusals: more than the cluster holds while deploying, ExoCom, an unknown service
    let over = run(&["scale", "web", "100"]);
    over.code(2)
        .stderr_contains("the public cluster cannot hold 100 tasks of `web`");
    assert_eq!(desired(&moto), 3, "nothing changed");
    run(&["scale", "exocom", "2"])
        .code(2)
        .stderr_contains("ExoCom runs one broker");
    run(&["scale", "wbe", "2"])
        .code(2)
        .stderr_contains("(did you mean `web`?)");

    // stop remembers the count, start brings it back
    let stopped = run(&["stop", "web"]);
    stopped
        .code(0)
        .stderr_contains("web: stopped (3 → 0 tasks)");
    assert_eq!(desired(&moto), 0);
    run(&["--dry-run"]).code(0).stderr_contains(
        "scale override in effect: web stopped (it ran 3; `exo-deploy start web`)",
    );
    let started = run(&["start", "web"]);
    started.code(0);
    assert_eq!(desired(&moto), 3);
    run(&["start", "web"])
        .code(2)
        .stderr_contains("was not stopped");

    // reset: the config's count, and no override any more
    let reset = run(&["scale", "web", "--reset"]);
    reset
        .code(0)
        .stderr_contains("web: 3 → 1 tasks, as its config says");
    assert_eq!(desired(&moto), 1);
    let after = run(&["--dry-run"]);
    after.code(0);
    assert!(
        !after.stderr.contains("scale override in effect"),
        "{}",
        after.stderr
    );
    // the override of a service since removed from the config is shown, and can be ended
    block_on(async {
        let entry = serde_json::json!({ "service": "old", "env": "production", "desired": 2,
            "set_by": "user:t", "set_at": "2026-11-01T00:00:00Z" });
        moto.s3("us-east-1")
            .await
            .put_object()
            .bucket("123456789012-hello-production-terraform")
            .key("overrides/production/20261101T000000000Z-old.json")
            .body(entry.to_string().into_bytes().into())
            .send()
            .await
            .expect("override");
    });
    run(&["--dry-run"])
        .code(0)
        .stderr_contains("scale override not applied: old runs 2 tasks, set by user:t at 2026-11-01T00:00:00Z, but the config has no such service any more; `exo-deploy scale old --reset` ends it");
    run(&["scale", "old", "--reset"])
        .code(0)
        .stderr_contains("old: its override is ended");
    let after = run(&["--dry-run"]);
    assert!(
        !after.stderr.contains("scale override in effect")
            && !after.stderr.contains("scale override not applied"),
        "{}",
        after.stderr
    );
    run(&["scale", "old", "3"])
        .code(2)
        .stderr_contains("hello has no service `old`");

    // a count on a service that does not autoscale has no range
    let ranged = run(&["scale", "web", "--min", "1", "--max", "2"]);
    ranged.code(2).stderr_contains("`web` does not autoscale");
    insta::assert_snapshot!(masked(&format!(
        "$ exo-deploy scale web 3\n{}\n$ exo-deploy stop web\n{}\n$ exo-deploy start web\n{}\n$ exo-deploy scale web --reset\n{}\n$ exo-deploy scale web --min 1 --max 2\n{}",
        scaled.stderr, stopped.stderr, started.stderr, reset.stderr, ranged.stderr
    )));
}

/// `set by WHO at WHEN` of override lines and the steps' durations, masked for snapshots.
fn masked(text: &str) -> String {
    let text = regex::Regex::new(r"set by \S+ at \S+Z")
        .expect("regex")
        .replace_all(text, "set by [WHO] at [WHEN]");
    regex::Regex::new(r"\(\d+\.\d s\)")
        .expect("regex")
        .replace_all(&text, "([SECONDS] s)")
        .to_string()
}

/// The `service_web` module block and what follows it in the Terraform the last render of
/// the app at `app` wrote.
fn rendered_web(app: &std::path::Path) -> String {
    let main =
        std::fs::read_to_string(app.join(".exo-deploy/production/main.tf")).expect("main.tf");
    main.split("module \"service_web\"")
        .nth(1)
        .expect("web module")
        .to_string()
}

/// The range Application Auto Scaling keeps `web` in.
fn range(moto: &Moto) -> (i32, i32) {
    block_on(async {
        let aas = aws_sdk_applicationautoscaling::Client::new(&moto.config("us-east-1").await);
        let out = aas
            .describe_scalable_targets()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
            .resource_ids(format!("service/{CLUSTER}/web"))
            .send()
            .await
            .expect("describe");
        let t = &out.scalable_targets()[0];
        (t.min_capacity(), t.max_capacity())
    })
}

#[test]
fn scale_min_max_moves_an_autoscaled_services_range_and_every_deploy_renders_it_until_reset() {
    // moto-tls: the hardened state bucket's TLS-only policy lets the plain-HTTP SDK in
    let moto = Moto::start_tls(&[("MOTO_ECS_SERVICE_RUNNING", "1")]);
    seed_web(&moto);
    let test = Test::new().app("minimal").edit("web/service.yml", |t| {
        t.replace("remote:\n", "remote:\n  autoscaling: {min: 1, max: 4}\n")
    });
    let app = test.path().join("app");
    let run = |args: &[&str]| Test::new().at(&app).aws(&moto).args(args).run();
    let mut said = String::new();
    let mut say = |args: &[&str], out: &crate::harness::Output| {
        said.push_str(&format!(
            "$ exo-deploy {}   # exit {}\n{}\n",
            args.join(" "),
            out.code,
            masked(&out.stderr)
        ));
    };
    run(&["bootstrap"]).code(0);

    // a count by hand would be undone by the scaler: refused, and the range named
    let args = ["scale", "web", "3"];
    let out = run(&args);
    out.code(2).stderr_contains("`web` autoscales");
    say(&args, &out);

    let args = ["scale", "web", "--min", "2", "--max", "6"];
    let out = run(&args);
    out.code(0);
    say(&args, &out);
    assert_eq!(range(&moto), (2, 6));

    // the next dry run shows it, and renders the range a deploy would keep
    let args = ["--dry-run"];
    let out = run(&args);
    out.code(0).stderr_contains(
        "scale override in effect: web autoscales between 2 and 6 tasks (its config says 1 to 4)",
    );
    let web = rendered_web(&app);
    assert!(
        web.contains("min        = 2") && web.contains("max        = 6"),
        "{web}"
    );

    // refusals: an upside-down range, a maximum the cluster cannot hold while deploying
    for (args, text) in [
        (
            &["scale", "web", "--min", "5", "--max", "3"][..],
            "--min 5 is more than --max 3",
        ),
        (
            &["scale", "web", "--min", "1", "--max", "100"][..],
            "the public cluster cannot hold 100 tasks of `web`",
        ),
        (&["scale", "web", "--min", "2"][..], "--max"),
        (
            &["stop", "web"][..],
            "`exo-deploy scale web --min 0 --max 0` stops it",
        ),
    ] {
        let out = run(args);
        out.code(2).stderr_contains(text);
        say(args, &out);
    }
    assert_eq!(range(&moto), (2, 6), "nothing changed");

    // an autoscaled service stops with a range of none
    let args = ["scale", "web", "--min", "0", "--max", "0"];
    let out = run(&args);
    out.code(0)
        .stderr_contains("web: stopped (its range is 0 to 0");
    say(&args, &out);
    assert_eq!(range(&moto), (0, 0));

    let args = ["scale", "web", "--reset"];
    let out = run(&args);
    out.code(0);
    say(&args, &out);
    assert_eq!(range(&moto), (1, 4), "the config's range again");
    let after = run(&["--dry-run"]);
    after.code(0);
    assert!(
        !after.stderr.contains("scale override in effect"),
        "{}",
        after.stderr
    );
    let web = rendered_web(&app);
    assert!(
        web.contains("min        = 1") && web.contains("max        = 4"),
        "{web}"
    );
    insta::assert_snapshot!(said);
}
