//! Tests of the presentation tier against a real logic tier over a real PostgreSQL: router-level
//! flows over HTTP with a cookie jar, and browser flows in headless Chromium.

// Tests unwrap: a panic, with its message, is the failure report.
#![allow(
    clippy::unwrap_used,
    reason = "a test's panic, with its message, is its failure report"
)]

mod browser;
mod command_line;
mod flows;
mod portal;
mod tls;
mod traces;
mod transfers;
