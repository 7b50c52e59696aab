//! Operating what is deployed: the app's logs (and, with later commands, its tasks). The data
//! and the AWS calls live here; the commands run through the pipeline's executor like every
//! other, from steps the plan decides.

pub mod logs;
