//! Whether each cluster can hold its services, at the cluster's largest size: every service at
//! its largest count, plus the extra tasks of the largest single deployment (a deployment runs
//! up to [`DEPLOY_MAX_PERCENT`] of a service's tasks). That is what must fit for anything to
//! deploy at all; a config that would run is never refused. When every service's deployment
//! together does not fit (Terraform updates them in parallel), ECS places the new tasks as
//! room frees up, in rounds: [`rounds`] says how many, for a warning and the rollout wait.
//! Counted by network interfaces (each awsvpc task takes one), CPU units and the memory ECS
//! registers ([`instance_types`]). An exact fit passes. The sums do not see how tasks pack onto
//! single instances; a task that fits no instance at all is an error of its own.

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
    /// Tasks in the steady state: the largest count.
    pub tasks: u32,
    /// Extra tasks while it deploys: the count times the deployment's maximum percent, less
    /// the count.
    pub surge: u32,
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
                tasks: most,
                surge: (most * DEPLOY_MAX_PERCENT).div_ceil(100) - most,
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
            surge: 0,
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

/// What a cluster of type `it` makes of the services it runs: the services too large for one
/// instance, whether it holds them while one deploys, and whether deploys go in rounds. The
/// config check and the preflight (for a type EC2 describes) both judge by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub too_large: Vec<TooLarge>,
    pub shortfall: Option<Shortfall>,
    /// When every service's new tasks do not fit at once (and the cluster is not short).
    pub crowding: Option<Crowding>,
}

/// A service asking one instance for more than it gives a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    pub role: String,
    /// `true`: its CPU units; `false`: its memory.
    pub cpu: bool,
    pub message: String,
    pub help: String,
}

/// Deploys that start their new tasks in rounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crowding {
    pub message: String,
    pub help: String,
    pub rounds: u32,
}

