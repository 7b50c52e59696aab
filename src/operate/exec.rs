//! `exo-deploy exec`: a shell or a command in a running task, through ECS Exec. ECS opens the
//! session (`ExecuteCommand`); AWS's Session Manager plugin, on the user's machine, carries
//! the terminal over it, as the AWS CLI does. The session's token reaches the plugin through
//! its environment (`AWS_SSM_START_SESSION_RESPONSE`), never its command line, so the plugin
//! must be newer than 1.2.497.0, the last version without that.

use std::process::{Command, Stdio};

use crate::adapters::aws::{Aws, classify};

/// The plugin's program name, as AWS installs it.
pub const PLUGIN: &str = "session-manager-plugin";

/// What a session runs when no command is given.
pub const SHELL: &str = "/bin/sh";

/// The last plugin version that can only take the session on its command line.
const LAST_WITHOUT_ENV: [u64; 4] = [1, 2, 497, 0];

/// The variable the session reaches the plugin through.
const SESSION_VARIABLE: &str = "AWS_SSM_START_SESSION_RESPONSE";

const INSTALL: &str = "install AWS's Session Manager plugin (https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html): on macOS `brew install --cask session-manager-plugin`; on Debian or Ubuntu the `session-manager-plugin.deb` package from that page; then check with `session-manager-plugin --version`";

/// Why a session could not start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ExecError {
    #[error(
        "`exo-deploy exec` needs AWS's Session Manager plugin (`{PLUGIN}`), which is not on PATH"
    )]
    #[diagnostic(help("{INSTALL}"))]
    PluginMissing,
    #[error(
        "the Session Manager plugin is version {version}; exo-deploy needs one newer than 1.2.497.0, which takes the session's token from its environment rather than its command line"
    )]
    #[diagnostic(help("{INSTALL}"))]
    PluginTooOld { version: String },
    #[error("the Session Manager plugin (`{PLUGIN}`) could not run: {0}")]
    #[diagnostic(help(
        "check that it is executable (`session-manager-plugin --version`), or {INSTALL}"
    ))]
    PluginUnusable(String),
    #[error("ECS could not reach the ECS Exec agent of task {task} of `{service}`: {message}")]
    #[diagnostic(help(
        "the agent connects to Session Manager over HTTPS: the task needs outbound 443 (or `vpc-endpoints: true`, which adds Session Manager's endpoint with `ecs-exec`), its task role the ssmmessages permissions exo-deploy renders with `ecs-exec` (tasks started before need `exo-deploy restart {service}`), and a moment after it starts"
    ))]
    NotConnected {
        service: String,
        task: String,
        message: String,
    },
    #[error("{env} does not run ECS Exec: its services' tasks cannot open a session")]
    #[diagnostic(help(
        "set `ecs-exec: true` for the environment (docs/config.md) and deploy; tasks started before it need `exo-deploy restart SERVICE`"
    ))]
    NotEnabled { env: String },
    #[error("`{service}` runs no task that can open a session{}", detail(.task))]
    #[diagnostic(help(
        "`exo-deploy ps` lists the service's running tasks; a stopped service needs `exo-deploy start`; tasks started before `ecs-exec` was on need `exo-deploy restart {service}`"
    ))]
    NoTask {
        service: String,
        task: Option<String>,
    },
    #[error("the Session Manager plugin ended with {status}")]
    #[diagnostic(help(
        "its own message above says why; a task whose outbound traffic is restricted reaches Session Manager only through the `vpc-endpoints` endpoint"
    ))]
    PluginFailed { status: String },
    #[error("the session was ended by {signal}, passed on to the Session Manager plugin")]
    #[diagnostic(help(
        "exo-deploy was asked to stop (a CI job's timeout, a closed terminal); the plugin closed the session before exo-deploy ended"
    ))]
    Stopped { signal: String },
}

fn detail(task: &Option<String>) -> String {
    task.as_ref()
        .map(|t| format!(" (task {t} is not running, or started without ECS Exec, or its ECS Exec agent is not running)"))
        .unwrap_or_else(|| " (none running, or none started with ECS Exec and its agent running)".into())
}

/// The plugin's version, once it is known to be on PATH and new enough.
pub fn plugin_version() -> Result<String, ExecError> {
    let out = match Command::new(PLUGIN)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ExecError::PluginMissing),
        Err(e) => return Err(ExecError::PluginUnusable(e.to_string())),
    };
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if newer_than_last_without_env(&version) {
        Ok(version)
    } else {
        Err(ExecError::PluginTooOld { version })
    }
}

