//! Releases you can trust: a clean app repository records clean releases, build contexts
//! leave exo-deploy's working folder out, a given tag never silently holds other code, images
//! carry their provenance, ECR keeps the images of recent releases, and a rollback to a
//! release whose image is gone stops before anything is planned. Against the real Docker
//! Engine, a loopback registry, git, and moto.

use std::path::Path;
use std::process::Command;

use crate::harness::{Output, Test};
use crate::moto::{Moto, block_on};
use crate::registry::{Registry, require_docker};

const MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";

/// Runs git in `dir`, which must succeed; its output.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Makes `dir` a git repository with everything in it committed, and a remote whose url holds
/// a token (as CI checkouts often have).
pub fn commit_all(dir: &Path) {
    git(dir, &["init", "-q"]);
    git(
        dir,
        &[
            "remote",
            "add",
            "origin",
            "https://bot:ghp_not_a_real_token@example.com/team/hello.git",
        ],
    );
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "first"]);
}

/// The body of a registry answer.
fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// The config the registry holds for `repo@digest`.
fn image_config(registry: &Registry, repo: &str, digest: &str) -> serde_json::Value {
    let manifest: serde_json::Value = serde_json::from_str(body(
        &registry.get(&format!("/v2/{repo}/manifests/{digest}"), MANIFEST),
    ))
    .expect("manifest");
    let config = manifest["config"]["digest"]
        .as_str()
        .expect("config digest");
    serde_json::from_str(body(&registry.get(
        &format!("/v2/{repo}/blobs/{config}"),
        "application/octet-stream",
    )))
    .expect("config")
}

fn pushed_digest(out: &Output, role: &str) -> String {
    let text =
        std::fs::read_to_string(out.app.join(".exo-deploy/production/terraform.tfvars.json"))
            .expect("tfvars");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let reference = v["images"][role].as_str().expect("reference");
    reference.split_once('@').expect("by digest").1.to_string()
}

/// The minimal app with its one service at the app's root (`location: .`).
fn app_at_root(test: Test) -> Test {
    let test = test.app("minimal");
    let app = test.path().join("app");
    for f in ["Dockerfile", "hello.txt", "service.yml"] {
        std::fs::rename(app.join("web").join(f), app.join(f)).expect("move");
    }
    std::fs::remove_dir(app.join("web")).expect("rmdir");
    std::fs::write(app.join("Dockerfile"), "FROM scratch\nCOPY . /app/\n").expect("Dockerfile");
    test.edit("application.yml", |t| {
        t.replace("location: ./web", "location: .")
    })
}

#[test]
fn a_clean_app_repository_stays_clean_and_its_images_carry_their_provenance() {
    require_docker();
    let registry = Registry::start();
    let test = app_at_root(Test::new());
    let app = test.path().join("app");
    commit_all(&app);
    let head = git(&app, &["rev-parse", "HEAD"]);
    let time = git(&app, &["log", "-1", "--format=%cI"]);
    let push = |app: &Path| {
        Test::new()
            .at(app)
            .args(["push", "--registry", &format!("{}/team", registry.host)])
            .run()
    };
    let out = push(&app);
    out.code(0);
    // the service folder is the app's root, which now holds .exo-deploy/: still clean
    out.stderr_contains(&format!(
        "web: pushed {}/team/hello-web:git-{} ",
        registry.host,
        &head[..12]
    ));
    assert_eq!(
        git(&app, &["status", "--porcelain"]),
        "",
        "exo-deploy's working folder ignores itself"
    );
    assert!(app.join(".exo-deploy/.gitignore").is_file());
    let digest = pushed_digest(&out, "web");
    let config = image_config(&registry, "team/hello-web", &digest);
    let labels = &config["config"]["Labels"];
    assert_eq!(labels["org.opencontainers.image.revision"], head.as_str());
    assert_eq!(labels["org.opencontainers.image.created"], time.as_str());
    assert_eq!(
        labels["org.opencontainers.image.source"], "https://example.com/team/hello.git",
        "the token in the remote's url never reaches an image"
    );
    assert_eq!(labels["org.opencontainers.image.title"], "web");
    assert_eq!(
        labels["dev.exo-deploy.content-hash"].as_str().map(str::len),
        Some(64)
    );
    assert!(
        !config.to_string().contains("ghp_not_a_real_token"),
        "{config}"
    );

    // a hook written in .exo-deploy/hooks is the app's own: git sees it
    crate::harness::write_hook(&app, "post-render", "#!/bin/sh\nexit 0\n");
    assert_eq!(
        git(&app, &["status", "--porcelain", "--untracked-files=all"]),
        "?? .exo-deploy/hooks/post-render"
    );
}

#[test]
fn the_working_folder_never_enters_a_build_context() {
    require_docker();
    let registry = Registry::start();
    // outside git the tag is the content's hash: a context that took in .exo-deploy/ would
    // change with every render and push anew
    let test = app_at_root(Test::new());
    let app = test.path().join("app");
    let push = || {
        Test::new()
            .at(&app)
            .args(["push", "--registry", &format!("{}/team", registry.host)])
            .run()
    };
    let first = push();
    first.code(0).stderr_contains("web: pushed ");
    assert!(app.join(".exo-deploy/production/main.tf").is_file());
    std::fs::write(app.join(".exo-deploy/production/terraform.log"), "a log").expect("log");
    let second = push();
    second.code(0).stderr_contains("web: unchanged ");
    assert_eq!(pushed_digest(&first, "web"), pushed_digest(&second, "web"));
}

