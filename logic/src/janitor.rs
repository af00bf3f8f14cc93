//! Housekeeping in the background: forgets expired portal sessions and stale sign-in throttle
//! rows, so neither table grows without bound. Every instance runs it; the deletes are idempotent.

use std::time::Duration;

use crate::state::AppState;

/// How often to sweep: expired rows are harmless until then (every read checks expiry itself).
const SWEEP_EVERY_S: u64 = 300;

pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(SWEEP_EVERY_S));
        loop {
            ticker.tick().await;
            if let Err(error) = sweep(&state).await {
                tracing::warn!(%error, "housekeeping sweep failed; trying again later");
            }
        }
    });
}

async fn sweep(state: &AppState) -> Result<(), data::DataError> {
    let mut conn = state.pool.acquire().await?;
    let sessions = data::portal_sessions::purge_expired(&mut conn).await?;
    let throttle =
        data::users::purge_sign_in_throttle(&mut conn, crate::identity::FAILURE_WINDOW_S).await?;
    if sessions + throttle > 0 {
        tracing::info!(
            sessions,
            throttle,
            "forgot expired portal sessions and sign-in failures"
        );
    }
    Ok(())
}
