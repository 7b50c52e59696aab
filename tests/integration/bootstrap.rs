//! `exo-deploy bootstrap` and `--nuke` against a real AWS API stand-in (moto's server): what
//! they create is read back through the SDK, setting by setting.

use aws_sdk_route53::types::RrType;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ObjectOwnership, ServerSideEncryption};

use crate::harness::Test;
use crate::moto::{Moto, block_on};

const BUCKET: &str = "123456789012-space-tweet-production-terraform";
const REGION: &str = "us-west-2";

fn bootstrap(moto: &Moto, fixture: &str) -> crate::harness::Output {
    Test::new().app(fixture).aws(moto).args(["bootstrap"]).run()
}

/// Writes an object to the state bucket as test data. moto applies our TLS-only Deny to every
/// plain-HTTP object call whatever its condition, so the policy is lifted first; the next
/// bootstrap puts it back.
async fn put_past_policy(moto: &Moto, key: &str, body: &'static str) {
    let s3 = moto.s3(REGION).await;
    s3.delete_bucket_policy()
        .bucket(BUCKET)
        .send()
        .await
        .expect("lift the policy");
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from_static(body.as_bytes()))
        .send()
        .await
        .expect("put object");
}

/// A hosted zone for spacetweet.io made by someone else than exo-deploy; its id.
fn zone_by_hand(moto: &Moto, reference: &str) -> String {
    block_on(async {
        let zone = moto
            .route53()
            .await
            .create_hosted_zone()
            .name("spacetweet.io")
            .caller_reference(reference)
            .send()
            .await
            .expect("zone");
        zone.hosted_zone()
            .expect("zone")
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string()
    })
}

async fn zones_named(moto: &Moto, name: &str) -> Vec<String> {
    let r53 = moto.route53().await;
    let out = r53
        .list_hosted_zones_by_name()
        .dns_name(name)
        .send()
        .await
        .expect("list zones");
    out.hosted_zones()
        .iter()
        .filter(|z| z.name() == format!("{name}."))
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .collect()
}

#[test]
fn first_run_creates_a_hardened_bucket_and_the_zone() {
    let moto = Moto::start();
    let out = bootstrap(&moto, "spacetweet");
    out.code(0)
        .stderr_contains(&format!("state bucket {BUCKET}: created"))
        .stderr_contains("(spacetweet.io): created")
        .stderr_contains("name servers: ")
        .stderr_contains("the zone above spacetweet.io is not in this account")
        .stderr_contains("spacetweet.io. NS ");
    block_on(async {
        let s3 = moto.s3(REGION).await;
        let location = s3
            .get_bucket_location()
            .bucket(BUCKET)
            .send()
            .await
            .expect("location");
        assert_eq!(
            location.location_constraint().map(|l| l.as_str()),
            Some(REGION)
        );
        let enc = s3
            .get_bucket_encryption()
            .bucket(BUCKET)
            .send()
            .await
            .expect("encryption");
        let rule = &enc
            .server_side_encryption_configuration()
            .expect("config")
            .rules()[0];
        assert_eq!(
            rule.apply_server_side_encryption_by_default()
                .expect("default")
                .sse_algorithm(),
            &ServerSideEncryption::Aes256
        );
        let pab = s3
            .get_public_access_block()
            .bucket(BUCKET)
            .send()
            .await
            .expect("public access block");
        let pab = pab.public_access_block_configuration().expect("pab");
        assert_eq!(
            (
                pab.block_public_acls(),
                pab.ignore_public_acls(),
                pab.block_public_policy(),
                pab.restrict_public_buckets()
            ),
            (Some(true), Some(true), Some(true), Some(true))
        );
        let own = s3
            .get_bucket_ownership_controls()
            .bucket(BUCKET)
            .send()
            .await
            .expect("ownership");
        assert_eq!(
            own.ownership_controls().expect("controls").rules()[0].object_ownership(),
            &ObjectOwnership::BucketOwnerEnforced
        );
        let tags = s3
            .get_bucket_tagging()
            .bucket(BUCKET)
            .send()
            .await
            .expect("tags");
        let tags: Vec<(String, String)> = tags
            .tag_set()
            .iter()
            .map(|t| (t.key().into(), t.value().into()))
            .collect();
        for (k, v) in [
            ("exo-deploy:app", "space-tweet"),
            ("exo-deploy:env", "production"),
            ("exo-deploy:managed", "true"),
        ] {
            assert!(
                tags.contains(&(k.to_string(), v.to_string())),
                "missing tag {k}={v} in {tags:?}"
            );
        }
        let policy = s3
            .get_bucket_policy()
            .bucket(BUCKET)
            .send()
            .await
            .expect("policy");
        let policy: serde_json::Value =
            serde_json::from_str(policy.policy().expect("text")).expect("json");
        let deny = &policy["Statement"][0];
        assert_eq!(deny["Effect"], "Deny");
        assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
        // moto's answer to GetBucketVersioning has a root the SDK refuses; read the raw answer
        let raw = crate::harness::http_get(
            moto.url.trim_start_matches("http://"),
            &format!("/{BUCKET}?versioning"),
            "*/*",
        );
        assert!(
            raw.contains("<Status>Enabled</Status>"),
            "versioning is not on: {raw}"
        );

        let zones = zones_named(&moto, "spacetweet.io").await;
        assert_eq!(zones.len(), 1);
        let tfvars =
            std::fs::read_to_string(out.app.join(".exo-deploy/production/terraform.tfvars.json"))
                .expect("tfvars");
        assert!(
            tfvars.contains(&format!("\"hosted_zone_id\": \"{}\"", zones[0])),
            "the zone id goes to Terraform: {tfvars}"
        );
        let backend = std::fs::read_to_string(out.app.join(".exo-deploy/production/backend.tf"))
            .expect("backend");
        assert!(backend.contains(&format!("bucket       = \"{BUCKET}\"")));
    });
}