/// Judges the `public` or `private` cluster named `name` of type `it` for `services`.
pub fn assess(
    name: &str,
    cluster: &Cluster,
    it: &InstanceType,
    services: &[Service],
    trunking: bool,
) -> Assessment {
    let public = name == "public";
    let mut too_large = Vec::new();
    for s in services
        .iter()
        .filter(|s| (s.kind == ServiceKind::Public) == public)
    {
        if s.cpu > it.cpu_units() {
            too_large.push(TooLarge {
                role: s.role.clone(),
                cpu: true,
                message: format!(
                    "`{}` asks for {} CPU units, and a {} has {}",
                    s.role,
                    s.cpu,
                    cluster.instance_type,
                    it.cpu_units()
                ),
                help: format!("lower the cpu, or choose a larger `{name}-cluster-size`"),
            });
        }
        if s.memory > it.task_memory() {
            too_large.push(TooLarge {
                role: s.role.clone(),
                cpu: false,
                message: format!(
                    "`{}` asks for {} MiB, and ECS gives tasks {} MiB of a {} ({} MiB installed)",
                    s.role,
                    s.memory,
                    it.task_memory(),
                    cluster.instance_type,
                    it.memory_mib
                ),
                help: format!("lower the memory, or choose a larger `{name}-cluster-size`"),
            });
        }
    }
    let demands = demands(services, public);
    let shortfall = check(name, cluster, it, &demands, trunking);
    let crowding = if shortfall.is_some() {
        None
    } else {
        crowding(cluster, it, &demands, trunking).map(|(need, max)| {
            let rounds = rounds(cluster, it, &demands, trunking);
            Crowding {
                message: format!(
                    "the {name} cluster cannot start every service's new tasks at once: they need {need}; ECS starts them in about {rounds} rounds when a deploy changes them all, and a deploy waits up to {rounds} × --rollout-timeout"
                ),
                help: format!(
                    "to deploy them all at once, raise `{name}-cluster-instances` max to {max}"
                ),
                rounds,
            }
        })
    };
    Assessment {
        too_large,
        shortfall,
        crowding,
    }
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

/// What `demands` need of a cluster: network interfaces (tasks), CPU units, MiB.
type Need = (u32, u32, u32);

fn steady(demands: &[Demand]) -> Need {
    demands.iter().fold((0, 0, 0), |(t, c, m), d| {
        (t + d.tasks, c + d.tasks * d.cpu, m + d.tasks * d.memory)
    })
}

/// The extra of the largest single deployment, in each measure.
fn largest_surge(demands: &[Demand]) -> Need {
    demands.iter().fold((0, 0, 0), |(t, c, m), d| {
        (
            t.max(d.surge),
            c.max(d.surge * d.cpu),
            m.max(d.surge * d.memory),
        )
    })
}

fn all_surges(demands: &[Demand]) -> Need {
    demands.iter().fold((0, 0, 0), |(t, c, m), d| {
        (t + d.surge, c + d.surge * d.cpu, m + d.surge * d.memory)
    })
}

fn have(cluster: &Cluster, it: &InstanceType, trunking: bool) -> Need {
    let n = cluster.max;
    (
        n * it.slots(trunking),
        n * it.cpu_units(),
        n * it.task_memory(),
    )
}

fn plus(a: Need, b: Need) -> Need {
    (a.0 + b.0, a.1 + b.1, a.2 + b.2)
}

fn fits(need: Need, have: Need) -> bool {
    need.0 <= have.0 && need.1 <= have.1 && need.2 <= have.2
}

/// How many rounds ECS needs to place every service's new tasks when they all deploy at once:
/// 1 when they fit together, else how many times the room beside the steady state holds
/// their extra tasks (at least 2). Meaningful only when [`check`] passes.
pub fn rounds(cluster: &Cluster, it: &InstanceType, demands: &[Demand], trunking: bool) -> u32 {
    let have = have(cluster, it, trunking);
    let steady = steady(demands);
    let surges = all_surges(demands);
    if fits(plus(steady, surges), have) {
        return 1;
    }
    let room = (
        have.0.saturating_sub(steady.0),
        have.1.saturating_sub(steady.1),
        have.2.saturating_sub(steady.2),
    );
    [(surges.0, room.0), (surges.1, room.1), (surges.2, room.2)]
        .into_iter()
        .map(|(need, room)| need.div_ceil(room.max(1)))
        .max()
        .unwrap_or(1)
        .max(2)
}

/// When the services' deployments do not fit at once: what they need against what the cluster
/// has, and the `max` that would hold them all at once.
pub fn crowding(
    cluster: &Cluster,
    it: &InstanceType,
    demands: &[Demand],
    trunking: bool,
) -> Option<(String, u32)> {
    let have = have(cluster, it, trunking);
    let all = plus(steady(demands), all_surges(demands));
    if fits(all, have) {
        return None;
    }
    let needed = needed(all, it, trunking);
    Some((
        format!(
            "{} tasks, {} CPU units and {} MiB when every service deploys at once, and {} × {} have room for {}, {} and {}",
            all.0, all.1, all.2, cluster.max, cluster.instance_type, have.0, have.1, have.2
        ),
        needed,
    ))
}

/// The fewest instances that hold `need`.
fn needed(need: Need, it: &InstanceType, trunking: bool) -> u32 {
    [
        need.0.div_ceil(it.slots(trunking).max(1)),
        need.1.div_ceil(it.cpu_units().max(1)),
        need.2.div_ceil(it.task_memory().max(1)),
    ]
    .into_iter()
    .max()
    .unwrap_or(1)
}

/// Checks `demands` against `cluster` of type `it`: the steady state plus the largest single
/// deployment must fit. `name` is `public` or `private`; `trunking` when the account's ENI
/// trunking is on (`eni-trunking`).
pub fn check(
    name: &str,
    cluster: &Cluster,
    it: &InstanceType,
    demands: &[Demand],
    trunking: bool,
) -> Option<Shortfall> {
    let slots = it.slots(trunking);
    let have = have(cluster, it, trunking);
    let need = plus(steady(demands), largest_surge(demands));
    if fits(need, have) {
        return None;
    }
    let (tasks, cpu, memory) = need;
    let n = cluster.max;
    let needed = needed(need, it, trunking);
    let deploying = demands
        .iter()
        .rev()
        .max_by_key(|d| d.surge)
        .filter(|d| d.surge > 0)
        .map(|d| format!(", plus {} while `{}` deploys", d.surge, d.role))
        .unwrap_or_default();
    let each = demands
        .iter()
        .map(|d| format!("{} {}", d.role, d.tasks))
        .collect::<Vec<_>>()
        .join(", ")
        + &deploying;
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
            "the {name} cluster cannot hold its services while one of them deploys: they need {short}"
        ),
        need: short,
        help,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tasks` in the steady state, as many again while it deploys (200%).
    fn demand(role: &str, tasks: u32) -> Demand {
        Demand {
            role: role.into(),
            tasks,
            surge: tasks,
            cpu: 256,
            memory: 512,
        }
    }

    fn t3_small(max: u32) -> (Cluster, InstanceType) {
        let it = instance_types::lookup("t3.small").expect("t3.small");
        let cluster = Cluster {
            instance_type: "t3.small".into(),
            min: 1,
            max,
        };
        (cluster, it)
    }

    #[test]
    fn an_exact_fit_passes_and_one_task_more_fails_with_the_numbers() {
        // 3 × 2 slots: 4 steady tasks and the largest deployment's 2 more fit exactly
        let (cluster, it) = t3_small(3);
        let fits = [demand("a", 2), demand("b", 2)];
        assert_eq!(check("private", &cluster, &it, &fits, false), None);
        let short = check(
            "private",
            &cluster,
            &it,
            &[demand("a", 2), demand("b", 2), demand("exocom", 1)],
            false,
        )
        .expect("too many");
        assert!(
            short.message.contains("7 tasks at once (a 2, b 2, exocom 1, plus 2 while `a` deploys), and 3 × t3.small have network interfaces for 6"),
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
    fn a_config_that_would_run_deploys_in_rounds_instead_of_being_refused() {
        // four steady tasks on six task slots: every deployment at once needs 8, one at a time
        // 6 (the capacity rule refused this before, though ECS runs it)
        let (cluster, it) = t3_small(3);
        let four = [demand("a", 2), demand("b", 2)];
        assert_eq!(check("private", &cluster, &it, &four, false), None);
        let (need, max) = crowding(&cluster, &it, &four, false).expect("crowded");
        assert!(
            need.starts_with("8 tasks, 2048 CPU units and 4096 MiB when every service deploys at once, and 3 × t3.small have room for 6,"),
            "{need}"
        );
        assert_eq!(max, 4, "four t3.small hold them all at once");
        assert_eq!(rounds(&cluster, &it, &four, false), 2);
        // with room for all, one round and nothing to say
        let (roomy, _) = t3_small(4);
        assert_eq!(crowding(&roomy, &it, &four, false), None);
        assert_eq!(rounds(&roomy, &it, &four, false), 1);
        // three services of 2 on 8 slots: 6 steady tasks leave room for 2 of the 6 new: 3 rounds
        let (tight, _) = t3_small(4);
        let six = [demand("a", 2), demand("b", 2), demand("c", 2)];
        assert_eq!(check("private", &tight, &it, &six, false), None);
        assert_eq!(rounds(&tight, &it, &six, false), 3);
    }

    #[test]
    fn eni_trunking_counts_its_own_task_limit_and_is_suggested_where_it_helps() {
        let it = instance_types::lookup("m5.large").expect("m5.large");
        let cluster = Cluster {
            instance_type: "m5.large".into(),
            min: 1,
            max: 2,
        };
        // 2 × 2 slots without trunking, 2 × 10 with it; CPU (2 × 2048) holds 16 × 256: 8
        // steady tasks and the 4 of one deployment
        let demands = [demand("a", 4), demand("b", 4)];
        let short = check("public", &cluster, &it, &demands, false).expect("too many");
        assert!(
            short
                .help
                .contains("turn ENI trunking on (the account setting `awsvpcTrunking`, then `eni-trunking: true`: a m5.large holds 10 tasks with it)"),
            "{}",
            short.help
        );
        assert_eq!(check("public", &cluster, &it, &demands, true), None);
        let small_cpu = |role: &str, n: u32| Demand {
            cpu: 64,
            ..demand(role, n)
        };
        let more = [small_cpu("a", 7), small_cpu("b", 7)];
        let short = check("public", &cluster, &it, &more, true).expect("too many");
        assert!(
            short.message.contains("21 tasks at once (a 7, b 7, plus 7 while `a` deploys), and 2 × m5.large have network interfaces for 20 (10 each: with ENI trunking)"),
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
            ..demand("a", 1)
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
