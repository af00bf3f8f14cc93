//! `/metrics` of the portal: the shared request series (`bank_api::metrics`) under
//! `portal_requests_total`, `portal_request_duration_seconds` and `portal_requests_in_flight`.

use bank_api::metrics::RequestSeries;

pub static REQUESTS: RequestSeries = RequestSeries {
    total: "portal_requests_total",
    duration: "portal_request_duration_seconds",
    in_flight: "portal_requests_in_flight",
};

pub async fn render() -> String {
    bank_api::metrics::render()
}
