//! Money: a currency and a strictly positive amount in that currency's scale. Never a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// The largest amount one transfer may move, in whole currency units: one billion. Larger requests
/// are almost certainly mistakes, and the cap keeps every sum far inside `NUMERIC(24, 4)`.
pub const AMOUNT_MAX_UNITS: i64 = 1_000_000_000;

/// Longest amount string accepted; a billion with four decimals fits in 15 characters.
const AMOUNT_TEXT_MAX_LEN: usize = 32;

/// An ISO 4217 currency the bank holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    Eur,
    Usd,
    Gbp,
    Chf,
    Jpy,
}

impl Currency {
    pub const ALL: [Currency; 5] = [
        Currency::Eur,
        Currency::Usd,
        Currency::Gbp,
        Currency::Chf,
        Currency::Jpy,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
            Currency::Usd => "USD",
            Currency::Gbp => "GBP",
            Currency::Chf => "CHF",
            Currency::Jpy => "JPY",
        }
    }

    /// Decimals an amount in this currency may carry; matches the `currencies` table.
    pub fn minor_units(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            _ => 2,
        }
    }

    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.chars().take(8).collect()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("the amount must be a decimal number written as a string, such as \"12.50\"")]
    NotANumber,
    #[error("the amount must be greater than zero")]
    NotPositive,
    #[error("{currency} amounts have at most {minor_units} decimal places")]
    TooManyDecimals {
        currency: Currency,
        minor_units: u32,
    },
    #[error("the amount may not exceed {AMOUNT_MAX_UNITS}")]
    TooLarge,
    #[error("unknown currency \"{0}\"; the bank holds EUR, USD, GBP, CHF and JPY")]
    UnknownCurrency(String),
}

/// A strictly positive amount of money, no larger than [`AMOUNT_MAX_UNITS`], with no more decimals
/// than its currency allows. Normalised, so `"10.5"` and `"10.50"` are the same amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    value: Decimal,
    currency: Currency,
}

impl Amount {
    /// Parses the decimal text of an amount (`"12.50"`): no exponent, no sign, no separators.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let looks_decimal = !text.is_empty()
            && text.len() <= AMOUNT_TEXT_MAX_LEN
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
            && text.chars().any(|c| c.is_ascii_digit());
        if !looks_decimal {
            return Err(MoneyError::NotANumber);
        }
        // Counted in the text: a Decimal rounds past 28 decimal places before its scale could be
        // checked, and "0.99999999999999999999999999999" would become 1.
        if let Some((_, fraction)) = text.split_once('.')
            && fraction.trim_end_matches('0').len() > currency.minor_units() as usize
        {
            return Err(MoneyError::TooManyDecimals {
                currency,
                minor_units: currency.minor_units(),
            });
        }
        let value = Decimal::from_str(text).map_err(|_| MoneyError::NotANumber)?;
        Self::new(value, currency)
    }

    pub fn new(value: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        let value = value.normalize();
        if value <= Decimal::ZERO {
            return Err(MoneyError::NotPositive);
        }
        if value.scale() > currency.minor_units() {
            return Err(MoneyError::TooManyDecimals {
                currency,
                minor_units: currency.minor_units(),
            });
        }
        if value > Decimal::from(AMOUNT_MAX_UNITS) {
            return Err(MoneyError::TooLarge);
        }
        Ok(Self { value, currency })
    }

    pub fn value(self) -> Decimal {
        self.value
    }

    pub fn currency(self) -> Currency {
        self.currency
    }
}

/// Formats a decimal in a currency's scale, as the API writes every amount: `"12.50"`, `"-3.00"`.
pub fn format_in_scale(value: Decimal, currency: &str) -> String {
    let scale = Currency::parse(currency).map_or(2, Currency::minor_units);
    let mut rounded = value.round_dp(scale);
    rounded.rescale(scale);
    rounded.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amounts_within_the_currency_scale() {
        let amount = Amount::parse("10.50", Currency::Eur).unwrap();
        assert_eq!(amount.value(), Decimal::new(105, 1));
        assert_eq!(amount, Amount::parse("10.5", Currency::Eur).unwrap());
        assert_eq!(
            Amount::parse("1000", Currency::Jpy).unwrap().value(),
            Decimal::from(1000)
        );
    }

    #[test]
    fn refuses_what_is_not_a_positive_amount() {
        let cases = [
            ("0", MoneyError::NotPositive),
            ("0.00", MoneyError::NotPositive),
            ("-1", MoneyError::NotPositive),
            ("abc", MoneyError::NotANumber),
            ("", MoneyError::NotANumber),
            ("1e3", MoneyError::NotANumber),
            ("1,000.00", MoneyError::NotANumber),
            (" 1", MoneyError::NotANumber),
            ("NaN", MoneyError::NotANumber),
            (
                "99999999999999999999999999999999999",
                MoneyError::NotANumber,
            ),
            ("1000000000.01", MoneyError::TooLarge),
            (
                "1.001",
                MoneyError::TooManyDecimals {
                    currency: Currency::Eur,
                    minor_units: 2,
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                Amount::parse(text, Currency::Eur),
                Err(expected),
                "{text:?}"
            );
        }
        assert!(matches!(
            Amount::parse("1.5", Currency::Jpy),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        // Past 28 decimal places a Decimal rounds: the text is refused before it can become 1.
        for text in [
            "0.99999999999999999999999999999",
            "999999999.99999999999999999999",
        ] {
            for currency in [Currency::Eur, Currency::Jpy] {
                assert!(
                    matches!(
                        Amount::parse(text, currency),
                        Err(MoneyError::TooManyDecimals { .. })
                    ),
                    "{text} {currency}"
                );
            }
        }
    }

    #[test]
    fn trailing_zeros_beyond_the_scale_are_the_same_amount() {
        assert_eq!(
            Amount::parse("2.500", Currency::Eur).unwrap().value(),
            Decimal::new(25, 1)
        );
    }

    #[test]
    fn formats_in_the_currency_scale() {
        assert_eq!(format_in_scale(Decimal::new(105, 1), "EUR"), "10.50");
        assert_eq!(format_in_scale(Decimal::new(-3, 0), "EUR"), "-3.00");
        assert_eq!(format_in_scale(Decimal::new(12_0000, 4), "JPY"), "12");
    }

    #[test]
    fn currency_codes_round_trip() {
        for currency in Currency::ALL {
            assert_eq!(Currency::parse(currency.code()), Ok(currency));
        }
        assert!(Currency::parse("eur").is_err());
    }
}
