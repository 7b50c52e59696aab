//! Whether each cluster can hold its services: every service at its largest count, all of
//! them deploying at once (Terraform updates every service in parallel, and a deployment runs
//! up to [`DEPLOY_MAX_PERCENT`] of a service's tasks), at the cluster's largest size. Counted
//! by network interfaces (each awsvpc task takes one), CPU units and the memory ECS registers
//! ([`instance_types`]). An exact fit passes. The sums do not see how tasks pack onto single
//! instances; a task that fits no instance at all is an error of its own.

use std::collections::BTreeMap;

use super::instance_types::{self, InstanceType};
use super::{
    Cluster, DEPLOY_MAX_PERCENT, EXOCOM_CPU, EXOCOM_MEMORY, EXOCOM_ROLE, Environment, Service,
    ServiceKind,
};

/// One service's demand on its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    pub role: String,
    /// Tasks at once: the largest count, times the deployment's maximum percent.
    pub tasks: u32,
    pub cpu: u32,
    pub memory: u32,
}

/// The services of one cluster (`public`, or `private` with workers and ExoCom).
pub fn demands(services: &[Service], public: bool) -> Vec<Demand> {
    let mut out: Vec<Demand> = services
        .iter()
        .filter(|s| (s.kind == ServiceKind::Public) == public)
        .map(|s| {
            let most = s.autoscaling.as_ref().map_or(s.desired_count, |a| a.max);
            Demand {
                role: s.role.clone(),
                tasks: (most * DEPLOY_MAX_PERCENT).div_ceil(100),
                cpu: s.cpu,
                memory: s.memory,
            }
        })
        .collect();
    if !public {
        // one broker, replaced in place (0% healthy, 100% at most)
        out.push(Demand {
            role: EXOCOM_ROLE.into(),
            tasks: 1,
            cpu: EXOCOM_CPU,
            memory: EXOCOM_MEMORY,
        });
    }
    out
}

/// The services as scale overrides run them (`scale`, `stop`, `scale --min --max`): a count
/// fixes the count of a service with a fixed count, a range replaces an autoscaled service's
/// range; either by role. What the overrides do not name stays as the config has it.
pub fn overridden(
    services: &[Service],
    counts: &BTreeMap<String, u32>,
    ranges: &BTreeMap<String, (u32, u32)>,
) -> Vec<Service> {
    services
        .iter()
        .cloned()
        .map(|mut s| {
            match (
                s.autoscaling.as_mut(),
                counts.get(&s.role),
                ranges.get(&s.role),
            ) {
                (None, Some(n), _) => s.desired_count = *n,
                (Some(a), _, Some((min, max))) => {
                    a.min = *min;
                    a.max = *max;
                }
                _ => {}
            }
            s
        })
        .collect()
}

/// Each cluster of `env` that cannot hold `services` while they all deploy, by its name
/// (`public`, `private`). A cluster of an unknown instance type is left to the config check.
pub fn shortfalls(env: &Environment, services: &[Service]) -> Vec<(&'static str, Shortfall)> {
    [
        ("public", &env.public_cluster, true),
        ("private", &env.private_cluster, false),
    ]
    .into_iter()
    .filter_map(|(name, cluster, public)| {
        let it = instance_types::lookup(&cluster.instance_type)?;
        check(
            name,
            cluster,
            &it,
            &demands(services, public),
            env.eni_trunking,
        )
        .map(|short| (name, short))
    })
    .collect()
}

/// Why a cluster cannot hold its demands, with the smallest `max` that would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub message: String,
    /// What the services need against what the cluster has (the message without its
    /// opening), for messages about one service's count.
    pub need: String,
    pub help: String,
}

