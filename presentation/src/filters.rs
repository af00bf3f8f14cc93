//! Template filters: how money, account numbers and times read on the page.

use std::fmt::Display;

use askama::Values;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// `12500.5` → `12,500.50`: thousands separated, sign kept. Works on the decimal text the logic
/// tier sends, so no number is ever converted.
pub fn group_thousands(amount: &str) -> String {
    let (sign, digits) = match amount.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", amount),
    };
    let (whole, fraction) = digits
        .split_once('.')
        .map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

/// `1577705556` → `1577 7055 56`, easier to read out and compare.
pub fn group_account_number(number: &str) -> String {
    if number.len() != 10 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return number.to_owned();
    }
    format!("{} {} {}", &number[..4], &number[4..8], &number[8..])
}

#[askama::filter_fn]
pub fn money(value: impl Display, _: &dyn Values) -> askama::Result<String> {
    Ok(group_thousands(&value.to_string()))
}

#[askama::filter_fn]
pub fn account_number(value: impl Display, _: &dyn Values) -> askama::Result<String> {
    Ok(group_account_number(&value.to_string()))
}

fn parse(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value, &Rfc3339).ok()
}

/// `21 Nov 2026`.
#[askama::filter_fn]
pub fn date(value: impl Display, _: &dyn Values) -> askama::Result<String> {
    let text = value.to_string();
    Ok(parse(&text)
        .and_then(|t| {
            t.format(format_description!("[day] [month repr:short] [year]"))
                .ok()
        })
        .unwrap_or(text))
}

/// `21 Nov 2026, 14:05 UTC`.
#[askama::filter_fn]
pub fn datetime(value: impl Display, _: &dyn Values) -> askama::Result<String> {
    let text = value.to_string();
    Ok(parse(&text)
        .and_then(|t| {
            t.format(format_description!(
                "[day] [month repr:short] [year], [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or(text))
}

/// What kind of entry this is, in words.
pub fn kind_words(kind: &str) -> &'static str {
    match kind {
        "transfer" => "Transfer",
        "cash_deposit" => "Cash deposit",
        "cash_withdrawal" => "Cash withdrawal",
        "opening_cash" => "Opening cash",
        "reversal" => "Correction",
        "drawer_transfer" => "Drawer and vault",
        "over_short" => "Drawer over/short",
        _ => "Entry",
    }
}

#[askama::filter_fn]
pub fn kind(value: impl Display, _: &dyn Values) -> askama::Result<&'static str> {
    Ok(kind_words(&value.to_string()))
}

/// A browser's user agent, shortened to something a person recognises.
#[askama::filter_fn]
pub fn truncate_agent(value: impl Display, _: &dyn Values) -> askama::Result<String> {
    let agent = value.to_string();
    for browser in ["Edg/", "Firefox/", "Chrome/", "Safari/", "curl/"] {
        if let Some(at) = agent.find(browser) {
            let name = browser.trim_end_matches('/');
            let version: String = agent[at + browser.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            let platform = ["Windows", "Mac OS X", "Android", "iPhone", "Linux"]
                .into_iter()
                .find(|p| agent.contains(p))
                .unwrap_or("");
            let name = if name == "Edg" { "Edge" } else { name };
            return Ok(format!("{name} {version} {platform}").trim().to_owned());
        }
    }
    Ok(agent.chars().take(60).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_by_thousands() {
        assert_eq!(group_thousands("0.00"), "0.00");
        assert_eq!(group_thousands("999.99"), "999.99");
        assert_eq!(group_thousands("1000.00"), "1,000.00");
        assert_eq!(group_thousands("-1234567.80"), "-1,234,567.80");
        assert_eq!(group_thousands("12500"), "12,500");
    }

    #[test]
    fn account_numbers_are_grouped() {
        assert_eq!(group_account_number("1577705556"), "1577 7055 56");
        assert_eq!(group_account_number("123"), "123");
    }
}

/// A JSON value on one line, for the audit log's before and after.
#[askama::filter_fn]
pub fn compact_json(value: &Option<serde_json::Value>, _: &dyn Values) -> askama::Result<String> {
    Ok(match value {
        None => String::new(),
        Some(value) => value.to_string(),
    })
}
