//! Statements as downloads: CSV for spreadsheets and PDF for keeping. Both state the opening
//! balance, every entry of the period and the closing balance, exactly as the logic tier computed
//! them; this module only lays the text out.

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
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

/// Page geometry in thousandths of a point, integers all through (A4): each page's content is
/// scaled by 1/1000 once, so no coordinate is ever computed in floating point.
const PT: i32 = 1000;
const PAGE_WIDTH: i32 = 595 * PT;
const PAGE_HEIGHT: i32 = 842 * PT;
const MARGIN: i32 = 50 * PT;
const ROW_HEIGHT: i32 = 15 * PT;
/// Rows on a page below the header block: what fits above the bottom margin.
const ROWS_PER_PAGE: usize = 36;
/// The description column's width: from its left edge to the widest amount.
const DESCRIPTION_WIDTH: i32 = 260 * PT;

/// The typefaces statements are printed in, embedded in every PDF (the glyphs it uses only), so
/// any name or reference prints as written whatever reads it: a TrueType regular and bold, as
/// Debian's fonts-dejavu-core installs them.
pub struct Fonts {
    regular: Vec<u8>,
    bold: Vec<u8>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts")
            .field("regular_bytes", &self.regular.len())
            .field("bold_bytes", &self.bold.len())
            .finish()
    }
}

/// Where Debian's fonts-dejavu-core puts the faces; `PORTAL_FONT_DIR` says otherwise.
pub const DEFAULT_FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";

/// The files [`Fonts::load`] reads from its directory.
const REGULAR_FILE: &str = "DejaVuSans.ttf";
const BOLD_FILE: &str = "DejaVuSans-Bold.ttf";

impl Fonts {
    /// Reads and checks the two faces in `dir`; the portal does not start without them.
    pub fn load(dir: &std::path::Path) -> anyhow::Result<Self> {
        let read = |file: &str| -> anyhow::Result<Vec<u8>> {
            let path = dir.join(file);
            let data = std::fs::read(&path).map_err(|error| {
                anyhow::anyhow!("the statement font {}: {error}", path.display())
            })?;
            ttf_parser::Face::parse(&data, 0).map_err(|error| {
                anyhow::anyhow!("the statement font {}: {error}", path.display())
            })?;
            Ok(data)
        };
        Ok(Self {
            regular: read(REGULAR_FILE)?,
            bold: read(BOLD_FILE)?,
        })
    }
}

/// A face as one document uses it: the glyphs it has shown (renumbered from 1 in the embedded
/// subset), what each stands for, and how wide it is.
struct Used<'a> {
    data: &'a [u8],
    face: ttf_parser::Face<'a>,
    name: &'static str,
    glyphs: subsetter::GlyphRemapper,
    /// Per embedded glyph: the text it was shown for, and its advance in thousandths of an em.
    shown: std::collections::BTreeMap<u16, (char, i32)>,
}

impl<'a> Used<'a> {
    fn new(data: &'a [u8], name: &'static str) -> Self {
        let face = ttf_parser::Face::parse(data, 0).expect("checked by Fonts::load");
        Self {
            data,
            face,
            name,
            glyphs: subsetter::GlyphRemapper::new(),
            shown: std::collections::BTreeMap::new(),
        }
    }

    /// The font's glyph for `c`; a character it lacks prints as `?`.
    fn glyph(&self, c: char) -> ttf_parser::GlyphId {
        self.face
            .glyph_index(c)
            .or_else(|| self.face.glyph_index('?'))
            .unwrap_or(ttf_parser::GlyphId(0))
    }

    /// Advance of `c` in thousandths of an em.
    fn advance(&self, c: char) -> i32 {
        let units = self.face.glyph_hor_advance(self.glyph(c)).unwrap_or(0);
        i32::from(units) * 1000 / i32::from(self.face.units_per_em().max(1))
    }

    /// Width of `text` at `size` points, in thousandths of a point.
    fn width(&self, text: &str, size: i32) -> i32 {
        text.chars().map(|c| self.advance(c)).sum::<i32>() * size
    }