#[test]
fn a_second_run_changes_nothing_and_leaves_one_bucket_and_one_zone() {
    let moto = Moto::start();
    bootstrap(&moto, "spacetweet").code(0);
    let again = bootstrap(&moto, "spacetweet");
    again
        .code(0)
        .stderr_contains(&format!(
            "state bucket {BUCKET}: already as it should be (versioning, default encryption, public access block, object ownership, tags, TLS-only policy)"
        ))
        .stderr_contains("(spacetweet.io): found");
    block_on(async {
        let buckets = moto
            .s3(REGION)
            .await
            .list_buckets()
            .send()
            .await
            .expect("buckets");
        assert_eq!(buckets.buckets().len(), 1);
        assert_eq!(zones_named(&moto, "spacetweet.io").await.len(), 1);
    });
}

#[test]
fn settings_changed_behind_our_back_are_put_right() {
    let moto = Moto::start();
    bootstrap(&moto, "spacetweet").code(0);
    block_on(async {
        let s3 = moto.s3(REGION).await;
        s3.delete_public_access_block()
            .bucket(BUCKET)
            .send()
            .await
            .expect("delete pab");
        s3.delete_bucket_policy()
            .bucket(BUCKET)
            .send()
            .await
            .expect("delete policy");
        s3.delete_bucket_tagging()
            .bucket(BUCKET)
            .send()
            .await
            .expect("delete tags");
    });
    bootstrap(&moto, "spacetweet")
        .code(0)
        .stderr_contains("set public access block, tags, TLS-only policy; already right: versioning, default encryption, object ownership");
    block_on(async {
        let s3 = moto.s3(REGION).await;
        assert!(
            s3.get_public_access_block()
                .bucket(BUCKET)
                .send()
                .await
                .is_ok()
        );
        assert!(s3.get_bucket_policy().bucket(BUCKET).send().await.is_ok());
    });
}

#[test]
fn an_existing_zone_is_reused_and_two_of_the_same_name_are_refused() {
    let moto = Moto::start();
    let first = zone_by_hand(&moto, "by-hand-1");
    bootstrap(&moto, "spacetweet")
        .code(0)
        .stderr_contains(&format!("hosted zone {first} (spacetweet.io): found"));
    let second = zone_by_hand(&moto, "by-hand-2");
    let out = bootstrap(&moto, "spacetweet");
    out.code(1)
        .stderr_contains("2 hosted zones are named spacetweet.io")
        .stderr_contains("hosted-zone-id");
    assert!(
        out.stderr.contains(&first) && out.stderr.contains(&second),
        "both ids are listed: {}",
        out.stderr
    );
    // naming one in the config settles it
    let chosen = Test::new()
        .app("spacetweet")
        .edit("application.yml", |t| {
            t.replace(
                "        region: us-west-2\n",
                &format!("        region: us-west-2\n        hosted-zone-id: {second}\n"),
            )
        })
        .aws(&moto)
        .args(["bootstrap"])
        .run();
    chosen
        .code(0)
        .stderr_contains(&format!("hosted zone {second} (spacetweet.io): found"));
}

