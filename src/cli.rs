//! The command line: flags and subcommands, as users and CI pipelines type them.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes (every command):
  0  success (for `plan`: with or without changes)
  1  failure (a step failed: see the message)
  2  bad usage or invalid configuration
  3  `plan --detailed-exitcode` only: the plan has changes";

/// Deploy an Exosphere application to AWS: validate its config, push its images, bootstrap
/// state and DNS, render Terraform and apply it.
#[derive(Debug, Parser)]
#[command(name = "exo-deploy", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The app's folder (holding application.yml)
    #[arg(
        short = 'C',
        long,
        global = true,
        default_value = ".",
        value_name = "DIR"
    )]
    pub app_dir: PathBuf,

    /// The environment to deploy (default: the only one defined)
    #[arg(
        short,
        long,
        global = true,
        env = "EXO_DEPLOY_ENV",
        value_name = "NAME"
    )]
    pub env: Option<String>,

    /// Where to write Terraform (default: <app>/.exo-deploy/<env>/)
    #[arg(long, global = true, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Print one JSON object per event on stdout, for CI; human output stays on stderr
    #[arg(long, global = true)]
    pub json: bool,

    /// Answer yes to confirmations (needed without a terminal)
    #[arg(long, global = true)]
    pub yes: bool,

    /// AWS endpoint for an emulator such as moto or LocalStack: exo-deploy's own calls and the
    /// rendered Terraform's provider and state backend use it
    #[arg(long, global = true, value_name = "URL", value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,

    /// Terraform image to run (default: hashicorp/terraform 1.13.3, pinned by digest)
    #[arg(
        long,
        global = true,
        env = "EXO_DEPLOY_TERRAFORM_IMAGE",
        value_name = "IMAGE"
    )]
    pub terraform_image: Option<String>,

    /// Run the `terraform` found on PATH instead of a container
    #[arg(long, global = true)]
    pub local_terraform: bool,

    /// How long a deploy waits for the services' new tasks to run and pass their checks
    #[arg(long, global = true, default_value_t = 600, value_name = "SECONDS")]
    pub rollout_timeout: u64,

    /// Validate, render and print the plan; change nothing remote
    #[arg(long)]
    pub dry_run: bool,

    /// Destroy the app's infrastructure (the state bucket and hosted zone stay)
    #[arg(long, conflicts_with = "nuke")]
    pub teardown: bool,

    /// Teardown, then also remove the hosted zone, state bucket and image repositories
    #[arg(long)]
    pub nuke: bool,
}

impl Cli {
    /// Parses the process's arguments; usage errors exit with code 2.
    pub fn parse_args() -> Self {
        use clap::CommandFactory;
        let cli = Cli::parse();
        if cli.command.is_some() && (cli.dry_run || cli.teardown || cli.nuke) {
            Cli::command()
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    "--dry-run, --teardown and --nuke go with the bare command, not with a subcommand",
                )
                .exit();
        }
        cli
    }
}

