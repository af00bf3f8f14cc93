//! The contract between the portal and the logic tier, shared so that the two cannot drift:
//! every refusal's [`ProblemCode`], and (feature `server`) the request [`metrics`] both servers
//! record. It holds no business rule and never touches the database.

pub mod problem;

#[cfg(feature = "server")]
pub mod metrics;

pub use problem::ProblemCode;
