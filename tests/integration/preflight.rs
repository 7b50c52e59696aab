//! Preflight through the real command, against moto and loopback registries: what tasks
//! could not pull and DNS records exo-deploy did not create stop a deploy before anything is
//! pushed or created.

use aws_sdk_route53::types::RrType;

use crate::harness::Test;
use crate::moto::{Moto, block_on};
use crate::registry::{Registry, require_docker};

/// The minimal app pushing to `open`, running ExoCom from `exocom`.
fn app(open: &Registry, exocom: &str) -> Test {
    Test::new().app("minimal").edit("application.yml", |t| {
        t.replace(
            "      region: us-east-1\n",
            &format!(
                "      region: us-east-1\n      registry: {}/team\n      exocom-image: {exocom}\n",
                open.host
            ),
        )
    })
}

/// Nothing was pushed to `open`, and moto holds no bucket.
fn nothing_done(open: &Registry, moto: &Moto) {
    let catalog = open.get("/v2/_catalog", "application/json");
    assert!(!catalog.contains("team/"), "nothing pushed: {catalog}");
    let buckets = block_on(async { moto.s3("us-east-1").await.list_buckets().send().await })
        .expect("list buckets");
    assert!(buckets.buckets().is_empty(), "{buckets:?}");
}

#[test]
fn preflight_refuses_an_image_tasks_could_not_pull_before_pushing_or_creating_anything() {
    require_docker();
    let moto = Moto::start();
    let open = Registry::start();
    let closed = Registry::start_with_auth("puller", "s3cret");
    closed.push_scratch("mirror/exocom:0.27.0", Some(("puller", "s3cret")));
    let out = app(&open, &format!("{}/mirror/exocom:0.27.0", closed.host))
        .aws(&moto)
        .args(["plan", "--local-terraform"])
        .run();
    out.code(1)
        .stderr_contains("preflight")
        .stderr_contains(&format!(
            "cannot be pulled without a login to {}, and the config gives its tasks none",
            closed.host
        ))
        .stderr_contains("registry-credentials");
    nothing_done(&open, &moto);
}

#[test]
fn a_record_exo_deploy_did_not_create_at_a_url_stops_the_deploy_with_the_record_shown() {
    require_docker();
    let moto = Moto::start();
    let open = Registry::start();
    open.push_scratch("mirror/exocom:0.27.0", None);
    block_on(async {
        let r53 = moto.route53().await;
        let zone = r53
            .create_hosted_zone()
            .name("hello.example.com")
            .caller_reference("by-hand")
            .send()
            .await
            .expect("zone");
        let zone = zone.hosted_zone().expect("zone").id().to_string();
        moto.add_record(&zone, "hello.example.com", RrType::A, "192.0.2.7")
            .await;
    });
    app(&open, &format!("{}/mirror/exocom:0.27.0", open.host))
        .aws(&moto)
        .args(["plan", "--local-terraform"])
        .run()
        .code(1)
        .stderr_contains("records exo-deploy did not create sit at the services' urls")
        .stderr_contains("hello.example.com A 192.0.2.7")
        .stderr_contains("delete them from the hosted zone of hello.example.com");
    nothing_done(&open, &moto);
}
