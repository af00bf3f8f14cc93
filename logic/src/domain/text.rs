//! Free-text and identity fields: bounded, trimmed, printable.

/// Longest memo a transfer carries, as in the `transfers.memo` column.
pub use bank_api::MEMO_MAX_CHARS;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{field} must be at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} is required")]
    Missing { field: &'static str },
    #[error("{field} contains control characters")]
    ControlCharacters { field: &'static str },
    #[error("{field} is not valid: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
}

/// Trims `text` and checks it is printable and at most `max` characters; empty is allowed.
pub fn bounded(field: &'static str, text: &str, max: usize) -> Result<String, TextError> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(TextError::TooLong { field, max });
    }
    if text.chars().any(char::is_control) {
        return Err(TextError::ControlCharacters { field });
    }
    Ok(text.to_owned())
}

/// Like [`bounded`] but refuses empty text.
pub fn required(field: &'static str, text: &str, max: usize) -> Result<String, TextError> {
    let text = bounded(field, text, max)?;
    if text.is_empty() {
        return Err(TextError::Missing { field });
    }
    Ok(text)
}

/// A username: 3 to 64 characters of lowercase letters, digits, `.`, `_` and `-`, starting with a
/// letter or digit. Usernames are compared lowercased.
pub fn username(text: &str) -> Result<String, TextError> {
    let name = text.trim().to_ascii_lowercase();
    let valid = (3..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if !valid {
        return Err(TextError::Invalid {
            field: "username",
            reason: "use 3 to 64 letters, digits, dots, hyphens or underscores",
        });
    }
    Ok(name)
}

/// An email address: one `@` with something on both sides and a dot in the domain.
pub fn email(text: &str) -> Result<String, TextError> {
    let email = bounded("email", text, 254)?;
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    };
    if !valid {
        return Err(TextError::Invalid {
            field: "email",
            reason: "expected name@example.org",
        });
    }
    Ok(email)
}

/// A phone number: digits and spaces, optionally a leading `+`, 6 to 20 characters.
pub fn phone(text: &str) -> Result<String, TextError> {
    let phone = text.trim();
    let digits = phone.strip_prefix('+').unwrap_or(phone);
    let valid = (6..=20).contains(&phone.len())
        && digits.chars().all(|c| c.is_ascii_digit() || c == ' ')
        && digits.chars().filter(char::is_ascii_digit).count() >= 6;
    if !valid {
        return Err(TextError::Invalid {
            field: "phone",
            reason: "expected digits, such as +44 20 7946 0000",
        });
    }
    Ok(phone.to_owned())
}

/// A postal address: 5 to 300 printable characters; lines may be separated by commas.
pub fn address(text: &str) -> Result<String, TextError> {
    let address = required("address", &text.replace(['\r', '\n'], ", "), 300)?;
    if address.chars().count() < 5 {
        return Err(TextError::Invalid {
            field: "address",
            reason: "give the street, town and postcode",
        });
    }
    Ok(address)
}

/// An identity document number (passport, identity card, driving licence): 5 to 30 letters,
/// digits or hyphens, kept in upper case with spaces removed.
pub fn id_document(text: &str) -> Result<String, TextError> {
    let document: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let valid = (5..=30).contains(&document.len())
        && document
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(TextError::Invalid {
            field: "id_document",
            reason: "use the 5 to 30 letters and digits printed on the document",
        });
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_is_trimmed_and_bounded() {
        assert_eq!(
            bounded("memo", "  rent  ", MEMO_MAX_CHARS),
            Ok("rent".into())
        );
        assert!(bounded("memo", &"x".repeat(141), MEMO_MAX_CHARS).is_err());
        assert!(bounded("memo", "a\u{7}b", MEMO_MAX_CHARS).is_err());
        assert_eq!(
            bounded("memo", &"é".repeat(140), MEMO_MAX_CHARS).map(|m| m.chars().count()),
            Ok(140)
        );
    }

    #[test]
    fn identity_fields_are_checked() {
        assert_eq!(username(" Alice.Martin "), Ok("alice.martin".into()));
        assert!(username("al").is_err());
        assert!(username("-alice").is_err());
        assert!(email("alice@example.org").is_ok());
        assert!(email("alice@example").is_err());
        assert!(email("alice example.org").is_err());
        assert!(phone("+44 20 7946 0000").is_ok());
        assert!(phone("call me").is_err());
    }
}
