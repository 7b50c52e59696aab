//! The EC2 instance types exo-deploy knows, in one place: how many network interfaces, vCPUs
//! and how much memory each has, and its CPU architecture. The capacity check, the AMI and the
//! image platform are decided from here.
//!
//! Figures are AWS's published ones (EC2 User Guide, "Maximum IP addresses per network
//! interface"; instance type pages). Families with a `g` (Graviton) are arm64.

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

/// The families exo-deploy knows, for error messages.
pub const FAMILIES: [&str; 18] = [
    "t3", "t3a", "t4g", "m5", "m5a", "m6i", "m6a", "m6g", "m7i", "m7g", "c5", "c6i", "c6g", "c7g",
    "r5", "r6i", "r6g", "r7g",
];

/// The resources of `name` (`t3.small`, `m6g.xlarge`…), when exo-deploy knows the type.
pub fn lookup(name: &str) -> Option<InstanceType> {
    let (family, size) = name.split_once('.')?;
    if !FAMILIES.contains(&family) {
        return None;
    }
    let arch = if family.ends_with('g') {
        Arch::Arm64
    } else {
        Arch::X86_64
    };
    let gib = |g: u32| g * 1024;
    // (interfaces, vCPUs, memory MiB)
    let (interfaces, vcpus, memory_mib) = match (family, size) {
        ("t3" | "t3a" | "t4g", "nano") => (2, 2, 512),
        ("t3" | "t3a" | "t4g", "micro") => (2, 2, gib(1)),
        ("t3" | "t3a" | "t4g", "small") => (3, 2, gib(2)),
        ("t3" | "t3a" | "t4g", "medium") => (3, 2, gib(4)),
        ("t3" | "t3a" | "t4g", "large") => (3, 2, gib(8)),
        ("t3" | "t3a" | "t4g", "xlarge") => (4, 4, gib(16)),
        ("t3" | "t3a" | "t4g", "2xlarge") => (4, 8, gib(32)),
        ("t3" | "t3a" | "t4g", _) => return None,
        // c5 goes from 4xlarge to 9xlarge: there is no c5.8xlarge
        ("c5", "8xlarge") => return None,
        (f, s) => {
            // general purpose 4 GiB a vCPU, compute 2, memory 8
            let per_vcpu = match &f[..1] {
                "m" => 4,
                "c" => 2,
                _ => 8,
            };
            let (interfaces, vcpus) = match s {
                "medium" if arch == Arch::Arm64 => (2, 1),
                "large" => (3, 2),
                "xlarge" => (4, 4),
                "2xlarge" => (4, 8),
                "4xlarge" => (8, 16),
                "8xlarge" => (8, 32),
                _ => return None,
            };
            (interfaces, vcpus, gib(per_vcpu * vcpus))
        }
    };
    // Tasks per instance with ENI trunking, from the table "Supported Amazon EC2 instance
    // types" of the ECS Developer Guide's ENI trunking page (its "without trunking" column
    // equals `interfaces - 1` for every type here). Burstable types cannot trunk, AWS lists
    // r5.8xlarge as unsupported, and m7i, m7g and r7g are missing from the version of the
    // table read: counted without trunking rather than guessed.
    let trunk_tasks = match (family, size) {
        ("t3" | "t3a" | "t4g" | "m7i" | "m7g" | "r7g", _) | ("r5", "8xlarge") => None,
        (_, "medium") => Some(4),
        (_, "large") => Some(10),
        (_, "xlarge") => Some(20),
        (_, "2xlarge") => Some(40),
        ("m6i" | "m6a" | "c6i" | "r6i", "8xlarge") => Some(90),
        _ => Some(60),
    };
    Some(InstanceType {
        interfaces,
        vcpus,
        memory_mib,
        arch,
        trunk_tasks,
    })
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
        ] {
            assert_eq!(lookup(name).and_then(|t| t.trunk_tasks), tasks, "{name}");
        }
        assert_eq!(lookup("x2iedn.xlarge"), None);
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
}
