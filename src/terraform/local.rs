//! Terraform from a local binary, with the same arguments and environment as in a container.

use std::path::Path;
use std::process::Stdio;

use tokio::io::AsyncReadExt;

use super::error::{Result, TerraformError};
use super::{Runner, Sink};

pub(super) async fn run(
    runner: &Runner,
    binary: &Path,
    args: &[String],
    sink: &Sink,
) -> Result<i64> {
    let mut child = tokio::process::Command::new(binary)
        .args(args)
        .current_dir(&runner.dir)
        .envs(runner.env.iter().map(|(k, v)| (k, v)))
        .env("TF_PLUGIN_CACHE_DIR", &runner.plugin_cache)
        // its own process group: a terminal's Ctrl-C reaches exo-deploy only, which forwards
        // exactly one SIGINT (two would make Terraform stop without releasing its lock)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| TerraformError::Io(format!("cannot run {}: {e}", binary.display())))?;
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    let pump = async {
        let (mut a, mut b) = ([0u8; 8192], [0u8; 8192]);
        let (mut out_open, mut err_open) = (out.is_some(), err.is_some());
        while out_open || err_open {
            tokio::select! {
                n = async { out.as_mut().expect("open").read(&mut a).await }, if out_open => match n {
                    Ok(0) | Err(_) => out_open = false,
                    Ok(n) => sink.write(&a[..n]),
                },
                n = async { err.as_mut().expect("open").read(&mut b).await }, if err_open => match n {
                    Ok(0) | Err(_) => err_open = false,
                    Ok(n) => sink.write(&b[..n]),
                },
            }
        }
    };
    // The first Ctrl-C is passed on as SIGINT and Terraform is waited for while it releases
    // its lock; a second one stops it hard.
    let mut interrupts = 0;
    tokio::pin!(pump);
    loop {
        tokio::select! {
            _ = &mut pump => break,
            _ = tokio::signal::ctrl_c() => {
                interrupts += 1;
                if let Some(pid) = child.id() {
                    let signal = if interrupts == 1 { "-INT" } else { "-KILL" };
                    let _ = std::process::Command::new("kill").args([signal, &pid.to_string()]).status();
                }
                if interrupts > 1 {
                    let _ = child.wait().await;
                    return Err(TerraformError::Killed { lock: String::new() });
                }
            }
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| TerraformError::Io(e.to_string()))?;
    let code = i64::from(status.code().unwrap_or(1));
    // Terraform may finish what it was doing and exit cleanly: then nothing was cut short.
    if interrupts > 0 && code != 0 {
        return Err(TerraformError::Interrupted);
    }
    Ok(code)
}
