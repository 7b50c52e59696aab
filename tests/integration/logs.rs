//! `exo-deploy logs` against moto's CloudWatch Logs, seeded directly (log groups named as the
//! ecs-service module names them, streams as the awslogs driver names them): events of several
//! services and tasks merged in time order, `--since`, `--filter`, `--json`, and `--follow`
//! picking up events written after it started, also ones stamped behind the newest it had
//! printed, each exactly once, until SIGINT.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::harness::Test;
use crate::moto::{Moto, block_on};

const REGION: &str = "us-east-1";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_millis() as i64
}

/// Writes `(stream, milliseconds ago, message)` events into the group of `role`.
fn put(moto: &Moto, role: &str, events: &[(&str, i64, &str)]) {
    block_on(async {
        let logs = aws_sdk_cloudwatchlogs::Client::new(&moto.config(REGION).await);
        let group = format!("/exo-deploy/hello-production/{role}");
        let _ = logs.create_log_group().log_group_name(&group).send().await;
        let now = now_ms();
        for (stream, ago, message) in events {
            let stream = format!("{role}/{role}/{stream}");
            let _ = logs
                .create_log_stream()
                .log_group_name(&group)
                .log_stream_name(&stream)
                .send()
                .await;
            logs.put_log_events()
                .log_group_name(&group)
                .log_stream_name(&stream)
                .log_events(
                    aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                        .timestamp(now - ago)
                        .message(*message)
                        .build()
                        .expect("event"),
                )
                .send()
                .await
                .expect("put event");
        }
    });
}

const TASK_A: &str = "aaaaaaaa11112222333344445555";
const TASK_B: &str = "bbbbbbbb11112222333344445555";
const BUS: &str = "cccccccc11112222333344445555";

fn seeded() -> Moto {
    let moto = Moto::start();
    put(
        &moto,
        "web",
        &[
            (TASK_A, 300_000, "web starting"),
            (TASK_B, 200_000, "ERROR web cannot reach users"),
            (TASK_A, 100_000, "web ready"),
            (TASK_A, 3_600_000, "web an hour ago"),
        ],
    );
    put(&moto, "exocom", &[(BUS, 250_000, "exocom online")]);
    moto
}

fn logs(moto: &Moto, args: &[&str]) -> crate::harness::Output {
    Test::new()
        .app("minimal")
        .aws(moto)
        .args(["logs"])
        .args(args)
        .run()
}

#[test]
fn logs_merge_the_services_in_time_order_with_their_prefix() {
    let moto = seeded();
    let out = logs(&moto, &["--since", "10m"]);
    out.code(0);
    insta::assert_snapshot!(format!("stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr));
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [
            "web/aaaaaaaa | web starting",
            "exocom       | exocom online",
            "web/bbbbbbbb | ERROR web cannot reach users",
            "web/aaaaaaaa | web ready",
        ],
        "{}",
        out.stderr
    );
    // --since reaches back; --filter is CloudWatch's pattern; one service alone
    let hour = logs(&moto, &["web", "--since", "2h", "--filter", "ERROR"]);
    hour.code(0);
    assert_eq!(
        hour.stdout.lines().collect::<Vec<_>>(),
        ["web | ERROR web cannot reach users"],
        "one task among the events shown: no task in the prefix"
    );
    let older = logs(&moto, &["web", "--since", "2h"]);
    assert_eq!(
        older.stdout.lines().next(),
        Some("web/aaaaaaaa | web an hour ago")
    );
    // --json: one object per line
    let json = logs(&moto, &["exocom", "--json"]);
    json.code(0);
    crate::events::check(&json);
    let line: serde_json::Value = json
        .events()
        .into_iter()
        .find(|e| e["event"] == "log")
        .expect("a log event");
    assert_eq!(line["service"], "exocom");
    assert_eq!(line["task"], BUS);
    assert_eq!(line["message"], "exocom online");
    assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    // an unknown service and an unreadable time are usage errors
    logs(&moto, &["wbe"])
        .code(2)
        .stderr_contains("hello has no service `wbe` (did you mean `web`?)");
    logs(&moto, &["--since", "yesterday"])
        .code(2)
        .stderr_contains("`yesterday` is not a time");
    // nothing yet: said on stderr, nothing on stdout
    let quiet = logs(&moto, &["web", "--since", "10s"]);
    quiet
        .code(0)
        .stderr_contains("no log events of web since 10s");
    assert!(quiet.stdout.is_empty());
}

#[test]
fn logs_follow_prints_each_new_event_once_until_interrupted() {
    let moto = seeded();
    let test = Test::new().app("minimal");
    let app = test.path().join("app");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_exo-deploy"));
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    let nowhere = test.path().join("no-aws-config");
    let mut child = cmd
        .args([
            "-C",
            app.to_str().expect("utf-8"),
            "logs",
            "web",
            "--follow",
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_CONFIG_FILE", &nowhere)
        .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen: Vec<String> = Vec::new();
    let wait_for = |text: &str, seen: &mut Vec<String>| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !seen.iter().any(|l| l.contains(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "`{text}` never came: {seen:?}");
            if let Ok(line) = rx.recv_timeout(left) {
                seen.push(line);
            }
        }
    };
    wait_for("web ready", &mut seen);
    // written after it started: one stamped 10 s behind the newest it printed (as CloudWatch
    // delivers events late), and one now
    put(
        &moto,
        "web",
        &[(TASK_B, 110_000, "web late"), (TASK_A, 0, "web new")],
    );
    wait_for("web new", &mut seen);
    wait_for("web late", &mut seen);
    // a few more polls: nothing is printed twice
    std::thread::sleep(Duration::from_secs(5));
    while let Ok(line) = rx.try_recv() {
        seen.push(line);
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert_eq!(exit.code(), Some(0), "Ctrl-C ends a follow normally");
    for text in ["web starting", "web ready", "web new", "web late"] {
        assert_eq!(
            seen.iter().filter(|l| l.ends_with(text)).count(),
            1,
            "{text} printed once: {seen:?}"
        );
    }
}
