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
    /// One separator before exactly three digits (`1,234`, `1.234`): a thousand and more to some
    /// readers, one and a fraction to others.
    #[error(
        "the amount could be read two ways: write it without the separator, or with its decimals"
    )]
    Ambiguous,
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

/// Longest amount a person may type in a form: a billion with separators and decimals fits.
const TYPED_AMOUNT_MAX_LEN: usize = 40;

/// Reads an amount as a person types it in a form, and answers it as the API writes amounts
/// (`"1234.50"`): `10.50`, `10,50`, `1,234.50`, `1.234,50`, `1 234,50`, `1'234.50`. A comma or a
/// point before the last one or two digits (or more, when other separators group the
/// thousands) is the decimal separator; separators between groups of three digits group the
/// thousands. Refused: signs, exponents, letters, groups that are not three digits, and a lone
/// comma or point before exactly three digits, which some read as thousands and others as
/// decimals ([`MoneyError::Ambiguous`]). What it accepts, every reader reads as the same
/// amount. The currency's decimal places and limits are [`Amount::parse`]'s to check.
pub fn read_typed(text: &str) -> Result<String, MoneyError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > TYPED_AMOUNT_MAX_LEN {
        return Err(MoneyError::NotANumber);
    }
    let is_space = |c: char| matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'');
    if !text
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == ',' || is_space(c))
    {
        return Err(MoneyError::NotANumber);
    }
    let points = text.matches('.').count();
    let commas = text.matches(',').count();
    let last = text.rfind(['.', ',']);
    // Which mark, if any, separates the decimals.
    let decimal = match (points, commas, last) {
        (0, 0, _) | (_, _, None) => None,
        // Both marks: the last one, which must stand once and after every other.
        (p, c, Some(at)) if p > 0 && c > 0 => {
            let mark = &text[at..=at];
            if text.matches(mark).count() != 1 {
                return Err(MoneyError::NotANumber);
            }
            Some(at)
        }
        // One mark, more than once: it groups thousands.
        (p, c, Some(_)) if p + c > 1 => None,
        // One mark, once.
        (_, _, Some(at)) => {
            // Three digits after a lone mark are a thousands group to some readers and decimals
            // to others, whatever else groups the digits before it (`1 000,000`); but no one
            // writes a thousands group after a zero or after nothing (`0.001`, `,001`).
            let whole = text[..at].trim();
            if text[at + 1..].chars().count() == 3 && !(whole.is_empty() || whole == "0") {
                return Err(MoneyError::Ambiguous);
            }
            Some(at)
        }
    };
    let (whole, fraction) = match decimal {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, ""),
    };
    if !fraction.chars().all(|c| c.is_ascii_digit()) || (decimal.is_some() && fraction.is_empty()) {
        return Err(MoneyError::NotANumber);
    }
    // The whole part: digits, or groups of three after a first group of one to three, all
    // parted by one and the same kind of separator.
    let separators: Vec<char> = whole.chars().filter(|c| !c.is_ascii_digit()).collect();
    let digits: String = if separators.is_empty() {
        whole.to_owned()
    } else {
        // Spaces of any width are one kind of separator; an apostrophe, a comma, a point others.
        let kind = |c: char| if c == '\'' || !is_space(c) { c } else { ' ' };
        let same_kind = separators.iter().all(|&c| kind(c) == kind(separators[0]));
        let groups: Vec<&str> = whole.split(|c: char| !c.is_ascii_digit()).collect();
        // No one groups thousands after a zero: 0'251 is not two hundred and fifty-one.
        let grouped = !groups[0].is_empty()
            && groups[0].len() <= 3
            && !groups[0].trim_start_matches('0').is_empty()
            && groups[1..].iter().all(|group| group.len() == 3);
        if !same_kind || !grouped {
            return Err(MoneyError::NotANumber);
        }
        groups.concat()
    };
    if digits.is_empty() && fraction.is_empty() {
        return Err(MoneyError::NotANumber);
    }
    let whole = if digits.is_empty() { "0" } else { &digits };
    Ok(if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    })
}