#[test]
fn a_bucket_of_another_account_is_refused() {
    let moto = Moto::start();
    moto.create_bucket_in_other_account(BUCKET, "999999999999");
    bootstrap(&moto, "spacetweet")
        .code(1)
        .stderr_contains(&format!(
            "the bucket {BUCKET} exists but belongs to another AWS account"
        ))
        .stderr_contains("set `remote-state-store`");
}

#[test]
fn without_an_account_id_the_bucket_is_named_from_the_caller_and_us_east_1_works() {
    let moto = Moto::start();
    bootstrap(&moto, "minimal")
        .code(0)
        .stderr_contains("state bucket 123456789012-hello-production-terraform: created");
    block_on(async {
        let s3 = moto.s3("us-east-1").await;
        let location = s3
            .get_bucket_location()
            .bucket("123456789012-hello-production-terraform")
            .send()
            .await
            .expect("location");
        // us-east-1 buckets have no location constraint
        assert!(
            location
                .location_constraint()
                .is_none_or(|l| l.as_str().is_empty())
        );
    });
}

#[test]
fn credentials_of_another_account_are_refused() {
    let moto = Moto::start();
    Test::new()
        .app("spacetweet")
        .edit("application.yml", |t| t.replace("'123456789012'", "'111111111111'"))
        .aws(&moto)
        .args(["bootstrap"])
        .run()
        .code(1)
        .stderr_contains("these credentials belong to account 123456789012, but the environment is for account 111111111111");
}

#[test]
fn missing_credentials_and_an_unreachable_endpoint_are_explained() {
    let moto = Moto::start();
    Test::new()
        .app("spacetweet")
        .env("AWS_ENDPOINT_URL", &moto.url)
        .args(["bootstrap"])
        .run()
        .code(1)
        .stderr_contains("no AWS credentials were found")
        .stderr_contains("AWS_PROFILE");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    Test::new()
        .app("spacetweet")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args([
            "bootstrap",
            "--endpoint-url",
            &format!("http://127.0.0.1:{closed}"),
        ])
        .run()
        .code(1)
        .stderr_contains("cannot reach the AWS endpoint")
        .stderr_contains("--endpoint-url");
}

#[test]
fn nuke_removes_every_version_the_zone_and_managed_repositories_only() {
    let moto = Moto::start();
    bootstrap(&moto, "spacetweet").code(0);
    let zone = block_on(zones_named(&moto, "spacetweet.io"))[0].clone();
    block_on(async {
        for body in ["one", "two", "three"] {
            put_past_policy(&moto, "releases/production/1.json", body).await;
        }
        let s3 = moto.s3(REGION).await;
        s3.delete_object()
            .bucket(BUCKET)
            .key("releases/production/1.json")
            .send()
            .await
            .expect("delete marker");
        moto.add_record(&zone, "www.spacetweet.io", RrType::A, "192.0.2.1")
            .await;
        let ecr = moto.ecr(REGION).await;
        let tag = |k: &str, v: &str| {
            aws_sdk_ecr::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("tag")
        };
        ecr.create_repository()
            .repository_name("space-tweet/web")
            .tags(tag("exo-deploy:app", "space-tweet"))
            .tags(tag("exo-deploy:env", "production"))
            .tags(tag("exo-deploy:managed", "true"))
            .send()
            .await
            .expect("managed repo");
        ecr.create_repository()
            .repository_name("someone-elses")
            .send()
            .await
            .expect("other repo");
    });
    bootstrap(&moto, "spacetweet")
        .code(0)
        .stderr_contains("set TLS-only policy");

    let out = Test::new()
        .app("spacetweet")
        .aws(&moto)
        .args(["--nuke", "--yes"])
        .run();
    out.code(0)
        .stderr_contains(&format!(
            "hosted zone {zone} (spacetweet.io): deleted with 1 records"
        ))
        .stderr_contains(&format!(
            "state bucket {BUCKET}: deleted with 4 object versions"
        ))
        .stderr_contains("image repository space-tweet/web: deleted with its images");
    block_on(async {
        let s3 = moto.s3(REGION).await;
        assert!(
            s3.head_bucket().bucket(BUCKET).send().await.is_err(),
            "the bucket is gone"
        );
        assert!(
            zones_named(&moto, "spacetweet.io").await.is_empty(),
            "the zone is gone"
        );
        let repos = moto
            .ecr(REGION)
            .await
            .describe_repositories()
            .send()
            .await
            .expect("repos");
        let names: Vec<&str> = repos
            .repositories()
            .iter()
            .filter_map(|r| r.repository_name())
            .collect();
        assert_eq!(
            names,
            ["someone-elses"],
            "only managed repositories are deleted"
        );
    });
    // a second nuke finds nothing and says so
    Test::new()
        .app("spacetweet")
        .aws(&moto)
        .args(["--nuke", "--yes"])
        .run()
        .code(0)
        .stderr_contains("not found: nothing to delete");
}

