//! `exo-deploy ps`: what runs now, as ECS, the load balancer and the clusters' instances say.
//! `status` is the release-level summary; this is the runtime detail: per service its task
//! counts, the image digests its tasks run (and which release those belong to), the health
//! of its targets, its newest deployment and events; per cluster its instances, their
//! capacity used and their AMI. The reads are here; matching digests to releases is pure.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::adapters::aws::{Aws, classify};
use crate::bootstrap::Result;
use crate::release::Release;

/// How many of a service's events `ps` shows (ECS keeps the last 100).
pub const EVENTS: usize = 5;

/// One ECS service as it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ServiceState {
    pub service: String,
    pub cluster: String,
    /// `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    /// The task definition new tasks start from (`family:revision`).
    pub task_definition: String,
    /// The image that task definition gives the service's container.
    pub image: Option<String>,
    /// The image digests its running tasks run, with how many tasks run each and the release
    /// it belongs to.
    pub digests: Vec<RunningDigest>,
    /// The newest deployment (ECS's `PRIMARY`).
    pub deployment: Option<Deployment>,
    /// Older deployments still running tasks (during a rollout or a rollback).
    pub older_deployments: usize,
    /// A deployment the circuit breaker failed (and rolled back from), while ECS still lists it.
    pub failed_deployment: Option<Deployment>,
    /// What could not be read (a target group gone while it is replaced, say).
    pub notes: Vec<String>,
    /// The targets of its target groups, with their health.
    pub targets: Vec<Target>,
    /// Its newest events, newest first.
    pub events: Vec<Event>,
}

/// An image digest running tasks of a service run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunningDigest {
    pub digest: String,
    pub tasks: usize,
    /// The ids of those tasks (for `exec --task`).
    pub task_ids: Vec<String>,
    pub release: Provenance,
}

/// What `ps` shows: every service of the environment as it runs, and every cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ps {
    pub app: String,
    pub env: String,
    /// The last release's id, when there is one.
    pub last_release: Option<String>,
    pub services: Vec<ServiceState>,
    /// Services of the config ECS does not know (not deployed yet, or gone).
    pub not_deployed: Vec<String>,
    pub clusters: Vec<ClusterState>,
}

/// Says which release each running digest of `service` belongs to.
pub fn trace(service: &mut ServiceState, releases: &[Release]) {
    for d in &mut service.digests {
        d.release = provenance(releases, &service.service, &d.digest);
    }
}

