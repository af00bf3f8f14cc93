//! Account numbers: the type both tiers read them with ([`bank_api::account_number`]), and the
//! making of new ones, which only the logic tier does.

pub use bank_api::account_number::*;

/// A fresh random customer account number (first digit 1 to 8).
pub fn random_customer() -> AccountNumber {
    AccountNumber::from_body(random_below(800_000_000) + 100_000_000)
}

/// A fresh random internal account number (first digit 9).
pub fn random_internal() -> AccountNumber {
    AccountNumber::from_body(random_below(100_000_000) + 900_000_000)
}

fn random_below(bound: u32) -> u32 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    // 64 random bits reduced modulo a 30-bit bound: the bias is below 2^-34.
    (u64::from_le_bytes(bytes) % u64::from(bound)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_numbers_parse_back() {
        for _ in 0..1_000 {
            let number = random_customer();
            assert_eq!(AccountNumber::parse(number.as_str()), Ok(number.clone()));
            assert!(!number.is_internal());
            assert!(random_internal().is_internal());
        }
    }
}
