//! What a `terraform plan` would do, read from its output: the totals line and, per module
//! (one per service), how many resources would be added, changed or destroyed.

use std::collections::BTreeMap;

use serde::Serialize;

/// Counts of one plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// By module (`service_web`, `network`, … or `root`): (add, change, destroy).
    pub by_module: BTreeMap<String, (usize, usize, usize)>,
}

impl PlanSummary {
    pub fn is_empty(&self) -> bool {
        self.add + self.change + self.destroy == 0
    }
}

/// Reads a plan's output (colours removed by `-no-color`).
pub fn parse(output: &str) -> PlanSummary {
    let mut s = PlanSummary::default();
    for line in output.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Plan: ") {
            let n = |what: &str| {
                rest.split(", ")
                    .find(|p| p.contains(what))
                    .and_then(|p| p.split_whitespace().next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            };
            s.add = n("to add");
            s.change = n("to change");
            s.destroy = n("to destroy");
        } else if let Some(rest) = line.strip_prefix("# ") {
            let Some((address, action)) = rest
                .split_once(" will be ")
                .or_else(|| rest.split_once(" must be "))
            else {
                continue;
            };
            let module = address
                .strip_prefix("module.")
                .and_then(|m| m.split('.').next())
                .unwrap_or("root")
                .to_string();
            let entry = s.by_module.entry(module).or_default();
            if action.starts_with("created") {
                entry.0 += 1;
            } else if action.starts_with("updated") {
                entry.1 += 1;
            } else if action.starts_with("destroyed") {
                entry.2 += 1;
            } else if action.starts_with("replaced") {
                entry.0 += 1;
                entry.2 += 1;
            }
        }
    }
    s
}

/// The lines of Terraform's output that say what went wrong (its `Error:` blocks).
pub fn error_lines(output: &str) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    for line in output.lines() {
        let bare = line.trim_start_matches(['│', '╷', '╵', ' ']).trim_end();
        if bare.starts_with("Error:") {
            inside = true;
        }
        if inside {
            out.push(bare.to_string());
        }
    }
    let text = out.join("\n").trim().to_string();
    if text.is_empty() {
        output
            .lines()
            .rev()
            .take(10)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_totals_and_per_module_counts() {
        let out = "  # module.service_web.aws_ecs_service.fixed[0] will be created\n  # module.service_web.aws_lb_target_group.this[0] must be replaced\n  # module.network.aws_vpc.this will be updated in-place\n  # null_resource.a will be destroyed\nPlan: 2 to add, 1 to change, 2 to destroy.\n";
        let s = parse(out);
        assert_eq!((s.add, s.change, s.destroy), (2, 1, 2));
        assert_eq!(s.by_module["service_web"], (2, 0, 1));
        assert_eq!(s.by_module["network"], (0, 1, 0));
        assert_eq!(s.by_module["root"], (0, 0, 1));
        assert!(parse("No changes. Your infrastructure matches the configuration.").is_empty());
    }

    #[test]
    fn error_blocks_are_picked_out() {
        let out = "Initializing...\n╷\n│ Error: Failed to query available provider packages\n│\n│ Could not retrieve the list\n╵\n";
        assert_eq!(
            error_lines(out),
            "Error: Failed to query available provider packages\n\nCould not retrieve the list"
        );
    }
}
