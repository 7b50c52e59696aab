//! Integration tests, compiled into one binary so the suite links once.

mod apply;
mod apply_changes;
mod bootstrap;
mod cli;
mod config_errors;
mod corpus;
mod deploy;
mod environments;
mod events;
mod exec;
mod external;
mod harness;
mod images;
mod loader_properties;
mod logs;
mod moto;
mod operate;
mod preflight;
mod promote;
mod ps;
mod push;
mod registry;
mod releases;
mod render;
mod terraform_checks;
mod terraform_graph;
mod terraform_image;
mod terraform_moto;
mod terraform_runner;
mod webhook;

/// The example apps that must render cleanly, with the environment to render.
pub const VALID_FIXTURES: [(&str, &str); 7] = [
    ("minimal", "production"),
    ("spacetweet", "production"),
    ("spacetweet-exosphere", "production"),
    ("spacetweet-exosphere", "staging"),
    ("https-autoscaling", "production"),
    ("environments", "qa"),
    ("bookshop", "staging"),
];