/// Whether a plugin `version` (`1.2.707.0`) takes the session from its environment.
fn newer_than_last_without_env(version: &str) -> bool {
    let parts: Option<Vec<u64>> = version.split('.').map(|p| p.parse().ok()).collect();
    let Some(mut parts) = parts.filter(|p| !p.is_empty() && p.len() <= 4) else {
        return false;
    };
    parts.resize(4, 0);
    parts.as_slice() > LAST_WITHOUT_ENV.as_slice()
}

/// A running task a session can open in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The task's id (its ARN's last part).
    pub id: String,
    /// The service container's runtime id: the session's target names it.
    pub runtime_id: String,
}

/// The task of `service` to open a session in: `wanted` (an id), else the first running one,
/// among those started with ECS Exec whose agent runs.
pub async fn task(
    aws: &Aws,
    cluster: &str,
    service: &str,
    wanted: Option<&str>,
) -> crate::bootstrap::Result<Option<Task>> {
    // the task asked for by its id, else the first page of the service's running tasks
    let arns: Vec<String> = match wanted {
        Some(id) => vec![id.to_string()],
        None => aws
            .ecs
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
            .send()
            .await
            .map_err(|e| classify("ecs:ListTasks", service, e))?
            .task_arns()
            .to_vec(),
    };
    if arns.is_empty() {
        return Ok(None);
    }
    let described = aws
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns))
        .send()
        .await
        .map_err(|e| classify("ecs:DescribeTasks", service, e))?;
    Ok(pick(described.tasks(), service))
}

/// The first (by ARN) of `tasks` that runs `service`'s container with ECS Exec: running,
/// started with `enableExecuteCommand`, its ExecuteCommandAgent running.
pub fn pick(tasks: &[aws_sdk_ecs::types::Task], service: &str) -> Option<Task> {
    let mut tasks: Vec<_> = tasks.iter().collect();
    tasks.sort_by(|a, b| a.task_arn().cmp(&b.task_arn()));
    tasks.iter().find_map(|t| {
        if t.last_status() != Some("RUNNING")
            || !crate::operate::ps::of_service(t, service)
            || !t.enable_execute_command()
        {
            return None;
        }
        let container = t.containers().iter().find(|c| c.name() == Some(service))?;
        let agent_runs = container.managed_agents().iter().any(|a| {
            a.name().map(|n| n.as_str()) == Some("ExecuteCommandAgent")
                && a.last_status() == Some("RUNNING")
        });
        if !agent_runs {
            return None;
        }
        Some(Task {
            id: t.task_arn()?.rsplit('/').next()?.to_string(),
            runtime_id: container.runtime_id()?.to_string(),
        })
    })
}

/// An open ECS Exec session: what the plugin needs. The token is the session's key: it is
/// never printed, logged or put on a command line.
pub struct Session {
    pub session_id: String,
    stream_url: String,
    token: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

/// Opens a session running `command` in the container of `service` in `task`.
pub async fn open(
    aws: &Aws,
    cluster: &str,
    service: &str,
    task: &Task,
    command: &str,
) -> crate::bootstrap::Result<Session> {
    let out = aws
        .ecs
        .execute_command()
        .cluster(cluster)
        .task(&task.id)
        .container(service)
        .interactive(true)
        .command(command)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|s| s.is_target_not_connected_exception())
            {
                // the fix travels with the message: the Cloud port speaks AWS errors
                let not_connected = ExecError::NotConnected {
                    service: service.to_string(),
                    task: task.id.clone(),
                    message: e
                        .as_service_error()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                };
                let help = miette::Diagnostic::help(&not_connected)
                    .map(|h| format!("; {h}"))
                    .unwrap_or_default();
                crate::bootstrap::BootstrapError::from(crate::adapters::aws::AwsError::Api {
                    operation: "ecs:ExecuteCommand",
                    target: task.id.clone(),
                    message: format!("{not_connected}{help}"),
                })
            } else {
                classify("ecs:ExecuteCommand", service, e).into()
            }
        })?;
    let s = out.session();
    Ok(Session {
        session_id: s.and_then(|s| s.session_id()).unwrap_or_default().into(),
        stream_url: s.and_then(|s| s.stream_url()).unwrap_or_default().into(),
        token: s.and_then(|s| s.token_value()).unwrap_or_default().into(),
    })
}

