//! Promotion between environments, end to end: staging deploys from its loopback registry,
//! its release becomes channel `stable`, and `promote --channel stable` deploys exactly those
//! digests to production, whose images live in another registry: copied registry to registry,
//! nothing built. Then the account plumbing: an environment that deploys through an assumed
//! role works in that role's account (moto scopes resources by the assumed role's account),
//! and Terraform gets the same credentials.
//!
//! Stand-ins, handled here: moto runs through `shared/tools/moto-tls` (the state bucket's
//! TLS-only policy, Application Auto Scaling's tag API), Terraform is >= 1.10 with hashicorp/aws
//! 5.x on the Terraform as rendered for the emulator, whose `post-render` hook only copies in
//! the moto quirk overrides (`terraform_moto`), ExoCom runs from a mirror in the staging registry, and
//! moto's ECR has no blob store, so the copy is tested between two loopback registries.

use std::path::Path;

use crate::harness::{Output, Test};
use crate::moto::{Moto, block_on};
use crate::registry::{Registry, require_docker};

/// `promote` of staging's `stable` channel to production.
const PROMOTE_STABLE: &[&str] = &[
    "promote",
    "--from",
    "staging",
    "--to",
    "production",
    "--channel",
    "stable",
    "--yes",
];

/// The minimal app with a staging and a production environment, each with its own registry.
fn two_environments(app: &Path, staging: &Registry, production: &Registry) {
    let file = app.join("application.yml");
    let text = std::fs::read_to_string(&file).expect("application.yml");
    let envs = format!(
        "  environments:\n    staging:\n      url: staging.hello.example.com\n      region: us-east-1\n      registry: {s}/team\n      exocom-image: {s}/team/exocom:0.27.0\n    production:\n      url: hello.example.com\n      region: us-east-1\n      registry: {p}/team\n      exocom-image: {s}/team/exocom:0.27.0\n",
        s = staging.host,
        p = production.host
    );
    let text = text.replace(
        "  environments:\n    production:\n      url: hello.example.com\n      region: us-east-1\n",
        &envs,
    );
    assert!(text.contains("staging:"), "{text}");
    std::fs::write(&file, text).expect("write application.yml");
    let web = app.join("web/service.yml");
    let text = std::fs::read_to_string(&web).expect("service.yml");
    std::fs::write(
        &web,
        text + "    staging:\n      url: staging.hello.example.com\n",
    )
    .expect("write service.yml");
}

fn tfvars_image(app: &Path, env: &str, role: &str) -> String {
    let text =
        std::fs::read_to_string(app.join(format!(".exo-deploy/{env}/terraform.tfvars.json")))
            .expect("tfvars");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["images"][role].as_str().expect("image").to_string()
}

