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

pub async fn render(State(state): State<AppState>) -> String {
    let pool = &state.pool;
    metrics::gauge!("bank_db_pool_connections").set(pool.size());
    metrics::gauge!("bank_db_pool_idle_connections")
        .set(u32::try_from(pool.num_idle()).unwrap_or(u32::MAX));
    metrics::gauge!("bank_db_pool_connections_max").set(state.settings.database.connections_max);
    bank_api::metrics::handle().render()
}
