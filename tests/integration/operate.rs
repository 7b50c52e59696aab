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
        ecs.register_task_definition()
            .family("hello-production-web")
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("web")
                    .image("127.0.0.1:5000/team/hello-web@sha256:0000000000000000000000000000000000000000000000000000000000000001")
                    .memory(256)
                    .build(),
            )
            .send()
            .await
            .expect("task definition");
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
    let after = deployment_id(&moto);
    assert_ne!(after.0, before.0, "a new deployment");
    assert_eq!(after.1, before.1, "of the same task definition");

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

    run(&["scale", "web", "3"])
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
    run(&["stop", "web"])
        .code(0)
        .stderr_contains("web: stopped (3 → 0 tasks)");
    assert_eq!(desired(&moto), 0);
    run(&["--dry-run"]).code(0).stderr_contains(
        "scale override in effect: web stopped (it ran 3; `exo-deploy start web`)",
    );
    run(&["start", "web"]).code(0);
    assert_eq!(desired(&moto), 3);
    run(&["start", "web"])
        .code(2)
        .stderr_contains("was not stopped");

    // reset: the config's count, and no override any more
    run(&["scale", "web", "--reset"])
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
}
