//! Housekeeping in the background: voids pending transfers past their expiry and sequences the
//! event feed (every few seconds), checks and anchors the audit chain's new records (every
//! minute), lapses approval requests whose time ran out (releasing their holds), and forgets expired portal sessions and stale sign-in throttle rows, so neither table
//! grows without bound. Every instance runs it; each step is idempotent and skips rows another
//! instance is handling.

use std::time::Duration;

use crate::state::AppState;

/// How often to sweep: expired rows are harmless until then (every read checks expiry itself).
const SWEEP_EVERY_S: u64 = 60;
/// How often lapsed pending transfers are voided and new events sequenced: a consumer of the
/// feed learns of an expiry within this many seconds even if nobody touches the transfer.
const SERVICE_TICK_S: u64 = 5;
/// How many sweeps apart the whole audit chain is walked from its first row (hourly): the
/// minute's walk reads only what follows the newest anchor, and a whole walk costs as much as
/// `verify-ledger`'s.
const WHOLE_CHAIN_EVERY_SWEEPS: u64 = 60;

pub fn spawn(state: AppState) {
    // No check yet: from the start, an instance that never finds the audit chain whole shows a
    // check as old as can be, and the alert on it fires.
    metrics::gauge!("bank_audit_chain_checked_timestamp_seconds").set(0u32);
    let service_state = state.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(SERVICE_TICK_S));
        loop {
            ticker.tick().await;
            match crate::pending::expire_due(&service_state).await {
                Ok(0) => {}
                Ok(voided) => tracing::info!(voided, "pending transfers expired and voided"),
                Err(error) => tracing::warn!(%error, "expiring pending transfers failed"),
            }
            if let Err(error) = crate::events::sequence(&service_state).await {
                tracing::warn!(%error, "sequencing events failed; trying again later");
            }
        }
    });
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(SWEEP_EVERY_S));
        let mut sweeps: u64 = 0;
        loop {
            ticker.tick().await;
            // The whole audit chain at the first sweep and then hourly; its tail every minute.
            let whole_chain = sweeps.is_multiple_of(WHOLE_CHAIN_EVERY_SWEEPS);
            sweeps += 1;
            if let Err(error) = sweep(&state, whole_chain).await {
                tracing::warn!(%error, "housekeeping sweep failed; trying again later");
            }
        }
    });
}

async fn sweep(state: &AppState, whole_chain: bool) -> Result<(), crate::error::ApiError> {
    let expired = crate::approvals::expire_due(state).await?;
    if expired > 0 {
        tracing::info!(expired, "approval requests lapsed without a decision");
    }
    let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
    let sessions = data::portal_sessions::purge_expired(&mut conn).await?;
    let throttle =
        data::users::purge_sign_in_throttle(&mut conn, crate::throttle::FAILURE_WINDOW_S).await?;
    let devices = data::sessions::purge_expired_devices(&mut conn).await?;
    let forms =
        data::sessions::purge_form_submissions(&mut conn, crate::security::FORM_SUBMISSION_KEPT_S)
            .await?;
    let receipts =
        data::idempotency::purge_receipts(&mut conn, crate::unit_of_work::RECEIPT_KEPT_S).await?;
    if sessions + throttle + devices + forms + receipts > 0 {
        tracing::info!(
            sessions,
            throttle,
            devices,
            forms,
            receipts,
            "forgot expired portal sessions, sign-in failures, known devices, sent forms and \
             units' receipts"
        );
    }
    // Last, so that what this sweep audited is anchored with the rest. A break is logged there,
    // an error line each minute until someone deals with it.
    if whole_chain {
        crate::audit::anchor_from_start(state).await?;
    } else {
        crate::audit::anchor(state).await?;
    }
    Ok(())
}
