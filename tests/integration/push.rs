//! `exo-deploy push` against a real Docker Engine and a real registry on loopback.

use base64::Engine;

use crate::harness::{Output, Test};
use crate::registry::{Registry, require_docker};

const MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";

fn push(test: Test, registry: &Registry) -> Output {
    test.args(["push", "--registry", &format!("{}/team", registry.host)])
        .run()
}

fn tfvars_images(out: &Output) -> serde_json::Value {
    let text =
        std::fs::read_to_string(out.app.join(".exo-deploy/production/terraform.tfvars.json"))
            .expect("tfvars");
    serde_json::from_str::<serde_json::Value>(&text).expect("json")["images"].clone()
}

#[test]
fn every_service_is_built_pushed_and_referenced_by_digest() {
    require_docker();
    let registry = Registry::start();
    let out = push(Test::new().app("spacetweet"), &registry);
    out.code(0);
    for role in ["notifier", "tweets", "users", "web"] {
        out.stderr_contains(&format!(
            "{role}: pushed {}/team/space-tweet-{role}:content-",
            registry.host
        ));
    }
    let images = tfvars_images(&out);
    for role in ["notifier", "tweets", "users", "web"] {
        let reference = images[role].as_str().expect("image reference");
        let (name, digest) = reference.split_once('@').expect("referenced by digest");
        assert_eq!(name, format!("{}/team/space-tweet-{role}", registry.host));
        assert!(
            digest.starts_with("sha256:") && digest.len() == 71,
            "{digest}"
        );
        // the registry serves exactly that manifest
        let answer = registry.get(
            &format!("/v2/team/space-tweet-{role}/manifests/{digest}"),
            MANIFEST,
        );
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains(&format!("docker-content-digest: {digest}")),
            "{answer}"
        );
    }
    assert_eq!(
        images["exocom"], "originate/exocom:0.27.0",
        "prebuilt images are kept as written"
    );
    let catalog = registry.get("/v2/_catalog", "application/json");
    assert!(catalog.contains("team/space-tweet-web"), "{catalog}");
}

#[test]
fn a_second_push_sends_nothing_and_a_changed_service_pushes_only_itself() {
    require_docker();
    let registry = Registry::start();
    let test = Test::new().app("spacetweet");
    let app = test.path().join("app");
    let first = push(test, &registry);
    first.code(0);
    let blobs = registry.blobs();
    let images = tfvars_images(&first);

    let again = Test::new().app("spacetweet");
    let copy = again.path().join("app");
    let second = push(again, &registry);
    second.code(0);
    for role in ["notifier", "tweets", "users", "web"] {
        second.stderr_contains(&format!("{role}: unchanged"));
    }
    assert_eq!(registry.blobs(), blobs, "a no-op push stores nothing new");
    assert_eq!(
        tfvars_images(&second),
        images,
        "the same digests are referenced"
    );
    drop(first);
    let _ = (app, copy);

    let changed = Test::new().app("spacetweet");
    std::fs::write(
        changed.path().join("app/web-server/hello.txt"),
        "a new page\n",
    )
    .expect("edit");
    let third = push(changed, &registry);
    third
        .code(0)
        .stderr_contains("web: pushed")
        .stderr_contains("users: unchanged")
        .stderr_contains("tweets: unchanged")
        .stderr_contains("notifier: unchanged");
    let now = tfvars_images(&third);
    assert_ne!(now["web"], images["web"]);
    assert_eq!(now["users"], images["users"]);
}

fn docker_config(dir: &std::path::Path, host: &str, user: &str, password: &str) -> String {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .expect("config");
    dir.display().to_string()
}

#[test]
fn registry_credentials_come_from_the_docker_config_and_wrong_ones_are_named() {
    require_docker();
    let registry = Registry::start_with_auth("ci", "right-password");
    let test = Test::new().app("minimal");
    let config = docker_config(
        &test.path().join("docker"),
        &registry.host,
        "ci",
        "wrong-password",
    );
    let out = test
        .env("DOCKER_CONFIG", &config)
        .args(["push", "--registry", &registry.host])
        .run();
    out.code(1)
        .stderr_contains(&format!(
            "{} refused the credentials for `web`",
            registry.host
        ))
        .stderr_contains(&format!(
            "credentials were looked up in {config}/config.json"
        ));
    assert!(
        !out.stderr.contains("wrong-password"),
        "the password never shows"
    );

    let test = Test::new().app("minimal");
    let config = docker_config(
        &test.path().join("docker"),
        &registry.host,
        "ci",
        "right-password",
    );
    test.env("DOCKER_CONFIG", &config)
        .args(["push", "--registry", &registry.host])
        .run()
        .code(0)
        .stderr_contains("web: pushed");
}

#[test]
fn a_credential_helper_is_asked_for_the_password() {
    require_docker();
    let registry = Registry::start_with_auth("helper-user", "helper-secret");
    let test = Test::new().app("minimal");
    let bin = test.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let helper = bin.join("docker-credential-testhelper");
    std::fs::write(&helper, "#!/bin/sh\nread server\necho \"{\\\"ServerURL\\\":\\\"$server\\\",\\\"Username\\\":\\\"helper-user\\\",\\\"Secret\\\":\\\"helper-secret\\\"}\"\n").expect("helper");
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let docker = test.path().join("docker");
    std::fs::create_dir_all(&docker).expect("dir");
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"credHelpers":{{"{}":"testhelper"}}}}"#, registry.host),
    )
    .expect("config");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    test.env("DOCKER_CONFIG", &docker.display().to_string())
        .env("PATH", &path)
        .args(["push", "--registry", &registry.host])
        .run()
        .code(0)
        .stderr_contains("web: pushed");
}

