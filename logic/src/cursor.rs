//! Opaque pagination cursors. Every list of the API is read a page at a time: a page carries
//! `next_cursor` when more follows, and the client passes it back as `cursor` (or `after` on the
//! event feed) to read on. Clients never build a cursor themselves.
//!
//! A cursor is the place of the last row of a page in the list's order — for example its creation
//! time and id — serialised as JSON and encoded in URL-safe base64. The rows after it are found
//! by a keyset condition in the data crate, so a page costs the same wherever it starts and rows
//! added meanwhile neither shift nor repeat the rows still to come.

use bank_api::ProblemCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;

/// The page size of a list when the client names none, and the most it may ask for.
pub const PAGE_DEFAULT: i64 = 50;
pub const PAGE_MAX: i64 = 100;

fn invalid() -> ApiError {
    ApiError::invalid(
        ProblemCode::InvalidQuery,
        "cursor",
        "the cursor is not valid",
    )
}

/// Encodes a row's place in its list.
pub fn encode<P: Serialize>(place: &P) -> String {
    // A place is made of numbers, strings, booleans and ids: serialising it cannot fail.
    let json = serde_json::to_vec(place).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor this list gave out; anything else is refused as `invalid_query`.
pub fn decode<P: DeserializeOwned>(cursor: &str) -> Result<P, ApiError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

/// An instant inside a cursor, as nanoseconds since the Unix epoch.
pub fn instant(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos()
}

pub fn from_instant(nanos: i128) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| invalid())
}

/// A row's place in a list ordered by creation time, then id.
pub fn encode_time(at: OffsetDateTime, id: Uuid) -> String {
    encode(&(instant(at), id))
}

pub fn decode_time(cursor: &str) -> Result<(OffsetDateTime, Uuid), ApiError> {
    let (nanos, id): (i128, Uuid) = decode(cursor)?;
    Ok((from_instant(nanos)?, id))
}

/// A row's place in a list ordered by a text (a name, a nickname), then id.
pub fn encode_text(text: &str, id: Uuid) -> String {
    encode(&(text, id))
}

pub fn decode_text(cursor: &str) -> Result<(String, Uuid), ApiError> {
    decode(cursor)
}

/// A row's place in a list ordered by a positive serial number (ledger entries, audit records).
pub fn encode_serial(serial: i64) -> String {
    encode(&serial)
}

pub fn decode_serial(cursor: &str) -> Result<i64, ApiError> {
    let serial: i64 = decode(cursor)?;
    if serial > 0 {
        Ok(serial)
    } else {
        Err(invalid())
    }
}

/// Cuts a page fetched with `limit + 1` rows to `limit`, and gives the cursor of the next page
/// (the place of the page's last row) when there is one.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    place: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(place);
    (rows, next)
}

/// A place in the event feed. `0` is the start, before the first event.
pub fn encode_position(position: i64) -> String {
    position.to_string()
}

pub fn decode_position(cursor: &str) -> Result<i64, ApiError> {
    cursor
        .parse::<i64>()
        .ok()
        .filter(|p| *p >= 0)
        .ok_or_else(|| {
            ApiError::invalid(
                ProblemCode::InvalidQuery,
                "after",
                "`after` is a cursor from this feed: a whole number, 0 for the start",
            )
        })
}

/// The page size asked for, bounded; `default` when not given.
pub fn page_size(limit: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(
            ProblemCode::InvalidQuery,
            "limit",
            format!("limit is between 1 and {max}"),
        )),
    }
}

/// The page size asked for on a list of the usual bounds: [`PAGE_DEFAULT`], at most [`PAGE_MAX`].
pub fn page_size_default(limit: Option<i64>) -> Result<i64, ApiError> {
    page_size(limit, PAGE_DEFAULT, PAGE_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_790_000_000_123_456_789).unwrap();
        let id = Uuid::new_v4();
        assert_eq!(decode_time(&encode_time(at, id)).unwrap(), (at, id));
        assert_eq!(
            decode_text(&encode_text("Ana Ş.", id)).unwrap(),
            ("Ana Ş.".to_owned(), id)
        );
        assert_eq!(decode_serial(&encode_serial(42)).unwrap(), 42);
        assert!(decode_serial(&encode_serial(-1)).is_err());
        assert!(decode_time("not a cursor").is_err());
        // A cursor of one list is not a place in another.
        assert!(decode_time(&encode_serial(42)).is_err());
        assert!(decode_serial(&encode_time(at, id)).is_err());
        assert!(decode_position("-1").is_err());
        assert_eq!(decode_position(&encode_position(42)).unwrap(), 42);
    }

    #[test]
    fn a_page_cut_from_one_row_more_points_at_its_last_row() {
        let (rows, next) = page(vec![5, 4, 3], 2, |n| encode_serial(*n));
        assert_eq!(rows, vec![5, 4]);
        assert_eq!(decode_serial(&next.unwrap()).unwrap(), 4);
        let (rows, next) = page(vec![5, 4], 2, |n| encode_serial(*n));
        assert_eq!(rows, vec![5, 4]);
        assert!(next.is_none());
    }
}
