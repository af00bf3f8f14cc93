//! Password hashing with Argon2id (the argon2 crate's defaults: m = 19 MiB, t = 2, p = 1).
//! Hashing is CPU-heavy, so it runs on the blocking pool, never on the async workers.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use bank_api::ProblemCode;

use crate::error::ApiError;

/// Shortest password accepted: NIST SP 800-63B asks for at least 8; a bank asks for more.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Longest password accepted, so hashing cost stays bounded.
pub const PASSWORD_MAX_CHARS: usize = 256;

pub fn check_policy(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars) {
        return Err(ApiError::invalid(
            ProblemCode::WeakPassword,
            "password",
            format!("a password has {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::Internal(format!("hash a password: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password hashing task: {e}")))?
}

/// Whether `password` matches the PHC string `hash`. A malformed hash never matches.
pub async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}