/// The command line and environment the plugin is started with for `session` (the session
/// itself only in the environment).
pub fn plugin_invocation(
    session: &Session,
    region: &str,
    profile: Option<&str>,
    cluster: &str,
    task: &Task,
    ecs_endpoint: &str,
) -> (Vec<String>, (String, String)) {
    let session_json = serde_json::json!({
        "SessionId": session.session_id,
        "StreamUrl": session.stream_url,
        "TokenValue": session.token,
    });
    let target = serde_json::json!({
        "Target": format!("ecs:{cluster}_{}_{}", task.id, task.runtime_id),
    });
    (
        vec![
            SESSION_VARIABLE.to_string(),
            region.to_string(),
            "StartSession".to_string(),
            profile.unwrap_or_default().to_string(),
            target.to_string(),
            ecs_endpoint.to_string(),
        ],
        (SESSION_VARIABLE.to_string(), session_json.to_string()),
    )
}

/// Runs the plugin for `session` until the session ends. Ctrl-C, Ctrl-\ and Ctrl-Z are the
/// remote command's (the plugin forwards them): exo-deploy handles them from here on, as the
/// AWS CLI ignores them, so they never end or stop it under the plugin. SIGTERM and SIGHUP
/// are passed on to the plugin, and its end awaited. (A handler, once
/// registered, stays for the process's life; exo-deploy ends with the session.)
pub async fn attach(
    plugin: &str,
    args: &[String],
    session: (String, String),
) -> Result<(), ExecError> {
    #[cfg(unix)]
    let _handled: Vec<tokio::signal::unix::Signal> = {
        use tokio::signal::unix::{SignalKind, signal};
        [
            SignalKind::interrupt(),
            SignalKind::quit(),
            SignalKind::from_raw(libc::SIGTSTP),
        ]
        .into_iter()
        .filter_map(|kind| signal(kind).ok())
        .collect()
    };
    let mut child = tokio::process::Command::new(plugin)
        .args(args)
        .env(session.0, session.1)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ExecError::PluginMissing,
            _ => ExecError::PluginFailed {
                status: e.to_string(),
            },
        })?;
    // SIGTERM and SIGHUP sent to exo-deploy alone (a CI runner's timeout, a closed remote
    // shell) are passed on to the plugin, which then closes the session; exo-deploy waits for
    // it rather than leave it running without its parent
    #[cfg(unix)]
    let status = {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn next(s: &mut Option<Signal>) {
            // a signal whose handler could not be registered, or whose stream ended, never
            // comes
            if let Some(s) = s
                && s.recv().await.is_some()
            {
                return;
            }
            std::future::pending::<()>().await;
        }
        let mut term = signal(SignalKind::terminate()).ok();
        let mut hangup = signal(SignalKind::hangup()).ok();
        let mut passed_on = None;
        let status = loop {
            let name = tokio::select! {
                status = child.wait() => break status,
                () = next(&mut term) => "TERM",
                () = next(&mut hangup) => "HUP",
            };
            passed_on.get_or_insert(name);
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .args([&format!("-{name}"), &pid.to_string()])
                    .status();
            }
        };
        if let Some(name) = passed_on {
            return Err(ExecError::Stopped {
                signal: format!("SIG{name}"),
            });
        }
        status
    };
    #[cfg(not(unix))]
    let status = child.wait().await;
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(ExecError::PluginFailed {
            status: s.to_string(),
        }),
        Err(e) => Err(ExecError::PluginFailed {
            status: e.to_string(),
        }),
    }
}

