//! The bank's server key, kept outside the database (a file named by `BANK_SECRETS_KEY_FILE`,
//! readable by the logic tier alone): it seals the TOTP secrets the database stores and keys the
//! HMAC stored in place of each recovery code. A copy of the database, a backup or a replica's
//! disk yields neither a second factor nor a recovery code.
//!
//! It also attests the audit chain's checkpoints (`audit::anchor`): a tail of the chain rewritten
//! with its hashes recomputed contradicts a checkpoint that only this key could have made.
//!
//! Three keys are derived from the one in the file, each for one purpose, so no MAC key doubles
//! as the cipher key or as another MAC's.

use std::fmt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, KeyInit as _, Mac};
use sha2::Sha256;
use uuid::Uuid;

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;
/// The first byte of a sealed secret; a stored value without it is a secret from before sealing.
const SEALED_V1: u8 = 1;
/// The length of a TOTP secret stored in the clear before sealing (160 bits, RFC 4226).
const LEGACY_SECRET_BYTES: usize = 20;

#[derive(Clone)]
pub struct ServerKey {
    seal: [u8; KEY_BYTES],
    mac: [u8; KEY_BYTES],
    checkpoint: [u8; KEY_BYTES],
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(…)")
    }
}

/// What a stored TOTP secret turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    Sealed(Vec<u8>),
    /// Stored in the clear before sealing was introduced; the caller seals it when it next writes.
    Legacy(Vec<u8>),
}

impl Opened {
    pub fn secret(&self) -> &[u8] {
        match self {
            Self::Sealed(secret) | Self::Legacy(secret) => secret,
        }
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl ServerKey {
    /// Derives the purpose keys from the 256-bit key in the file.
    pub fn from_bytes(master: &[u8; KEY_BYTES]) -> Self {
        Self {
            seal: hmac(master, &[b"bank-server-key-v1\0totp-secrets"]),
            mac: hmac(master, &[b"bank-server-key-v1\0recovery-codes"]),
            checkpoint: hmac(master, &[b"bank-server-key-v1\0audit-checkpoints"]),
        }
    }

    /// A fresh random key, hex-encoded as the key file holds it.
    pub fn generate_hex() -> String {
        let mut master = [0u8; KEY_BYTES];
        getrandom::fill(&mut master).expect("the operating system's random source");
        master.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads the key file: 64 hexadecimal characters. Refused if other users of the host could
    /// read it, as OpenSSH refuses a private key.
    pub fn from_file(path: &Path) -> Result<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .with_context(|| format!("read {}", path.display()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                bail!(
                    "{} is open to other users (mode {:o}); make it 0600",
                    path.display(),
                    mode & 0o777
                );
            }
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        Self::from_hex(text.trim())
            .with_context(|| format!("{} does not hold a server key", path.display()))
    }

    fn from_hex(text: &str) -> Result<Self> {
        if text.len() != KEY_BYTES * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("a server key is 64 hexadecimal characters (openssl rand -hex 32)");
        }
        let mut master = [0u8; KEY_BYTES];
        for (i, byte) in master.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)?;
        }
        Ok(Self::from_bytes(&master))
    }

