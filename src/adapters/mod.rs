//! The outside world, one adapter per thing exo-deploy talks to, used by every stage that
//! needs it: [`aws`] (the AWS SDK clients and how their errors read), [`docker`] (the
//! Docker Engine through bollard), [`git`] (provenance) and [`webhook`] (notifications). Stages keep their logic; the plumbing lives here.

pub mod aws;
pub mod docker;
pub mod ec2;
pub mod git;
pub mod webhook;
