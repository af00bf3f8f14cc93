//! Account numbers: ten digits a person can read out and type, the last one a Damm check digit.
//!
//! Damm's algorithm detects every single-digit error and every swap of two adjacent digits, the
//! two mistakes people make most when typing numbers. Customer accounts never start with 9;
//! internal ledger accounts always do. Both tiers read numbers with this one type; the logic tier
//! also makes new ones.

use std::fmt;

/// Digits in an account number.
pub const LENGTH: usize = 10;

/// Damm's totally anti-symmetric quasigroup of order 10.
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

fn damm(digits: impl Iterator<Item = u8>) -> u8 {
    digits.fold(0, |interim, digit| {
        DAMM[usize::from(interim)][usize::from(digit)]
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountNumberError {
    #[error("an account number has 10 digits")]
    WrongLength,
    #[error("this account number has a typing mistake: its check digit does not match")]
    BadCheckDigit,
}

impl AccountNumber {
    /// Parses a number as typed; spaces and hyphens between digit groups are ignored.
    pub fn parse(text: &str) -> Result<Self, AccountNumberError> {
        if text.len() > 2 * LENGTH {
            return Err(AccountNumberError::WrongLength);
        }
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.len() != LENGTH || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AccountNumberError::WrongLength);
        }
        if damm(digits.bytes().map(|b| b - b'0')) != 0 {
            return Err(AccountNumberError::BadCheckDigit);
        }
        Ok(Self(digits))
    }

    /// Completes nine digits with their check digit.
    pub fn from_body(body: u32) -> Self {
        assert!(
            (100_000_000..1_000_000_000).contains(&body),
            "a body has nine digits"
        );
        let body = body.to_string();
        let check = damm(body.bytes().map(|b| b - b'0'));
        Self(format!("{body}{check}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_internal(&self) -> bool {
        self.0.starts_with('9')
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_single_digit_error_is_detected() {
        let number = AccountNumber::from_body(123_456_789);
        for position in 0..LENGTH {
            for replacement in b'0'..=b'9' {
                let mut typed = number.as_str().as_bytes().to_vec();
                if typed[position] == replacement {
                    continue;
                }
                typed[position] = replacement;
                let typed = String::from_utf8(typed).unwrap();
                assert_eq!(
                    AccountNumber::parse(&typed),
                    Err(AccountNumberError::BadCheckDigit)
                );
            }
        }
    }

    #[test]
    fn every_adjacent_swap_is_detected() {
        for body in [123_456_789, 909_090_909, 100_000_001, 555_123_090] {
            let number = AccountNumber::from_body(body);
            for position in 0..LENGTH - 1 {
                let mut typed = number.as_str().as_bytes().to_vec();
                if typed[position] == typed[position + 1] {
                    continue;
                }
                typed.swap(position, position + 1);
                let typed = String::from_utf8(typed).unwrap();
                assert!(AccountNumber::parse(&typed).is_err(), "{typed}");
            }
        }
    }

    #[test]
    fn grouping_characters_are_ignored() {
        let number = AccountNumber::from_body(123_456_789);
        let grouped = format!("{} {}-{}", &number.0[..3], &number.0[3..6], &number.0[6..]);
        assert_eq!(AccountNumber::parse(&grouped), Ok(number));
        assert_eq!(
            AccountNumber::parse("12345"),
            Err(AccountNumberError::WrongLength)
        );
        assert_eq!(
            AccountNumber::parse("12345abcde"),
            Err(AccountNumberError::WrongLength)
        );
    }
}