/// The command a session runs: `command`'s words, quoted where a word needs it, or a shell.
pub fn command_line(command: &[String]) -> String {
    if command.is_empty() {
        return SHELL.to_string();
    }
    command
        .iter()
        .map(|w| {
            if !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The ECS endpoint the plugin is told of (`endpoint_url` for an emulator).
pub fn ecs_endpoint(region: &str, endpoint_url: Option<&str>) -> String {
    if let Some(url) = endpoint_url {
        return url.to_string();
    }
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://ecs.{region}.{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Held by the tests that run `attach`: a signal sent to this process reaches every
    /// `attach` running in it.
    static ATTACHING: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// An executable shell script at `path` (a stand-in for AWS's plugin).
    fn script(path: &std::path::Path, body: &str) {
        std::fs::write(path, body).expect("write");
        let mut perms = std::fs::metadata(path).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(path, perms).expect("chmod");
    }

    #[test]
    fn only_plugins_that_take_the_session_from_their_environment_are_used() {
        assert!(newer_than_last_without_env("1.2.707.0"));
        assert!(newer_than_last_without_env("1.3"));
        assert!(!newer_than_last_without_env("1.2.497.0"));
        assert!(!newer_than_last_without_env("1.2.463.0"));
        assert!(!newer_than_last_without_env("garbage"));
        assert!(!newer_than_last_without_env(""));
    }

    #[test]
    fn the_plugin_gets_the_session_in_its_environment_and_its_failure_is_reported() {
        let _alone = ATTACHING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // a script stands in for AWS's plugin (which cannot be installed here): it writes
        // down its arguments and the session variable it was given
        let dir = tempfile::TempDir::new().expect("dir");
        let seen = dir.path().join("seen");
        let plugin = dir.path().join("session-manager-plugin");
        script(
            &plugin,
            &format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > {seen}\nprintf 'env=%s\\n' \"$(printenv \"$1\")\" >> {seen}\n",
                seen = seen.display()
            ),
        );
        let session = Session {
            session_id: "s-1".into(),
            stream_url: "wss://x".into(),
            token: "SECRET-TOKEN".into(),
        };
        let task = Task {
            id: "abc".into(),
            runtime_id: "abc-1".into(),
        };
        let (args, env) = plugin_invocation(
            &session,
            "us-east-1",
            None,
            "c",
            &task,
            "https://ecs.example",
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let path = plugin.to_str().expect("utf-8");
        runtime
            .block_on(attach(path, &args, env.clone()))
            .expect("the plugin ran");
        let written = std::fs::read_to_string(&seen).expect("seen");
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines[0], SESSION_VARIABLE);
        assert_eq!(lines[2], "StartSession");
        assert!(
            lines[6].starts_with("env=") && lines[6].contains("SECRET-TOKEN"),
            "{written}"
        );
        assert!(
            lines[..6].iter().all(|l| !l.contains("SECRET-TOKEN")),
            "{written}"
        );
        // a plugin that fails is a failed run
        let failing = dir.path().join("failing-plugin");
        script(&failing, "#!/bin/sh\nexit 3\n");
        let err = runtime
            .block_on(attach(failing.to_str().expect("utf-8"), &args, env))
            .expect_err("exit 3");
        assert!(err.to_string().contains("exit status: 3"), "{err}");
    }

    #[test]
    fn sigterm_and_sighup_are_passed_on_to_the_plugin_whose_end_is_awaited() {
        // the handlers `attach` registers stay for this test process's life, as for
        // exo-deploy's (see `attach`); the signals are sent to this process, as a CI runner
        // would send them to exo-deploy alone, and only once the plugin runs (its handlers
        // are registered before it starts)
        let _alone = ATTACHING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = tempfile::TempDir::new().expect("dir");
        let seen = dir.path().join("seen");
        let ready = dir.path().join("ready");
        let plugin = dir.path().join("session-manager-plugin");
        script(
            &plugin,
            &format!(
                "#!/bin/sh\ntrap 'echo TERM >> {seen}' TERM\ntrap 'echo HUP >> {seen}; exit 0' HUP\ntouch {ready}\nwhile :; do sleep 0.05; done\n",
                seen = seen.display(),
                ready = ready.display()
            ),
        );
        let signals = {
            let (seen, ready) = (seen.clone(), ready.clone());
            std::thread::spawn(move || {
                let wait_for = |done: &dyn Fn() -> bool| {
                    for _ in 0..400 {
                        if done() {
                            return true;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(25));
                    }
                    false
                };
                let me = std::process::id().to_string();
                assert!(wait_for(&|| ready.exists()), "the plugin never started");
                let kill = |name: &str| {
                    std::process::Command::new("kill")
                        .args([name, &me])
                        .status()
                        .expect("kill")
                };
                assert!(kill("-TERM").success());
                assert!(
                    wait_for(&|| std::fs::read_to_string(&seen).is_ok_and(|s| s.contains("TERM"))),
                    "SIGTERM never reached the plugin"
                );
                assert!(kill("-HUP").success());
            })
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let err = runtime
            .block_on(attach(
                plugin.to_str().expect("utf-8"),
                &[],
                ("EXO_TEST_SESSION".into(), "{}".into()),
            ))
            .expect_err("a stopped session is a failed run");
        signals.join().expect("signals sent");
        assert!(
            matches!(&err, ExecError::Stopped { signal } if signal == "SIGTERM"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&seen).expect("seen"),
            "TERM\nHUP\n",
            "each signal reached the plugin once, and exo-deploy waited for its end"
        );
    }

    #[test]
    fn a_session_opens_only_in_a_running_task_of_the_service_with_ecs_exec_and_its_agent() {
        use aws_sdk_ecs::types::{Container, ManagedAgent, ManagedAgentName};
        let task = |id: &str, group: &str, status: &str, exec: bool, agent: &str| {
            aws_sdk_ecs::types::Task::builder()
                .task_arn(format!("arn:aws:ecs:us-east-1:1:task/c/{id}"))
                .group(group)
                .last_status(status)
                .enable_execute_command(exec)
                .containers(
                    Container::builder()
                        .name("web")
                        .runtime_id(format!("{id}-1"))
                        .managed_agents(
                            ManagedAgent::builder()
                                .name(ManagedAgentName::ExecuteCommandAgent)
                                .last_status(agent)
                                .build(),
                        )
                        .build(),
                )
                .build()
        };
        let ready = task("c3", "service:web", "RUNNING", true, "RUNNING");
        let picked = |tasks: &[aws_sdk_ecs::types::Task]| pick(tasks, "web").map(|t| t.id);
        // the first usable one by ARN
        assert_eq!(
            pick(
                &[
                    ready.clone(),
                    task("c4", "service:web", "RUNNING", true, "RUNNING")
                ],
                "web"
            ),
            Some(Task {
                id: "c3".into(),
                runtime_id: "c3-1".into()
            })
        );
        // started before ecs-exec, agent not (yet) running, stopping, another service's
        for unusable in [
            task("a1", "service:web", "RUNNING", false, "RUNNING"),
            task("a2", "service:web", "RUNNING", true, "PENDING"),
            task("a3", "service:web", "DEACTIVATING", true, "RUNNING"),
            task("a4", "service:admin", "RUNNING", true, "RUNNING"),
        ] {
            assert_eq!(
                picked(std::slice::from_ref(&unusable)),
                None,
                "{unusable:?}"
            );
            assert_eq!(picked(&[unusable, ready.clone()]), Some("c3".into()));
        }
    }

    #[test]
    fn a_command_keeps_its_words_as_typed() {
        assert_eq!(command_line(&[]), "/bin/sh");
        let words = |w: &[&str]| command_line(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(words(&["ls", "-l", "/app"]), "ls -l /app");
        assert_eq!(words(&["echo", "two words"]), "echo 'two words'");
        assert_eq!(words(&["echo", "it's"]), r#"echo 'it'\''s'"#);
        assert_eq!(words(&["printf", ""]), "printf ''");
    }

    #[test]
    fn the_session_token_is_in_the_plugins_environment_never_on_its_command_line() {
        let session = Session {
            session_id: "ecs-execute-command-1".into(),
            stream_url: "wss://ssmmessages.eu-central-1.amazonaws.com/v1/data-channel/x".into(),
            token: "SECRET-TOKEN".into(),
        };
        let task = Task {
            id: "abc".into(),
            runtime_id: "abc-123".into(),
        };
        let (args, (name, value)) = plugin_invocation(
            &session,
            "eu-central-1",
            None,
            "shop-production-public",
            &task,
            &ecs_endpoint("eu-central-1", None),
        );
        assert!(args.iter().all(|a| !a.contains("SECRET-TOKEN")), "{args:?}");
        assert_eq!(args[0], SESSION_VARIABLE);
        assert_eq!(name, SESSION_VARIABLE);
        assert!(value.contains("SECRET-TOKEN"));
        assert_eq!(
            args[4],
            r#"{"Target":"ecs:shop-production-public_abc_abc-123"}"#
        );
        assert_eq!(args[5], "https://ecs.eu-central-1.amazonaws.com");
        assert!(!format!("{session:?}").contains("SECRET"));
    }
}
