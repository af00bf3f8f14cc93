//! Integration tests of the logic tier: the real router on a real socket, over a real PostgreSQL
//! database of each test's own.

// Tests unwrap: a panic, with its message, is the failure report.
#![allow(
    clippy::unwrap_used,
    reason = "a test's panic, with its message, is its failure report"
)]

mod accounts;
mod app;
mod architecture;
mod back_office;
mod cash;
mod cluster;
mod command_lines;
mod concurrency;
mod contract;
mod customers;
mod group_commit;
mod idempotency;
mod pagination;
mod problem_codes;
mod roles;
mod security;
mod service_api;
mod sessions;
mod step_up;
mod tls;
mod transfers;
