//! Domain types: parsed, valid values. Handlers turn wire input into these at the boundary; past
//! it, no code sees an unchecked amount, currency or account number.

pub mod account_number;
pub mod countries;
pub mod day;
pub mod names;
pub mod text;

pub use account_number::AccountNumber;
pub use bank_api::money;
pub use day::Day;
pub use money::{Amount, Currency};