#[test]
fn nuke_leaves_a_zone_it_did_not_create() {
    let moto = Moto::start();
    zone_by_hand(&moto, "by-hand");
    bootstrap(&moto, "spacetweet").code(0);
    Test::new()
        .app("spacetweet")
        .aws(&moto)
        .args(["--nuke", "--yes"])
        .run()
        .code(0)
        .stderr_contains("left alone: not created by exo-deploy for this app and environment");
    assert_eq!(block_on(zones_named(&moto, "spacetweet.io")).len(), 1);
}

#[test]
fn nuke_destroys_recorded_resources_first_and_skips_destroy_when_the_state_records_none() {
    let moto = Moto::start();
    bootstrap(&moto, "spacetweet").code(0);
    let key = "space-tweet/production/terraform.tfstate";
    let put_state = |state: &'static str| block_on(put_past_policy(&moto, key, state));
    put_state(
        r#"{"version":4,"resources":[{"mode":"managed","type":"aws_vpc","name":"this","instances":[{"attributes":{}}]}]}"#,
    );
    // Recorded resources are destroyed first, through the Terraform runner; when that fails
    // (terraform 1.0.3 refuses the AWS configuration's required_version), nothing is deleted.
    Test::new()
        .app("spacetweet")
        .aws(&moto)
        .args([
            "--nuke",
            "--yes",
            "--terraform-image",
            crate::terraform_image::image(),
        ])
        .run()
        .code(1)
        .stderr_contains("the Terraform state records 1 resources: destroying them")
        .stderr_contains("terraform init");
    assert!(
        block_on(async {
            moto.s3(REGION)
                .await
                .head_bucket()
                .bucket(BUCKET)
                .send()
                .await
                .is_ok()
        }),
        "nothing was deleted"
    );
    put_state(
        r#"{"version":4,"resources":[{"mode":"data","type":"aws_region","name":"current","instances":[{}]}]}"#,
    );
    Test::new()
        .app("spacetweet")
        .aws(&moto)
        .args(["--nuke", "--yes"])
        .run()
        .code(0)
        .stderr_contains("state bucket");
    assert!(block_on(async {
        moto.s3(REGION)
            .await
            .head_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .is_err()
    }));
}

#[test]
fn teardown_and_nuke_refuse_without_a_terminal_or_yes() {
    let moto = Moto::start();
    for flag in ["--nuke", "--teardown"] {
        Test::new()
            .app("spacetweet")
            .aws(&moto)
            .args([flag])
            .run()
            .code(2)
            .stderr_contains("there is no terminal to give it: pass --yes");
    }
}

#[test]
fn json_mode_reports_the_name_servers() {
    let moto = Moto::start();
    let out = Test::new()
        .app("spacetweet")
        .aws(&moto)
        .args(["bootstrap", "--json"])
        .run();
    out.code(0);
    let events = out.events();
    let bucket = events
        .iter()
        .find(|e| e["event"] == "state-bucket")
        .expect("state-bucket event");
    assert_eq!(bucket["account"], "123456789012");
    assert_eq!(bucket["bucket"]["name"], BUCKET);
    assert_eq!(bucket["bucket"]["created"], true);
    let zone = events
        .iter()
        .find(|e| e["event"] == "hosted-zone")
        .expect("hosted-zone event");
    assert!(
        !zone["zone"]["name_servers"]
            .as_array()
            .expect("name servers")
            .is_empty()
    );
}

