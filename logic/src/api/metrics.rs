//! `/metrics` of the logic tier: the shared request series (`bank_api::metrics`) under
//! `http_requests_total`, `http_request_duration_seconds` and `http_requests_in_flight`, transfer
//! outcomes, unit-of-work retries and the database pool's use, read when scraped.

use axum::extract::State;
use bank_api::metrics::RequestSeries;

use crate::state::AppState;

pub static REQUESTS: RequestSeries = RequestSeries {
    total: "http_requests_total",
    duration: "http_request_duration_seconds",
    in_flight: "http_requests_in_flight",
};

/// The help text of the logic tier's own series (the request series' are `bank_api`'s).
pub fn describe() {
    metrics::describe_counter!(
        "bank_transfers_total",
        "Postings answered, by kind and outcome (posted, replayed, refused, unavailable, or the \
         refusal's code)."
    );
    metrics::describe_histogram!(
        "bank_posting_batch_size",
        "Requests posted in one group commit transaction."
    );
    metrics::describe_counter!(
        "bank_unit_of_work_retries_total",
        "Units of work run again after a transient database error (a failover, a serialisation \
         failure)."
    );
    metrics::describe_counter!(
        "bank_unit_of_work_budget_spent_total",
        "Requests answered 503 because their retry budget ran out."
    );
    metrics::describe_counter!(
        "bank_unit_of_work_abandoned_total",
        "Units of work given up because their client went away."
    );
    metrics::describe_gauge!(
        "bank_audit_chain_checked_timestamp_seconds",
        "When this instance last checked the audit chain up to its head and found it whole \
         (Unix time); it stops moving while the chain is broken or cannot be read."
    );
    metrics::describe_gauge!(
        "bank_db_pool_connections",
        "Database connections open in this instance's pool."
    );
    metrics::describe_gauge!(
        "bank_db_pool_idle_connections",
        "Open database connections not in use."
    );
    metrics::describe_gauge!(
        "bank_db_pool_connections_max",
        "The most database connections this instance's pool opens."
    );
}

pub async fn render(State(state): State<AppState>) -> String {
    let pool = &state.pool;
    metrics::gauge!("bank_db_pool_connections").set(pool.size());
    metrics::gauge!("bank_db_pool_idle_connections")
        .set(u32::try_from(pool.num_idle()).unwrap_or(u32::MAX));
    metrics::gauge!("bank_db_pool_connections_max").set(state.settings.database.connections_max);
    bank_api::metrics::render()
}