/// Checks `demands` against `cluster` of type `it`; `name` is `public` or `private`;
/// `trunking` when the account's ENI trunking is on (`eni-trunking`).
pub fn check(
    name: &str,
    cluster: &Cluster,
    it: &InstanceType,
    demands: &[Demand],
    trunking: bool,
) -> Option<Shortfall> {
    let slots = it.slots(trunking);
    let tasks: u32 = demands.iter().map(|d| d.tasks).sum();
    let cpu: u32 = demands.iter().map(|d| d.tasks * d.cpu).sum();
    let memory: u32 = demands.iter().map(|d| d.tasks * d.memory).sum();
    let n = cluster.max;
    let have = (n * slots, n * it.cpu_units(), n * it.task_memory());
    if tasks <= have.0 && cpu <= have.1 && memory <= have.2 {
        return None;
    }
    let needed = [
        tasks.div_ceil(slots.max(1)),
        cpu.div_ceil(it.cpu_units()),
        memory.div_ceil(it.task_memory()),
    ]
    .into_iter()
    .max()
    .unwrap_or(n);
    let each = demands
        .iter()
        .map(|d| format!("{} {}", d.role, d.tasks))
        .collect::<Vec<_>>()
        .join(", ");
    let short = if tasks > have.0 {
        let why = if slots == it.task_slots() {
            "one per awsvpc task, the instance keeps one"
        } else {
            "with ENI trunking"
        };
        format!(
            "{tasks} tasks at once ({each}), and {n} × {} have network interfaces for {} ({slots} each: {why})",
            cluster.instance_type, have.0,
        )
    } else if cpu > have.1 {
        format!(
            "{cpu} CPU units at once ({each} tasks), and {n} × {} have {}",
            cluster.instance_type, have.1
        )
    } else {
        format!(
            "{memory} MiB at once ({each} tasks), and {n} × {} give tasks {} (ECS registers {} MiB of each)",
            cluster.instance_type,
            have.2,
            it.task_memory()
        )
    };
    let family = cluster.instance_type.split('.').next().unwrap_or_default();
    let roomier = ["xlarge", "2xlarge", "4xlarge"]
        .map(|size| format!("{family}.{size}"))
        .into_iter()
        .find(|t| instance_types::lookup(t).is_some_and(|o| o.slots(trunking) > slots));
    let mut help = format!(
        "raise `{name}-cluster-instances` max to {needed}, or choose a `{name}-cluster-size` with more room"
    );
    if let Some(t) = roomier {
        let more = instance_types::lookup(&t).map_or(0, |o| o.slots(trunking));
        help.push_str(&format!(" (a {t} holds {more} tasks)"));
    }
    if tasks > have.0
        && !trunking
        && let Some(trunk) = it.trunk_tasks
    {
        help.push_str(&format!(
            ", or turn ENI trunking on (the account setting `awsvpcTrunking`, then `eni-trunking: true`: a {} holds {trunk} tasks with it)",
            cluster.instance_type
        ));
    }
    help.push_str(", or lower the services' counts");
    Some(Shortfall {
        message: format!(
            "the {name} cluster cannot hold its services while they deploy: they need {short}"
        ),
        need: short,
        help,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(role: &str, tasks: u32) -> Demand {
        Demand {
            role: role.into(),
            tasks,
            cpu: 256,
            memory: 512,
        }
    }

    #[test]
    fn an_exact_fit_passes_and_one_task_more_fails_with_the_numbers() {
        let it = instance_types::lookup("t3.small").expect("t3.small");
        let cluster = Cluster {
            instance_type: "t3.small".into(),
            min: 1,
            max: 3,
        };
        // 3 × 2 slots
        assert_eq!(
            check(
                "private",
                &cluster,
                &it,
                &[demand("a", 2), demand("b", 4)],
                false
            ),
            None
        );
        let short = check(
            "private",
            &cluster,
            &it,
            &[demand("a", 2), demand("b", 4), demand("exocom", 1)],
            false,
        )
        .expect("too many");
        assert!(
            short.message.contains("7 tasks at once (a 2, b 4, exocom 1), and 3 × t3.small have network interfaces for 6"),
            "{}",
            short.message
        );
        assert!(
            short
                .help
                .contains("raise `private-cluster-instances` max to 4"),
            "{}",
            short.help
        );
        assert!(
            short.help.contains("t3.xlarge holds 3 tasks"),
            "{}",
            short.help
        );
    }

    #[test]
    fn eni_trunking_counts_its_own_task_limit_and_is_suggested_where_it_helps() {
        let it = instance_types::lookup("m5.large").expect("m5.large");
        let cluster = Cluster {
            instance_type: "m5.large".into(),
            min: 1,
            max: 2,
        };
        // 2 × 2 slots without trunking, 2 × 10 with it; CPU (2 × 2048) holds 16 × 256
        let demands = [demand("a", 8), demand("b", 8)];
        let short = check("public", &cluster, &it, &demands, false).expect("too many");
        assert!(
            short
                .help
                .contains("turn ENI trunking on (the account setting `awsvpcTrunking`, then `eni-trunking: true`: a m5.large holds 10 tasks with it)"),
            "{}",
            short.help
        );
        assert_eq!(check("public", &cluster, &it, &demands, true), None);
        let more = [demand("a", 10), demand("b", 11)];
        let short = check("public", &cluster, &it, &more, true).expect("too many");
        assert!(
            short.message.contains("21 tasks at once (a 10, b 11), and 2 × m5.large have network interfaces for 20 (10 each: with ENI trunking)"),
            "{}",
            short.message
        );
        // burstable types cannot trunk: the same numbers as without
        let t3 = instance_types::lookup("t3.small").expect("t3.small");
        let small = Cluster {
            instance_type: "t3.small".into(),
            ..cluster
        };
        let short = check("public", &small, &t3, &[demand("a", 5)], true).expect("too many");
        assert!(!short.help.contains("trunking"), "{}", short.help);
    }

    #[test]
    fn memory_counts_what_ecs_registers_not_what_is_installed() {
        let it = instance_types::lookup("t3.small").expect("t3.small");
        let cluster = Cluster {
            instance_type: "t3.small".into(),
            min: 1,
            max: 1,
        };
        // 2 × 1024 = 2048 MiB installed, but ECS gives tasks 1920
        let big = Demand {
            memory: 1024,
            ..demand("a", 2)
        };
        let short = check("public", &cluster, &it, &[big], false).expect("too much memory");
        assert!(
            short.message.contains("2048 MiB at once"),
            "{}",
            short.message
        );
        assert!(
            short.message.contains("ECS registers 1920 MiB"),
            "{}",
            short.message
        );
    }
}