#[test]
fn an_unreachable_registry_or_daemon_and_a_broken_build_are_explained() {
    require_docker();
    let mut registry = Registry::start();
    let host = registry.host.clone();
    registry.stop();
    push(Test::new().app("minimal"), &registry)
        .code(1)
        .stderr_contains(&format!("cannot reach the registry {host}"));

    Test::new()
        .app("minimal")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["push", "--registry", "127.0.0.1:1/team"])
        .run()
        .code(1)
        .stderr_contains("cannot reach the Docker daemon at unix:///nonexistent/docker.sock")
        .stderr_contains("DOCKER_HOST");

    let registry = Registry::start();
    let test = Test::new().app("minimal");
    std::fs::write(
        test.path().join("app/web/Dockerfile"),
        "FROM scratch\nCOPY missing-file.txt /\n",
    )
    .expect("edit");
    let out = push(test, &registry);
    out.code(1)
        .stderr_contains("building the image of `web` failed")
        .stderr_contains("missing-file.txt");
    assert!(
        !out.app
            .join(".exo-deploy/production/terraform.tfvars.json")
            .exists(),
        "nothing is rendered after a failed push"
    );
}

#[test]
fn json_mode_emits_one_event_per_image() {
    require_docker();
    let registry = Registry::start();
    let out = Test::new()
        .app("spacetweet")
        .args(["push", "--json", "--registry", &registry.host])
        .run();
    out.code(0);
    let images: Vec<serde_json::Value> = out
        .events()
        .into_iter()
        .filter(|e| e["event"] == "image")
        .collect();
    assert_eq!(images.len(), 4);
    for e in &images {
        assert_eq!(e["status"], "pushed");
        assert!(
            e["reference"]
                .as_str()
                .expect("reference")
                .contains("@sha256:")
        );
        assert_eq!(e["layers_pushed"], 1);
    }
}

/// The architecture in the image config the registry holds for `reference` (`name@digest`).
fn architecture(registry: &Registry, repo: &str, digest: &str) -> String {
    let body = |answer: String| {
        answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default()
    };
    let manifest: serde_json::Value = serde_json::from_str(&body(
        registry.get(&format!("/v2/{repo}/manifests/{digest}"), MANIFEST),
    ))
    .expect("manifest JSON");
    let config = manifest["config"]["digest"]
        .as_str()
        .expect("config digest");
    let config: serde_json::Value = serde_json::from_str(&body(registry.get(
        &format!("/v2/{repo}/blobs/{config}"),
        "application/octet-stream",
    )))
    .expect("config JSON");
    config["architecture"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn images_are_built_for_the_architecture_of_the_instances_they_run_on() {
    require_docker();
    let registry = Registry::start();
    // Graviton instances for the private cluster, x86 for the public one
    let test = Test::new()
        .app("spacetweet")
        .edit("application.yml", |t| {
            t.replace(
                "private-cluster-size: t3.medium",
                "private-cluster-size: t4g.medium",
            )
        })
        // engine quirk (the legacy builder): an image FROM scratch whose steps match one
        // another test builds for amd64 at the same time can come from that build's cache
        // with its architecture; contents of their own keep these builds apart
        .edit("users-service/hello.txt", |t| t + "arm64 test\n")
        .edit("notifier/hello.txt", |t| t + "arm64 test\n");
    let out = push(test, &registry);
    out.code(0);
    // a derived tag names a non-x86 architecture, so an x86 image is never taken for it
    out.stderr_contains(&format!(
        "users: pushed {}/team/space-tweet-users:content-",
        registry.host
    ));
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with("users: pushed") && l.contains("-arm64 ")),
        "{}",
        out.stderr
    );
    let images = tfvars_images(&out);
    for (role, arch) in [("web", "amd64"), ("users", "arm64"), ("notifier", "arm64")] {
        let reference = images[role].as_str().expect("reference");
        let (_, digest) = reference.split_once('@').expect("by digest");
        assert_eq!(
            architecture(&registry, &format!("team/space-tweet-{role}"), digest),
            arch,
            "{role}"
        );
    }
}

#[test]
fn a_folder_with_an_image_name_is_built_and_pushed_under_that_name() {
    // the original format often names the image beside the folder; exo-deploy builds the
    // folder, as Exosphere did, and pushes it under the registry with that name
    require_docker();
    let registry = Registry::start();
    let elsewhere = Registry::start();
    let test = Test::new().app("spacetweet").edit("application.yml", |t| {
        t.replace(
            "      location: ./users-service\n",
            "      location: ./users-service\n      docker_image: spacetweet/users\n",
        )
        .replace(
            "      location: ./tweets-service\n",
            &format!(
                "      location: ./tweets-service\n      docker_image: {}/acme/tweets\n",
                elsewhere.host
            ),
        )
    });
    let out = push(test, &registry);
    out.code(0)
        .stderr_contains(&format!(
            "users: pushed {}/team/spacetweet/users:content-",
            registry.host
        ))
        // a name with its own registry host is pushed there
        .stderr_contains(&format!(
            "tweets: pushed {}/acme/tweets:content-",
            elsewhere.host
        ))
        .stderr_contains(&format!(
            "web: pushed {}/team/space-tweet-web:content-",
            registry.host
        ));
    let images = tfvars_images(&out);
    assert!(
        images["users"].as_str().is_some_and(
            |r| r.starts_with(&format!("{}/team/spacetweet/users@sha256:", registry.host))
        ),
        "{images}"
    );
    assert!(
        images["tweets"]
            .as_str()
            .is_some_and(|r| r.starts_with(&format!("{}/acme/tweets@sha256:", elsewhere.host))),
        "{images}"
    );
    let catalog = elsewhere.get("/v2/_catalog", "application/json");
    assert!(catalog.contains("acme/tweets"), "{catalog}");
}
