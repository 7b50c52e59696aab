//! The EC2 instance types exo-deploy knows, in one place: how many network interfaces, vCPUs
//! and how much memory each has, and its CPU architecture. The capacity check, the AMI and the
//! image platform are decided from here.
//!
//! Figures are AWS's own (DescribeInstanceTypes, through `scripts/instance-types`), for every
//! type ECS runs, t2 to the newest families in the table.

use serde::Serialize;

/// A CPU architecture ECS and Docker know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    /// The image platform Docker builds for.
    pub fn platform(self) -> &'static str {
        match self {
            Arch::X86_64 => "linux/amd64",
            Arch::Arm64 => "linux/arm64",
        }
    }
}

/// One instance type's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InstanceType {
    /// Network interfaces it can attach; one is the instance's own, the rest take one awsvpc
    /// task each.
    pub interfaces: u32,
    pub vcpus: u32,
    /// Installed memory, MiB.
    pub memory_mib: u32,
    pub arch: Arch,
    /// awsvpc tasks one instance holds with ENI trunking (the `awsvpcTrunking` account
    /// setting), when the type supports it (burstable types do not).
    pub trunk_tasks: Option<u32>,
}

/// The share of installed memory kept back from tasks: the kernel and platform take some
/// (AWS documents an m4.large's 8192 MiB registering as 7985), small types lose a larger
/// share. exo-deploy reserves 6%, at least 128 MiB, which is at or below what ECS registers.
pub fn registered_memory(installed: u32) -> u32 {
    installed - (installed * 6 / 100).max(128)
}

impl InstanceType {
    /// Tasks in awsvpc mode one instance holds, by network interfaces.
    pub fn task_slots(&self) -> u32 {
        self.interfaces - 1
    }
    /// Tasks one instance holds with ENI trunking on, or without it when the type cannot
    /// trunk.
    pub fn slots(&self, trunking: bool) -> u32 {
        match (trunking, self.trunk_tasks) {
            (true, Some(n)) => n,
            _ => self.task_slots(),
        }
    }
    /// CPU units ECS registers (1024 per vCPU).
    pub fn cpu_units(&self) -> u32 {
        self.vcpus * 1024
    }
    /// Memory ECS can give tasks, MiB (see [`registered_memory`]).
    pub fn task_memory(&self) -> u32 {
        registered_memory(self.memory_mib)
    }
}

/// Every EC2 instance type ECS runs, as AWS describes them (`scripts/instance-types` writes
/// it from AWS's DescribeInstanceTypes answers, as moto bundles them): type, vCPUs, memory
/// MiB, network interfaces, architecture, whether burstable.
const TABLE: &str = include_str!("instance_types.tsv");

fn table() -> &'static std::collections::HashMap<&'static str, InstanceType> {
    static TABLE_MAP: std::sync::OnceLock<std::collections::HashMap<&'static str, InstanceType>> =
        std::sync::OnceLock::new();
    TABLE_MAP.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                let [name, vcpus, memory, interfaces, arch, burstable] = f.as_slice() else {
                    return None;
                };
                let arch = if *arch == "arm64" {
                    Arch::Arm64
                } else {
                    Arch::X86_64
                };
                let (family, size) = name.split_once('.')?;
                Some((
                    *name,
                    InstanceType {
                        interfaces: interfaces.parse().ok()?,
                        vcpus: vcpus.parse().ok()?,
                        memory_mib: memory.parse().ok()?,
                        arch,
                        trunk_tasks: trunk_tasks(family, size, *burstable == "burstable"),
                    },
                ))
            })
            .collect()
    })
}

/// Tasks per instance with ENI trunking, from the table "Supported Amazon EC2 instance types"
/// of the ECS Developer Guide's ENI trunking page, for the families read there (its "without
/// trunking" column equals `interfaces - 1` for each). Burstable types cannot trunk; AWS lists
/// r5.8xlarge as unsupported; other families are counted without trunking rather than guessed.
fn trunk_tasks(family: &str, size: &str, burstable: bool) -> Option<u32> {
    const READ: [&str; 12] = [
        "m5", "m5a", "m6i", "m6a", "m6g", "c5", "c6i", "c6g", "c7g", "r5", "r6i", "r6g",
    ];
    if burstable || !READ.contains(&family) || (family, size) == ("r5", "8xlarge") {
        return None;
    }
    match (family, size) {
        (_, "medium") => Some(4),
        (_, "large") => Some(10),
        (_, "xlarge") => Some(20),
        (_, "2xlarge") => Some(40),
        ("m6i" | "m6a" | "c6i" | "r6i", "8xlarge") => Some(90),
        (_, "4xlarge" | "8xlarge") => Some(60),
        _ => None,
    }
}

/// The resources of `name` (`t3.small`, `m6g.xlarge`…), when the table has the type.
pub fn lookup(name: &str) -> Option<InstanceType> {
    table().get(name).copied()
}

/// Whether the table has any type of `name`'s family: a size it lacks is then no type AWS
/// sells, while a family it lacks may be newer than the table.
pub fn family_known(name: &str) -> bool {
    let family = name.split('.').next().unwrap_or_default();
    table().keys().any(|k| k.split('.').next() == Some(family))
}

