//! The whole tool, end to end, through the real commands: preflight, push to a loopback
//! registry, bootstrap on moto, render, `terraform init` with the S3 backend on moto, plan,
//! apply and the release record; then a deploy without changes, `status`, `history`, a deploy
//! of a changed service stopped between its apply and its record and run again, `rollback
//! previous`, `--teardown` and `--nuke`. Terraform runs with `--local-terraform`: terraform
//! 1.10 or newer and hashicorp/aws 5.x from the machine's mirror, on the Terraform exactly as
//! rendered for the emulator (`AWS_ENDPOINT_URL` puts moto in the provider's `endpoints` and
//! the backend's), its state in the bucket bootstrap made and hardened, locked with
//! `use_lockfile`.
//!
//! Stand-ins, handled here and nowhere in the product:
//! - the app's `post-render` hook copies in the moto quirk overrides, each named in
//!   `terraform_moto::MOTO_QUIRKS`, and nothing else;
//! - moto runs through `shared/tools/moto-tls`, so the hardened state bucket's TLS-only policy
//!   lets the plain-HTTP backend in, as AWS does for HTTPS, and Application Auto Scaling has
//!   the tag API aws 5.x reads;
//! - no image can be pulled from Docker Hub here, so ExoCom runs from a mirror in the loopback
//!   registry (`exocom-image`), as a team without Docker Hub access would run it.

use std::path::Path;

use crate::harness::{Output, Test};
use crate::moto::{Moto, block_on};
use crate::registry::{Registry, require_docker};

const BUCKET: &str = "123456789012-hello-production-terraform";
/// moto reports this many running tasks for every service (desired: 1), so `status` shows
/// what ECS says rather than echoing the configuration.
const RUNNING: &str = "2";

struct Lifecycle {
    dir: tempfile::TempDir,
    app: std::path::PathBuf,
    moto: Moto,
    registry: Registry,
    plugins: tempfile::TempDir,
    /// The digest of the ExoCom mirror in the registry.
    exocom_digest: String,
    /// The webhook `notify` posts to.
    receiver: crate::webhook::Receiver,
    /// The webhook whose url is a secret (`url: secretsmanager:…`), in moto's Secrets Manager.
    secret_url_receiver: crate::webhook::Receiver,
}

/// The secret the webhook's signatures are made with, in moto's Secrets Manager.
const WEBHOOK_SECRET: &str = "s3cr3t-signing-key";

impl Lifecycle {
    fn start() -> Lifecycle {
        require_docker();
        let moto = Moto::start_tls(&[
            ("MOTO_IAM_LOAD_MANAGED_POLICIES", "true"),
            ("MOTO_ECS_SERVICE_RUNNING", RUNNING),
        ]);
        let registry = Registry::start();
        let exocom_digest = registry.push_scratch("team/exocom:0.27.0", None);
        let receiver = crate::webhook::Receiver::start();
        let secret_url_receiver = crate::webhook::Receiver::start();
        block_on(async {
            let secrets = aws_sdk_secretsmanager::Client::new(&moto.config("us-east-1").await);
            for (name, value) in [
                ("hello-webhook", WEBHOOK_SECRET),
                ("hello-webhook-url", secret_url_receiver.url.as_str()),
            ] {
                secrets
                    .create_secret()
                    .name(name)
                    .secret_string(value)
                    .send()
                    .await
                    .expect("webhook secret");
            }
        });
        let dir = tempfile::TempDir::new().expect("temp dir");
        let app = dir.path().join("app");
        crate::harness::copy_dir(&crate::harness::repo().join("fixtures/minimal"), &app);
        let file = app.join("application.yml");
        let text = std::fs::read_to_string(&file).expect("application.yml");
        std::fs::write(
            &file,
            text.replace(
                "      region: us-east-1\n",
                &format!(
                    "      region: us-east-1\n      registry: {0}/team\n      exocom-image: {0}/team/exocom:0.27.0\n      notify:\n        - url: {1}\n          secret: secretsmanager:hello-webhook\n        - url: http://127.0.0.1:1/dead\n        - url: secretsmanager:hello-webhook-url\n",
                    registry.host, receiver.url
                ),
            ),
        )
        .expect("write application.yml");
        let l = Lifecycle {
            dir,
            app,
            moto,
            registry,
            plugins: tempfile::TempDir::new().expect("plugin cache"),
            exocom_digest,
            receiver,
            secret_url_receiver,
        };
        l.hook(
            "post-render",
            &crate::terraform_moto::quirks_hook(&l.dir.path().join("moto-quirks")),
        );
        // an app repository that ignores nothing of exo-deploy's
        crate::releases::commit_all(&l.app);
        l
    }

