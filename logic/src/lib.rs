//! The business-logic tier: every rule of the bank, behind a REST API under `/v1`.
//!
//! Layout: `api` is the HTTP surface (wire parsing, thin handlers); `orders`, `posting`, `accounts`,
//! `customers` and `identity` hold the rules and decide where each unit of work begins and ends;
//! `domain` holds parsed values (money, account numbers, text); `wire` the response bodies; the
//! `data` crate executes every SQL statement.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod api_keys;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod batches;
pub mod book;
pub mod cluster;
pub mod config;
pub mod cursor;
pub mod customers;
pub mod domain;
pub mod drawers;
pub mod error;
pub mod events;
pub mod group_commit;
pub mod idempotency;
pub mod identity;
pub mod janitor;
pub mod orders;
pub mod payees;
pub mod pending;
pub mod pipeline;
pub mod portal_sessions;
pub mod posting;
pub mod review;
pub mod security;
pub mod seed;
pub mod state;
pub mod step_up;
pub mod throttle;
pub mod unit_of_work;
pub mod wire;

pub use api::router;
pub use state::AppState;