/// A deployment of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Deployment {
    pub id: String,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED` (the circuit breaker rolled it back).
    pub state: String,
    pub reason: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed_tasks: i32,
    pub task_definition: String,
    /// UTC, RFC 3339.
    pub updated_at: Option<String>,
}

/// A target behind the load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Target {
    /// An IP address (tasks in `awsvpc` mode) or an instance id.
    pub id: String,
    pub port: Option<i32>,
    /// `healthy`, `unhealthy`, `initial`, `draining`, `unused` or `unavailable`.
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

/// One event of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Event {
    /// UTC, RFC 3339.
    pub at: Option<String>,
    pub message: String,
}

/// One ECS cluster's instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ClusterState {
    pub cluster: String,
    pub instances: Vec<Instance>,
}

/// A container instance: an EC2 instance of the cluster, as ECS's agent registered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Instance {
    /// The container instance's id (its ARN's last part).
    pub id: String,
    pub ec2_instance_id: Option<String>,
    pub instance_type: Option<String>,
    pub ami: Option<String>,
    /// `ACTIVE`, `DRAINING`, `REGISTERING`, …
    pub status: String,
    pub agent_connected: bool,
    pub running_tasks: i32,
    pub pending_tasks: i32,
    /// CPU units: registered and still free.
    pub cpu: Resource,
    /// MiB: registered and still free.
    pub memory: Resource,
}

/// A resource of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Resource {
    pub registered: i32,
    pub remaining: i32,
}

impl Resource {
    /// What tasks use of it.
    pub fn used(&self) -> i32 {
        self.registered - self.remaining
    }
}

/// Which release a running digest belongs to, as `ps` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "is")]
pub enum Provenance {
    /// The last release's image.
    LastRelease { release: String },
    /// An earlier release's image (a rollback in progress, or a deploy that failed over it).
    EarlierRelease { release: String, last: String },
    /// No release of this environment recorded it.
    Unknown,
}

/// The newest release whose `role` image has `digest` (`releases` newest first), and how it
/// stands to the last one.
pub fn provenance(releases: &[Release], role: &str, digest: &str) -> Provenance {
    let last = releases.first().map(|r| r.id.clone());
    let found = releases.iter().find(|r| {
        r.images
            .get(role)
            .is_some_and(|image| digest_of(image) == Some(digest))
    });
    match (found, last) {
        (Some(r), Some(last)) if r.id == last => Provenance::LastRelease { release: last },
        (Some(r), Some(last)) => Provenance::EarlierRelease {
            release: r.id.clone(),
            last,
        },
        _ => Provenance::Unknown,
    }
}

/// The digest of an image reference pinned by digest (`…@sha256:…`).
pub fn digest_of(image: &str) -> Option<&str> {
    image.split_once('@').map(|(_, d)| d)
}

/// The services of `cluster` named `names`, as they run (missing ones are left out).
pub async fn services(aws: &Aws, cluster: &str, names: &[String]) -> Result<Vec<ServiceState>> {
    let described = crate::bootstrap::objects::describe_services(aws, cluster, names).await?;
    let mut images: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    let mut out = Vec::new();
    for s in &described {
        let name = s.service_name().unwrap_or_default().to_string();
        let task_definition = s.task_definition().unwrap_or_default().to_string();
        let image = container_images(aws, &mut images, &task_definition)
            .await?
            .get(&name)
            .cloned();
        let primary = s
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"));
        let failed = s.deployments().iter().find(|d| {
            d.status() != Some("PRIMARY")
                && d.rollout_state() == Some(&aws_sdk_ecs::types::DeploymentRolloutState::Failed)
        });
        let mut targets = Vec::new();
        let mut notes = Vec::new();
        for lb in s.load_balancers() {
            if let Some(group) = lb.target_group_arn() {
                // one target group that cannot be read (replaced just now) is said, not fatal
                match target_health(aws, group).await {
                    Ok(found) => targets.extend(found),
                    Err(e) => notes.push(format!("the targets of {group} could not be read: {e}")),
                }
            }
        }
        out.push(ServiceState {
            service: name.clone(),
            cluster: cluster.to_string(),
            status: s.status().unwrap_or_default().to_string(),
            desired: s.desired_count(),
            running: s.running_count(),
            pending: s.pending_count(),
            task_definition: short_arn(&task_definition),
            image,
            digests: running_digests(aws, &mut images, cluster, &name)
                .await?
                .into_iter()
                .map(|(digest, task_ids)| RunningDigest {
                    digest,
                    tasks: task_ids.len(),
                    task_ids,
                    release: Provenance::Unknown,
                })
                .collect(),
            deployment: primary.map(deployment),
            failed_deployment: failed.map(deployment),
            notes,
            older_deployments: s
                .deployments()
                .iter()
                .filter(|d| {
                    d.status() != Some("PRIMARY") && d.running_count() + d.pending_count() > 0
                })
                .count(),
            targets,
            events: s
                .events()
                .iter()
                .take(EVENTS)
                .map(|e| Event {
                    at: e.created_at().map(rfc3339),
                    message: e.message().unwrap_or_default().to_string(),
                })
                .collect(),
        });
    }
    Ok(out)
}

fn deployment(d: &aws_sdk_ecs::types::Deployment) -> Deployment {
    Deployment {
        id: d.id().unwrap_or_default().to_string(),
        state: d
            .rollout_state()
            .map_or("COMPLETED".to_string(), |r| r.as_str().to_string()),
        reason: d.rollout_state_reason().unwrap_or_default().to_string(),
        desired: d.desired_count(),
        running: d.running_count(),
        pending: d.pending_count(),
        failed_tasks: d.failed_tasks(),
        task_definition: short_arn(d.task_definition().unwrap_or_default()),
        updated_at: d.updated_at().map(rfc3339),
    }
}

/// The images of a task definition's containers, by container name (asked once per run).
async fn container_images<'a>(
    aws: &Aws,
    known: &'a mut HashMap<String, BTreeMap<String, String>>,
    arn: &str,
) -> Result<&'a BTreeMap<String, String>> {
    if !known.contains_key(arn) {
        let images = if arn.is_empty() {
            BTreeMap::new()
        } else {
            let out = aws
                .ecs
                .describe_task_definition()
                .task_definition(arn)
                .send()
                .await
                .map_err(|e| classify("ecs:DescribeTaskDefinition", arn, e))?;
            out.task_definition()
                .map(|t| {
                    t.container_definitions()
                        .iter()
                        .filter_map(|c| Some((c.name()?.to_string(), c.image()?.to_string())))
                        .collect()
                })
                .unwrap_or_default()
        };
        known.insert(arn.to_string(), images);
    }
    Ok(&known[arn])
}

/// The digest each running task of `service` runs, with the tasks' ids: what the task reports
/// it pulled, else the digest its task definition pins.
async fn running_digests(
    aws: &Aws,
    images: &mut HashMap<String, BTreeMap<String, String>>,
    cluster: &str,
    service: &str,
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .ecs
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify("ecs:ListTasks", service, e))?;
        arns.extend(page.task_arns().iter().cloned());
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let mut counted = BTreeMap::new();
    for chunk in arns.chunks(100) {
        let out = aws
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| classify("ecs:DescribeTasks", service, e))?;
        for task in out.tasks() {
            if task.last_status() != Some("RUNNING") || !of_service(task, service) {
                continue;
            }
            let reported = task
                .containers()
                .iter()
                .find(|c| c.name() == Some(service))
                .and_then(|c| c.image_digest())
                .map(str::to_string);
            let digest = match reported {
                Some(d) => d,
                None => {
                    let defined = container_images(
                        aws,
                        images,
                        task.task_definition_arn().unwrap_or_default(),
                    )
                    .await?;
                    defined
                        .get(service)
                        .and_then(|i| digest_of(i))
                        .unwrap_or("unknown")
                        .to_string()
                }
            };
            counted
                .entry(digest)
                .or_insert_with(Vec::new)
                .push(short_arn(task.task_arn().unwrap_or_default()));
        }
    }
    Ok(counted)
}

/// Whether `task` is one of `service`'s: ECS groups a service's tasks as `service:NAME`. (The
/// `serviceName` filter of ListTasks says so already on AWS; moto ignores that filter.)
pub fn of_service(task: &aws_sdk_ecs::types::Task, service: &str) -> bool {
    task.group()
        .is_none_or(|g| g.strip_prefix("service:") == Some(service))
}

/// The targets of a target group with their health.
async fn target_health(aws: &Aws, group: &str) -> Result<Vec<Target>> {
    let out = aws
        .elbv2
        .describe_target_health()
        .target_group_arn(group)
        .send()
        .await
        .map_err(|e| classify("elasticloadbalancing:DescribeTargetHealth", group, e))?;
    let mut targets: Vec<Target> = out
        .target_health_descriptions()
        .iter()
        .map(|d| {
            let health = d.target_health();
            Target {
                id: d
                    .target()
                    .and_then(|t| t.id())
                    .unwrap_or_default()
                    .to_string(),
                port: d.target().and_then(|t| t.port()),
                state: health
                    .and_then(|h| h.state())
                    .map_or("unknown".to_string(), |s| s.as_str().to_string()),
                reason: health
                    .and_then(|h| h.reason())
                    .map(|r| r.as_str().to_string()),
                description: health.and_then(|h| h.description()).map(str::to_string),
            }
        })
        .collect();
    targets.sort_by(|a, b| (&a.id, a.port).cmp(&(&b.id, b.port)));
    Ok(targets)
}

/// The container instances of `cluster` (none when it does not exist).
pub async fn cluster(aws: &Aws, cluster: &str) -> Result<ClusterState> {
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let page = match aws
            .ecs
            .list_container_instances()
            .cluster(cluster)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_cluster_not_found_exception()) =>
            {
                break;
            }
            Err(e) => return Err(classify("ecs:ListContainerInstances", cluster, e).into()),
        };
        arns.extend(page.container_instance_arns().iter().cloned());
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let mut instances = Vec::new();
    for chunk in arns.chunks(100) {
        let out = aws
            .ecs
            .describe_container_instances()
            .cluster(cluster)
            .set_container_instances(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| classify("ecs:DescribeContainerInstances", cluster, e))?;
        for c in out.container_instances() {
            let attribute = |name: &str| {
                c.attributes()
                    .iter()
                    .find(|a| a.name() == name)
                    .and_then(|a| a.value())
                    .map(str::to_string)
            };
            let resource = |name: &str| Resource {
                registered: integer(c.registered_resources(), name),
                remaining: integer(c.remaining_resources(), name),
            };
            instances.push(Instance {
                id: short_arn(c.container_instance_arn().unwrap_or_default()),
                ec2_instance_id: c.ec2_instance_id().map(str::to_string),
                instance_type: attribute("ecs.instance-type"),
                ami: attribute("ecs.ami-id"),
                status: c.status().unwrap_or_default().to_string(),
                agent_connected: c.agent_connected(),
                running_tasks: c.running_tasks_count(),
                pending_tasks: c.pending_tasks_count(),
                cpu: resource("CPU"),
                memory: resource("MEMORY"),
            });
        }
    }
    instances.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ClusterState {
        cluster: cluster.to_string(),
        instances,
    })
}

fn integer(resources: &[aws_sdk_ecs::types::Resource], name: &str) -> i32 {
    resources
        .iter()
        .find(|r| r.name() == Some(name))
        .map_or(0, |r| r.integer_value())
}

/// An ARN's last part: `family:revision` of a task definition, a container instance's id.
fn short_arn(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

fn rfc3339(t: &aws_sdk_ecs::primitives::DateTime) -> String {
    jiff::Timestamp::from_second(t.secs())
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(id: &str, web: &str) -> Release {
        serde_json::from_value(serde_json::json!({
            "id": id, "app": "a", "env": "e", "version": "1",
            "deployed_at": "2026-11-23T00:00:00Z", "commit": null, "dirty": false,
            "images": { "web": format!("r/web@{web}") }, "outputs": null,
            "deployed_by": "user:x", "duration_seconds": 1.0
        }))
        .expect("a record")
    }

    #[test]
    fn a_running_digest_is_traced_to_the_newest_release_that_ran_it() {
        let releases = [
            release("3", "sha256:b"),
            release("2", "sha256:a"),
            release("1", "sha256:b"),
        ];
        assert_eq!(
            provenance(&releases, "web", "sha256:b"),
            Provenance::LastRelease {
                release: "3".into()
            }
        );
        assert_eq!(
            provenance(&releases, "web", "sha256:a"),
            Provenance::EarlierRelease {
                release: "2".into(),
                last: "3".into()
            }
        );
        assert_eq!(
            provenance(&releases, "web", "sha256:c"),
            Provenance::Unknown
        );
        assert_eq!(
            provenance(&releases, "api", "sha256:b"),
            Provenance::Unknown
        );
        assert_eq!(provenance(&[], "web", "sha256:b"), Provenance::Unknown);
    }
}
