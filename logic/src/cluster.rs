//! The database cluster as Patroni reports it, for the admin area's cluster page.

use std::time::Duration;

pub use bank_api::cluster::{ClusterMember, ClusterResponse};
use data::users::Role;
use serde::Deserialize;

use crate::auth::SessionUser;
use crate::error::ApiError;
use crate::state::AppState;

/// How long to wait for one Patroni node before asking the next.
const PATRONI_TIMEOUT_MS: u64 = 1_500;

#[derive(Deserialize)]
struct PatroniCluster {
    members: Vec<PatroniMember>,
}

#[derive(Deserialize)]
struct PatroniMember {
    name: String,
    role: String,
    state: String,
    host: String,
    port: u16,
    lag: Option<serde_json::Value>,
    timeline: Option<u64>,
}

/// Asks the Patroni nodes in turn; the first that answers describes the whole cluster.
pub async fn status(state: &AppState, user: &SessionUser) -> Result<ClusterResponse, ApiError> {
    user.require_role(&[Role::Admin])?;
    let mut http = reqwest::Client::builder().timeout(Duration::from_millis(PATRONI_TIMEOUT_MS));
    if let Some(ca_file) = &state.settings.ca_file {
        // Patroni's REST API presents a certificate of the bank's own authority, and only that
        // authority is trusted for it.
        let pem = tokio::fs::read(ca_file)
            .await
            .map_err(|e| ApiError::Internal(format!("read {}: {e}", ca_file.display())))?;
        let authority = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| ApiError::Internal(format!("{}: {e}", ca_file.display())))?;
        http = http.tls_certs_only([authority]);
    }
    let http = http
        .build()
        .map_err(|e| ApiError::Internal(format!("http client: {e}")))?;
    for url in &state.settings.patroni_urls {
        let Ok(response) = http.get(format!("{url}/cluster")).send().await else {
            continue;
        };
        let Ok(cluster) = response.json::<PatroniCluster>().await else {
            continue;
        };
        let members = cluster
            .members
            .into_iter()
            .map(|m| ClusterMember {
                role: match m.role.as_str() {
                    "leader" | "master" => "primary".to_owned(),
                    other => other.to_owned(),
                },
                lag_bytes: m.lag.and_then(|lag| lag.as_u64()),
                address: format!("{}:{}", m.host, m.port),
                name: m.name,
                state: m.state,
                timeline: m.timeline,
            })
            .collect();
        return Ok(ClusterResponse {
            reachable: true,
            members,
        });
    }
    Ok(ClusterResponse {
        reachable: false,
        members: Vec::new(),
    })
}