    /// `text` as two-byte codes of the embedded subset (Identity-H), its glyphs recorded with
    /// the character each prints (a character the font lacks is recorded as the `?` it prints,
    /// so copied text never reads it into every other `?`).
    fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut codes = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let glyph = self.glyph(c);
            let code = self.glyphs.remap(glyph.0);
            let advance = self.advance(c);
            let printed = if self.face.glyph_index(c).is_some() {
                c
            } else {
                '?'
            };
            self.shown.entry(code).or_insert((printed, advance));
            codes.extend_from_slice(&code.to_be_bytes());
        }
        codes
    }

    /// `text` cut, with an ellipsis, to fit `width` (thousandths of a point) at `size` points.
    fn fit(&self, text: &str, width: i32, size: i32) -> String {
        if self.width(text, size) <= width {
            return text.to_owned();
        }
        let budget = width - self.width("…", size);
        let mut cut = String::new();
        let mut used = 0;
        for c in text.chars() {
            let advance = self.advance(c) * size;
            if used + advance > budget {
                break;
            }
            used += advance;
            cut.push(c);
        }
        cut.push('…');
        cut
    }

    /// Writes the font's objects under the four ids given: the font, its CID font, descriptor,
    /// embedded subset and ToUnicode map.
    fn write(&self, pdf: &mut Pdf, ids: [Ref; 5]) -> anyhow::Result<()> {
        let [font, cid, descriptor, file, cmap] = ids;
        let base = format!("{}+{}", subset_tag(self.name), self.name);
        let base = Name(base.as_bytes());
        let system = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };
        pdf.type0_font(font)
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap);
        let mut cid_font = pdf.cid_font(cid);
        cid_font
            .subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(system)
            .font_descriptor(descriptor)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        let mut widths = cid_font.widths();
        for (code, (_, advance)) in &self.shown {
            widths.consecutive(*code, [*advance as f32]);
        }
        widths.finish();
        cid_font.finish();
        let per_em = i32::from(self.face.units_per_em().max(1));
        let scaled = |units: i16| (i32::from(units) * 1000 / per_em) as f32;
        let bbox = self.face.global_bounding_box();
        pdf.font_descriptor(descriptor)
            .name(base)
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(
                scaled(bbox.x_min),
                scaled(bbox.y_min),
                scaled(bbox.x_max),
                scaled(bbox.y_max),
            ))
            .italic_angle(0.0)
            .ascent(scaled(self.face.ascender()))
            .descent(scaled(self.face.descender()))
            .cap_height(scaled(self.face.capital_height().unwrap_or(700)))
            .stem_v(if self.face.is_bold() { 120.0 } else { 80.0 })
            .font_file2(file);
        let subset = subsetter::subset(self.data, 0, &self.glyphs)
            .map_err(|error| anyhow::anyhow!("subsetting {}: {error:?}", self.name))?;
        pdf.stream(file, &subset).pair(
            Name(b"Length1"),
            i32::try_from(subset.len()).unwrap_or(i32::MAX),
        );
        let mut unicode = UnicodeCmap::new(Name(b"Custom"), system);
        for (code, (c, _)) in &self.shown {
            unicode.pair(*code, *c);
        }
        pdf.cmap(cmap, &unicode.finish());
        Ok(())
    }
}

/// The six capital letters that mark an embedded font as a subset (PDF 32000 9.6.4), one tag per
/// face.
fn subset_tag(name: &str) -> String {
    let mut hash: u32 = 2_166_136_261;
    for byte in name.bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(16_777_619);
    }
    (0..6)
        .map(|i| char::from(b'A' + u8::try_from((hash >> (i * 5)) % 26).unwrap_or(0)))
        .collect()
}

#[derive(Clone, Copy)]
enum Face {
    Regular,
    Bold,
}

/// The document being written: its two faces and the page being filled.
struct Writer<'a> {
    regular: Used<'a>,
    bold: Used<'a>,
    content: Content,
}

impl<'a> Writer<'a> {
    fn face(&mut self, face: Face) -> &mut Used<'a> {
        match face {
            Face::Regular => &mut self.regular,
            Face::Bold => &mut self.bold,
        }
    }

    /// `text` at `size` points, its baseline starting at (`x`, `y`) thousandths of a point.
    fn text(&mut self, face: Face, size: i32, x: i32, y: i32, text: &str) {
        let codes = self.face(face).encode(text);
        let resource = match face {
            Face::Regular => REGULAR,
            Face::Bold => BOLD,
        };
        self.content.begin_text();
        self.content.set_font(Name(resource), (size * PT) as f32);
        self.content.next_line(x as f32, y as f32);
        self.content.show(Str(&codes));
        self.content.end_text();
    }

    fn text_right(&mut self, face: Face, size: i32, right: i32, y: i32, text: &str) {
        let width = self.face(face).width(text, size);
        self.text(face, size, right - width, y, text);
    }

    fn rule(&mut self, y: i32) {
        self.content.set_line_width(PT as f32);
        self.content.move_to(MARGIN as f32, y as f32);
        self.content.line_to((PAGE_WIDTH - MARGIN) as f32, y as f32);
        self.content.stroke();
    }

    /// The page filled so far, and a fresh one to fill.
    fn take_page(&mut self) -> Vec<u8> {
        std::mem::replace(&mut self.content, page_content()).finish()
    }
}

