//! `exo-deploy exec` up to the session. moto has no ECS Exec: its ExecuteCommand answers 500
//! and its tasks never report `enableExecuteCommand` or the ECS Exec agent, so no session can
//! open here, and the terminal the Session Manager plugin carries is not tested. What is
//! tested: the plugin check (missing, too old to take the session's token from its
//! environment), the environment's switch, and the search for a task that can open one, on
//! moto's ECS. The choice of task and the handoff to the plugin (a script in its place) are
//! unit tests (`operate::exec`). Here a script stands in for the plugin only to answer
//! `--version`: AWS's plugin cannot be installed here.

use std::path::Path;

use crate::harness::Test;
use crate::moto::{Moto, block_on};

/// A folder whose `session-manager-plugin` says it is `version`.
fn plugin(dir: &Path, version: &str) -> String {
    let bin = dir.join("plugin-bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let path = bin.join("session-manager-plugin");
    std::fs::write(&path, format!("#!/bin/sh\necho {version}\n")).expect("write");
    let mut perms = std::fs::metadata(&path).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).expect("chmod");
    format!("{}:/usr/bin:/bin", bin.display())
}

fn with_exec(text: String) -> String {
    text.replace(
        "      region: us-east-1\n",
        "      region: us-east-1\n      ecs-exec: true\n",
    )
}

#[test]
fn exec_says_how_to_install_the_plugin_and_refuses_one_that_needs_the_token_on_its_command_line() {
    let empty = tempfile::TempDir::new().expect("dir");
    let missing = Test::new()
        .app("minimal")
        .edit("application.yml", with_exec)
        .env("PATH", &empty.path().display().to_string())
        .args(["exec", "web"])
        .run();
    missing.code(1);
    let old = tempfile::TempDir::new().expect("dir");
    let too_old = Test::new()
        .app("minimal")
        .edit("application.yml", with_exec)
        .env("PATH", &plugin(old.path(), "1.2.463.0"))
        .args(["exec", "web", "--", "ls", "-l"])
        .run();
    too_old.code(1);
    let new = tempfile::TempDir::new().expect("dir");
    let off = Test::new()
        .app("minimal")
        .env("PATH", &plugin(new.path(), "1.2.707.0"))
        .args(["exec", "web"])
        .run();
    off.code(2);
    insta::assert_snapshot!(format!(
        "$ exo-deploy exec web   # no plugin on PATH\n{}\n$ exo-deploy exec web -- ls -l   # plugin 1.2.463.0\n{}\n$ exo-deploy exec web   # ecs-exec is off\n{}",
        missing.stderr, too_old.stderr, off.stderr
    ));
    Test::new()
        .app("minimal")
        .args(["exec", "wbe"])
        .run()
        .code(2)
        .stderr_contains("(did you mean `web`?)");
}

#[test]
fn exec_finds_no_task_that_can_open_a_session_on_moto_and_says_what_to_do() {
    let moto = Moto::start();
    moto.hold_tasks_running();
    let instance = moto.ec2_instance("us-east-1", "t3.small", "ami-0123456789abcdef0");
    block_on(async {
        let ecs = moto.ecs("us-east-1").await;
        ecs.create_cluster()
            .cluster_name("hello-production-public")
            .send()
            .await
            .expect("cluster");
        ecs.register_container_instance()
            .cluster("hello-production-public")
            .instance_identity_document(serde_json::json!({ "instanceId": instance }).to_string())
            .send()
            .await
            .expect("container instance");
        crate::moto::register_task_definition(
            &ecs,
            "hello-production-web",
            "web",
            "127.0.0.1:5000/team/hello-web@sha256:0000000000000000000000000000000000000000000000000000000000000001",
        )
        .await;
        ecs.run_task()
            .cluster("hello-production-public")
            .task_definition("hello-production-web")
            .group("service:web")
            .send()
            .await
            .expect("task");
    });
    let dir = tempfile::TempDir::new().expect("dir");
    let out = Test::new()
        .app("minimal")
        .edit("application.yml", with_exec)
        .aws(&moto)
        .env("PATH", &plugin(dir.path(), "1.2.707.0"))
        .args(["exec", "web"])
        .run();
    // a running task of web, but (on moto, as for a task started before `ecs-exec` was on)
    // without ECS Exec
    out.code(1)
        .stderr_contains("`web` runs no task that can open a session")
        .stderr_contains("need `exo-deploy restart web`");
    // a task asked for by an id ECS does not know (AWS answers DescribeTasks with a MISSING
    // failure, moto with no task): the same refusal, naming it
    let wanted = Test::new()
        .app("minimal")
        .edit("application.yml", with_exec)
        .aws(&moto)
        .env("PATH", &plugin(dir.path(), "1.2.707.0"))
        .args(["exec", "web", "--task", "0123"])
        .run();
    wanted
        .code(1)
        .stderr_contains("task 0123 is not running, or started without ECS Exec");
}
