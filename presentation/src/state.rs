//! What every handler shares.

use crate::logic::Logic;

#[derive(Debug, Clone)]
pub struct AppState {
    pub logic: Logic,
}