    fn hook(&self, name: &str, script: &str) {
        crate::harness::write_hook(&self.app, name, script);
    }

    /// `exo-deploy ARGS` on the app, as CI would run it.
    fn run(&self, args: &[&str]) -> Output {
        let out = Test::new()
            .at(&self.app)
            .aws(&self.moto)
            .env("TF_CLI_CONFIG_FILE", crate::terraform_moto::cli_config())
            .env("PATH", &crate::terraform_moto::path_with_terraform())
            .env(
                "TF_PLUGIN_CACHE_DIR",
                self.plugins.path().to_str().expect("utf-8"),
            )
            .args(["--local-terraform"])
            .args((!args.contains(&"--json")).then_some("--json"))
            .args(args)
            .run();
        // every event of every run of the lifecycle, held to the documented stream
        crate::events::check(&out);
        out
    }

    fn records(&self) -> Vec<String> {
        block_on(async {
            let s3 = self.moto.s3("us-east-1").await;
            let listed = s3
                .list_objects_v2()
                .bucket(BUCKET)
                .prefix("releases/production/")
                .send()
                .await
                .expect("list records");
            listed
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string))
                .collect()
        })
    }

    /// The image the web service's running task definition names.
    fn running_web_image(&self) -> String {
        self.running_web_container()
            .image()
            .expect("image")
            .to_string()
    }

    /// The environment variable `name` of the web service's running container.
    fn running_web_variable(&self, name: &str) -> Option<String> {
        self.running_web_container()
            .environment()
            .iter()
            .find(|kv| kv.name() == Some(name))
            .and_then(|kv| kv.value())
            .map(str::to_string)
    }

    /// The container definition of the web service's running task definition.
    fn running_web_container(&self) -> aws_sdk_ecs::types::ContainerDefinition {
        block_on(async {
            let ecs = self.moto.ecs("us-east-1").await;
            let services = ecs
                .describe_services()
                .cluster("hello-production-public")
                .services("web")
                .send()
                .await
                .expect("describe web");
            let td = services.services()[0]
                .task_definition()
                .expect("task definition")
                .to_string();
            let td = ecs
                .describe_task_definition()
                .task_definition(td)
                .send()
                .await
                .expect("task definition");
            td.task_definition().expect("td").container_definitions()[0].clone()
        })
    }

    fn tfvars_web(&self) -> String {
        self.tfvars_image("web")
    }

    fn tfvars_image(&self, role: &str) -> String {
        let text = std::fs::read_to_string(
            self.app
                .join(".exo-deploy/production/terraform.tfvars.json"),
        )
        .expect("tfvars");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        v["images"][role].as_str().expect("image").to_string()
    }
}

