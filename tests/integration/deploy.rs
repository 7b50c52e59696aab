//! A whole deploy against the stand-ins: moto for AWS, a loopback registry, the Docker Engine
//! and the Terraform test image. The hashicorp/aws provider cannot be installed here, so the
//! run must get through validation, push, bootstrap and render for real and then stop at
//! `terraform init`, saying why, with nothing applied.

use crate::harness::Test;
use crate::moto::{Moto, block_on};
use crate::registry::{Registry, require_docker};

#[test]
fn a_deploy_pushes_bootstraps_renders_and_stops_clearly_at_terraform_init() {
    require_docker();
    let moto = Moto::start();
    let registry = Registry::start();
    let image = crate::terraform_image::image();
    let out = Test::new()
        .app("spacetweet")
        .edit("application.yml", |t| {
            t.replace(
                "        region: us-west-2\n",
                &format!(
                    "        region: us-west-2\n        registry: {}/team\n",
                    registry.host
                ),
            )
        })
        .aws(&moto)
        .args(["--yes", "--terraform-image", image])
        .run();
    out.code(1)
        // push
        .stderr_contains("web: pushed")
        .stderr_contains("users: pushed")
        // bootstrap
        .stderr_contains("state bucket 123456789012-space-tweet-production-terraform: created")
        .stderr_contains("(spacetweet.io): created")
        // render, then the runner
        .stderr_contains("wrote 26 files to")
        .stderr_contains(&format!("terraform runs in a container of {image}"))
        .stderr_contains("terraform init -input=false -no-color failed")
        .stderr_contains("Error:");
    let logs: Vec<String> = std::fs::read_dir(out.app.join(".exo-deploy/production/logs"))
        .expect("logs")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        logs.len() == 1 && logs[0].ends_with("-init.log"),
        "only init ran: {logs:?}"
    );
    // what was rendered references the pushed digests and the zone bootstrap found
    let tfvars =
        std::fs::read_to_string(out.app.join(".exo-deploy/production/terraform.tfvars.json"))
            .expect("tfvars");
    let tfvars: serde_json::Value = serde_json::from_str(&tfvars).expect("json");
    assert!(
        tfvars["images"]["web"]
            .as_str()
            .expect("web")
            .starts_with(&format!("{}/team/space-tweet-web@sha256:", registry.host))
    );
    assert!(
        tfvars["hosted_zone_id"]
            .as_str()
            .is_some_and(|z| !z.is_empty())
    );
    // nothing was applied: no state, and no release record, in the bucket
    block_on(async {
        let s3 = moto.s3("us-west-2").await;
        let listed = s3
            .list_objects_v2()
            .bucket("123456789012-space-tweet-production-terraform")
            .send()
            .await
            .expect("list");
        assert!(
            listed.contents().is_empty(),
            "nothing is written to the state bucket: {:?}",
            listed.contents()
        );
    });
}
