//! `exo-deploy ps` against moto, seeded with what the command must really read, since moto
//! alone answers trivially: a container instance registered for an EC2 instance, a running
//! task of the service placed on it (and one of another service in the same cluster, which
//! must not count), targets registered in the service's target group, fewer tasks running
//! than desired (`MOTO_ECS_SERVICE_RUNNING`), and a release record whose image the task runs.

use aws_sdk_ecs::types::LoadBalancer;

use crate::harness::Test;
use crate::moto::{Moto, block_on};

const REGION: &str = "us-east-1";
const CLUSTER: &str = "hello-production-public";
const AMI: &str = "ami-0123456789abcdef0";
const RELEASE: &str = "20261120T000000000Z-0123456789ab";
const BUCKET: &str = "123456789012-hello-production-terraform";

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02}").repeat(32))
}

fn image(n: u8) -> String {
    format!("127.0.0.1:5000/team/hello-web@{}", digest(n))
}

/// What a deploy of the minimal app leaves running, plus one task of another service.
fn seed(moto: &Moto) -> String {
    let instance = moto.ec2_instance(REGION, "t3.small", AMI);
    let vpc = moto.default_vpc(REGION);
    block_on(async {
        let conf = moto.config(REGION).await;
        let ecs = aws_sdk_ecs::Client::new(&conf);
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
        ecs.create_cluster()
            .cluster_name(CLUSTER)
            .send()
            .await
            .expect("cluster");
        ecs.register_container_instance()
            .cluster(CLUSTER)
            .instance_identity_document(serde_json::json!({ "instanceId": instance }).to_string())
            .send()
            .await
            .expect("container instance");
        for (family, name, n) in [
            ("hello-production-web", "web", 1),
            ("hello-production-admin", "admin", 2),
        ] {
            crate::moto::register_task_definition(&ecs, family, name, &image(n)).await;
        }
        let group = elb
            .create_target_group()
            .name("hello-production-web")
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&vpc)
            .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
            .send()
            .await
            .expect("target group");
        let group = group.target_groups()[0]
            .target_group_arn()
            .expect("arn")
            .to_string();
        let mut register = elb.register_targets().target_group_arn(&group);
        for ip in ["10.0.1.5", "10.0.2.6"] {
            register = register.targets(
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                    .id(ip)
                    .port(8080)
                    .build(),
            );
        }
        register.send().await.expect("targets");
        ecs.create_service()
            .cluster(CLUSTER)
            .service_name("web")
            .task_definition("hello-production-web")
            .desired_count(2)
            .load_balancers(
                LoadBalancer::builder()
                    .target_group_arn(&group)
                    .container_name("web")
                    .container_port(8080)
                    .build(),
            )
            .send()
            .await
            .expect("service");
        // ECS starts a service's tasks in the group `service:NAME`; moto starts none itself
        for (family, group) in [
            ("hello-production-web", "service:web"),
            ("hello-production-admin", "service:admin"),
        ] {
            ecs.run_task()
                .cluster(CLUSTER)
                .task_definition(family)
                .group(group)
                .send()
                .await
                .expect("task");
        }
    });
    instance
}

/// The ids of the tasks of the public cluster, as ECS lists them.
fn out_task_ids(moto: &Moto) -> Vec<String> {
    block_on(async {
        let ecs = moto.ecs(REGION).await;
        ecs.list_tasks()
            .cluster(CLUSTER)
            .send()
            .await
            .expect("tasks")
            .task_arns()
            .iter()
            .map(|a| a.rsplit('/').next().unwrap_or_default().to_string())
            .collect()
    })
}

/// A release record of `web` running `image(n)`, written to the state bucket as a deploy
/// writes one.
fn record(moto: &Moto, id: &str, deployed_at: &str, n: u8) {
    let record = serde_json::json!({
        "id": id, "app": "hello", "env": "production", "version": "0.0.0",
        "deployed_at": deployed_at, "commit": null, "dirty": false,
        "images": { "web": image(n) },
        "outputs": null, "deployed_by": "user:t", "duration_seconds": 1.0
    });
    block_on(async {
        moto.s3(REGION)
            .await
            .put_object()
            .bucket(BUCKET)
            .key(format!("releases/production/{id}.json"))
            .body(record.to_string().into_bytes().into())
            .send()
            .await
            .expect("record");
    });
}

