//! Operating what is deployed: the app's logs, what runs (`ps`), the scaling range and ECS
//! Exec sessions. The data and the AWS calls live here; the commands run through the pipeline's executor like every
//! other, from steps the plan decides.

pub mod exec;
pub mod logs;
pub mod ps;
pub mod scaling;
