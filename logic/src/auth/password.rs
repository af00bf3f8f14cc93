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

/// The least strength accepted, on zxcvbn's scale of 0 to 4: 3 is "safely unguessable", out of
/// reach of an online attacker and costly offline. Common passwords and their usual variations
/// (`password1234`, `Qwerty123456`, `iloveyou2024`) score below it.
const STRENGTH_MIN: zxcvbn::Score = zxcvbn::Score::Three;
/// Only the first characters are weighed: zxcvbn's cost grows with length, and a password this
/// long that is weak at its start is rare enough to judge on the start.
const STRENGTH_CHARS: usize = 64;

/// Refuses a password that is too short or too long, or easy to guess: on the common-password
/// lists zxcvbn bundles (with its usual variations), a keyboard walk, a date or a repeat, or built
/// from `personal` words (the username, the holder's name or email) that an attacker would try
/// first.
pub fn check_policy(password: &str, personal: &[&str]) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars) {
        return Err(ApiError::invalid(
            ProblemCode::WeakPassword,
            "password",
            format!("a password has {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters"),
        ));
    }
    let weighed: String = password.chars().take(STRENGTH_CHARS).collect();
    let words: Vec<String> = personal
        .iter()
        .flat_map(|text| text.split(|c: char| !c.is_alphanumeric()))
        .filter(|word| word.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    // What is left once the personal words are taken out must be strong on its own: zxcvbn
    // counts each part of a password as a guess to make, so three personal parts run together
    // ("rextester1985") reach its "safely unguessable" though an attacker tries them first.
    let mut rest = weighed.to_lowercase();
    for word in &words {
        rest = rest.replace(word, "");
    }
    if rest != weighed.to_lowercase()
        && (rest.is_empty() || zxcvbn::zxcvbn(&rest, &words).score() < STRENGTH_MIN)
    {
        return Err(ApiError::invalid(
            ProblemCode::WeakPassword,
            "password",
            "this password is built from your name, username, email or birth year; a few \
             unrelated words make a strong one",
        ));
    }
    let estimate = zxcvbn::zxcvbn(&weighed, &words);
    if estimate.score() < STRENGTH_MIN {
        let why = estimate
            .feedback()
            .and_then(|feedback| feedback.warning())
            .map_or_else(|| "it is easy to guess".to_owned(), |w| w.to_string());
        return Err(ApiError::invalid(
            ProblemCode::WeakPassword,
            "password",
            format!(
                "this password is too easy to guess ({}); a few unrelated words make a strong one",
                why.trim_end_matches('.').to_lowercase()
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What the bank stores is Argon2id at no less than the design's floor (m = 19 MiB, t = 2,
    /// p = 1): a change of crate defaults, or of the code, that weakens it fails here.
    #[tokio::test]
    async fn a_stored_hash_is_argon2id_at_no_less_than_the_floor() {
        let stored = hash("river-lamp-quiet-74".into()).await.unwrap();
        let parsed = argon2::password_hash::phc::PasswordHash::new(&stored).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id", "{stored}");
        assert_eq!(parsed.version, Some(0x13), "{stored}");
        let params = argon2::Params::try_from(&parsed).unwrap();
        assert!(params.m_cost() >= 19 * 1024, "{stored}");
        assert!(params.t_cost() >= 2, "{stored}");
        assert!(params.p_cost() >= 1, "{stored}");
        assert!(
            parsed.salt.unwrap().len() >= 16,
            "a salt of 16 bytes or more"
        );
        assert!(verify("river-lamp-quiet-74".into(), stored.clone()).await);
        assert!(!verify("river-lamp-quiet-75".into(), stored).await);
        assert!(!verify("anything".into(), "not a PHC string".into()).await);
    }

    #[test]
    fn common_and_personal_passwords_are_refused_and_long_unrelated_words_accepted() {
        for weak in [
            "password1234",
            "Password1234!",
            "qwertyuiop123",
            "iloveyou2024",
            "letmein12345",
            "111111111111",
            "abcdefghijkl",
        ] {
            assert!(check_policy(weak, &[]).is_err(), "{weak}");
        }
        assert!(check_policy("short-pass", &[]).is_err());
        assert!(check_policy(&"x".repeat(257), &[]).is_err());
        // The holder's own name and username are the first guesses.
        assert!(check_policy("okafor123456", &[]).is_ok());
        assert!(check_policy("okafor123456", &["alice", "Alice Okafor"]).is_err());
        // Name and birth year run together, each part written as the holder wrote it or not.
        let rex = ["rex493467", "Rex Tester", "rex.tester@example.com", "1985"];
        for built in [
            "rextester1985",
            "RexTester1985",
            "1985rextester",
            "tester-rex-1985",
        ] {
            assert!(check_policy(built, &rex).is_err(), "{built}");
        }
        for strong in [
            "correct horse battery staple",
            "teller-test-password",
            "river-lamp-quiet-74",
        ] {
            assert!(check_policy(strong, &[]).is_ok(), "{strong}");
        }
    }
}
