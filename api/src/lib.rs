//! The contract between the portal and the logic tier, shared so that the two cannot drift:
//! every refusal's [`ProblemCode`]; the values both read the same way (an [`AccountNumber`] with
//! its check digit, an [`Amount`] in its [`Currency`]'s decimal places, from one table), and
//! (feature `server`) the request [`metrics`] both servers record. It holds no business rule and never touches the database.

pub mod account_number;
pub mod money;
pub mod problem;

#[cfg(feature = "server")]
pub mod metrics;

pub use account_number::AccountNumber;
pub use money::{Amount, Currency};
pub use problem::ProblemCode;

/// The longest memo (reference) a transfer carries, in characters.
pub const MEMO_MAX_CHARS: usize = 140;