#[test]
fn our_bucket_in_another_region_is_refused() {
    let moto = Moto::start();
    block_on(async {
        moto.s3("us-east-1")
            .await
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .expect("bucket in us-east-1");
    });
    bootstrap(&moto, "spacetweet")
        .code(1)
        .stderr_contains(&format!(
            "the bucket {BUCKET} is in us-east-1, but the environment is in us-west-2"
        ));
}

#[test]
fn ecr_repositories_are_created_once_scanned_immutable_with_a_lifecycle_and_our_tags() {
    let moto = Moto::start();
    let out = block_on(async {
        let conf = moto.config(REGION).await;
        let aws = exo_deploy::adapters::aws::Aws::from_config(&conf, REGION);
        let created = exo_deploy::push::ecr::ensure_repository(
            &aws,
            "space-tweet-web",
            "space-tweet",
            "production",
        )
        .await
        .expect("create");
        let again = exo_deploy::push::ecr::ensure_repository(
            &aws,
            "space-tweet-web",
            "space-tweet",
            "production",
        )
        .await
        .expect("again");
        let login = exo_deploy::push::ecr::login(&aws).await.expect("login");
        (created, again, login.username)
    });
    assert_eq!(out, (true, false, "AWS".to_string()));
    block_on(async {
        let ecr = moto.ecr(REGION).await;
        let repos = ecr
            .describe_repositories()
            .repository_names("space-tweet-web")
            .send()
            .await
            .expect("describe");
        let repo = &repos.repositories()[0];
        assert_eq!(
            repo.image_tag_mutability().map(|m| m.as_str()),
            Some("IMMUTABLE")
        );
        assert_eq!(
            repo.image_scanning_configuration()
                .map(|c| c.scan_on_push()),
            Some(true)
        );
        let policy = ecr
            .get_lifecycle_policy()
            .repository_name("space-tweet-web")
            .send()
            .await
            .expect("lifecycle");
        assert!(
            policy
                .lifecycle_policy_text()
                .expect("text")
                .contains("imageCountMoreThan")
        );
        let tags = ecr
            .list_tags_for_resource()
            .resource_arn(repo.repository_arn().expect("arn"))
            .send()
            .await
            .expect("tags");
        assert!(
            tags.tags()
                .iter()
                .any(|t| t.key() == "exo-deploy:managed" && t.value() == "true")
        );
    });
}

#[test]
fn status_and_history_before_any_deploy_say_so() {
    let moto = Moto::start();
    Test::new()
        .app("spacetweet")
        .aws(&moto)
        .args(["status"])
        .run()
        .code(0)
        .stderr_contains("space-tweet (production): nothing deployed yet");
    Test::new()
        .app("spacetweet")
        .aws(&moto)
        .args(["history"])
        .run()
        .code(0)
        .stderr_contains("no releases yet");
    bootstrap(&moto, "spacetweet").code(0);
    let out = Test::new()
        .app("spacetweet")
        .aws(&moto)
        .args(["status", "--json"])
        .run();
    out.code(0);
    let status = out
        .events()
        .into_iter()
        .find(|e| e["event"] == "status")
        .expect("status event");
    assert!(status["release"].is_null());
    assert_eq!(
        status["services"],
        serde_json::json!([]),
        "no ECS cluster exists yet"
    );
}

