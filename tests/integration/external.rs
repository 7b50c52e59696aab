//! Services that are only an image (`docker-image` without `location`, the Exosphere format):
//! their service.yml is read out of the image through the real Docker Engine, from a loopback
//! registry, cached by digest for dry runs, and every way it can fail is explained.

use crate::harness::{Test, unwrapped};
use crate::registry::{Registry, require_docker};

const SERVICE_YML: &str = "type: private\nproduction:\n  port: 9200\nremote:\n  cpu: 512\n  memory: 1024\ndependency-data:\n  exocom:\n    receives: [search.query]\n";

/// An image FROM scratch holding `files` in its working directory `/srv`.
fn image(registry: &Registry, name: &str, files: &[(&str, &str)]) -> String {
    let copies: String = files
        .iter()
        .map(|(f, _)| format!("COPY {f} {f}\n"))
        .collect();
    registry.push_built(
        name,
        // a label of its own: no layer is shared with another test's image, which that test's
        // registry removes from the engine when it stops
        &format!("FROM scratch\nLABEL exo-deploy-test=\"{name}\"\nWORKDIR /srv\n{copies}"),
        files,
        None,
    )
}

/// spacetweet-exosphere with a `search` service that is only `image`.
fn app(image: &str) -> Test {
    Test::new()
        .app("spacetweet-exosphere")
        .edit("application.yml", |t| {
            format!("{t}  search:\n    docker-image: {image}\n")
        })
        .args(["-e", "production"])
}

#[test]
fn the_service_yml_inside_an_image_describes_the_service_and_is_cached_for_dry_runs() {
    require_docker();
    let registry = Registry::start();
    let digest = image(
        &registry,
        "acme/search:2.1",
        &[("service.yml", SERVICE_YML)],
    );
    let reference = format!("{}/acme/search:2.1", registry.host);
    // drop the local copy: the engine pulls it from the registry
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &reference])
        .output();
    let test = app(&reference);
    let dir = test.path().join("app");
    let out = test.args(["render"]).run();
    out.code(0).stderr_contains(&format!(
        "search: service.yml read from the image {reference} ({digest})"
    ));
    let main =
        std::fs::read_to_string(dir.join(".exo-deploy/production/main.tf")).expect("main.tf");
    let search = &main[main
        .find("module \"service_search\"")
        .expect("search is deployed")..];
    assert!(search.contains("port                   = 9200"), "{search}");
    assert!(search.contains("cpu                    = 512"), "{search}");
    assert!(
        main.contains("search.query"),
        "ExoCom routes the messages the image's service.yml declares"
    );
    // a dry run needs no Docker Engine once the image was read
    let again = Test::new()
        .at(&dir)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["-e", "production", "--dry-run"])
        .run();
    again.code(0).stderr_contains(&format!(
        "search: service.yml of {reference} from cache ({digest})"
    ));
}

#[test]
fn an_image_without_a_readable_service_yml_is_explained_at_its_name() {
    require_docker();
    let registry = Registry::start();
    image(&registry, "acme/bare:1", &[("other.txt", "nothing to see")]);
    image(
        &registry,
        "acme/broken:1",
        &[("service.yml", "type: publick\nproduction:\n  port: 9200\n")],
    );
    let bare = format!("{}/acme/bare:1", registry.host);
    app(&bare)
        .args(["--dry-run"])
        .run()
        .code(2)
        .stderr_contains(&format!(
            "the image {bare} of `search` has no service.yml in its working directory"
        ))
        .stderr_contains("COPY service.yml .");
    // an invalid one shows the image's name where a file's path would be
    let broken = format!("{}/acme/broken:1", registry.host);
    app(&broken)
        .args(["--dry-run"])
        .run()
        .code(2)
        .stderr_contains(&format!("[{broken}:1:7]"))
        .stderr_contains("unknown service type `publick`");
    let missing = format!("{}/acme/nothing:1", registry.host);
    app(&missing)
        .args(["--dry-run"])
        .run()
        .code(2)
        .stderr_contains(&format!("the image {missing} of `search` was not found"));
    // without a Docker Engine and nothing cached
    let out = app(&bare)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["--dry-run"])
        .run();
    out.code(2);
    let text = unwrapped(&out.stderr);
    assert!(
        text.contains("whose service.yml exo-deploy reads through the Docker Engine, and none answers at unix:///nonexistent/docker.sock"),
        "{text}"
    );
    assert!(
        text.contains("has 1 error"),
        "only the unreadable image: {text}"
    );
    // a teardown needs the state, not what the service would deploy: it goes on, and says so
    let out = app(&bare)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["--teardown", "--dry-run"])
        .run();
    out.code(0);
    assert!(
        unwrapped(&out.stderr)
            .contains("search: going on without it, its service.yml could not be read"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_image_may_not_choose_the_secrets_or_databases_its_container_gets() {
    require_docker();
    let registry = Registry::start();
    let greedy = "type: private\nproduction:\n  port: 9200\nremote:\n  secrets:\n    STRIPE_KEY: secretsmanager:shop/stripe\n  dependencies:\n    billing:\n      type: rds\n      template-config: {engine: postgres, engine-version: \"16\"}\n";
    image(&registry, "acme/greedy:1", &[("service.yml", greedy)]);
    let reference = format!("{}/acme/greedy:1", registry.host);
    let out = app(&reference).args(["--dry-run"]).run();
    out.code(2);
    let text = unwrapped(&out.stderr);
    assert!(
        text.contains("the service.yml inside the image of `search` names secrets (STRIPE_KEY)"),
        "{text}"
    );
    assert!(
        text.contains(
            "the service.yml inside the image of `search` declares a database (`billing`)"
        ),
        "{text}"
    );
}

#[test]
fn an_image_of_an_early_exosphere_app_may_not_choose_its_secrets_either() {
    // SpaceTweet as deployed in September 2017 (Exosphere 0.2x: services grouped by kind, the
    // service.yml's `environment.secrets`), with a worker that is only an image
    require_docker();
    let registry = Registry::start();
    let greedy = "type: search\nenvironment:\n  secrets:\n    - STRIPE_KEY\nproduction:\n  cpu: 100\n  memory: 200\n";
    image(&registry, "acme/early-greedy:1", &[("service.yml", greedy)]);
    let reference = format!("{}/acme/early-greedy:1", registry.host);
    let out = Test::new()
        .app("corpus/spacetweet-2017-09")
        .edit("application.yml", |t| {
            t.replace(
                "  worker:\n",
                &format!("  worker:\n    search:\n      docker-image: {reference}\n"),
            )
        })
        .args(["--dry-run"])
        .run();
    out.code(2);
    let text = unwrapped(&out.stderr);
    assert!(
        text.contains("the service.yml inside the image of `search` names secrets (STRIPE_KEY)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("[{reference}:4:7]")),
        "the image's file and line: {text}"
    );
}
