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

/// `text` as compared with personal words: compatibility forms unified (full-width letters and
/// digits as their ASCII selves), lower case, accents on letters dropped, and letters with no
/// accent to drop written out (ß → ss, ø → o, æ → ae, ł → l); `spelled_out` also writes ä, ö
/// and ü as ae, oe and ue.
fn folded(text: &str, spelled_out: bool) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let lower: String = text.nfkc().flat_map(char::to_lowercase).collect();
    let lower = if spelled_out {
        lower
            .replace('ä', "ae")
            .replace('ö', "oe")
            .replace('ü', "ue")
    } else {
        lower
    };
    let mut out = String::with_capacity(lower.len());
    for c in lower.nfkd().filter(|c| !is_combining_mark(*c)) {
        match c {
            'ß' => out.push_str("ss"),
            'ø' => out.push('o'),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ł' => out.push('l'),
            'đ' => out.push('d'),
            'þ' => out.push_str("th"),
            other => out.push(other),
        }
    }
    out
}

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
    // Each personal word as written, and as an attacker would also type it: without accents
    // (Jürgen → jurgen) and spelled out (jürgen → juergen, ß → ss); a phone number also
    // without its country code.
    let mut words: Vec<String> = Vec::new();
    for text in personal {
        for spelling in [folded(text, false), folded(text, true)] {
            for word in spelling.split(|c: char| !c.is_alphanumeric()) {
                if word.chars().count() >= 3 && !words.iter().any(|w| w == word) {
                    words.push(word.to_owned());
                }
            }
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 7 {
            let last_ten = digits[digits.len().saturating_sub(10)..].to_owned();
            for number in [digits, last_ten] {
                if !words.contains(&number) {
                    words.push(number);
                }
            }
        }
    }
    // Longest first, so a word is taken out whole before a part of it could be.
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    // What is left once the personal words are taken out must be strong on its own: zxcvbn
    // counts each part of a password as a guess to make, so three personal parts run together
    // ("rextester1985") reach its "safely unguessable" though an attacker tries them first.
    let plain = folded(&weighed, false);
    let mut rest = plain.clone();
    for word in &words {
        rest = rest.replace(word, "");
    }
    if rest != plain && (rest.is_empty() || zxcvbn::zxcvbn(&rest, &words).score() < STRENGTH_MIN) {
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

/// Whether `password` is the password of any of `hashes` (each checked in full, as a sign-in
/// is: a hash that cannot be read matches nothing).
pub async fn matches_any(password: String, hashes: Vec<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        hashes.iter().any(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password checking task: {e}")))
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
        // Spelled as an attacker would type it: without accents, spelled out, in full-width
        // letters; a phone number, with or without its country code.
        let jurgen = [
            "jgberlin",
            "Jürgen Größmann",
            "jg@example.org",
            "1975",
            "+44 7700 900123",
        ];
        for built in [
            "jurgengrossmann1975",
            "juergengroessmann1975",
            "Grossmann.Jurgen.1975",
            "ｊｕｒｇｅｎｇｒｏｓｓｍａｎｎ１９７５",
            "grossmann447700900123",
            "grossmann07700900123",
        ] {
            assert!(check_policy(built, &jurgen).is_err(), "{built}");
        }
        let soren = ["soeren82", "Søren Ødegård", "soren@example.org", "1982"];
        assert!(check_policy("sorenodegard1982", &soren).is_err());
        // Unrelated words stay strong whoever chooses them.
        for strong in ["river-lamp-quiet-74", "lantern-orchard-gravel-9"] {
            assert!(check_policy(strong, &jurgen).is_ok(), "{strong}");
            assert!(check_policy(strong, &soren).is_ok(), "{strong}");
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