#[test]
fn a_promotion_copies_the_release_images_between_registries_and_deploys_them_unbuilt() {
    require_docker();
    let moto = Moto::start_tls(&[
        ("MOTO_IAM_LOAD_MANAGED_POLICIES", "true"),
        ("MOTO_ECS_SERVICE_RUNNING", "1"),
    ]);
    let staging_registry = Registry::start();
    let production_registry = Registry::start();
    staging_registry.push_scratch("team/exocom:0.27.0", None);
    let test = Test::new().app("minimal");
    let app = test.path().join("app");
    two_environments(&app, &staging_registry, &production_registry);
    crate::harness::write_hook(
        &app,
        "post-render",
        &crate::terraform_moto::quirks_hook(&test.path().join("moto-quirks")),
    );
    // committed, hook included: a hook is part of what a release is made of
    crate::releases::commit_all(&app);
    let plugins = tempfile::TempDir::new().expect("plugin cache");
    let run = |args: &[&str]| -> Output {
        Test::new()
            .at(&app)
            .aws(&moto)
            .env("TF_CLI_CONFIG_FILE", crate::terraform_moto::cli_config())
            .env("PATH", &crate::terraform_moto::path_with_terraform())
            .env(
                "TF_PLUGIN_CACHE_DIR",
                plugins.path().to_str().expect("utf-8"),
            )
            .args(["--local-terraform"])
            .args(args)
            .run()
    };

    run(&["-e", "staging", "--yes"])
        .code(0)
        .stderr_contains("web: pushed ");
    let staged = tfvars_image(&app, "staging", "web");
    let digest = staged.split_once('@').expect("by digest").1.to_string();
    assert!(staged.starts_with(&format!("{}/team/hello-web@", staging_registry.host)));
    run(&["-e", "staging", "channel", "set", "stable", "latest"])
        .code(0)
        .stderr_contains("channel `stable` of staging now points to release ");
    assert_eq!(
        production_registry.blobs(),
        0,
        "production's registry is empty"
    );

    let promoted = run(PROMOTE_STABLE);
    promoted
        .code(0)
        .stderr_contains("promoting release ")
        .stderr_contains(&format!(
            "web: copied {staged} to {}/team/hello-web@{digest}",
            production_registry.host
        ))
        .stderr_contains("✓ terraform apply");
    assert!(
        !promoted.stderr.contains("pushed") && !promoted.stderr.contains("building"),
        "nothing is built or pushed: {}",
        promoted.stderr
    );
    // the same digest, served by production's own registry, blobs and all
    assert_eq!(
        tfvars_image(&app, "production", "web"),
        format!("{}/team/hello-web@{digest}", production_registry.host)
    );
    let answer = production_registry.get(
        &format!("/v2/team/hello-web/manifests/{digest}"),
        "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(production_registry.blobs() >= 2, "config and layer copied");
    let history = run(&["-e", "production", "history", "--json"]);
    history.code(0);
    let record = history
        .events()
        .into_iter()
        .find(|e| e["event"] == "release")
        .expect("a production release");
    assert!(
        record["promoted_from"]
            .as_str()
            .is_some_and(|p| p.starts_with("staging/")),
        "{record}"
    );
    assert_eq!(
        record["services"]["web"]["image"],
        tfvars_image(&app, "production", "web")
    );
    // promoting again finds everything in place
    run(PROMOTE_STABLE)
        .code(0)
        .stderr_contains("(already there, nothing copied)")
        .stderr_contains("no changes");
    // a channel's history
    run(&["-e", "staging", "channel", "set", "stable", "latest"]).code(0);
    run(&["-e", "staging", "channel", "list"])
        .code(0)
        .stderr_contains("stable  ")
        .stderr_contains("1 earlier entry");
}

#[test]
fn an_environment_with_a_role_deploys_in_that_role_account_and_terraform_gets_its_credentials() {
    let moto = Moto::start_tls(&[]);
    let role = "arn:aws:iam::222222222222:role/deployer";
    let test = Test::new().app("minimal").edit("application.yml", |t| {
        t.replace(
            "      region: us-east-1\n",
            &format!("      region: us-east-1\n      role-arn: {role}\n      account-id: '222222222222'\n"),
        )
    });
    let app = test.path().join("app");
    let out = Test::new().at(&app).aws(&moto).args(["bootstrap"]).run();
    out.code(0)
        .stderr_contains("state bucket 222222222222-hello-production-terraform: created");
    // Terraform (a stand-in on PATH that writes down its AWS variables) gets the assumed
    // role's temporary credentials, never the caller's
    let bin = test.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let seen = test.path().join("terraform-env");
    let script = bin.join("terraform");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv | grep '^AWS_' > {}\nif [ \"$2\" = -json ]; then echo '{{\"terraform_version\":\"1.11.4\"}}'; else echo 'Terraform v1.11.4'; fi\n",
            seen.display()
        ),
    )
    .expect("script");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Test::new()
        .at(&app)
        .aws(&moto)
        .env("PATH", &path)
        .args(["--local-terraform", "terraform", "--", "version"])
        .run()
        .code(0);
    let env = std::fs::read_to_string(&seen).expect("terraform ran");
    let var = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_default()
            .to_string()
    };
    assert_ne!(var("AWS_ACCESS_KEY_ID"), "testing", "{env}");
    assert!(!var("AWS_SESSION_TOKEN").is_empty(), "{env}");
    block_on(async {
        let conf = moto.config("us-east-1").await;
        let assumed = aws_credential_types::Credentials::new(
            var("AWS_ACCESS_KEY_ID"),
            var("AWS_SECRET_ACCESS_KEY"),
            Some(var("AWS_SESSION_TOKEN")),
            None,
            "terraform",
        );
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&conf)
                .credentials_provider(assumed.clone())
                .build(),
        );
        let who = sts.get_caller_identity().send().await.expect("who");
        assert_eq!(who.account(), Some("222222222222"));
        // the state bucket is in the role's account, not the caller's
        let own = moto.s3("us-east-1").await;
        let listed = own.list_buckets().send().await.expect("list");
        assert!(listed.buckets().is_empty(), "{:?}", listed.buckets());
        let theirs = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .credentials_provider(assumed)
                .force_path_style(true)
                .build(),
        );
        let listed = theirs.list_buckets().send().await.expect("list");
        assert_eq!(
            listed.buckets()[0].name(),
            Some("222222222222-hello-production-terraform")
        );
    });
}
