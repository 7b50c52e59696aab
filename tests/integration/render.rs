//! Snapshots of every rendered file for every example app, and what users rely on in them.

use crate::VALID_FIXTURES;
use crate::harness::{Test, combined};

fn render(fixture: &str, env: &str) -> (crate::harness::Output, String) {
    let test = Test::new().app(fixture);
    let out_dir = test.path().join("out");
    let out = test
        .args([
            "render",
            "-e",
            env,
            "--out",
            out_dir.to_str().expect("utf-8 path"),
        ])
        .run();
    out.code(0);
    let text = combined(&out_dir);
    (out, text)
}

/// The part of a combined render under `modules/` (our embedded modules, the same for every
/// app), and the rest (the app's own root files).
fn split_modules(text: &str) -> (String, String) {
    let mut modules = String::new();
    let mut own = String::new();
    for part in text.split_inclusive_headers() {
        if part.starts_with("==== modules/") {
            modules.push_str(part);
        } else {
            own.push_str(part);
        }
    }
    (modules, own)
}

trait Headers {
    fn split_inclusive_headers(&self) -> Vec<&str>;
}

impl Headers for str {
    /// The `==== path ====` sections of a combined render.
    fn split_inclusive_headers(&self) -> Vec<&str> {
        let mut starts: Vec<usize> = self.match_indices("==== ").map(|(i, _)| i).collect();
        starts.retain(|&i| i == 0 || self.as_bytes()[i - 1] == b'\n');
        starts.push(self.len());
        starts.windows(2).map(|w| &self[w[0]..w[1]]).collect()
    }
}

#[test]
fn every_fixture_renders_as_snapshotted() {
    // Each app's own files per fixture; the embedded modules once (they must be identical in
    // every app).
    let mut modules_seen: Option<String> = None;
    for (fixture, env) in VALID_FIXTURES {
        let (_, text) = render(fixture, env);
        let (modules, own) = split_modules(&text);
        insta::assert_snapshot!(format!("render__{fixture}__{env}"), own);
        match &modules_seen {
            None => modules_seen = Some(modules),
            Some(first) => assert_eq!(
                first, &modules,
                "{fixture}/{env}: the embedded modules differ between apps"
            ),
        }
    }
    insta::assert_snapshot!("render__modules", modules_seen.expect("fixtures"));
}

#[test]
fn rendering_twice_gives_the_same_bytes() {
    let (_, first) = render("spacetweet", "production");
    let (_, second) = render("spacetweet", "production");
    assert_eq!(first, second);
}

#[test]
fn rerender_replaces_stale_files_but_keeps_terraform_state_dirs() {
    let test = Test::new().app("minimal");
    let out = test.path().join("out");
    std::fs::create_dir_all(out.join(".terraform")).expect("mkdir");
    std::fs::write(out.join(".terraform/keep"), "x").expect("write");
    std::fs::write(out.join("stale.tf"), "# from an older render").expect("write");
    std::fs::create_dir_all(out.join("modules/removed-module")).expect("mkdir");
    std::fs::write(out.join("modules/removed-module/main.tf"), "").expect("write");
    let result = test
        .args(["render", "--out", out.to_str().expect("utf-8")])
        .run();
    result.code(0);
    assert!(
        out.join("main.tf").exists(),
        "the output is still there to inspect"
    );
    assert!(
        !out.join("stale.tf").exists(),
        "a .tf file the render did not write must go"
    );
    assert!(
        !out.join("modules/removed-module").exists(),
        "modules are replaced as a whole"
    );
    assert!(
        out.join(".terraform/keep").exists(),
        "terraform's own folder is left alone"
    );
    assert!(out.join("main.tf").exists());
}

#[test]
fn default_output_is_under_the_app() {
    let out = Test::new().app("minimal").args(["render"]).run();
    out.code(0);
    assert!(out.app.join(".exo-deploy/production/main.tf").is_file());
    assert!(
        out.app
            .join(".exo-deploy/production/modules/ecs-service/main.tf")
            .is_file()
    );
}

#[test]
fn user_values_cannot_inject_terraform_interpolation() {
    let (_, text) = render("https-autoscaling", "production");
    assert!(
        text.contains(r#""GREETING"    = "price: $${5} and 100%%{discount} \"quoted\"""#),
        "{text}"
    );
    assert!(!text.contains("\"price: ${5}"));
}

#[test]
fn secrets_are_rendered_as_references_only() {
    let (_, text) = render("https-autoscaling", "production");
    assert!(
        text.contains(r#""STRIPE_KEY"  = { store = "secretsmanager", name = "shop/stripe" }"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"name = "arn:aws:ssm:eu-central-1:210987654321:parameter/shop/db-password""#
        )
    );
    let (_, text) = render("spacetweet", "production");
    // a bare secret name reads the SSM parameter /<app>/<env>/<NAME>
    assert!(
        text.contains(
            r#""MONGODB_URI" = { store = "ssm", name = "/space-tweet/production/MONGODB_URI" }"#
        ),
        "{text}"
    );
}

#[test]
fn images_not_pushed_yet_are_empty_and_prebuilt_ones_are_kept() {
    let (_, text) = render("https-autoscaling", "production");
    let tfvars = text
        .split("==== terraform.tfvars.json ====\n")
        .nth(1)
        .expect("tfvars rendered");
    let tfvars: serde_json::Value =
        serde_json::from_str(tfvars.split("====").next().expect("text")).expect("json");
    assert_eq!(tfvars["images"]["api"], "");
    assert_eq!(
        tfvars["images"]["search"],
        "docker.io/opensearchproject/opensearch:2.11.0"
    );
    assert_eq!(tfvars["images"]["exocom"], "originate/exocom:0.27.0");
    assert_eq!(tfvars["hosted_zone_id"], "Z0123456789ABCDEFGHIJ");
}

#[test]
fn backend_uses_the_state_bucket_and_native_locking() {
    let (_, text) = render("spacetweet", "production");
    assert!(text.contains(r#"bucket       = "123456789012-space-tweet-production-terraform""#));
    assert!(text.contains(r#"key          = "space-tweet/production/terraform.tfstate""#));
    assert!(text.contains("use_lockfile = true"));
    // without an account id the bucket is passed at init
    let (_, text) = render("minimal", "production");
    assert!(!text.contains("bucket       ="));
    assert!(text.contains("-backend-config=bucket="));
}

#[test]
fn both_formats_of_the_same_app_render_the_same_infrastructure() {
    let (_, original) = render("spacetweet", "production");
    let (_, later) = render("spacetweet-exosphere", "production");
    let module_calls = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("module \""))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(module_calls(&original), module_calls(&later));
    assert!(original.contains("original exo-deploy format"));
    assert!(later.contains("Exosphere format"));
}
