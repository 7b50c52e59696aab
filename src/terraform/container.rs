//! Terraform in a container: the rendered directory and the plugin cache mounted, host
//! networking, the host user's ids so files stay the user's, credentials in the environment
//! only. The container is named after the app and environment, and removed afterwards; one
//! left over by a crashed run is removed first.

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    KillContainerOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::error::{Result, TerraformError};
use super::{PLUGIN_CACHE, Runner, Sink, WORKDIR};

/// The label holding the pid of the exo-deploy that started a container.
const OWNER_LABEL: &str = "exo-deploy.owner-pid";

fn err(e: impl std::fmt::Display) -> TerraformError {
    TerraformError::Container(e.to_string())
}

async fn remove(docker: &Docker, name: &str) {
    let _ = docker
        .remove_container(
            name,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await;
}

/// Pulls `image` when the engine does not have it, showing progress.
async fn ensure_image(docker: &Docker, image: &str, sink: &Sink) -> Result<()> {
    if docker.inspect_image(image).await.is_ok() {
        return Ok(());
    }
    sink.write(format!("pulling {image}\n").as_bytes());
    let mut pull = docker.create_image(
        Some(
            CreateImageOptionsBuilder::default()
                .from_image(image)
                .build(),
        ),
        None,
        None,
    );
    while let Some(item) = pull.next().await {
        let info = item.map_err(|e| TerraformError::Image {
            image: image.into(),
            detail: e.to_string(),
        })?;
        if let Some(e) = info.error_detail {
            return Err(TerraformError::Image {
                image: image.into(),
                detail: e.message.unwrap_or_default(),
            });
        }
    }
    Ok(())
}

pub(super) async fn run(
    runner: &Runner,
    docker: &Docker,
    image: &str,
    args: &[String],
    sink: &Sink,
) -> Result<i64> {
    let name = runner.name.as_str();
    if let Ok(found) = docker.inspect_container(name, None).await {
        let owner = found
            .config
            .as_ref()
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(OWNER_LABEL))
            .and_then(|pid| pid.parse::<u32>().ok());
        let running = found
            .state
            .as_ref()
            .and_then(|s| s.running)
            .unwrap_or(false);
        // A run whose exo-deploy is still alive is another run, not a leftover.
        if let Some(pid) = owner
            && running
            && pid != std::process::id()
            && alive(pid)
        {
            return Err(TerraformError::Busy {
                container: name.to_string(),
                pid,
            });
        }
        sink.write(
            format!("removing the container {name} left over by an earlier run\n").as_bytes(),
        );
        remove(docker, name).await;
    }
    ensure_image(docker, image, sink).await?;
    let dir = std::fs::canonicalize(&runner.dir).map_err(err)?;
    let cache = std::fs::canonicalize(&runner.plugin_cache).map_err(err)?;
    let user = {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&dir).map_err(err)?;
        format!("{}:{}", meta.uid(), meta.gid())
    };
    let mut env: Vec<String> = runner.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    env.push(format!("TF_PLUGIN_CACHE_DIR={PLUGIN_CACHE}"));
    env.push(format!("HOME={WORKDIR}/.terraform/home"));
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(args.to_vec()),
        env: Some(env),
        working_dir: Some(WORKDIR.to_string()),
        user: Some(user),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        labels: Some([(OWNER_LABEL.to_string(), std::process::id().to_string())].into()),
        host_config: Some(HostConfig {
            binds: Some(vec![
                format!("{}:{WORKDIR}:rw", dir.display()),
                format!("{}:{PLUGIN_CACHE}:rw", cache.display()),
            ]),
            network_mode: Some("host".into()),
            init: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::default().name(name).build()),
            body,
        )
        .await
        .map_err(err)?;
    let result = attach_and_wait(docker, name, sink).await;
    remove(docker, name).await;
    result
}

async fn attach_and_wait(docker: &Docker, name: &str, sink: &Sink) -> Result<i64> {
    let attach = AttachContainerOptionsBuilder::default()
        .stream(true)
        .stdout(true)
        .stderr(true)
        .logs(true)
        .build();
    let mut output = docker
        .attach_container(name, Some(attach))
        .await
        .map_err(err)?
        .output;
    docker.start_container(name, None).await.map_err(err)?;
    let pump = async {
        while let Some(Ok(chunk)) = output.next().await {
            sink.write(&chunk.into_bytes());
        }
    };
    tokio::pin!(pump);
    let mut interrupts = 0;
    loop {
        tokio::select! {
            _ = &mut pump => break,
            _ = tokio::signal::ctrl_c() => {
                interrupts += 1;
                let signal = if interrupts == 1 { "SIGINT" } else { "SIGKILL" };
                let _ = docker.kill_container(name, Some(KillContainerOptionsBuilder::default().signal(signal).build())).await;
                if interrupts == 1 {
                    sink.write(b"\ninterrupted: waiting for terraform to stop and release its state lock (Ctrl-C again to stop it hard)\n");
                } else {
                    let _ = (&mut pump).await;
                    return Err(TerraformError::Killed { lock: String::new() });
                }
            }
        }
    }
    let mut wait = docker.wait_container(name, None);
    let code = match wait.next().await {
        Some(Ok(r)) => r.status_code,
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
        Some(Err(e)) => return Err(err(e)),
        None => 0,
    };
    // Terraform may finish what it was doing and exit cleanly: then nothing was cut short.
    if interrupts > 0 && code != 0 {
        return Err(TerraformError::Interrupted);
    }
    Ok(code)
}

/// Whether a process runs with this pid: `kill -0`, which works on every Unix (macOS has no
/// `/proc`, where checking it would take every live run for a leftover).
fn alive(pid: u32) -> bool {
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod liveness_tests {
    #[test]
    fn a_live_process_is_alive_and_a_finished_one_is_not() {
        assert!(super::alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = child.id();
        child.wait().expect("wait");
        assert!(!super::alive(pid));
    }
}
