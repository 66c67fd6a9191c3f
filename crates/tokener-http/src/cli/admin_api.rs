//! The admin API of a running service, as the operator's commands call it.

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct AdminApi {
    /// The service, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "TOKENER_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An admin token (a Tokener token with the tokener:admin scope).
    #[arg(long, env = "TOKENER_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
}

impl AdminApi {
    /// Sends the request `build` makes from the HTTP client and the service's base URL, prints
    /// the JSON answer, and fails unless it is a success.
    pub async fn call(
        &self,
        build: impl FnOnce(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let response = build(&http, self.url.trim_end_matches('/'))
            .bearer_auth(&self.token)
            .send()
            .await
            .context("cannot reach the service")?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .context("the service did not answer JSON")?;
        println!("{}", serde_json::to_string_pretty(&body)?);
        if !status.is_success() {
            anyhow::bail!("the service answered {status}");
        }
        Ok(())
    }
}
