//! Template filters: how money, account numbers and times read on the page.

use std::borrow::Borrow;
use std::fmt::Display;

use askama::Values;
use bank_api::transfers::TransferKind;
use time::OffsetDateTime;
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

/// A moment a page shows: a time the logic tier sent, a date, or either of them absent.
pub trait Moment {
    fn moment(&self) -> Option<OffsetDateTime>;
}

impl Moment for OffsetDateTime {
    fn moment(&self) -> Option<OffsetDateTime> {
        Some(*self)
    }
}

impl Moment for time::Date {
    fn moment(&self) -> Option<OffsetDateTime> {
        Some(self.midnight().assume_utc())
    }
}

impl<T: Moment> Moment for Option<T> {
    fn moment(&self) -> Option<OffsetDateTime> {
        self.as_ref().and_then(Moment::moment)
    }
}

impl<T: Moment + ?Sized> Moment for &T {
    fn moment(&self) -> Option<OffsetDateTime> {
        (**self).moment()
    }
}

/// `21 Nov 2026`; nothing for an absent moment.
#[askama::filter_fn]
pub fn date(value: impl Moment, _: &dyn Values) -> askama::Result<String> {
    Ok(value
        .moment()
        .and_then(|t| {
            t.format(format_description!("[day] [month repr:short] [year]"))
                .ok()
        })
        .unwrap_or_default())
}

/// `21 Nov 2026, 14:05 UTC`; nothing for an absent moment.
#[askama::filter_fn]
pub fn datetime(value: impl Moment, _: &dyn Values) -> askama::Result<String> {
    Ok(value
        .moment()
        .and_then(|t| {
            t.to_offset(time::UtcOffset::UTC)
                .format(format_description!(
                    "[day] [month repr:short] [year], [hour]:[minute] UTC"
                ))
                .ok()
        })
        .unwrap_or_default())
}

/// When something good until the end of a day stops: `10 Dec 2026, end of day UTC` for the
/// midnight that ends the 10th (how a hold "until the 10th" is kept), else as [`datetime`].
pub fn until_words(moment: OffsetDateTime) -> String {
    let moment = moment.to_offset(time::UtcOffset::UTC);
    if moment.time() == time::Time::MIDNIGHT {
        let last_day = moment.date().previous_day().unwrap_or(moment.date());
        return last_day
            .format(format_description!(
                "[day] [month repr:short] [year], end of day UTC"
            ))
            .unwrap_or_default();
    }
    moment
        .format(format_description!(
            "[day] [month repr:short] [year], [hour]:[minute] UTC"
        ))
        .unwrap_or_default()
}

/// [`until_words`]; nothing for an absent moment.
#[askama::filter_fn]
pub fn until(value: impl Moment, _: &dyn Values) -> askama::Result<String> {
    Ok(value.moment().map(until_words).unwrap_or_default())
}

/// What kind of entry this is, in words.
pub fn kind_words(kind: TransferKind) -> &'static str {
    match kind {
        TransferKind::Transfer => "Transfer",
        TransferKind::CashDeposit => "Cash deposit",
        TransferKind::CashWithdrawal => "Cash withdrawal",
        TransferKind::OpeningCash => "Opening cash",
        TransferKind::Reversal => "Correction",
        TransferKind::DrawerTransfer => "Drawer and vault",
        TransferKind::OverShort => "Drawer over/short",
        TransferKind::Unknown => "Entry",
    }
}

#[askama::filter_fn]
pub fn kind(value: impl Borrow<TransferKind>, _: &dyn Values) -> askama::Result<&'static str> {
    Ok(kind_words(*value.borrow()))
}

/// A browser's user agent, shortened to something a person recognises: the browser, its version
/// and the device's system ("Safari 17 iPhone", "Chrome 126 Windows").
#[askama::filter_fn]
pub fn truncate_agent(value: impl Display, _: &dyn Values) -> askama::Result<String> {
    Ok(agent_name(&value.to_string()))
}

fn agent_name(agent: &str) -> String {
    // The first token found names the browser: each browser also names the engines it mimics
    // (Edge says Chrome and Safari, Chrome says Safari, any iOS browser says Safari).
    const BROWSERS: [(&str, &str); 9] = [
        ("Edg/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("EdgA/", "Edge"),
        ("CriOS/", "Chrome"),
        ("FxiOS/", "Firefox"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ];
    // iOS says "like Mac OS X", Android says Linux: the device comes before the system.
    const SYSTEMS: [(&str, &str); 6] = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "Mac"),
        ("Linux", "Linux"),
    ];
    let Some((token, name)) = BROWSERS.iter().find(|(token, _)| agent.contains(token)) else {
        return agent.chars().take(60).collect();
    };
    // Safari's own token is its engine's build; its version is under "Version/".
    let version_token = if *name == "Safari" && agent.contains("Version/") {
        "Version/"
    } else {
        token
    };
    let version: String = agent
        .find(version_token)
        .map(|at| {
            agent[at + version_token.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect()
        })
        .unwrap_or_default();
    let system = SYSTEMS
        .iter()
        .find(|(token, _)| agent.contains(token))
        .map_or("", |(_, system)| system);
    format!("{name} {version} {system}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_agent_reads_as_the_browser_and_device_a_person_knows() {
        for (agent, shown) in [
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari 17 iPhone",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
                "Chrome 126 iPhone",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
                "Chrome 126 Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.68",
                "Edge 126 Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
                "Safari 17 Mac",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox 128 Linux",
            ),
            ("curl/8.5.0", "curl 8"),
            ("bank-cli/1.0", "bank-cli/1.0"),
        ] {
            assert_eq!(agent_name(agent), shown, "{agent}");
        }
    }

    #[test]
    fn money_is_grouped_by_thousands() {
        assert_eq!(group_thousands("0.00"), "0.00");
        assert_eq!(group_thousands("999.99"), "999.99");
        assert_eq!(group_thousands("1000.00"), "1,000.00");
        assert_eq!(group_thousands("-1234567.80"), "-1,234,567.80");
        assert_eq!(group_thousands("12500"), "12,500");
    }

    #[test]
    fn a_day_ends_at_its_last_moment_not_the_next_days_first() {
        use time::macros::datetime;
        assert_eq!(
            until_words(datetime!(2026-12-11 00:00 UTC)),
            "10 Dec 2026, end of day UTC"
        );
        assert_eq!(
            until_words(datetime!(2026-12-11 00:01 UTC)),
            "11 Dec 2026, 00:01 UTC"
        );
    }

    #[test]
    fn account_numbers_are_grouped() {
        assert_eq!(group_account_number("1577705556"), "1577 7055 56");
        assert_eq!(group_account_number("123"), "123");
    }
}
