//! What the user asked for ([`Intent`]) and how ([`Settings`]), resolved once from the command
//! line and the environment. Nothing past this point reads clap's flags: the pipeline, the
//! runner and the output take these values (ripgrep's low-level args → high-level args).

use std::path::PathBuf;

use crate::cli::{ChannelCommand, Cli, Command};

/// What the user asked exo-deploy to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// `exo-deploy`: push, bootstrap, render, plan, confirm, apply and record.
    Deploy,
    /// `completions SHELL`: the shell's completion script, from the command line's own
    /// definition; no app is read.
    Completions { shell: clap_complete::Shell },
    /// `man`: the manual page, likewise.
    Man,
    /// `--teardown`: destroy the app's infrastructure, keeping state bucket and hosted zone.
    Teardown,
    /// `--nuke`: teardown, then remove the hosted zone, state bucket and managed repositories.
    Nuke,
    /// `plan`: push, bootstrap and plan; exit 3 for changes with `detailed_exitcode`.
    Plan { detailed_exitcode: bool },
    /// `rollback RELEASE`: a deploy of a recorded release's image digests, building nothing.
    Rollback { release: String },
    /// `render`.
    Render,
    /// `push`.
    Push {
        registry: Option<String>,
        tag: Option<String>,
        force_tag: bool,
        concurrency: usize,
    },
    /// `bootstrap`.
    Bootstrap,
    /// `status`.
    Status,
    /// `history`.
    History,
    /// `show RELEASE`.
    Show { release: String },
    /// `config [--show-origin]`.
    Config { show_origin: bool },
    /// `terraform -- ARGS`.
    Terraform { args: Vec<String> },
    /// `promote --from ENV --to ENV [RELEASE | --channel NAME]`: a deploy (of `--to`) of the
    /// images a release of `from` recorded.
    Promote {
        from: String,
        /// An id, `latest` or `previous`; or with `channel`, the channel's name.
        release: String,
        channel: bool,
        allow_dirty: bool,
    },
    /// `channel set NAME RELEASE`.
    SetChannel { name: String, release: String },
    /// `channel list`.
    Channels,
    /// `scale`, `stop`, `start`.
    Scale { service: String, to: ScaleTo },
    /// `restart SERVICE…` (empty: `--all`).
    Restart { services: Vec<String> },
    /// `ps`.
    Ps,
    /// `exec SERVICE [--task ID] [-- CMD…]`.
    Exec {
        service: String,
        task: Option<String>,
        command: Vec<String>,
    },
    /// `logs [SERVICE…] [--follow] [--since WHEN] [--filter PATTERN]`.
    Logs {
        services: Vec<String>,
        follow: bool,
        since: String,
        filter: Option<String>,
    },
}

/// What `scale` (and `stop`, `start`) set a service to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleTo {
    /// This many tasks.
    Count(u32),
    /// What the config says again.
    Reset,
    /// Zero, remembering the count.
    Stop,
    /// The count before the stop.
    Start,
    /// An autoscaled service's range.
    Range { min: u32, max: u32 },
}

/// How every command runs, decided once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The app's folder.
    pub app_dir: PathBuf,
    /// The environment asked for (`-e` or `EXO_DEPLOY_ENV`), when one was.
    pub env: Option<String>,
    /// Where Terraform is written, when not the default.
    pub out: Option<PathBuf>,
    /// One JSON object per event on stdout.
    pub json: bool,
    /// `--yes`: confirmations are answered.
    pub yes: bool,
    /// A dry run (`--dry-run`, with deploy, teardown or nuke): the plan is shown and only the
    /// local steps run, rendering and the `post-render` hook (which knows it through
    /// `EXO_DEPLOY_DRY_RUN`).
    pub dry_run: bool,
    /// An AWS endpoint for an emulator.
    pub endpoint_url: Option<String>,
    /// The Terraform image: `--terraform-image` (or its variable), else the pinned default.
    pub terraform_image: String,
    /// Run the `terraform` on PATH instead of a container.
    pub local_terraform: bool,
    /// How long a deploy waits for its rollouts.
    pub rollout_timeout: std::time::Duration,
    /// How often it asks ECS meanwhile.
    pub rollout_poll: std::time::Duration,
}

