//! The database cluster as the admin area shows it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClusterResponse {
    /// Whether the logic tier could reach Patroni at all.
    pub reachable: bool,
    pub members: Vec<ClusterMember>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClusterMember {
    pub name: String,
    /// `primary`, `sync_standby` or `replica`.
    pub role: String,
    /// Patroni's state of the node: `running`, `streaming`, `starting`, `stopped`, …
    pub state: String,
    pub address: String,
    /// Bytes of WAL the replica is behind the primary; absent for the primary.
    pub lag_bytes: Option<u64>,
    pub timeline: Option<u64>,
}