    /// Seals a user's TOTP secret for storage, bound to that user: a sealed value copied onto
    /// another user's row does not open.
    pub fn seal_totp(&self, user_id: Uuid, secret: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).expect("the operating system's random source");
        let ciphertext = ChaCha20Poly1305::new(&Key::from(self.seal))
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: user_id.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 seals any length this small");
        let mut sealed = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        sealed.push(SEALED_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Opens a stored TOTP secret of the user; `None` if it was not sealed under this key for
    /// this user (a wrong key file, or a value moved between rows).
    pub fn open_totp(&self, user_id: Uuid, stored: &[u8]) -> Option<Opened> {
        if stored.len() == LEGACY_SECRET_BYTES {
            return Some(Opened::Legacy(stored.to_vec()));
        }
        let (&version, rest) = stored.split_first()?;
        if version != SEALED_V1 || rest.len() <= NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
        ChaCha20Poly1305::new(&Key::from(self.seal))
            .decrypt(
                &Nonce::from(<[u8; NONCE_BYTES]>::try_from(nonce).ok()?),
                Payload {
                    msg: ciphertext,
                    aad: user_id.as_bytes(),
                },
            )
            .ok()
            .map(Opened::Sealed)
    }

    /// What the database stores in place of a recovery code: an HMAC under the server key, so
    /// the stored values cannot be checked against guesses without the key.
    pub fn recovery_digest(&self, code: &str) -> Vec<u8> {
        hmac(&self.mac, &[code.as_bytes()]).to_vec()
    }

    /// The HMAC attesting that the audit chain's record `audit_id` had hash `audit_hash` when the
    /// logic tier checked the chain up to it.
    pub fn checkpoint_mac(&self, audit_id: i64, audit_hash: &[u8]) -> [u8; 32] {
        hmac(
            &self.checkpoint,
            &[
                &audit_id.to_be_bytes(),
                &(audit_hash.len() as u64).to_be_bytes(),
                audit_hash,
            ],
        )
    }

    /// Whether `mac` attests `audit_id` and `audit_hash` under this key (compared in constant
    /// time).
    pub fn checkpoint_holds(&self, audit_id: i64, audit_hash: &[u8], mac: &[u8]) -> bool {
        let mut check =
            Hmac::<Sha256>::new_from_slice(&self.checkpoint).expect("HMAC takes any key length");
        check.update(&audit_id.to_be_bytes());
        check.update(&(audit_hash.len() as u64).to_be_bytes());
        check.update(audit_hash);
        check.verify_slice(mac).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> ServerKey {
        ServerKey::from_bytes(&[byte; KEY_BYTES])
    }

    #[test]
    fn a_sealed_secret_opens_for_its_user_under_its_key_only() {
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let secret = [7u8; LEGACY_SECRET_BYTES];
        let sealed = key(1).seal_totp(alice, &secret);
        assert_ne!(sealed.len(), LEGACY_SECRET_BYTES);
        assert!(!sealed.windows(secret.len()).any(|w| w == secret));
        assert_eq!(
            key(1).open_totp(alice, &sealed),
            Some(Opened::Sealed(secret.to_vec()))
        );
        assert_eq!(key(1).open_totp(bob, &sealed), None);
        assert_eq!(key(2).open_totp(alice, &sealed), None);
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(key(1).open_totp(alice, &tampered), None);
        // Two seals of one secret differ (a fresh nonce each time).
        assert_ne!(sealed, key(1).seal_totp(alice, &secret));
    }

    #[test]
    fn a_checkpoint_holds_for_its_record_and_hash_under_its_key_only() {
        let hash = [3u8; 32];
        let mac = key(1).checkpoint_mac(41, &hash);
        assert!(key(1).checkpoint_holds(41, &hash, &mac));
        assert!(!key(1).checkpoint_holds(42, &hash, &mac));
        assert!(!key(1).checkpoint_holds(41, &[4u8; 32], &mac));
        assert!(!key(2).checkpoint_holds(41, &hash, &mac));
        assert!(!key(1).checkpoint_holds(41, &hash, &mac[..31]));
        // Not the recovery codes' key under another name.
        assert_ne!(mac.to_vec(), key(1).recovery_digest("41"));
    }

    #[test]
    fn a_secret_stored_before_sealing_still_opens_as_legacy() {
        let secret = [9u8; LEGACY_SECRET_BYTES];
        assert_eq!(
            key(1).open_totp(Uuid::new_v4(), &secret),
            Some(Opened::Legacy(secret.to_vec()))
        );
        assert_eq!(key(1).open_totp(Uuid::new_v4(), &[]), None);
        assert_eq!(key(1).open_totp(Uuid::new_v4(), &[SEALED_V1; 5]), None);
    }

    #[test]
    fn recovery_digests_depend_on_the_key() {
        assert_eq!(
            key(1).recovery_digest("abcd"),
            key(1).recovery_digest("abcd")
        );
        assert_ne!(
            key(1).recovery_digest("abcd"),
            key(2).recovery_digest("abcd")
        );
        assert_ne!(
            key(1).recovery_digest("abcd"),
            crate::auth::secrets::digest("abcd")
        );
    }

    #[test]
    fn the_key_file_is_64_hex_characters_and_closed_to_others() {
        assert!(ServerKey::from_hex(&ServerKey::generate_hex()).is_ok());
        assert!(ServerKey::from_hex("abc").is_err());
        assert!(ServerKey::from_hex(&"zz".repeat(32)).is_err());
        let path = std::env::temp_dir().join(format!("bank-server-key-{}", Uuid::new_v4()));
        std::fs::write(&path, ServerKey::generate_hex() + "\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let refused = ServerKey::from_file(&path).unwrap_err().to_string();
            assert!(refused.contains("open to other users"), "{refused}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(ServerKey::from_file(&path).is_ok());
        std::fs::remove_file(path).unwrap();
    }
}