/// What `channel` does.
#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Point channel NAME of the environment at RELEASE (an id, `latest` or `previous`)
    Set {
        #[arg(value_name = "NAME")]
        name: String,
        #[arg(value_name = "RELEASE")]
        release: String,
    },
    /// Every channel of the environment: the release it points to now, and since when
    List,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config and write the Terraform directory, nothing else
    Render,
    /// Ensure the Terraform state bucket and the hosted zone exist and are hardened; print the
    /// name servers to delegate the domain to
    Bootstrap,
    /// Build every service's image and push it; what the registry already has is skipped
    Push {
        /// Registry and namespace, e.g. `ghcr.io/org` or `127.0.0.1:5000/team` (default: the
        /// environment's `registry`, else the account's ECR registry)
        #[arg(long, value_name = "REGISTRY/NAMESPACE")]
        registry: Option<String>,
        /// Push under this tag instead of the commit-derived one; a tag the registry already has
        /// with other content is refused
        #[arg(long, value_name = "TAG")]
        tag: Option<String>,
        /// With --tag: move the tag even when the registry has it with other content
        #[arg(long, requires = "tag")]
        force_tag: bool,
        /// Services built and pushed at once
        #[arg(long, default_value_t = 4, value_name = "N")]
        concurrency: usize,
    },
    /// Push, bootstrap and plan, and show what would change; exit 0 with or without changes
    Plan {
        /// Exit 3 when the plan has changes (0 when it has none), for scripts
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// What is deployed: the last release, its urls, and each service's task counts
    Status,
    /// This environment's releases, newest first (`--json`: every record whole)
    History,
    /// One release: what each service ran (image, tag, commit), the config and Terraform
    /// outputs it was deployed with, and who deployed it
    Show {
        /// The release's id (see `history`), `latest`, or `previous`
        #[arg(value_name = "RELEASE")]
        release: String,
    },
    /// Print the environment's resolved configuration (after `extends` and per-environment
    /// overrides, with defaults), as YAML
    Config {
        /// Instead, list every value the config writes with the file, line and column it comes
        /// from, like `git config --show-origin`
        #[arg(long)]
        show_origin: bool,
    },
    /// Re-apply a recorded release's image digests, without rebuilding
    Rollback {
        /// The release's id (see `history`), or `previous`
        #[arg(value_name = "RELEASE")]
        release: String,
    },
    /// Deploy exactly the images of another environment's release, by digest, with no rebuild:
    /// copied into this environment's registry when it uses another one; this environment's
    /// own config (sizes, urls, secrets) applies
    Promote {
        /// The environment whose release is promoted
        #[arg(long, value_name = "ENV")]
        from: String,
        /// The environment to deploy it to
        #[arg(long, value_name = "ENV")]
        to: String,
        /// The release of `--from` (an id, `latest` or `previous`; default: `latest`)
        #[arg(value_name = "RELEASE", conflicts_with = "channel")]
        release: Option<String>,
        /// Promote the release a channel of `--from` points to (see `channel`)
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
        /// Promote even a release built from uncommitted changes
        #[arg(long)]
        allow_dirty: bool,
    },
    /// Named pointers to releases (`stable`, `canary`), kept with their history in the state
    /// bucket: `channel set NAME RELEASE`, `channel list`
    Channel {
        #[command(subcommand)]
        action: ChannelCommand,
    },
    /// The services' logs (CloudWatch), merged in time order and prefixed with their service
    Logs {
        /// The services (default: all of them, ExoCom included as `exocom`)
        #[arg(value_name = "SERVICE")]
        services: Vec<String>,
        /// Keep printing new events until Ctrl-C
        #[arg(short, long)]
        follow: bool,
        /// From when: `30s`, `10m`, `2h`, `1d`, or a time such as `2026-11-23T10:00:00Z`
        #[arg(long, default_value = "10m", value_name = "WHEN")]
        since: String,
        /// Only events matching this CloudWatch Logs filter pattern (e.g. `ERROR`)
        #[arg(long, value_name = "PATTERN")]
        filter: Option<String>,
    },
    /// Replace the running tasks of services with new ones of the same task definition (a
    /// new deployment), and wait for them as a deploy does
    Restart {
        /// The services to restart (`exocom` for the bus)
        #[arg(value_name = "SERVICE", required_unless_present = "all")]
        services: Vec<String>,
        /// Restart every service, ExoCom included
        #[arg(long, conflicts_with = "services")]
        all: bool,
    },
    /// Change how many tasks a service runs, now; the override is recorded in the state bucket
    /// and every deploy shows it, until `--reset`
    Scale {
        #[arg(value_name = "SERVICE")]
        service: String,
        /// The number of tasks (for a service that does not autoscale)
        #[arg(value_name = "N", required_unless_present_any = ["reset", "min"])]
        count: Option<u32>,
        /// For an autoscaled service: the fewest tasks its scaler may run (with --max)
        #[arg(long, value_name = "A", requires = "max", conflicts_with = "count")]
        min: Option<u32>,
        /// For an autoscaled service: the most tasks its scaler may run (with --min)
        #[arg(long, value_name = "B", requires = "min", conflicts_with = "count")]
        max: Option<u32>,
        /// End the override: the service runs the count (or range) its config says again
        #[arg(long, conflicts_with_all = ["count", "min", "max"])]
        reset: bool,
    },
    /// What runs now: per service its tasks, the image digests they run (and their release),
    /// its targets' health, its newest deployment and events; per cluster its instances
    Ps,
    /// A shell, or a command, in a running task of a service, through ECS Exec (needs
    /// `ecs-exec: true` and AWS's Session Manager plugin)
    Exec {
        #[arg(value_name = "SERVICE")]
        service: String,
        /// The task (its id, see `ps`; default: the first running one)
        #[arg(long, value_name = "ID")]
        task: Option<String>,
        /// The command, after `--` (default: `/bin/sh`)
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "CMD"
        )]
        command: Vec<String>,
    },
    /// Scale a service to zero tasks, remembering its count for `start`
    Stop {
        #[arg(value_name = "SERVICE")]
        service: String,
    },
    /// Bring a stopped service back to the count it ran before `stop`
    Start {
        #[arg(value_name = "SERVICE")]
        service: String,
    },
    /// Print the shell completion script for SHELL, e.g. `exo-deploy completions bash >
    /// ~/.local/share/bash-completion/completions/exo-deploy`
    Completions {
        /// bash, zsh, fish, elvish or powershell
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `exo-deploy man > ~/.local/share/man/man1/exo-deploy.1`
    Man,
    /// Run any terraform command in the rendered directory, the same way deploys do
    /// (e.g. `exo-deploy terraform -- state list`)
    Terraform {
        /// The terraform arguments, after `--`
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            required = true,
            value_name = "ARGS"
        )]
        args: Vec<String>,
    },
}

/// An emulator's endpoint: an http(s) url without credentials (it is written into the rendered
/// Terraform). `--endpoint-url`, or `AWS_ENDPOINT_URL` (checked when settings are resolved).
pub fn endpoint_url(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"))
        .ok_or_else(|| format!("`{value}` is not an http:// or https:// url"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("`{value}` names no host"));
    }
    if rest.contains(['?', '#']) {
        return Err(format!(
            "`{value}` has a query or a fragment: give the emulator's base url, like http://127.0.0.1:5000"
        ));
    }
    if authority.contains('@') {
        return Err(
            "the url holds credentials, and it is written into the rendered Terraform: give the emulator's credentials through AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY instead".into(),
        );
    }
    Ok(value.trim_end_matches('/').to_string())
}
