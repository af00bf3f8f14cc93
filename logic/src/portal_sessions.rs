//! The presentation tier's session store, kept in the database so that presentation instances
//! hold no state. Only the presentation service may use it; the records are opaque here: keyed
//! by a digest of the session cookie and encrypted with a key derived from it.

use bank_api::ProblemCode;
use time::OffsetDateTime;

use crate::auth::Service;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::PortalSessionRecord;

/// The service name the store answers to.
pub const PORTAL_SERVICE: &str = "presentation";
/// Largest payload accepted, as in the `portal_sessions.payload` column.
const PAYLOAD_MAX_BYTES: usize = 16 * 1024;

/// A record key: the hex SHA-256 of a session id.
#[derive(Debug, Clone)]
pub struct RecordKey(Vec<u8>);

impl RecordKey {
    pub fn parse(hex: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::NotFound {
            code: ProblemCode::PortalSessionNotFound,
            detail: "no such session",
        };
        if hex.len() != 64 {
            return Err(invalid());
        }
        let bytes = (0..32)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| invalid())?;
        Ok(Self(bytes))
    }
}

fn require_portal(service: &Service) -> Result<(), ApiError> {
    if service.name == PORTAL_SERVICE {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "only the presentation tier keeps portal sessions",
        })
    }
}

fn decode(record: &PortalSessionRecord) -> Result<Vec<u8>, ApiError> {
    use base64::Engine;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(record.payload.as_bytes())
        .map_err(|_| {
            ApiError::invalid(
                ProblemCode::InvalidField,
                "payload",
                "payload is not base64",
            )
        })?;
    if payload.len() > PAYLOAD_MAX_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(payload)
}

/// Creates a record; 409 if the key is taken (the caller picks another session id).
pub async fn create(
    state: &AppState,
    service: &Service,
    key: &RecordKey,
    record: &PortalSessionRecord,
) -> Result<(), ApiError> {
    require_portal(service)?;
    let payload = decode(record)?;
    let payload = &payload;
    let created = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(
                data::portal_sessions::create(&mut *conn, &key.0, payload, record.expires_at)
                    .await?,
            )
        })
    })
    .await?;
    if created {
        Ok(())
    } else {
        Err(ApiError::Conflict {
            code: ProblemCode::PortalSessionExists,
            detail: "this session id is taken".into(),
        })
    }
}

pub async fn save(
    state: &AppState,
    service: &Service,
    key: &RecordKey,
    record: &PortalSessionRecord,
) -> Result<(), ApiError> {
    require_portal(service)?;
    let payload = decode(record)?;
    let payload = &payload;
    crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(data::portal_sessions::save(&mut *conn, &key.0, payload, record.expires_at).await?)
        })
    })
    .await
}

pub async fn load(
    state: &AppState,
    service: &Service,
    key: &RecordKey,
) -> Result<PortalSessionRecord, ApiError> {
    use base64::Engine;
    require_portal(service)?;
    let row = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::portal_sessions::load(&mut *conn, &key.0).await?) })
    })
    .await?;
    let (payload, expires_at): (Vec<u8>, OffsetDateTime) = row.ok_or(ApiError::NotFound {
        code: ProblemCode::PortalSessionNotFound,
        detail: "no such session",
    })?;
    Ok(PortalSessionRecord {
        payload: base64::engine::general_purpose::STANDARD.encode(payload),
        expires_at,
    })
}

pub async fn delete(state: &AppState, service: &Service, key: &RecordKey) -> Result<(), ApiError> {
    require_portal(service)?;
    crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::portal_sessions::delete(&mut *conn, &key.0).await?) })
    })
    .await
}
