//! `exo-deploy restart` against moto's ECS, seeded directly with the service a deploy of the
//! minimal app makes (cluster `hello-production-public`, service `web`): a new deployment of
//! the same task definition, waited for as a deploy waits.

use crate::harness::Test;
use crate::moto::{Moto, block_on};

const CLUSTER: &str = "hello-production-public";

fn deployment_id(moto: &Moto) -> (String, String) {
    block_on(async {
        let ecs = moto.ecs("us-east-1").await;
        let s = ecs
            .describe_services()
            .cluster(CLUSTER)
            .services("web")
            .send()
            .await
            .expect("describe");
        let s = &s.services()[0];
        (
            s.deployments()[0].id().unwrap_or_default().to_string(),
            s.task_definition().unwrap_or_default().to_string(),
        )
    })
}

#[test]
fn restart_starts_a_new_deployment_of_the_same_task_definition_and_waits_for_it() {
    let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "1")]);
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