#[test]
fn a_given_tag_that_holds_other_content_is_refused_unless_forced() {
    require_docker();
    let registry = Registry::start();
    let test = Test::new().app("minimal");
    let app = test.path().join("app");
    let push = |extra: &[&str]| {
        Test::new()
            .at(&app)
            .args(["push", "--registry", &format!("{}/team", registry.host)])
            .args(extra)
            .run()
    };
    let image = format!("{}/team/hello-web:v1", registry.host);
    let first = push(&["--tag", "v1"]);
    first
        .code(0)
        .stderr_contains(&format!("web: pushed {image} "));
    let v1 = pushed_digest(&first, "web");
    // the same content again: the tag is reused, nothing is built
    push(&["--tag", "v1"])
        .code(0)
        .stderr_contains(&format!("web: unchanged {image} "));
    // changed code under the same tag: refused, the tag keeps its image
    std::fs::write(app.join("web/hello.txt"), "changed\n").expect("change");
    let refused = push(&["--tag", "v1"]);
    refused
        .code(1)
        .stderr_contains(&format!("{image} already exists and does not hold what `web`'s folder builds (it was built from content "))
        .stderr_contains("--force-tag");
    let answer = registry.get("/v2/team/hello-web/manifests/v1", MANIFEST);
    assert!(
        answer
            .to_ascii_lowercase()
            .contains(&format!("docker-content-digest: {v1}")),
        "{answer}"
    );
    // --force-tag moves it
    let forced = push(&["--tag", "v1", "--force-tag"]);
    forced
        .code(0)
        .stderr_contains(&format!("web: pushed {image} "));
    assert_ne!(pushed_digest(&forced, "web"), v1);
    // an image exo-deploy did not build, under a tag asked for: refused too
    registry.push_scratch("team/hello-web:v2", None);
    push(&["--tag", "v2"]).code(1).stderr_contains(
        "it carries no dev.exo-deploy.content-hash label: exo-deploy did not build it",
    );
}

