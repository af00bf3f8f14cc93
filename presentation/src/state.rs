//! What every handler shares.

use crate::logic::Logic;

#[derive(Debug, Clone)]
pub struct AppState {
    pub logic: Logic,
    /// Cookies are sent over HTTPS only (and the device cookie takes the `__Host-` prefix).
    pub secure_cookies: bool,
    /// The faces statements are printed in.
    pub fonts: std::sync::Arc<crate::statement::Fonts>,
}