impl Amount {
    /// An amount as a person types it in a form ([`read_typed`]), in `currency`'s decimal places.
    pub fn read(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        Self::parse(&read_typed(text)?, currency)
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

    /// What people type, and what the bank reads: the decimals or `Err`.
    #[test]
    fn typed_amounts_read_as_they_read_to_people() {
        use MoneyError::{Ambiguous, NotANumber, NotPositive, TooLarge};
        let eur_decimals = MoneyError::TooManyDecimals {
            currency: Currency::Eur,
            minor_units: 2,
        };
        let cases: &[(&str, Result<&str, MoneyError>)] = &[
            ("10.50", Ok("10.5")),
            ("10,50", Ok("10.5")),
            ("10.5", Ok("10.5")),
            ("10,5", Ok("10.5")),
            ("10", Ok("10")),
            (" 10 ", Ok("10")),
            ("0.01", Ok("0.01")),
            (",50", Ok("0.5")),
            (".5", Ok("0.5")),
            ("1,234.50", Ok("1234.5")),
            ("1.234,50", Ok("1234.5")),
            ("1 234,50", Ok("1234.5")),
            ("1 234.50", Ok("1234.5")),
            ("1\u{a0}234,50", Ok("1234.5")),
            ("1\u{202f}234,50", Ok("1234.5")),
            ("1'234.50", Ok("1234.5")),
            ("1 234", Ok("1234")),
            ("1,234,567", Ok("1234567")),
            ("1.234.567", Ok("1234567")),
            ("1,234,567.89", Ok("1234567.89")),
            ("1.234.567,89", Ok("1234567.89")),
            ("1 234 567,89", Ok("1234567.89")),
            ("1000000000", Ok("1000000000")),
            ("2.500", Err(Ambiguous)),
            ("1,234", Err(Ambiguous)),
            ("1.234", Err(Ambiguous)),
            // After a zero, three digits are decimals to everyone: too many for euros.
            ("0,999", Err(eur_decimals.clone())),
            ("0.001", Err(eur_decimals.clone())),
            ("1e3", Err(NotANumber)),
            ("1E3", Err(NotANumber)),
            ("-10", Err(NotANumber)),
            ("+10", Err(NotANumber)),
            ("10€", Err(NotANumber)),
            ("EUR 10", Err(NotANumber)),
            ("ten", Err(NotANumber)),
            ("", Err(NotANumber)),
            ("   ", Err(NotANumber)),
            (".", Err(NotANumber)),
            (",", Err(NotANumber)),
            ("10.", Err(NotANumber)),
            ("10,", Err(NotANumber)),
            ("1,2,3", Err(NotANumber)),
            ("12,34,567", Err(NotANumber)),
            ("1,234.567,89", Err(NotANumber)),
            ("1.234,567.89", Err(NotANumber)),
            ("1 234,567.89", Err(NotANumber)),
            ("1,2345.50", Err(NotANumber)),
            ("1.23,45", Err(NotANumber)),
            ("10..50", Err(NotANumber)),
            ("0x10", Err(NotANumber)),
            ("NaN", Err(NotANumber)),
            ("10.505", Err(Ambiguous)),
            ("10.5050", Err(eur_decimals.clone())),
            ("1 234,567", Err(Ambiguous)),
            ("1 000,000", Err(Ambiguous)),
            ("1'000,000", Err(Ambiguous)),
            ("1 234,500", Err(Ambiguous)),
            ("0", Err(NotPositive)),
            ("0,00", Err(NotPositive)),
            ("1 000 000 000,01", Err(TooLarge)),
        ];
        assert!(cases.len() >= 40);
        for (text, expected) in cases {
            let read = Amount::read(text, Currency::Eur).map(|a| a.value().to_string());
            assert_eq!(read.as_deref().map_err(Clone::clone), *expected, "{text:?}");
        }
        // No decimals in yen; the grouping is the same.
        assert_eq!(
            Amount::read("12 500", Currency::Jpy).map(Amount::value),
            Ok(Decimal::from(12_500))
        );
        assert!(matches!(
            Amount::read("12,50", Currency::Jpy),
            Err(MoneyError::TooManyDecimals { minor_units: 0, .. })
        ));
    }

    /// A small generator of test cases: the same sequence on every run.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// `value` (in cents) written in one person's way: thousands grouped by `group` (or not at
    /// all), decimals after `point`.
    fn written(cents: u64, group: Option<char>, point: char, decimals: bool) -> String {
        let whole = (cents / 100).to_string();
        let mut text = String::new();
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                text.extend(group);
            }
            text.push(digit);
        }
        if decimals {
            text.push(point);
            text.push_str(&format!("{:02}", cents % 100));
        }
        text
    }

    /// How one reader reads `text`: thousands grouped by any of `group`, decimals after `point`;
    /// `None` when that reader would not read it as a number.
    fn as_read_by(text: &str, group: &[char], point: char) -> Option<Decimal> {
        let (whole, fraction) = match text.split_once(point) {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        let groups: Vec<&str> = whole.split(group).collect();
        // Thousands are grouped after a leading group of one to three digits that is not a
        // zero: no one writes 0,591 for five hundred and ninety-one.
        let grouped = groups.len() == 1
            || (!groups[0].is_empty()
                && groups[0].len() <= 3
                && !groups[0].trim_start_matches('0').is_empty()
                && groups[1..].iter().all(|g| g.len() == 3));
        let digits_only = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if !grouped
            || !groups.iter().all(|g| digits_only(g))
            || !fraction.is_none_or(|f| !f.is_empty() && digits_only(f))
        {
            return None;
        }
        let whole = groups.concat();
        let whole = if whole.is_empty() {
            "0".to_owned()
        } else {
            whole
        };
        let text = match fraction {
            Some(fraction) => format!("{whole}.{fraction}"),
            None => whole,
        };
        Decimal::from_str(&text).ok()
    }

    /// Whatever is accepted reads the same to every reader who can read it at all (English
    /// `1,234.50`, continental `1.234,50`, spaced `1 234,50` and `1 234.50`), and every amount
    /// written in any of those ways reads back as itself.
    #[test]
    fn nothing_is_accepted_as_a_different_amount_than_it_reads() {
        let readers = [
            (',', '.'),
            ('.', ','),
            (' ', ','),
            (' ', '.'),
            ('\'', '.'),
            ('\'', ','),
        ];
        // And readers who take every mark but their decimal one as grouping.
        let loose: [(&[char], char); 2] = [(&[',', ' ', '\''], '.'), (&['.', ' ', '\''], ',')];
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        // Written by people, read back.
        for _ in 0..20_000 {
            let cents = match rng.below(4) {
                0 => rng.below(100_000),
                1 => rng.below(10_000_000),
                _ => rng.below(100_000_000_000) + 1,
            };
            let (group, point) = readers[rng.below(readers.len() as u64) as usize];
            let group = (rng.below(3) > 0).then_some(group);
            let decimals = rng.below(4) > 0;
            let text = written(cents, group, point, decimals);
            let expected = Decimal::new(
                i64::try_from(if decimals { cents } else { cents / 100 * 100 }).unwrap(),
                2,
            );
            match read_typed(&text) {
                Ok(read) => assert_eq!(Decimal::from_str(&read).unwrap(), expected, "{text:?}"),
                // A lone separator before three digits is refused, never misread.
                Err(MoneyError::Ambiguous) => {
                    assert_eq!(text.matches([',', '.']).count(), 1, "{text:?}");
                }
                Err(error) => panic!("{text:?} refused: {error}"),
            }
        }
        // Typed at random from digits and separators: accepted only when every reader who can
        // read it reads the same amount.
        let alphabet = ['1', '2', '0', '5', '9', ',', '.', ' ', '\''];
        for _ in 0..200_000 {
            let len = 1 + rng.below(9) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                .collect();
            let Ok(read) = read_typed(&text) else {
                continue;
            };
            let read = Decimal::from_str(&read).unwrap();
            let readings: Vec<Decimal> = readers
                .iter()
                .map(|(group, point)| (std::slice::from_ref(group), *point))
                .chain(loose)
                .filter_map(|(group, point)| as_read_by(text.trim(), group, point))
                .collect();
            assert!(
                !readings.is_empty(),
                "{text:?} accepted but nobody reads it"
            );
            for reading in readings {
                assert_eq!(reading, read, "{text:?} read as {read}, also as {reading}");
            }
        }
    }
}
