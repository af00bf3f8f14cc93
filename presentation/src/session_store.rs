//! A tower-sessions store kept by the logic tier, so that presentation instances hold no state:
//! any instance serves any customer, and a restart signs nobody out.
//!
//! The logic tier never sees a usable session. Records are keyed by a digest of the session id
//! (the cookie) and encrypted with ChaCha20-Poly1305 under a key derived from the same id, so a
//! reader of the database holds neither the cookie nor the customer's logic-tier token.

use async_trait::async_trait;
use bank_api::sessions::PortalSessionRecord;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use reqwest::StatusCode;

use sha2::{Digest, Sha256};

use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};

use crate::logic::{Logic, LogicError};

/// Attempts to find an unused session id; ids are 128 random bits, so one suffices in practice.
const CREATE_ATTEMPTS_MAX: usize = 4;
const NONCE_BYTES: usize = 12;

#[derive(Debug, Clone)]
pub struct LogicSessionStore {
    logic: Logic,
}

impl LogicSessionStore {
    pub fn new(logic: Logic) -> Self {
        Self { logic }
    }
}

/// Derives a value from the session id, separated by purpose so the key and the lookup digest
/// never coincide.
fn derive(purpose: &[u8], id: &Id) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"bank-portal-session-v1\0");
    hasher.update(purpose);
    hasher.update(id.0.to_le_bytes());
    hasher.finalize().into()
}

fn lookup_key(id: &Id) -> String {
    derive(b"lookup", id)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn seal(record: &Record) -> Result<PortalSessionRecord> {
    let plaintext = serde_json::to_vec(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
    let cipher = ChaCha20Poly1305::new(&Key::from(derive(b"key", &record.id)));
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut nonce).map_err(|e| Error::Encode(e.to_string()))?;
    let mut sealed = nonce.to_vec();
    sealed.extend(
        cipher
            .encrypt(&Nonce::from(nonce), plaintext.as_slice())
            .map_err(|e| Error::Encode(e.to_string()))?,
    );
    Ok(PortalSessionRecord {
        payload: base64::engine::general_purpose::STANDARD.encode(sealed),
        expires_at: record.expiry_date,
    })
}

fn open(id: &Id, stored: &PortalSessionRecord) -> Result<Record> {
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&stored.payload)
        .map_err(|e| Error::Decode(e.to_string()))?;
    if sealed.len() < NONCE_BYTES {
        return Err(Error::Decode("payload too short".into()));
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce
        .try_into()
        .map_err(|_| Error::Decode("bad nonce".into()))?;
    let cipher = ChaCha20Poly1305::new(&Key::from(derive(b"key", id)));
    let plaintext = cipher
        .decrypt(&Nonce::from(nonce), ciphertext)
        .map_err(|_| Error::Decode("the record does not open with this session id".into()))?;
    let data = serde_json::from_slice(&plaintext).map_err(|e| Error::Decode(e.to_string()))?;
    Ok(Record {
        id: *id,
        data,
        expiry_date: stored.expires_at,
    })
}

fn backend(error: LogicError) -> Error {
    Error::Backend(error.to_string())
}

#[async_trait]
impl SessionStore for LogicSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        for _ in 0..CREATE_ATTEMPTS_MAX {
            let body = seal(record)?;
            match self
                .logic
                .create_portal_session(&lookup_key(&record.id), &body)
                .await
            {
                Ok(_) => return Ok(()),
                Err(LogicError::Problem(problem))
                    if problem.status == StatusCode::CONFLICT.as_u16() =>
                {
                    record.id = Id::default();
                }
                Err(error) => return Err(backend(error)),
            }
        }
        Err(Error::Backend("no free session id".into()))
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let body = seal(record)?;
        self.logic
            .save_portal_session(&lookup_key(&record.id), &body)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        match self.logic.load_portal_session(&lookup_key(id)).await {
            Ok(stored) => {
                match open(id, &stored) {
                    Ok(record) => Ok(Some(record)),
                    // A record that does not open is treated as absent: the visitor starts over.
                    Err(error) => {
                        tracing::warn!(%error, "discarding a session record that does not open");
                        Ok(None)
                    }
                }
            }
            Err(LogicError::Problem(problem))
                if problem.status == StatusCode::NOT_FOUND.as_u16() =>
            {
                Ok(None)
            }
            Err(error) => Err(backend(error)),
        }
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.logic
            .delete_portal_session(&lookup_key(id))
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_opens_only_with_its_own_id() {
        let mut record = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: time::OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap(),
        };
        record
            .data
            .insert("token".into(), serde_json::json!("secret"));
        let sealed = seal(&record).unwrap();
        assert!(!sealed.payload.contains("secret"));
        let opened = open(&record.id, &sealed).unwrap();
        assert_eq!(opened.data, record.data);
        assert_eq!(opened.expiry_date, record.expiry_date);
        assert!(open(&Id::default(), &sealed).is_err());
        assert_ne!(lookup_key(&record.id), lookup_key(&Id::default()));
    }
}