#[test]
fn ecr_release_tags_come_and_go_image_by_image_and_the_policy_rule_for_them_comes_first() {
    let moto = Moto::start();
    let region = "us-east-1";
    block_on(async {
        let conf = moto.config(region).await;
        let aws = exo_deploy::adapters::aws::Aws::from_config(&conf, region);
        use exo_deploy::push::ecr;
        ecr::ensure_repository(&aws, "hello-web", "hello", "production")
            .await
            .expect("repository");
        let client = moto.ecr(region).await;
        // moto's ECR stores manifests but no blobs: an image is its manifest (moto quirk: it
        // derives an image's digest from its layers alone, so each gets a layer of its own)
        let manifest = |n: u32| {
            serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "size": n, "digest": format!("sha256:{n:064}") },
                "layers": [{ "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": n, "digest": format!("sha256:{:064}", n + 100) }]
            })
            .to_string()
        };
        let mut digests = Vec::new();
        for n in 1..=2 {
            let put = client
                .put_image()
                .repository_name("hello-web")
                .image_manifest(manifest(n))
                .image_tag(format!("git-{n}"))
                .send()
                .await
                .expect("put image");
            digests.push(
                put.image()
                    .and_then(|i| i.image_id())
                    .and_then(|i| i.image_digest())
                    .expect("digest")
                    .to_string(),
            );
        }
        let tagged = |digest: &str, tag: &str| ecr::TaggedImage {
            repository: "hello-web".into(),
            digest: digest.into(),
            tag: tag.into(),
        };
        let keep = tagged(&digests[0], &ecr::release_tag("production", "r1"));
        assert!(ecr::add_tag(&aws, &keep).await.expect("tag"));
        assert!(
            ecr::add_tag(&aws, &keep)
                .await
                .expect("a re-run tags again without error")
        );
        let tags_of = |digest: String| {
            let client = client.clone();
            async move {
                let found = client
                    .describe_images()
                    .repository_name("hello-web")
                    .image_ids(
                        aws_sdk_ecr::types::ImageIdentifier::builder()
                            .image_digest(digest)
                            .build(),
                    )
                    .send()
                    .await
                    .expect("describe");
                let mut tags = found.image_details()[0].image_tags().to_vec();
                tags.sort();
                tags
            }
        };
        assert_eq!(
            tags_of(digests[0].clone()).await,
            ["git-1", "release-production-r1"],
            "the same image (its digest), one more tag: the repository's tags stay immutable"
        );
        let account = "123456789012";
        assert!(
            ecr::has_image(&aws, account, "hello-web", &digests[1])
                .await
                .expect("ask")
        );
        assert!(
            !ecr::has_image(&aws, account, "hello-web", &format!("sha256:{:064}", 9))
                .await
                .expect("ask")
        );
        // a release that fell out of the window loses its tag, never its image
        ecr::remove_tag(&aws, &keep).await.expect("untag");
        assert_eq!(tags_of(digests[0].clone()).await, ["git-1"]);
        ecr::remove_tag(&aws, &keep)
            .await
            .expect("a tag already gone is fine");
        let only = tagged(&digests[1], "git-2");
        ecr::remove_tag(&aws, &only)
            .await
            .expect("the only tag stays");
        assert_eq!(tags_of(digests[1].clone()).await, ["git-2"]);

        // a deploy's whole pass: the kept releases tagged, every other release tag of the
        // environment removed, another environment's left alone, a gone image skipped
        let r1 = "20261101T000000000Z-aaaaaaaaaaaa";
        let r2 = "20261102T000000000Z-bbbbbbbbbbbb";
        ecr::add_tag(
            &aws,
            &tagged(&digests[0], &ecr::release_tag("production", r1)),
        )
        .await
        .expect("old release");
        ecr::add_tag(&aws, &tagged(&digests[0], &ecr::release_tag("staging", r1)))
            .await
            .expect("another environment");
        let kept = ecr::keep_released(
            &aws,
            &[
                tagged(&digests[1], &ecr::release_tag("production", r2)),
                tagged(
                    &format!("sha256:{:064}", 9),
                    &ecr::release_tag("production", r2),
                ),
            ],
            &["hello-web".to_string()],
            "production",
        )
        .await;
        assert_eq!(
            (kept.tagged, kept.untagged, kept.problems.len()),
            (1, 1, 0),
            "{kept:?}"
        );
        assert_eq!(
            tags_of(digests[0].clone()).await,
            ["git-1".to_string(), ecr::release_tag("staging", r1)]
        );
        assert_eq!(
            tags_of(digests[1].clone()).await,
            ["git-2".to_string(), ecr::release_tag("production", r2)]
        );

        // moto never runs lifecycle policies: the document is what AWS would run
        let policy = client
            .get_lifecycle_policy()
            .repository_name("hello-web")
            .send()
            .await
            .expect("policy");
        let policy: serde_json::Value =
            serde_json::from_str(policy.lifecycle_policy_text().expect("text")).expect("json");
        assert_eq!(policy, ecr::lifecycle_policy());
        let rules = policy["rules"].as_array().expect("rules");
        assert_eq!(rules[0]["selection"]["tagPrefixList"][0], "release-");
        assert!(
            rules[0]["rulePriority"].as_u64() < rules[1]["rulePriority"].as_u64()
                && rules[1]["selection"]["tagStatus"] == "any",
            "released images match a higher-priority rule first, so the catch-all rule never expires them: {policy}"
        );
    });
}

#[test]
fn a_rollback_to_a_release_whose_image_was_deleted_changes_nothing() {
    require_docker();
    let registry = Registry::start();
    let moto = Moto::start_tls(&[]);
    let digest = registry.push_scratch("team/hello-web:git-1", None);
    let exocom = registry.push_scratch("team/exocom:0.27.0", None);
    let test = Test::new().app("minimal");
    let app = test.path().join("app");
    let run = |args: &[&str]| {
        Test::new()
            .at(&app)
            .aws(&moto)
            .args(["--local-terraform"])
            .args(args)
            .run()
    };
    run(&["bootstrap"]).code(0);
    let bucket = "123456789012-hello-production-terraform";
    let id = "20261101T000000000Z-0123456789ab";
    let gone = format!("{}/team/hello-web@{digest}", registry.host);
    let record = serde_json::json!({
        "id": id, "app": "hello", "env": "production", "version": "0.0.0",
        "deployed_at": "2026-11-01T00:00:00Z", "commit": null, "dirty": false,
        "images": {
            "exocom": format!("{}/team/exocom:0.27.0@{exocom}", registry.host),
            "web": gone,
        },
        "outputs": null, "deployed_by": "user:t", "duration_seconds": 1.0
    });
    block_on(async {
        moto.s3("us-east-1")
            .await
            .put_object()
            .bucket(bucket)
            .key(format!("releases/production/{id}.json"))
            .body(record.to_string().into_bytes().into())
            .send()
            .await
            .expect("record");
    });
    // the registry deletes the manifest (as a lifecycle policy or a clean-up would)
    let deleted = crate::harness::http_request(
        &registry.host,
        "DELETE",
        &format!("/v2/team/hello-web/manifests/{digest}"),
        MANIFEST,
    );
    assert!(deleted.starts_with("HTTP/1.1 202"), "{deleted}");
    let out = run(&["rollback", id, "--yes"]);
    out.code(1)
        .stderr_contains(&format!(
            "{gone} (the image of `web` in that release) is no longer in its registry"
        ))
        .stderr_contains("nothing was changed");
    out.stderr_contains("✓ preflight");
    for step in ["state bucket", "render", "terraform init", "terraform plan"] {
        assert!(
            !out.stderr.contains(&format!("✓ {step} ")),
            "nothing after the release was read: {}",
            out.stderr
        );
    }
}