/// The NS record set of `name` in zone `zone`, when there is one.
async fn ns_values(moto: &Moto, zone: &str, name: &str) -> Option<Vec<String>> {
    let r53 = moto.route53().await;
    let out = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .start_record_name(name)
        .start_record_type(RrType::Ns)
        .send()
        .await
        .expect("list records");
    out.resource_record_sets()
        .iter()
        .find(|r| r.name() == format!("{name}.") && r.r#type() == &RrType::Ns)
        .map(|r| {
            let mut v: Vec<String> = r
                .resource_records()
                .iter()
                .map(|v| v.value().trim_end_matches('.').to_string())
                .collect();
            v.sort();
            v
        })
}

#[test]
fn a_subdomain_environment_is_delegated_from_its_parent_zone_and_nuke_takes_the_delegation_away() {
    let moto = Moto::start();
    let parent = zone_by_hand(&moto, "parent");
    let staging = || {
        Test::new()
            .app("spacetweet-exosphere")
            .aws(&moto)
            .args(["-e", "staging"])
    };
    staging()
        .args(["bootstrap"])
        .run()
        .code(0)
        .stderr_contains(&format!(
            "delegated from the zone of spacetweet.io ({parent}): NS records added"
        ));
    let child = block_on(zones_named(&moto, "staging.spacetweet.io"))[0].clone();
    let mut servers: Vec<String> = block_on(async {
        moto.route53()
            .await
            .get_hosted_zone()
            .id(&child)
            .send()
            .await
            .expect("child zone")
            .delegation_set()
            .expect("name servers")
            .name_servers()
            .iter()
            .map(|s| s.trim_end_matches('.').to_string())
            .collect()
    });
    servers.sort();
    assert_eq!(
        block_on(ns_values(&moto, &parent, "staging.spacetweet.io")),
        Some(servers),
        "the parent delegates to exactly the new zone's name servers"
    );
    // again: already delegated, nothing added
    let again = staging().args(["bootstrap"]).run();
    again.code(0).stderr_contains(&format!(
        "delegated from the zone of spacetweet.io ({parent})"
    ));
    assert!(
        !again.stderr.contains("NS records added"),
        "{}",
        again.stderr
    );

    staging()
        .args(["--nuke", "--yes"])
        .run()
        .code(0)
        .stderr_contains("NS records of staging.spacetweet.io in the zone of spacetweet.io");
    assert_eq!(
        block_on(ns_values(&moto, &parent, "staging.spacetweet.io")),
        None,
        "the delegation went with the zone"
    );
    assert_eq!(
        block_on(zones_named(&moto, "spacetweet.io")),
        [parent],
        "the parent zone is not ours and stays"
    );
}

/// Adds `name` `kind` `value` to zone `zone`, as someone else than exo-deploy would.
fn record_by_hand(moto: &Moto, zone: &str, name: &str, kind: RrType, value: &str) {
    block_on(moto.add_record(zone, name, kind, value));
}

#[test]
fn a_delegation_to_other_name_servers_is_left_alone_and_explained() {
    let moto = Moto::start();
    let parent = zone_by_hand(&moto, "parent");
    record_by_hand(
        &moto,
        &parent,
        "staging.spacetweet.io",
        RrType::Ns,
        "ns1.elsewhere.example",
    );
    Test::new()
        .app("spacetweet-exosphere")
        .aws(&moto)
        .args(["-e", "staging", "bootstrap"])
        .run()
        .code(0)
        .stderr_contains(
            "delegates staging.spacetweet.io to other name servers (ns1.elsewhere.example)",
        );
    assert_eq!(
        block_on(ns_values(&moto, &parent, "staging.spacetweet.io")),
        Some(vec!["ns1.elsewhere.example".to_string()]),
        "never overwritten"
    );
}

#[test]
fn eni_trunking_is_read_from_the_accounts_ecs_settings_moto_ignoring_the_principal() {
    use exo_deploy::adapters::aws::Aws;
    let moto = Moto::start();
    block_on(async {
        let conf = moto.config("us-east-1").await;
        let aws = Aws::from_config(&conf, "us-east-1");
        let trunking = || exo_deploy::bootstrap::objects::eni_trunking(&aws, "123456789012");
        assert!(!trunking().await.expect("asked"), "off until turned on");
        // moto keeps one setting for the account whatever the principal
        moto.ecs("us-east-1")
            .await
            .put_account_setting()
            .name(aws_sdk_ecs::types::SettingName::AwsvpcTrunking)
            .value("enabled")
            .send()
            .await
            .expect("turn it on");
        assert!(trunking().await.expect("asked"));
    });
}

#[test]
fn records_a_delegation_would_hide_keep_the_parent_as_it_is() {
    let moto = Moto::start();
    let parent = zone_by_hand(&moto, "parent");
    record_by_hand(
        &moto,
        &parent,
        "api.staging.spacetweet.io",
        RrType::A,
        "192.0.2.9",
    );
    Test::new()
        .app("spacetweet-exosphere")
        .aws(&moto)
        .args(["-e", "staging", "bootstrap"])
        .run()
        .code(0)
        .stderr_contains("not delegated from the zone of spacetweet.io")
        .stderr_contains("api.staging.spacetweet.io A 192.0.2.9");
    assert_eq!(
        block_on(ns_values(&moto, &parent, "staging.spacetweet.io")),
        None,
        "no NS records that would hide someone's record"
    );
}

#[test]
fn nuke_lists_the_databases_snapshots_and_deletes_none() {
    let moto = Moto::start();
    block_on(async {
        let rds = aws_sdk_rds::Client::new(&moto.config("eu-west-1").await);
        for (instance, snapshot) in [
            (
                "bookshop-staging-postgres-2026",
                "bookshop-staging-postgres-before-upgrade",
            ),
            ("someone-else", "someone-elses-snapshot"),
        ] {
            rds.create_db_instance()
                .db_instance_identifier(instance)
                .engine("postgres")
                .db_instance_class("db.t3.micro")
                .allocated_storage(20)
                .master_username("app")
                .master_user_password("moto-stand-in-password")
                .send()
                .await
                .expect("instance");
            rds.create_db_snapshot()
                .db_instance_identifier(instance)
                .db_snapshot_identifier(snapshot)
                .send()
                .await
                .expect("snapshot");
        }
    });
    let count = || {
        block_on(async {
            aws_sdk_rds::Client::new(&moto.config("eu-west-1").await)
                .describe_db_snapshots()
                .send()
                .await
                .expect("snapshots")
                .db_snapshots()
                .len()
        })
    };
    let before = count();
    let out = Test::new()
        .app("bookshop")
        .aws(&moto)
        .args(["-e", "staging", "--nuke", "--yes"])
        .run();
    out.code(0)
        .stderr_contains("database snapshots kept (nuke never deletes them")
        .stderr_contains("  bookshop-staging-postgres-before-upgrade");
    assert!(
        !out.stderr.contains("someone-elses-snapshot"),
        "only this app's: {}",
        out.stderr
    );
    assert_eq!(count(), before, "nothing deleted");
}

#[test]
fn a_teardown_stops_before_its_question_when_the_deployed_state_protects_a_database() {
    // the config of staging has deletion protection off; the state as last applied has it on
    // (turned off in the config, not yet deployed): AWS would refuse to delete the database
    // half-way through the destroy
    // moto-tls: the hardened state bucket's TLS-only policy lets the plain-HTTP SDK in
    let moto = Moto::start_tls(&[]);
    let run = |args: &[&str]| {
        Test::new()
            .app("bookshop")
            .aws(&moto)
            .args(["-e", "staging"])
            .args(args)
            .run()
    };
    run(&["bootstrap"]).code(0);
    let bucket = "123456789012-bookshop-staging-terraform";
    let key = "bookshop/staging/terraform.tfstate";
    let state = r#"{"version":4,"resources":[
        {"mode":"managed","type":"aws_vpc","name":"this","module":"module.network","instances":[{"attributes":{"id":"vpc-1"}}]},
        {"mode":"managed","type":"aws_db_instance","name":"this","module":"module.database_postgres",
         "instances":[{"attributes":{"identifier":"bookshop-staging-postgres","deletion_protection":true}}]}]}"#;
    let s3 = || async { moto.s3("eu-west-1").await };
    block_on(async {
        s3().await
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from_static(state.as_bytes()))
            .send()
            .await
            .expect("state");
    });
    for flag in ["--teardown", "--nuke"] {
        run(&[flag, "--yes"])
            .code(2)
            .stderr_contains("environment `staging`, as last deployed, protects its databases from deletion (bookshop-staging-postgres): a teardown would fail half-way")
            .stderr_contains("set `deletion-protection: false` for the environment, run `exo-deploy` to apply it, then tear down");
    }
    let kept = block_on(async {
        s3().await
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("the state is still there")
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes()
    });
    assert_eq!(&kept[..], state.as_bytes(), "nothing was destroyed");
}