/// The architecture AWS's naming gives a type the table lacks: a `g` among the letters after
/// the family's generation marks Graviton (`m8g`, `c8gd`, `r8gn`, `hpc7g`), anything else is
/// x86_64, but for the first Graviton, `a1`. Preflight checks the guess against what EC2
/// says.
pub fn arch_by_name(name: &str) -> Arch {
    let family = name.split('.').next().unwrap_or_default();
    if family == "a1" {
        return Arch::Arm64;
    }
    let after_generation = family
        .trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '-')
        .trim_start_matches(|c: char| c.is_ascii_digit());
    if after_generation
        .split('-')
        .next()
        .is_some_and(|attrs| attrs.contains('g'))
    {
        Arch::Arm64
    } else {
        Arch::X86_64
    }
}

/// The known types closest to `name`, for a "did you mean".
pub fn closest(name: &str) -> Option<&'static str> {
    crate::config::closest(name, table().keys().copied())
}

/// The sizes the table has of `name`'s family, smallest first by vCPUs.
pub fn sizes_of(name: &str) -> Vec<&'static str> {
    let family = name.split('.').next().unwrap_or_default();
    let mut sizes: Vec<(&'static str, u32, u32)> = table()
        .iter()
        .filter(|(k, _)| k.split('.').next() == Some(family))
        .map(|(k, t)| (*k, t.vcpus, t.memory_mib))
        .collect();
    sizes.sort_by_key(|(k, v, m)| (*v, *m, *k));
    sizes.into_iter().map(|(k, _, _)| k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_awss_published_figures() {
        // spot checks against the EC2 documentation
        let t3_small = lookup("t3.small").expect("t3.small");
        assert_eq!(
            (t3_small.interfaces, t3_small.vcpus, t3_small.memory_mib),
            (3, 2, 2048)
        );
        assert_eq!(t3_small.task_slots(), 2);
        assert_eq!(t3_small.arch, Arch::X86_64);
        let m6i_large = lookup("m6i.large").expect("m6i.large");
        assert_eq!(
            (m6i_large.interfaces, m6i_large.vcpus, m6i_large.memory_mib),
            (3, 2, 8192)
        );
        let c6g = lookup("c6g.medium").expect("c6g.medium");
        assert_eq!(
            (c6g.interfaces, c6g.vcpus, c6g.memory_mib, c6g.arch),
            (2, 1, 2048, Arch::Arm64)
        );
        let r5 = lookup("r5.xlarge").expect("r5.xlarge");
        assert_eq!((r5.interfaces, r5.vcpus, r5.memory_mib), (4, 4, 32768));
        // sizes a family does not have are unknown, not guessed
        assert!(lookup("c5.8xlarge").is_none());
        assert!(lookup("m5.medium").is_none());
        assert!(lookup("t3.4xlarge").is_none());
        let m5_4x = lookup("m5.4xlarge").expect("m5.4xlarge");
        assert_eq!(
            (m5_4x.interfaces, m5_4x.vcpus, m5_4x.memory_mib),
            (8, 16, 65536)
        );
        assert_eq!(lookup("t4g.large").map(|t| t.arch), Some(Arch::Arm64));
        // the families of Exosphere's days and the newest alike
        let t2 = lookup("t2.nano").expect("t2.nano");
        assert_eq!((t2.interfaces, t2.vcpus, t2.memory_mib), (2, 1, 512));
        assert_eq!(lookup("t2.medium").map(|t| t.vcpus), Some(2));
        assert!(lookup("x2iedn.xlarge").is_some());
        assert_eq!(lookup("m8g.large").map(|t| t.arch), Some(Arch::Arm64));
        assert!(family_known("t3.4xlarge") && !family_known("z99.large"));
        // ENI trunking: AWS's example, a c5.large runs 10 tasks instead of 2; burstable
        // types cannot trunk
        let c5 = lookup("c5.large").expect("c5.large");
        assert_eq!((c5.slots(false), c5.slots(true)), (2, 10));
        assert_eq!(t3_small.slots(true), 2);
        for (name, tasks) in [
            ("m6g.medium", Some(4)),
            ("m5.xlarge", Some(20)),
            ("c6g.2xlarge", Some(40)),
            ("m6i.4xlarge", Some(60)),
            ("m6i.8xlarge", Some(90)),
            ("c6g.8xlarge", Some(60)),
            ("r5.8xlarge", None),
            ("m7i.large", None),
            ("t2.micro", None),
        ] {
            assert_eq!(lookup(name).and_then(|t| t.trunk_tasks), tasks, "{name}");
        }
        assert_eq!(lookup("m5.medium"), None, "there is no m5.medium");
        assert_eq!(lookup("t3.4xlarge"), None, "there is no t3.4xlarge");
    }

    #[test]
    fn ecs_gets_less_memory_than_installed_never_more_than_aws_documents() {
        // AWS documents an m4.large (8192 MiB) registering 7985 MiB
        assert!(registered_memory(8192) <= 7985);
        assert_eq!(registered_memory(2048), 1920);
        assert_eq!(registered_memory(512), 384);
    }

    #[test]
    fn a_type_newer_than_the_table_gets_its_architecture_from_its_name() {
        for (name, arch) in [
            ("m9g.large", Arch::Arm64),
            ("c9gd.xlarge", Arch::Arm64),
            ("r9gn.large", Arch::Arm64),
            ("hpc9g.16xlarge", Arch::Arm64),
            ("m9i.large", Arch::X86_64),
            ("g9dn.xlarge", Arch::X86_64),
            ("c9i-flex.large", Arch::X86_64),
            ("z9d.large", Arch::X86_64),
        ] {
            assert_eq!(arch_by_name(name), arch, "{name}");
        }
        // the rule agrees with every type of the table
        for (name, t) in table() {
            assert_eq!(arch_by_name(name), t.arch, "{name}");
        }
    }
}
