//! Statements as downloads: CSV for spreadsheets and PDF for keeping. Both state the opening
//! balance, every entry of the period and the closing balance, exactly as the logic tier computed
//! them; this module only lays the text out.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

use crate::filters::{group_account_number, group_thousands, kind_words};
use crate::logic::types::Statement;

/// One CSV field, quoted when it must be (RFC 4180). A leading `=`, `+`, `-` or `@` in text is
/// prefixed with `'` so a spreadsheet never runs a memo as a formula.
fn csv_field(value: &str, is_text: bool) -> String {
    let value = if is_text && value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// The other side of an entry as the customer reads it: "Alice Martin", "Your Savings", "Cash at
/// the branch".
pub fn counterparty(entry: &crate::logic::types::Entry) -> String {
    if entry.counterparty_own {
        format!("Your {}", entry.counterparty_name)
    } else {
        entry.counterparty_name.clone()
    }
}

/// One CSV line of text fields, with its line break.
pub fn csv_line(fields: &[&str]) -> String {
    let row: Vec<String> = fields.iter().map(|v| csv_field(v, true)).collect();
    format!("{}\r\n", row.join(","))
}

pub fn csv(statement: &Statement) -> String {
    let mut out = String::new();
    let mut line = |fields: &[(&str, bool)]| {
        let row: Vec<String> = fields.iter().map(|(v, text)| csv_field(v, *text)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    };
    line(&[
        ("date", true),
        ("description", true),
        ("memo", true),
        ("counterparty", true),
        ("counterparty_account", true),
        ("amount", false),
        ("balance_after", false),
        ("currency", true),
        ("transfer_id", true),
    ]);
    let (from, to) = (statement.from.to_string(), statement.to.to_string());
    line(&[
        (&from, true),
        ("Opening balance", true),
        ("", true),
        ("", true),
        ("", true),
        ("", false),
        (&statement.opening_balance, false),
        (&statement.currency, true),
        ("", true),
    ]);
    for entry in &statement.entries {
        let date = entry.posted_at.date().to_string();
        let transfer_id = entry.transfer_id.to_string();
        line(&[
            (&date, true),
            (kind_words(entry.kind), true),
            (&entry.memo, true),
            (&counterparty(entry), true),
            (
                entry.counterparty_account.as_deref().unwrap_or_default(),
                true,
            ),
            (&entry.amount, false),
            (&entry.balance_after, false),
            (&statement.currency, true),
            (&transfer_id, true),
        ]);
    }
    line(&[
        (&to, true),
        ("Closing balance", true),
        ("", true),
        ("", true),
        ("", true),
        ("", false),
        (&statement.closing_balance, false),
        (&statement.currency, true),
        ("", true),
    ]);
    out
}

/// Page geometry in whole points (A4).
const PAGE_WIDTH: i16 = 595;
const PAGE_HEIGHT: i16 = 842;
const MARGIN: i16 = 50;
const ROW_HEIGHT: i16 = 15;
/// Rows on a page below the header block: what fits above the bottom margin.
const ROWS_PER_PAGE: usize = 36;

/// Helvetica advance widths in thousandths of an em, for the characters that right-aligned
/// columns hold (digits and separators); everything else counts as a digit.
fn helvetica_width(c: char) -> i32 {
    match c {
        ',' | '.' | ' ' => 278,
        '-' => 333,
        _ => 556,
    }
}

/// The description column's width in points: from its left edge to the widest amount.
const DESCRIPTION_WIDTH: i16 = 260;

/// `text` cut, with an ellipsis, to fit `width` points at `size` points (every character counted
/// as wide as a digit, the widest of what the column holds but for capitals).
fn fit(text: &str, width: i16, size: i16) -> String {
    let per_char = i32::from(size) * 600 / 1000;
    let fits = usize::try_from(i32::from(width) / per_char.max(1)).unwrap_or(0);
    if text.chars().count() <= fits {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(fits.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Text width in points at `size` points, rounded up.
fn text_width(text: &str, size: i16) -> i16 {
    let thousandths: i32 = text.chars().map(helvetica_width).sum::<i32>() * i32::from(size);
    i16::try_from((thousandths + 999) / 1000).unwrap_or(i16::MAX)
}

/// The text in WinAnsi encoding, as the standard Helvetica font reads it.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '€' => 0x80,
            '…' => 0x85,
            '–' => 0x96,
            '—' => 0x97,
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

struct Page {
    content: Content,
}

impl Page {
    fn text(&mut self, font: &[u8], size: i16, x: i16, y: i16, text: &str) {
        let bytes = win_ansi(text);
        self.content.begin_text();
        self.content.set_font(Name(font), f32::from(size));
        self.content.next_line(f32::from(x), f32::from(y));
        self.content.show(Str(&bytes));
        self.content.end_text();
    }

    fn text_right(&mut self, font: &[u8], size: i16, right: i16, y: i16, text: &str) {
        self.text(font, size, right - text_width(text, size), y, text);
    }

    fn rule(&mut self, y: i16) {
        self.content.set_line_width(f32::from(1i16));
        self.content.move_to(f32::from(MARGIN), f32::from(y));
        self.content
            .line_to(f32::from(PAGE_WIDTH - MARGIN), f32::from(y));
        self.content.stroke();
    }
}

/// The bank as its statements name it.
pub const BANK_NAME: &str = "Northgate Bank";
/// Who issues the statement, as the law asks a bank to say: name, registered address and
/// registration.
const BANK_IDENTITY: &str =
    "Northgate Bank plc · 1 Lombard Street, London EC3V 9AA · Registered in England no. 01234567";

/// The moment a statement was issued, to the minute, in UTC.
fn issued(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}

const REGULAR: &[u8] = b"F1";
const BOLD: &[u8] = b"F2";

pub fn pdf(statement: &Statement) -> Vec<u8> {
    let amount_right = PAGE_WIDTH - MARGIN - 90;
    let balance_right = PAGE_WIDTH - MARGIN;
    let money = |text: &str| group_thousands(text);
    let mut pages: Vec<Page> = Vec::new();
    let chunks: Vec<&[crate::logic::types::Entry]> = if statement.entries.is_empty() {
        vec![&[]]
    } else {
        statement.entries.chunks(ROWS_PER_PAGE).collect()
    };
    let page_count = chunks.len();
    for (index, entries) in chunks.into_iter().enumerate() {
        let mut page = Page {
            content: Content::new(),
        };
        let mut y = PAGE_HEIGHT - MARGIN;
        page.text(BOLD, 18, MARGIN, y, &format!("{BANK_NAME} · Statement"));
        page.text_right(
            REGULAR,
            9,
            balance_right,
            y,
            &format!("Page {} of {page_count}", index + 1),
        );
        y -= 16;
        page.text(REGULAR, 9, MARGIN, y, BANK_IDENTITY);
        y -= 22;
        if let Some(holder) = &statement.holder_name {
            page.text(BOLD, 11, MARGIN, y, holder);
        }
        page.text_right(
            REGULAR,
            9,
            balance_right,
            y,
            &format!("Issued {}", issued(statement.issued_at)),
        );
        y -= 14;
        if let Some(address) = &statement.holder_address {
            page.text(REGULAR, 10, MARGIN, y, address);
        }
        y -= 18;
        page.text(
            REGULAR,
            11,
            MARGIN,
            y,
            &format!(
                "{} · {}",
                statement.account_name,
                group_account_number(&statement.account)
            ),
        );
        y -= 15;
        page.text(
            REGULAR,
            11,
            MARGIN,
            y,
            &format!(
                "Period {} to {} · {}",
                statement.from, statement.to, statement.currency
            ),
        );
        y -= 22;
        if index == 0 {
            page.text(BOLD, 11, MARGIN, y, "Opening balance");
            page.text_right(
                BOLD,
                11,
                balance_right,
                y,
                &money(&statement.opening_balance),
            );
            y -= 20;
        }
        page.text(BOLD, 9, MARGIN, y, "Date");
        page.text(BOLD, 9, MARGIN + 70, y, "Description");
        page.text_right(BOLD, 9, amount_right, y, "Amount");
        page.text_right(BOLD, 9, balance_right, y, "Balance");
        y -= 5;
        page.rule(y);
        y -= ROW_HEIGHT;
        for entry in entries {
            let date = entry.posted_at.date().to_string();
            let mut description = kind_words(entry.kind).to_owned();
            description.push_str(" · ");
            description.push_str(&counterparty(entry));
            if !entry.memo.is_empty() {
                description.push_str(" · ");
                description.push_str(&entry.memo);
            }
            let description = fit(&description, DESCRIPTION_WIDTH, 9);
            page.text(REGULAR, 9, MARGIN, y, &date);
            page.text(REGULAR, 9, MARGIN + 70, y, &description);
            page.text_right(REGULAR, 9, amount_right, y, &money(&entry.amount));
            page.text_right(REGULAR, 9, balance_right, y, &money(&entry.balance_after));
            y -= ROW_HEIGHT;
        }
        if index + 1 == page_count {
            page.rule(y + ROW_HEIGHT - 4);
            y -= 6;
            page.text(
                REGULAR,
                10,
                MARGIN,
                y,
                &format!(
                    "Money in {} · Money out {}",
                    money(&statement.total_in),
                    money(&statement.total_out)
                ),
            );
            y -= 18;
            page.text(BOLD, 11, MARGIN, y, "Closing balance");
            page.text_right(
                BOLD,
                11,
                balance_right,
                y,
                &money(&statement.closing_balance),
            );
        }
        pages.push(page);
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let first_page = 5;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first_page + 2 * i32::try_from(i).unwrap_or(0)))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(i32::try_from(pages.len()).unwrap_or(1));
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    for (page, id) in pages.into_iter().zip(&page_ids) {
        let content_id = Ref::new(id.get() + 1);
        let mut writer = pdf.page(*id);
        writer.media_box(Rect::new(
            0.0,
            0.0,
            f32::from(PAGE_WIDTH),
            f32::from(PAGE_HEIGHT),
        ));
        writer.parent(tree);
        writer.contents(content_id);
        let mut resources = writer.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(REGULAR), regular);
        fonts.pair(Name(BOLD), bold);
        fonts.finish();
        resources.finish();
        writer.finish();
        pdf.stream(content_id, &page.content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::types::{Entry, TransferKind};

    fn statement(entries: usize) -> Statement {
        Statement {
            account: "1577705556".into(),
            account_name: "Everyday account".into(),
            holder_name: Some("Chloé Dubois".into()),
            holder_address: Some("8 rue des Lilas, 75011 Paris".into()),
            issued_at: time::macros::datetime!(2026-12-01 09:30 UTC),
            currency: "EUR".into(),
            from: time::macros::date!(2026 - 11 - 01),
            to: time::macros::date!(2026 - 11 - 30),
            opening_balance: "100.00".into(),
            closing_balance: "1234.50".into(),
            total_in: "1200.00".into(),
            total_out: "65.50".into(),
            entries: (0..entries)
                .map(|i| Entry {
                    id: i64::try_from(i).unwrap(),
                    transfer_id: uuid::Uuid::nil(),
                    kind: TransferKind::Transfer,
                    amount: "-1.00".into(),
                    balance_after: "99.00".into(),
                    counterparty_account: Some("2894665470".into()),
                    counterparty_name: "Alice Martin".into(),
                    counterparty_own: false,
                    memo: "=SUM(A1), \"quoted\"".into(),
                    posted_at: time::macros::datetime!(2026-11-21 10:00 UTC),
                })
                .collect(),
        }
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let text = csv(&statement(1));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines[2].contains("\"'=SUM(A1), \"\"quoted\"\"\""),
            "{}",
            lines[2]
        );
        assert!(lines[3].contains("Closing balance") && lines[3].contains("1234.50"));
    }

    #[test]
    fn a_long_statement_spans_pages_and_ends_with_the_closing_balance() {
        let bytes = pdf(&statement(100));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("%PDF-"));
        assert!(text.contains("/Count 3"));
        assert!(text.contains("Closing balance") && text.contains("1,234.50"));
        assert!(text.contains("Issued 2026-12-01 09:30 UTC"));
    }
}
