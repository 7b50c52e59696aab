//! Stage 3: the whole list of steps a command will take, worked out before anything is done.
//! Plain data: `--dry-run` prints it, and the later stages execute it in order.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::hooks::{self, Hook};
use crate::model::{App, ImageSource};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Push, bootstrap, render, plan and apply.
    Deploy,
    /// Destroy the app's infrastructure, keeping state bucket and hosted zone.
    Teardown,
    /// Teardown, then remove the hosted zone, state bucket and managed repositories.
    Nuke,
    /// Push, bootstrap, render and plan: show what a deploy would change (`exo-deploy plan`).
    Plan,
    /// Re-apply a recorded release's image digests: a deploy without building or pushing.
    Rollback,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "step")]
pub enum Step {
    /// Check credentials, account, Docker, registry login and Terraform before changing anything.
    Preflight,
    /// Build a service's image from its folder and push it.
    PushImage { role: String, context: PathBuf },
    /// Use an existing image as it is.
    UseImage { role: String, image: String },
    /// Use the image digests a release recorded (rollback): nothing is built or pushed.
    UseRecordedImages,
    /// Make sure the Terraform state bucket exists and is hardened.
    EnsureStateBucket {
        bucket: Option<String>,
        region: String,
    },
    /// Make sure the app's hosted zone exists.
    EnsureHostedZone {
        domain: String,
        zone_id: Option<String>,
    },
    /// Write the Terraform directory.
    Render { out: PathBuf },
    /// `terraform init`.
    TerraformInit,
    /// `terraform plan`, with a summary to confirm.
    TerraformPlan,
    /// `terraform apply` of the saved plan.
    TerraformApply,
    /// `terraform destroy`.
    TerraformDestroy,
    /// Delete the hosted zone after removing its records.
    DeleteHostedZone { domain: String },
    /// Delete every object version in the state bucket, then the bucket.
    DeleteStateBucket { bucket: Option<String> },
    /// Delete the image repositories exo-deploy created for this app.
    DeleteRepositories,
    /// Write the release record to the state bucket.
    RecordRelease,
    /// Run one of the app's hooks (`.exo-deploy/hooks/<name>`), present when planned.
    RunHook { hook: Hook },
    /// Count the resources the Terraform state in the state bucket records.
    ReadState,
    /// A step that runs only when the state records resources (teardown skips rendering,
    /// init and destroy when there is nothing to destroy).
    WhenDeployed { then: Box<Step> },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bucket = |b: &Option<String>| {
            b.clone()
                .unwrap_or_else(|| "<account-id>-<app>-<env>-terraform".into())
        };
        match self {
            Step::PushImage { role, context } => write!(
                f,
                "build and push the image of `{role}` from {}",
                context.display()
            ),
            Step::UseImage { role, image } => {
                write!(f, "use the existing image {image} for `{role}`")
            }
            Step::UseRecordedImages => f.write_str(
                "use the image digests the release recorded (nothing is built or pushed)",
            ),
            Step::EnsureStateBucket { bucket: b, region } => {
                write!(f, "ensure the state bucket {} in {region}", bucket(b))
            }
            Step::EnsureHostedZone {
                domain,
                zone_id: Some(id),
            } => write!(f, "check the hosted zone {id} of {domain}"),
            Step::EnsureHostedZone {
                domain,
                zone_id: None,
            } => write!(f, "ensure the hosted zone of {domain}"),
            Step::Render { out } => write!(f, "render Terraform into {}", out.display()),
            Step::TerraformInit => f.write_str("terraform init"),
            Step::TerraformPlan => f.write_str("terraform plan, and show what would change"),
            Step::TerraformApply => {
                f.write_str("terraform apply the saved plan, when it has changes")
            }
            Step::TerraformDestroy => f.write_str("terraform destroy the app's infrastructure"),
            Step::DeleteHostedZone { domain } => {
                write!(f, "delete the hosted zone of {domain} and its records")
            }
            Step::DeleteStateBucket { bucket: b } => write!(
                f,
                "delete the state bucket {} with every version",
                bucket(b)
            ),
            Step::DeleteRepositories => {
                f.write_str("delete the image repositories exo-deploy created for the app")
            }
            Step::Preflight => {
                f.write_str("preflight: credentials and account, Docker, registry login, Terraform")
            }
            Step::RecordRelease => f.write_str(
                "record the release in the state bucket, when something was applied or the last record does not match what is deployed",
            ),
            Step::RunHook { hook } => write!(f, "run the {hook} hook (.exo-deploy/hooks/{hook})"),
            Step::ReadState => f.write_str("count the resources the Terraform state records"),
            Step::WhenDeployed { then } => {
                write!(f, "{then}, only when the state records resources")
            }
        }
    }
}

