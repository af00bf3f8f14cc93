//! Confirmation of Payee: how a name the payer typed compares with the name the bank holds for
//! the account they are about to pay, so that a mistyped account number or a fraudster's "new
//! details" are noticed before money moves rather than after.

use bank_api::transfers::NameMatch;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A name's words, as compared: accents on Latin letters removed, lower case, punctuation
/// dropped. "Zoë O'Brien-Smith" and "zoe obrien smith" read the same. Marks on other scripts are
/// kept: in Devanagari or Thai a vowel sign, in kana a voicing mark, makes another name.
fn words(name: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut after_latin = false;
    for c in name.nfkd() {
        if is_combining_mark(c) && after_latin {
            continue;
        }
        after_latin = c.is_ascii_alphabetic();
        plain.push(c);
    }
    let plain: String = plain
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == '-' { ' ' } else { c })
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || is_combining_mark(*c))
        .collect();
    plain.split_whitespace().map(str::to_owned).collect()
}

/// How `typed` compares with `held`, the name the bank holds.
pub fn compare(typed: &str, held: &str) -> NameMatch {
    let typed = words(typed);
    let held = words(held);
    if typed.is_empty() || held.is_empty() {
        return NameMatch::NoMatch;
    }
    if typed == held {
        return NameMatch::Match;
    }
    let mut typed_sorted = typed.clone();
    let mut held_sorted = held.clone();
    typed_sorted.sort();
    held_sorted.sort();
    if typed_sorted == held_sorted
        || initials_for_first_names(&typed, &held)
        || one_slip(&typed.join(" "), &held.join(" "))
    {
        return NameMatch::CloseMatch;
    }
    NameMatch::NoMatch
}

/// "A. Martin" or "A Martin" for "Alice Martin": the same last name, and each earlier word an
/// initial (or the whole word) of the held one.
fn initials_for_first_names(typed: &[String], held: &[String]) -> bool {
    let (Some((typed_last, typed_first)), Some((held_last, held_first))) =
        (typed.split_last(), held.split_last())
    else {
        return false;
    };
    typed_last == held_last
        && typed_first.len() == held_first.len()
        && !typed_first.is_empty()
        && typed_first.iter().zip(held_first).all(|(typed, held)| {
            typed == held || (typed.chars().count() == 1 && held.starts_with(typed.as_str()))
        })
}

/// A typing slip: one edit (a letter missing, extra, wrong or two swapped) per ten characters,
/// at most two; none in a name shorter than five, where one letter makes another name.
fn one_slip(typed: &str, held: &str) -> bool {
    let length = held.chars().count();
    let allowed = if length < 5 {
        0
    } else {
        (length / 10).clamp(1, 2)
    };
    strsim::damerau_levenshtein(typed, held) <= allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_people_would_expect() {
        let cases = [
            ("Alice Martin", "Alice Martin", NameMatch::Match),
            ("alice  MARTIN", "Alice Martin", NameMatch::Match),
            ("Zoe OBrien-Smith", "Zoë O'Brien-Smith", NameMatch::Match),
            ("Martin Alice", "Alice Martin", NameMatch::CloseMatch),
            ("A. Martin", "Alice Martin", NameMatch::CloseMatch),
            ("A Martin", "Alice Martin", NameMatch::CloseMatch),
            ("Alice Martn", "Alice Martin", NameMatch::CloseMatch),
            ("Alcie Martin", "Alice Martin", NameMatch::CloseMatch),
            ("Alice", "Alice Martin", NameMatch::NoMatch),
            ("B. Martin", "Alice Martin", NameMatch::NoMatch),
            ("Eve Jones", "Alice Martin", NameMatch::NoMatch),
            ("Alice Morton", "Alice Martin", NameMatch::NoMatch),
            ("", "Alice Martin", NameMatch::NoMatch),
            ("!!!", "Alice Martin", NameMatch::NoMatch),
            ("Al", "Al", NameMatch::Match),
            ("Ab", "Al", NameMatch::NoMatch),
            // Marks that make another name in other scripts are kept: at most a close match.
            ("रमा शर्मा", "राम शर्मा", NameMatch::CloseMatch),
            ("कमल", "कमला", NameMatch::NoMatch),
            ("ことう", "ごとう", NameMatch::NoMatch),
            ("Chloé Dubois", "Chloe Dubois", NameMatch::Match),
        ];
        for (typed, held, expected) in cases {
            assert_eq!(compare(typed, held), expected, "{typed:?} against {held:?}");
        }
    }
}
