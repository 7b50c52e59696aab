//! Waiting for a deploy's rollouts: `terraform apply` returns when ECS has accepted the new
//! task definitions, not when their tasks run. Until every service's newest deployment is
//! `COMPLETED`, exo-deploy asks ECS, says what changes, and fails the run, recording no
//! release, when the deployment circuit breaker rolls one back or the time is up.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::bootstrap::Cloud;
use crate::bootstrap::objects::Rollout;
use crate::model::{App, EXOCOM_ROLE, ServiceKind};

/// Why a rollout did not finish.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RolloutError {
    #[error("the new tasks of `{service}` failed and ECS rolled the deployment back: {reason}{}", latest(.events))]
    #[diagnostic(help(
        "the service runs its previous version again; fix what its events and its logs (`exo-deploy logs SERVICE --since 30m`) show, then deploy again. No release was recorded"
    ))]
    Failed {
        service: String,
        reason: String,
        events: Vec<String>,
    },
    #[error("after {seconds} s, these services have not finished rolling out: {}", .waiting.join(", "))]
    #[diagnostic(help(
        "they may still finish (see `exo-deploy status`); tasks that cannot be placed need room in their cluster. Deploy again to wait again, or give slow starters more time with --rollout-timeout. No release was recorded"
    ))]
    Timeout { seconds: u64, waiting: Vec<String> },
}

fn latest(events: &[String]) -> String {
    if events.is_empty() {
        String::new()
    } else {
        format!("\n  its latest events:\n    {}", events.join("\n    "))
    }
}

/// The ECS services of `app`, by cluster: `(cluster name, services)`.
pub fn services_by_cluster(app: &App) -> Vec<(String, Vec<String>)> {
    let prefix = format!("{}-{}", app.name, app.env.name);
    let mut out = Vec::new();
    for (cluster, kinds) in [
        ("public", vec![ServiceKind::Public]),
        ("private", vec![ServiceKind::Private, ServiceKind::Worker]),
    ] {
        let mut names: Vec<String> = app
            .services
            .iter()
            .filter(|s| kinds.contains(&s.kind))
            .map(|s| s.role.clone())
            .collect();
        if cluster == "private" {
            names.push(EXOCOM_ROLE.to_string());
        }
        if !names.is_empty() {
            out.push((format!("{prefix}-{cluster}"), names));
        }
    }
    out
}

/// Waits until every service of `app` has rolled out, saying each change of state through
/// `say`; asks ECS every `poll`, for at most `timeout`.
pub async fn wait(
    cloud: &impl Cloud,
    app: &App,
    timeout: Duration,
    poll: Duration,
    say: &(dyn Fn(&str) + Sync),
) -> Result<(), crate::Error> {
    wait_for(cloud, app, None, timeout, poll, say).await
}

/// [`wait`] for the services `only` names (all when `None`).
pub async fn wait_for(
    cloud: &impl Cloud,
    app: &App,
    only: Option<&[String]>,
    timeout: Duration,
    poll: Duration,
    say: &(dyn Fn(&str) + Sync),
) -> Result<(), crate::Error> {
    let started = Instant::now();
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let mut all: Vec<Rollout> = Vec::new();
        let mut waiting = Vec::new();
        for (cluster, mut services) in services_by_cluster(app) {
            if let Some(only) = only {
                services.retain(|s| only.contains(s));
            }
            if services.is_empty() {
                continue;
            }
            let found = cloud.rollouts(&cluster, &services).await?;
            // a service ECS does not know (yet) has not rolled out
            waiting.extend(
                services
                    .into_iter()
                    .filter(|s| !found.iter().any(|r| &r.service == s)),
            );
            all.extend(found);
        }
        for r in &all {
            let line = format!(
                "{}: {} of {} new tasks running ({})",
                r.service,
                r.running,
                r.desired,
                r.state.to_ascii_lowercase().replace('_', " ")
            );
            if last.get(&r.service) != Some(&line) {
                say(&format!("  {line}"));
                last.insert(r.service.clone(), line);
            }
            match r.state.as_str() {
                "FAILED" => {
                    return Err(RolloutError::Failed {
                        service: r.service.clone(),
                        reason: r.reason.clone(),
                        events: r.events.clone(),
                    }
                    .into());
                }
                "COMPLETED" => {}
                _ => waiting.push(r.service.clone()),
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(RolloutError::Timeout {
                seconds: timeout.as_secs(),
                waiting,
            }
            .into());
        }
        tokio::time::sleep(poll).await;
    }
}