/// The steps of `action` for `app`, rendering into `out`.
pub fn plan(app: &App, action: Action, out: PathBuf) -> Vec<Step> {
    let env = &app.env;
    let bootstrap = || {
        let mut steps = vec![Step::EnsureStateBucket {
            bucket: env.state_bucket.clone(),
            region: env.region.clone(),
        }];
        if let Some(domain) = app.hosted_zone_domain() {
            steps.push(Step::EnsureHostedZone {
                domain: domain.to_string(),
                zone_id: env.hosted_zone_id.clone(),
            });
        }
        steps
    };
    let present = |hook: Hook| hooks::dir(app).join(hook.name()).is_file();
    let hook = |hook: Hook| present(hook).then_some(Step::RunHook { hook });
    let mut steps = Vec::new();
    match action {
        Action::Deploy | Action::Plan | Action::Rollback => {
            steps.push(Step::Preflight);
            if action == Action::Rollback {
                steps.push(Step::UseRecordedImages);
            } else {
                for s in &app.services {
                    steps.push(match &s.image {
                        ImageSource::Build { context } => Step::PushImage {
                            role: s.role.clone(),
                            context: context.clone(),
                        },
                        ImageSource::Prebuilt { image } => Step::UseImage {
                            role: s.role.clone(),
                            image: image.clone(),
                        },
                    });
                }
            }
            steps.extend(bootstrap());
            steps.push(Step::Render { out });
            steps.extend(hook(Hook::PostRender));
            steps.extend([Step::TerraformInit, Step::TerraformPlan]);
            if action == Action::Plan {
                return steps;
            }
            steps.extend(hook(Hook::PreApply));
            steps.push(Step::TerraformApply);
            steps.extend(hook(Hook::PostApply));
            steps.push(Step::RecordRelease);
            steps.extend(hook(Hook::PostDeploy));
        }
        Action::Teardown | Action::Nuke => {
            // what the real teardown does: nothing to render, init or destroy when the state
            // records no resources
            steps.push(Step::ReadState);
            let when_deployed = |s: Step| Step::WhenDeployed { then: Box::new(s) };
            steps.push(when_deployed(Step::Render { out }));
            steps.extend(hook(Hook::PostRender).map(when_deployed));
            steps.extend([
                when_deployed(Step::TerraformInit),
                when_deployed(Step::TerraformDestroy),
            ]);
            if action == Action::Nuke {
                if let Some(domain) = &env.domain {
                    steps.push(Step::DeleteHostedZone {
                        domain: domain.clone(),
                    });
                }
                steps.push(Step::DeleteStateBucket {
                    bucket: env.state_bucket.clone(),
                });
                steps.push(Step::DeleteRepositories);
            }
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/spacetweet");
        let raw = crate::config::load(&dir).expect("fixture loads");
        crate::model::resolve(&raw, None).expect("fixture resolves")
    }

    #[test]
    fn plan_stops_at_the_plan_and_rollback_neither_builds_nor_pushes() {
        let app = app();
        let out = PathBuf::from("out");
        let planned = plan(&app, Action::Plan, out.clone());
        assert_eq!(planned.last(), Some(&Step::TerraformPlan));
        assert!(!planned.contains(&Step::TerraformApply));
        let rollback = plan(&app, Action::Rollback, out);
        assert!(rollback.contains(&Step::UseRecordedImages));
        assert!(
            !rollback
                .iter()
                .any(|s| matches!(s, Step::PushImage { .. } | Step::UseImage { .. })),
            "{rollback:?}"
        );
        assert!(
            rollback.contains(&Step::TerraformApply) && rollback.contains(&Step::RecordRelease)
        );
    }
}