/// A page's content, its unit a thousandth of a point.
fn page_content() -> Content {
    let mut content = Content::new();
    content.transform([0.001, 0.0, 0.0, 0.001, 0.0, 0.0]);
    content
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

/// The statement as a PDF, in `fonts` (embedded).
pub fn pdf(statement: &Statement, fonts: &Fonts) -> anyhow::Result<Vec<u8>> {
    use Face::{Bold, Regular};
    let amount_right = PAGE_WIDTH - MARGIN - 90 * PT;
    let balance_right = PAGE_WIDTH - MARGIN;
    let money = |text: &str| group_thousands(text);
    let mut writer = Writer {
        regular: Used::new(&fonts.regular, "DejaVuSans"),
        bold: Used::new(&fonts.bold, "DejaVuSans-Bold"),
        content: page_content(),
    };
    let mut pages: Vec<Vec<u8>> = Vec::new();
    let chunks: Vec<&[crate::logic::types::Entry]> = if statement.entries.is_empty() {
        vec![&[]]
    } else {
        statement.entries.chunks(ROWS_PER_PAGE).collect()
    };
    let page_count = chunks.len();
    for (index, entries) in chunks.into_iter().enumerate() {
        let page = &mut writer;
        let mut y = PAGE_HEIGHT - MARGIN;
        page.text(Bold, 18, MARGIN, y, &format!("{BANK_NAME} · Statement"));
        page.text_right(
            Regular,
            9,
            balance_right,
            y,
            &format!("Page {} of {page_count}", index + 1),
        );
        y -= 16 * PT;
        page.text(Regular, 9, MARGIN, y, BANK_IDENTITY);
        y -= 22 * PT;
        if let Some(holder) = &statement.holder_name {
            page.text(Bold, 11, MARGIN, y, holder);
        }
        page.text_right(
            Regular,
            9,
            balance_right,
            y,
            &format!("Issued {}", issued(statement.issued_at)),
        );
        y -= 14 * PT;
        if let Some(address) = &statement.holder_address {
            page.text(Regular, 10, MARGIN, y, address);
        }
        y -= 18 * PT;
        page.text(
            Regular,
            11,
            MARGIN,
            y,
            &format!(
                "{} · {}",
                statement.account_name,
                group_account_number(&statement.account)
            ),
        );
        y -= 15 * PT;
        page.text(
            Regular,
            11,
            MARGIN,
            y,
            &format!(
                "Period {} to {} · {}",
                statement.from, statement.to, statement.currency
            ),
        );
        y -= 22 * PT;
        if index == 0 {
            page.text(Bold, 11, MARGIN, y, "Opening balance");
            page.text_right(
                Bold,
                11,
                balance_right,
                y,
                &money(&statement.opening_balance),
            );
            y -= 20 * PT;
        }
        page.text(Bold, 9, MARGIN, y, "Date");
        page.text(Bold, 9, MARGIN + 70 * PT, y, "Description");
        page.text_right(Bold, 9, amount_right, y, "Amount");
        page.text_right(Bold, 9, balance_right, y, "Balance");
        y -= 5 * PT;
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
            let description = page.regular.fit(&description, DESCRIPTION_WIDTH, 9);
            page.text(Regular, 9, MARGIN, y, &date);
            page.text(Regular, 9, MARGIN + 70 * PT, y, &description);
            page.text_right(Regular, 9, amount_right, y, &money(&entry.amount));
            page.text_right(Regular, 9, balance_right, y, &money(&entry.balance_after));
            y -= ROW_HEIGHT;
        }
        if index + 1 == page_count {
            page.rule(y + ROW_HEIGHT - 4 * PT);
            y -= 6 * PT;
            page.text(
                Regular,
                10,
                MARGIN,
                y,
                &format!(
                    "Money in {} · Money out {}",
                    money(&statement.total_in),
                    money(&statement.total_out)
                ),
            );
            y -= 18 * PT;
            page.text(Bold, 11, MARGIN, y, "Closing balance");
            page.text_right(
                Bold,
                11,
                balance_right,
                y,
                &money(&statement.closing_balance),
            );
        }
        pages.push(page.take_page());
    }

    let mut pdf = Pdf::new();
    let mut next = Ref::new(1);
    let catalog = next.bump();
    let tree = next.bump();
    let regular = [
        next.bump(),
        next.bump(),
        next.bump(),
        next.bump(),
        next.bump(),
    ];
    let bold = [
        next.bump(),
        next.bump(),
        next.bump(),
        next.bump(),
        next.bump(),
    ];
    let page_ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (next.bump(), next.bump())).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().map(|(page, _)| *page))
        .count(i32::try_from(pages.len()).unwrap_or(1));
    writer.regular.write(&mut pdf, regular)?;
    writer.bold.write(&mut pdf, bold)?;
    for (content, (id, content_id)) in pages.iter().zip(&page_ids) {
        let mut page = pdf.page(*id);
        page.media_box(Rect::new(
            0.0,
            0.0,
            (PAGE_WIDTH / PT) as f32,
            (PAGE_HEIGHT / PT) as f32,
        ));
        page.parent(tree);
        page.contents(*content_id);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(REGULAR), regular[0]);
        fonts.pair(Name(BOLD), bold[0]);
        fonts.finish();
        resources.finish();
        page.finish();
        pdf.stream(*content_id, content);
    }
    Ok(pdf.finish())
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

    fn fonts() -> Fonts {
        Fonts::load(std::path::Path::new(DEFAULT_FONT_DIR)).expect("fonts-dejavu-core")
    }

    /// The text of a PDF as poppler's pdftotext reads it.
    fn pdf_text(bytes: &[u8]) -> String {
        let dir = std::env::temp_dir().join(format!("statement-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("statement.pdf");
        std::fs::write(&file, bytes).unwrap();
        let out = std::process::Command::new("pdftotext")
            .args(["-layout", file.to_str().unwrap(), "-"])
            .output()
            .expect("pdftotext (poppler-utils)");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn a_long_statement_spans_pages_and_ends_with_the_closing_balance() {
        let bytes = pdf(&statement(100), &fonts()).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(String::from_utf8_lossy(&bytes).contains("/Count 3"));
        let text = pdf_text(&bytes);
        assert!(
            text.contains("Closing balance") && text.contains("1,234.50"),
            "{text}"
        );
        assert!(text.contains("Issued 2026-12-01 09:30 UTC"), "{text}");
        assert!(text.contains("Page 3 of 3"), "{text}");
    }

    #[test]
    fn a_long_description_is_cut_to_its_column() {
        let fonts = fonts();
        let used = Used::new(&fonts.regular, "DejaVuSans");
        let long = "Ж".repeat(140);
        let cut = used.fit(&long, DESCRIPTION_WIDTH, 9);
        assert!(cut.ends_with('…') && cut.chars().count() < 140, "{cut}");
        assert!(used.width(&cut, 9) <= DESCRIPTION_WIDTH);
        assert_eq!(used.fit("Rent", DESCRIPTION_WIDTH, 9), "Rent");
    }

    /// Names and references in any script print as written (the embedded font has the glyphs,
    /// and says which text each stands for); the font is a subset, not the whole face.
    #[test]
    fn names_in_any_script_print_as_written() {
        let mut statement = statement(2);
        statement.holder_name = Some("Łucja Żółkiewska-Ørsted".into());
        statement.holder_address = Some("ул. Пушкина 10, Αθήνα 105 57".into());
        statement.entries[0].counterparty_name = "Ελένη Παπαδοπούλου".into();
        statement.entries[1].memo = "Čaj — Ünterhaltung €5 ‘ok’".into();
        let bytes = pdf(&statement, &fonts()).unwrap();
        let text = pdf_text(&bytes);
        for written in [
            "Łucja Żółkiewska-Ørsted",
            "ул. Пушкина 10, Αθήνα 105 57",
            "Ελένη Παπαδοπούλου",
            "Čaj — Ünterhaltung €5 ‘ok’",
        ] {
            assert!(text.contains(written), "{written} missing from:\n{text}");
        }
        assert!(!text.contains('?'), "{text}");
        // A character the font lacks prints, and copies, as `?`, and leaves a real `?` alone.
        let mut statement = self::statement(1);
        statement.entries[0].memo = "🎉 paid? yes".into();
        let text = pdf_text(&pdf(&statement, &fonts()).unwrap());
        assert!(text.contains("? paid? yes"), "{text}");
        assert!(
            bytes.len() < 120_000,
            "a subset, not the whole face: {} bytes",
            bytes.len()
        );
    }
}
