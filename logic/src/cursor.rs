//! Opaque pagination cursors for the lists of the service API: clients pass back what they were
//! given and never build one themselves.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;

fn invalid() -> ApiError {
    ApiError::invalid("invalid_query", "cursor", "the cursor is not valid")
}

/// A row's place in a newest-first list: its creation time and id.
pub fn encode_time(at: OffsetDateTime, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("t{}|{id}", at.unix_timestamp_nanos()))
}

pub fn decode_time(cursor: &str) -> Result<(OffsetDateTime, Uuid), ApiError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (nanos, id) = text
        .strip_prefix('t')
        .and_then(|rest| rest.split_once('|'))
        .ok_or_else(invalid)?;
    let nanos: i128 = nanos.parse().map_err(|_| invalid())?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| invalid())?;
    Ok((at, Uuid::parse_str(id).map_err(|_| invalid())?))
}

/// Cuts a newest-first page fetched with `limit + 1` rows to `limit`, and gives the cursor of the
/// next page when there is one.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    place: impl Fn(&T) -> (OffsetDateTime, Uuid),
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|row| {
        let (at, id) = place(row);
        encode_time(at, id)
    });
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
                "invalid_query",
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
            "invalid_query",
            "limit",
            format!("limit is between 1 and {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_cursors_round_trip_and_garbage_is_refused() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_790_000_000_123_456_789).unwrap();
        let id = Uuid::new_v4();
        assert_eq!(decode_time(&encode_time(at, id)).unwrap(), (at, id));
        assert!(decode_time("not a cursor").is_err());
        assert!(decode_position("-1").is_err());
        assert_eq!(decode_position(&encode_position(42)).unwrap(), 42);
    }
}