fn step_seconds(out: &Output) -> Vec<String> {
    out.stderr
        .lines()
        .filter(|l| l.starts_with('✓') || l.starts_with('✗'))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_whole_lifecycle_runs_end_to_end_on_the_stand_ins() {
    let l = Lifecycle::start();

    // 1. the first deploy: everything from nothing, one release
    let first = l.run(&["--yes"]);
    first
        .code(0)
        .stderr_contains("✓ preflight")
        .stderr_contains("web: pushed")
        .stderr_contains(&format!("state bucket {BUCKET}: created"))
        .stderr_contains("(hello.example.com): created")
        .stderr_contains("  [post-render] ")
        .stderr_contains("✓ terraform apply")
        .stderr_contains("released ");
    eprintln!(
        "first deploy, by step:\n{}",
        step_seconds(&first).join("\n")
    );
    assert_eq!(l.records().len(), 1, "one release record");
    let head = crate::releases::git(&l.app, &["rev-parse", "HEAD"]);
    assert!(
        l.records()[0].ends_with(&format!("-{}.json", &head[..12])),
        "the release of a clean checkout is clean, whatever exo-deploy wrote: {:?}",
        l.records()
    );
    assert_eq!(
        crate::releases::git(&l.app, &["status", "--porcelain"]),
        "",
        "and the checkout stays clean"
    );
    // the webhook got the release, signed; the dead one did not fail the deploy
    let received = l.receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let hook = &received[0];
    assert_eq!(hook.header("X-Exo-Deploy-Event"), Some("release"));
    assert_eq!(
        hook.header("X-Exo-Deploy-Signature"),
        Some(crate::webhook::expected_signature(WEBHOOK_SECRET, &hook.body).as_str())
    );
    let posted = hook.json();
    assert_eq!(posted["event"], "release");
    assert!(
        l.records()[0].ends_with(&format!(
            "{}.json",
            posted["release"]["id"].as_str().expect("id")
        )),
        "{posted}"
    );
    assert_eq!(posted["release"]["images"]["web"], l.tfvars_web().as_str());
    first
        .stderr_contains(&format!(
            "notified {} of the release",
            l.receiver.url.replace("/hooks/s3cr3t-path", "/…")
        ))
        .stderr_contains("warning: the release notification to http://127.0.0.1:1/… failed")
        // a webhook whose url is a secret: read from Secrets Manager when sending, shown by
        // its host only like any other
        .stderr_contains(&format!(
            "notified {} of the release",
            l.secret_url_receiver
                .url
                .replace("/hooks/s3cr3t-path", "/…")
        ));
    let by_secret_url = l.secret_url_receiver.received();
    assert_eq!(by_secret_url.len(), 1, "{by_secret_url:?}");
    assert_eq!(by_secret_url[0].json()["event"], "release");
    assert_eq!(
        by_secret_url[0].header("X-Exo-Deploy-Signature"),
        None,
        "no `secret`, no signature"
    );
    assert!(
        !first.stderr.contains("s3cr3t"),
        "neither the secret nor the webhook's path is logged: {}",
        first.stderr
    );
    // the container knows the commit it was built from
    assert_eq!(
        l.running_web_variable("EXO_DEPLOY_SERVICE_COMMIT")
            .as_deref(),
        Some(head.as_str())
    );
    l.run(&["show", "latest"])
        .code(0)
        .stderr_contains(&format!("app commit {}", &head[..12]))
        .stderr_contains(&format!("tag git-{0}, commit {0}", &head[..12]));
    let first_image = l.tfvars_web();
    assert!(
        first_image.starts_with(&format!("{}/team/hello-web@sha256:", l.registry.host)),
        "{first_image}"
    );
    assert_eq!(
        l.running_web_image(),
        first_image,
        "ECS runs the pushed digest"
    );
    // ExoCom's image is pinned to the digest its registry serves
    let exocom = format!("{}/team/exocom:0.27.0@{}", l.registry.host, l.exocom_digest);
    first.stderr_contains(&format!(
        "exocom: {}/team/exocom:0.27.0 pinned to {}",
        l.registry.host, l.exocom_digest
    ));
    assert_eq!(l.tfvars_image("exocom"), exocom);

    // 2. again, unchanged: nothing is applied and nothing recorded
    let again = l.run(&["--yes"]);
    again
        .code(0)
        .stderr_contains("web: unchanged")
        .stderr_contains("no changes: the infrastructure already matches the configuration");
    assert!(
        !again.stderr.contains("✓ terraform apply"),
        "{}",
        again.stderr
    );
    assert_eq!(l.records().len(), 1, "no record without a change");

    // 3. status: the release, its url, and what ECS says runs
    let status = l.run(&["status"]);
    status
        .code(0)
        .stderr_contains("hello (production): release ")
        .stderr_contains("web: http://hello.example.com")
        .stderr_contains(&format!("{RUNNING} of 1 tasks running (ACTIVE)"));

    // 4. plan's exit codes: 0 with or without changes; 3 for changes with --detailed-exitcode
    l.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stderr_contains("no changes");
    std::fs::write(l.app.join("web/hello.txt"), "hello, changed\n").expect("change web");
    l.run(&["plan"])
        .code(0)
        .stderr_contains("terraform plan: ")
        .stderr_contains("  service_web ");
    l.run(&["plan", "--detailed-exitcode"])
        .code(3)
        .stderr_contains("web: unchanged");
    assert_eq!(l.records().len(), 1, "plans record nothing");

    // a deploy that fails is posted to the webhooks too, with its failed step
    l.hook("pre-apply", "#!/bin/sh\nexit 3\n");
    l.run(&["--yes"])
        .code(1)
        .stderr_contains("✗ pre-apply hook");
    std::fs::remove_file(l.app.join(".exo-deploy/hooks/pre-apply")).expect("remove hook");
    let failed = l.receiver.received().pop().expect("a failure notification");
    assert_eq!(failed.header("X-Exo-Deploy-Event"), Some("failure"));
    assert_eq!(
        failed.header("X-Exo-Deploy-Signature"),
        Some(crate::webhook::expected_signature(WEBHOOK_SECRET, &failed.body).as_str())
    );
    let failure = failed.json();
    assert_eq!(failure["event"], "failure");
    assert_eq!(failure["step"], "run-hook");
    assert_eq!(failure["title"], "pre-apply hook");
    assert_eq!(l.records().len(), 1, "a failed deploy records nothing");

    // 5. the changed service's deploy, stopped dead between apply and record...
    l.hook("post-apply", "#!/bin/sh\nkill -KILL $PPID\n");
    let killed = l.run(&["--yes"]);
    assert_ne!(killed.code, 0, "the deploy was killed: {}", killed.stderr);
    assert!(
        killed.stderr.contains("✓ terraform apply"),
        "{}",
        killed.stderr
    );
    let changed_image = l.tfvars_web();
    assert_ne!(
        changed_image, first_image,
        "the changed service was pushed anew"
    );
    assert_eq!(l.running_web_image(), changed_image, "and applied");
    assert_eq!(
        l.running_web_variable("EXO_DEPLOY_SERVICE_COMMIT"),
        Some(format!("{head}-dirty")),
        "built from uncommitted changes, and the container says so"
    );
    assert_eq!(l.records().len(), 1, "but not recorded");
    // ...and run again: nothing left to apply, the record is written, once
    std::fs::remove_file(l.app.join(".exo-deploy/hooks/post-apply")).expect("remove hook");
    l.run(&["--yes"])
        .code(0)
        .stderr_contains("no changes")
        .stderr_contains("finishing that run");
    assert_eq!(
        l.records().len(),
        2,
        "exactly one record for the changed deploy"
    );
    l.run(&["--yes"]).code(0).stderr_contains("no changes");
    assert_eq!(l.records().len(), 2, "and no more");

    // 6. history, newest first
    let history = l.run(&["history", "--json"]);
    history.code(0);
    let releases: Vec<serde_json::Value> = history
        .events()
        .into_iter()
        .filter(|e| e["event"] == "release")
        .collect();
    assert_eq!(releases.len(), 2);
    assert_eq!(releases[0]["images"]["web"], changed_image.as_str());
    assert_eq!(releases[1]["images"]["web"], first_image.as_str());

    // 7. rollback to the previous release: its digest again, no push, a new record
    let rollback = l.run(&["rollback", "previous", "--yes"]);
    rollback
        .code(0)
        .stderr_contains("rolling back to release")
        .stderr_contains("✓ terraform apply");
    assert!(
        !rollback.stderr.contains("✓ push images") && !rollback.stderr.contains("web: pushed"),
        "a rollback pushes nothing: {}",
        rollback.stderr
    );
    assert_eq!(
        l.running_web_image(),
        first_image,
        "the previous digest runs again"
    );
    assert_eq!(l.records().len(), 3);

    // 8. teardown: the state ends empty; the bucket and the zone stay
    l.run(&["--teardown", "--yes"])
        .code(0)
        .stderr_contains("✓ terraform destroy");
    let state = l.run(&["terraform", "--", "state", "list"]);
    state.code(0);
    assert!(
        !state.stderr.contains("│ module.") && !state.stdout.contains("module."),
        "the state is empty after teardown: {}",
        state.stderr
    );
    block_on(async {
        let s3 = l.moto.s3("us-east-1").await;
        s3.head_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .expect("the state bucket stays");
        let zones = l
            .moto
            .route53()
            .await
            .list_hosted_zones()
            .send()
            .await
            .expect("zones");
        assert!(
            zones
                .hosted_zones()
                .iter()
                .any(|z| z.name() == "hello.example.com."),
            "the zone stays"
        );
    });

    // 9. nuke: what exo-deploy created is gone too
    l.run(&["--nuke", "--yes"]).code(0);
    assert_all_gone(&l.moto, l.dir.path());
}

/// Every kind of resource a deploy of `hello` creates is gone, or in its terminal state.
fn assert_all_gone(moto: &Moto, _dir: &Path) {
    let region = "us-east-1";
    block_on(async {
        let s3 = moto.s3(region).await;
        assert!(
            s3.head_bucket().bucket(BUCKET).send().await.is_err(),
            "the state bucket is gone"
        );
        let zones = moto
            .route53()
            .await
            .list_hosted_zones()
            .send()
            .await
            .expect("zones");
        // moto quirk: deleting a Cloud Map private DNS namespace leaves the private hosted zone
        // moto made for it (AWS deletes it with the namespace); the namespace itself is checked
        // below.
        let left: Vec<_> = zones
            .hosted_zones()
            .iter()
            .filter(|z| {
                !z.config().is_some_and(|c| {
                    c.private_zone()
                        && c.comment()
                            .is_some_and(|m| m.starts_with("hosted zone for private dns namespace"))
                })
            })
            .collect();
        assert!(left.is_empty(), "the zone is gone: {left:?}");
        let ecs = moto.ecs(region).await;
        let clusters = ecs.list_clusters().send().await.expect("clusters");
        if !clusters.cluster_arns().is_empty() {
            let described = ecs
                .describe_clusters()
                .set_clusters(Some(clusters.cluster_arns().to_vec()))
                .send()
                .await
                .expect("describe clusters");
            for c in described.clusters() {
                assert_eq!(c.status(), Some("INACTIVE"), "{:?}", c.cluster_name());
            }
        }
        let active = ecs
            .list_task_definitions()
            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
            .send()
            .await
            .expect("task definitions");
        assert!(
            active.task_definition_arns().is_empty(),
            "task definitions are inactive: {:?}",
            active.task_definition_arns()
        );
    });
    let keys = moto.json_call(
        "kms",
        region,
        "TrentService.ListKeys",
        &serde_json::json!({}),
    );
    let mut ours = 0;
    for key in keys["Keys"].as_array().into_iter().flatten() {
        let described = moto.json_call(
            "kms",
            region,
            "TrentService.DescribeKey",
            &serde_json::json!({ "KeyId": key["KeyId"] }),
        );
        let meta = &described["KeyMetadata"];
        if meta["Description"]
            .as_str()
            .is_some_and(|d| d.contains("hello-production"))
        {
            ours += 1;
            assert_eq!(meta["KeyState"], "PendingDeletion", "{meta}");
        }
    }
    assert_eq!(ours, 1, "the app's log key, pending deletion");
    let groups = moto.json_call(
        "logs",
        region,
        "Logs_20140328.DescribeLogGroups",
        &serde_json::json!({ "logGroupNamePrefix": "/exo-deploy/hello-production" }),
    );
    assert_eq!(groups["logGroups"], serde_json::json!([]), "log groups");
    let vpcs = moto.query_call(
        "ec2",
        region,
        "Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=tag:exo-deploy:app&Filter.1.Value.1=hello",
    );
    assert!(!vpcs.contains("<vpcId>"), "the VPC is gone: {vpcs}");
    let lbs = moto.query_call(
        "elasticloadbalancing",
        region,
        "Action=DescribeLoadBalancers&Version=2015-12-01",
    );
    assert!(
        !lbs.contains("<LoadBalancerArn>"),
        "the load balancer is gone"
    );
    let groups = moto.query_call(
        "autoscaling",
        region,
        "Action=DescribeAutoScalingGroups&Version=2011-01-01",
    );
    assert!(
        !groups.contains("hello-production"),
        "the Auto Scaling groups are gone"
    );
    let roles = moto.query_call("iam", region, "Action=ListRoles&Version=2010-05-08");
    assert!(
        !roles.contains("hello-production"),
        "the IAM roles are gone"
    );
    let namespaces = moto.json_call(
        "servicediscovery",
        region,
        "Route53AutoNaming_v20170314.ListNamespaces",
        &serde_json::json!({}),
    );
    assert_eq!(
        namespaces["Namespaces"],
        serde_json::json!([]),
        "namespaces"
    );
}