#[test]
fn ps_shows_tasks_digests_releases_targets_deployments_and_instances() {
    // moto-tls: the hardened state bucket's TLS-only policy lets the plain-HTTP SDK in
    let moto = Moto::start_tls(&[("MOTO_ECS_SERVICE_RUNNING", "1")]);
    moto.hold_tasks_running();
    let test = Test::new().app("minimal");
    let app = test.path().join("app");
    let run = |args: &[&str]| Test::new().at(&app).aws(&moto).args(args).run();
    run(&["bootstrap"]).code(0);
    record(&moto, RELEASE, "2026-11-20T00:00:00Z", 1);
    let instance = seed(&moto);

    let json = run(&["ps", "--json"]);
    json.code(0);
    let events = json.events();
    let ps = events
        .iter()
        .find(|e| e["event"] == "ps")
        .unwrap_or_else(|| panic!("a ps event: {}", json.stdout));
    assert_eq!(ps["last_release"], RELEASE);
    assert_eq!(ps["not_deployed"], serde_json::json!(["exocom"]));
    let web = &ps["services"][0];
    assert_eq!(web["service"], "web");
    assert_eq!(
        (&web["desired"], &web["running"], &web["pending"]),
        (&2.into(), &1.into(), &1.into())
    );
    assert_eq!(web["task_definition"], "hello-production-web:1");
    // the one task of web, not admin's: its digest, traced to the release that recorded it
    let digests = web["digests"].as_array().expect("digests");
    assert_eq!(digests.len(), 1, "{digests:?}");
    assert_eq!(digests[0]["digest"], digest(1).as_str());
    assert_eq!(digests[0]["tasks"], 1);
    assert_eq!(
        digests[0]["release"],
        serde_json::json!({ "is": "last-release", "release": RELEASE })
    );
    let task = digests[0]["task_ids"][0]
        .as_str()
        .expect("a task id")
        .to_string();
    assert!(
        out_task_ids(&moto).contains(&task),
        "{task} is a task of the cluster"
    );
    assert_eq!(web["deployment"]["state"], "IN_PROGRESS");
    let targets: Vec<(String, i64, String)> = web["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap_or_default().to_string(),
                t["port"].as_i64().unwrap_or_default(),
                t["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("10.0.1.5".to_string(), 8080, "healthy".to_string()),
            ("10.0.2.6".to_string(), 8080, "healthy".to_string())
        ]
    );
    let clusters = ps["clusters"].as_array().expect("clusters");
    assert_eq!(clusters.len(), 2, "public and private: {clusters:?}");
    let node = &clusters[0]["instances"][0];
    assert_eq!(node["ec2_instance_id"], instance.as_str());
    assert_eq!(node["ami"], AMI);
    assert_eq!(node["instance_type"], "t3.small");
    assert_eq!(node["running_tasks"], 2, "web's and admin's");
    assert_eq!(
        node["cpu"]["registered"].as_i64().unwrap_or_default()
            - node["cpu"]["remaining"].as_i64().unwrap_or_default(),
        512,
        "two tasks of 256 CPU units: {node}"
    );
    assert_eq!(clusters[1]["instances"], serde_json::json!([]));

    // the table, as people read it
    let out = run(&["ps"]);
    out.code(0);
    let masked = regex::Regex::new(r"\bi-[0-9a-f]{17}\b")
        .expect("regex")
        .replace_all(&out.stderr, "[EC2-INSTANCE]");
    let masked = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .expect("regex")
        .replace_all(&masked, "[ID]");
    let masked = regex::Regex::new(r"ecs-svc/\d+")
        .expect("regex")
        .replace_all(&masked, "ecs-svc/[ID]");
    insta::assert_snapshot!(masked);

    // an earlier release's image, still running: said so
    let newer = "20261121T000000000Z-0123456789ab";
    record(&moto, newer, "2026-11-21T00:00:00Z", 3);
    run(&["ps"])
        .code(0)
        .stderr_contains(&format!("release {RELEASE} (not the last)"));
}

#[test]
fn ps_before_anything_is_deployed_says_so() {
    let moto = Moto::start();
    let out = Test::new().app("minimal").aws(&moto).args(["ps"]).run();
    out.code(0)
        .stderr_contains("hello (production): no release recorded")
        .stderr_contains("web: not deployed")
        .stderr_contains("exocom: not deployed")
        .stderr_contains("hello-production-public: no container instances registered");
}