impl Cli {
    /// The intent and the settings this command line asks for.
    pub fn resolve(self) -> (Intent, Settings) {
        let dry_run = self.dry_run;
        // `promote --to` names the environment deployed
        let env = match &self.command {
            Some(Command::Promote { to, .. }) => Some(to.clone()),
            _ => self.env.clone(),
        };
        let intent = match self.command {
            Some(Command::Render) => Intent::Render,
            Some(Command::Bootstrap) => Intent::Bootstrap,
            Some(Command::Push {
                registry,
                tag,
                force_tag,
                concurrency,
            }) => Intent::Push {
                registry,
                tag,
                force_tag,
                concurrency,
            },
            Some(Command::Plan { detailed_exitcode }) => Intent::Plan { detailed_exitcode },
            Some(Command::Status) => Intent::Status,
            Some(Command::History) => Intent::History,
            Some(Command::Show { release }) => Intent::Show { release },
            Some(Command::Config { show_origin }) => Intent::Config { show_origin },
            Some(Command::Rollback { release }) => Intent::Rollback { release },
            Some(Command::Terraform { args }) => Intent::Terraform { args },
            Some(Command::Completions { shell }) => Intent::Completions { shell },
            Some(Command::Man) => Intent::Man,
            Some(Command::Promote {
                from,
                to: _,
                release,
                channel,
                allow_dirty,
            }) => Intent::Promote {
                from,
                channel: channel.is_some(),
                release: channel.or(release).unwrap_or_else(|| "latest".into()),
                allow_dirty,
            },
            Some(Command::Channel {
                action: ChannelCommand::Set { name, release },
            }) => Intent::SetChannel { name, release },
            Some(Command::Channel {
                action: ChannelCommand::List,
            }) => Intent::Channels,
            Some(Command::Restart { services, .. }) => Intent::Restart { services },
            Some(Command::Scale {
                service,
                count,
                min,
                max,
                reset: _,
            }) => Intent::Scale {
                service,
                to: match (count, min, max) {
                    (Some(n), _, _) => ScaleTo::Count(n),
                    (None, Some(min), Some(max)) => ScaleTo::Range { min, max },
                    _ => ScaleTo::Reset,
                },
            },
            Some(Command::Ps) => Intent::Ps,
            Some(Command::Exec {
                service,
                task,
                command,
            }) => Intent::Exec {
                service,
                task,
                command,
            },
            Some(Command::Stop { service }) => Intent::Scale {
                service,
                to: ScaleTo::Stop,
            },
            Some(Command::Start { service }) => Intent::Scale {
                service,
                to: ScaleTo::Start,
            },
            Some(Command::Logs {
                services,
                follow,
                since,
                filter,
            }) => Intent::Logs {
                services,
                follow,
                since,
                filter,
            },
            None if self.nuke => Intent::Nuke,
            None if self.teardown => Intent::Teardown,
            None => Intent::Deploy,
        };
        let settings = Settings {
            app_dir: self.app_dir,
            env,
            out: self.out,
            json: self.json,
            yes: self.yes,
            dry_run,
            // the flag, else the SDK's own variable; an empty one means no emulator
            endpoint_url: self
                .endpoint_url
                // normalised as the flag is; one that is no url is refused before the run
                .or_else(|| {
                    std::env::var("AWS_ENDPOINT_URL")
                        .ok()
                        .map(|u| crate::cli::endpoint_url(&u).unwrap_or(u))
                })
                .filter(|u| !u.is_empty()),
            terraform_image: self
                .terraform_image
                .unwrap_or_else(|| crate::terraform::DEFAULT_IMAGE.to_string()),
            local_terraform: self.local_terraform,
            rollout_timeout: std::time::Duration::from_secs(self.rollout_timeout),
            rollout_poll: std::time::Duration::from_secs(5),
        };
        (intent, settings)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn resolve(args: &[&str]) -> (Intent, Settings) {
        Cli::parse_from(std::iter::once("exo-deploy").chain(args.iter().copied())).resolve()
    }

    #[test]
    fn each_command_line_resolves_to_one_intent_and_its_settings() {
        let (intent, settings) = resolve(&[]);
        assert_eq!(intent, Intent::Deploy);
        assert!(!settings.dry_run);
        assert_eq!(settings.terraform_image, crate::terraform::DEFAULT_IMAGE);
        let (intent, settings) = resolve(&["--nuke", "--dry-run"]);
        assert_eq!(intent, Intent::Nuke);
        assert!(settings.dry_run);
        assert_eq!(
            resolve(&["plan", "--detailed-exitcode"]).0,
            Intent::Plan {
                detailed_exitcode: true
            }
        );
        let (intent, settings) = resolve(&[
            "rollback",
            "previous",
            "--yes",
            "--terraform-image",
            "registry.example/terraform:1.13",
        ]);
        assert_eq!(
            intent,
            Intent::Rollback {
                release: "previous".into()
            }
        );
        assert!(settings.yes);
        assert_eq!(settings.terraform_image, "registry.example/terraform:1.13");
    }
}
