//! Opaque bearer secrets (session tokens, service keys) and their stored digests.

use base64::Engine;
use sha2::{Digest, Sha256};

/// 256 random bits: far beyond guessing, and the same strength as the stored digest.
const SECRET_BYTES: usize = 32;

/// A new random secret with a readable prefix saying what it is, such as `bts_…` for sessions.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    format!(
        "{prefix}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The SHA-256 digest stored in place of a secret. A plain hash suffices: the secrets are random
/// and long, so there is nothing for a slow hash to protect against.
pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_digests_fixed_length() {
        let a = generate("bts");
        let b = generate("bts");
        assert_ne!(a, b);
        assert!(a.starts_with("bts_"));
        assert_eq!(digest(&a).len(), 32);
        assert_eq!(digest(&a), digest(&a));
    }
}
