//! The narrow interfaces the pipeline drives, beside [`crate::bootstrap::Cloud`]: pushing
//! images and running Terraform. The real implementations are here; recording ones, in the
//! pipeline's tests, check the orchestration alone.

use std::future::Future;

use crate::Error;
use crate::model::App;
use crate::push::{self, Pushed};
use crate::terraform::{self, PlanSummary};

/// Builds and pushes the app's images.
pub trait ImagePusher {
    fn push(&self, app: &App) -> impl Future<Output = Result<Vec<Pushed>, Error>> + Send;
}

/// Runs Terraform in the rendered directory.
pub trait TerraformRunner {
    fn init(&self, bucket: Option<&str>) -> impl Future<Output = Result<(), Error>> + Send;
    /// `None` when nothing would change.
    fn plan(
        &self,
        destroy: bool,
    ) -> impl Future<Output = Result<Option<PlanSummary>, Error>> + Send;
    fn apply(&self) -> impl Future<Output = Result<(), Error>> + Send;
    fn destroy(&self) -> impl Future<Output = Result<(), Error>> + Send;
    /// `terraform output -json`.
    fn outputs(&self) -> impl Future<Output = Result<serde_json::Value, Error>> + Send;
}

/// The real pusher: the Docker Engine and a registry.
#[derive(Debug)]
pub struct Pusher<'a> {
    pub request: push::Request,
    pub aws: Option<&'a crate::bootstrap::aws::Aws>,
}

impl ImagePusher for Pusher<'_> {
    async fn push(&self, app: &App) -> Result<Vec<Pushed>, Error> {
        Ok(push::push(app, &self.request, self.aws).await?)
    }
}

impl TerraformRunner for terraform::Runner {
    async fn init(&self, bucket: Option<&str>) -> Result<(), Error> {
        terraform::Runner::init(self, bucket).await?;
        Ok(())
    }
    async fn plan(&self, destroy: bool) -> Result<Option<PlanSummary>, Error> {
        Ok(terraform::Runner::plan(self, destroy).await?)
    }
    async fn apply(&self) -> Result<(), Error> {
        terraform::Runner::apply(self).await?;
        Ok(())
    }
    async fn destroy(&self) -> Result<(), Error> {
        self.must(&["destroy", "-auto-approve", "-input=false", "-no-color"])
            .await?;
        Ok(())
    }
    async fn outputs(&self) -> Result<serde_json::Value, Error> {
        let quiet = terraform::Runner {
            echo: false,
            ..self.clone()
        };
        let out = quiet.must(&["output", "-json", "-no-color"]).await?;
        Ok(serde_json::from_str(&out.output).unwrap_or(serde_json::Value::Null))
    }
}
