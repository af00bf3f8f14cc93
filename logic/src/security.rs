//! A user's own security settings: the TOTP second factor and its recovery codes, the password,
//! the list of live sessions and what happened to the sign-in.

use bank_api::ProblemCode;
use bank_api::sessions::{SecurityActivity, SecurityActivityKind, SecurityActivityListResponse};
use data::PgConnection;
use data::users::UserRow;
use totp_rs::{Algorithm, Builder, Totp};
use uuid::Uuid;

use crate::auth::server_key::{Opened, ServerKey};
use crate::auth::{SessionUser, password};
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{RecoveryCodesResponse, SessionInfo, SessionListResponse, TotpEnrolmentResponse};

/// Changes of one's own password allowed in 24 hours: with the last four refused, cycling back
/// to an old one takes two days at least.
const PASSWORD_CHANGES_PER_DAY: i64 = 3;
/// Issuer shown in authenticator apps.
const TOTP_ISSUER: &str = "Bank";
/// RFC 4226 recommends at least 128 bits of shared secret; 160 is what SHA-1 HMAC takes whole.
const TOTP_SECRET_BYTES: usize = 20;
/// Recovery codes issued at once: enough to cover a lost phone until a new one is enrolled.
const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code, without ambiguous ones (0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Characters of a recovery code: 20 from 31 is about 99 bits, past the 80 a code that stands
/// in for the second factor needs.
const RECOVERY_CODE_CHARS: usize = 20;
/// Characters per group as a code is shown (`xxxxx-xxxxx-xxxxx-xxxxx`).
const RECOVERY_GROUP_CHARS: usize = 5;
/// The longest input read as a recovery code (a shown code with spaces around its groups).
const RECOVERY_INPUT_CHARS_MAX: usize = 64;

fn totp(secret: &[u8], account: &str) -> Result<Totp, ApiError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(secret.to_vec())
        .with_account_name(account)
        .with_issuer(Some(TOTP_ISSUER))
        .build()
        .map_err(|e| ApiError::Internal(format!("build a TOTP: {e:?}")))
}

/// Seals every TOTP secret, active or pending, still stored in the clear (from before sealing);
/// returns how many users' secrets it sealed. `up` runs it after migrating.
pub async fn seal_unsealed_secrets(state: &AppState) -> Result<usize, ApiError> {
    let key = &state.server_key;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let rows = data::users::lock_unsealed_totp_secrets(&mut *tx).await?;
            for (user_id, secret, pending) in &rows {
                if let Some(Opened::Legacy(plain)) =
                    secret.as_deref().and_then(|s| key.open_totp(*user_id, s))
                {
                    let stored = secret.as_deref().unwrap_or_default();
                    let sealed = key.seal_totp(*user_id, &plain);
                    data::users::reseal_totp_secret(&mut *tx, *user_id, stored, &sealed).await?;
                }
                if let Some(Opened::Legacy(plain)) =
                    pending.as_deref().and_then(|s| key.open_totp(*user_id, s))
                {
                    let sealed = key.seal_totp(*user_id, &plain);
                    data::users::set_pending_totp_secret(&mut *tx, *user_id, &sealed).await?;
                }
            }
            Ok(rows.len())
        })
    })
    .await
}

/// The user's TOTP secret opened from its stored, sealed form.
fn open_secret(key: &ServerKey, user_id: Uuid, stored: &[u8]) -> Result<Opened, ApiError> {
    key.open_totp(user_id, stored).ok_or_else(|| {
        ApiError::Internal(format!(
            "the second-factor secret of user {user_id} does not open under the server key"
        ))
    })
}

/// A recovery code as typed, in the form its digest is taken of: lower case, without the
/// spaces and hyphens between groups. `None` if it cannot be one.
fn normalise_recovery_code(code: &str) -> Option<String> {
    if code.chars().count() > RECOVERY_INPUT_CHARS_MAX {
        return None;
    }
    let normalised: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (normalised.len() == RECOVERY_CODE_CHARS
        && normalised.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
    .then_some(normalised)
}

/// Whether `code` is a valid, unused TOTP code or recovery code of the user; spends it if so.
/// Runs inside the caller's transaction. A secret stored before sealing is sealed here.
pub async fn accept_code(
    conn: &mut PgConnection,
    key: &ServerKey,
    user: &UserRow,
    code: &str,
) -> Result<bool, ApiError> {
    let Some(stored) = &user.totp_secret else {
        return Ok(false);
    };
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let opened = open_secret(key, user.id, stored)?;
        let Some(step) = totp(opened.secret(), &user.username)?.check_current(&digits) else {
            return Ok(false);
        };
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        let accepted = data::users::advance_totp_step(conn, user.id, step).await?;
        if accepted && let Opened::Legacy(secret) = &opened {
            data::users::reseal_totp_secret(conn, user.id, stored, &key.seal_totp(user.id, secret))
                .await?;
        }
        return Ok(accepted);
    }
    let Some(normalised) = normalise_recovery_code(code) else {
        return Ok(false);
    };
    Ok(data::users::use_recovery_code(conn, user.id, &key.recovery_digest(&normalised)).await?)
}

/// Starts enrolment: a new secret, pending until [`confirm_totp`] sees a code made from it. To
/// replace a second factor that is on (and with it the recovery codes), the user proves who they
/// are again: the password and a current code, not the session's token alone.
pub async fn enrol_totp(
    state: &AppState,
    user: &SessionUser,
    password: Option<String>,
    code: Option<&str>,
) -> Result<TotpEnrolmentResponse, ApiError> {
    let enabled = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::users::find_user(&mut *conn, user.user_id).await?) })
    })
    .await?
    .is_some_and(|row| row.totp_secret.is_some());
    if enabled {
        let missing = if password.is_none() {
            "password"
        } else {
            "code"
        };
        let (Some(password), Some(code)) = (password, code) else {
            return Err(ApiError::invalid(
                ProblemCode::ReauthenticationRequired,
                missing,
                "two-step sign-in is on: replacing it needs your password and a current code",
            ));
        };
        verify_own_password(state, user, password, "password").await?;
        verify_own_code(state, user, code).await?;
    }
    let mut secret = [0u8; TOTP_SECRET_BYTES];
    getrandom::fill(&mut secret).expect("the operating system's random source");
    let totp = totp(&secret, &user.username)?;
    let sealed = state.server_key.seal_totp(user.user_id, &secret);
    let sealed = &sealed;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            still_signed_in(&mut *tx, user).await?;
            Ok(data::users::set_pending_totp_secret(&mut *tx, user.user_id, sealed).await?)
        })
    })
    .await?;
    Ok(TotpEnrolmentResponse {
        secret: totp.secret().to_base32(),
        otpauth_url: totp
            .to_url()
            .map_err(|e| ApiError::Internal(format!("{e:?}")))?,
    })
}

/// Completes enrolment with a code from the new secret and issues recovery codes, shown once.
pub async fn confirm_totp(
    state: &AppState,
    user: &SessionUser,
    code: &str,
) -> Result<RecoveryCodesResponse, ApiError> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .filter_map(|c| normalise_recovery_code(c))
        .map(|c| state.server_key.recovery_digest(&c))
        .collect();
    debug_assert_eq!(hashes.len(), codes.len());
    let code = code.trim().to_owned();
    let hashes = &hashes;
    let code = &code;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            still_signed_in(&mut *tx, user).await?;
            let row = data::users::find_user(&mut *tx, user.user_id)
                .await?
                .ok_or_else(|| ApiError::Internal("signed-in user vanished".into()))?;
            let Some(pending) = &row.totp_pending_secret else {
                return Err(ApiError::refused(
                    ProblemCode::TotpNotPending,
                    "start the enrolment first",
                ));
            };
            let pending = open_secret(&state.server_key, row.id, pending)?;
            let Some(step) = totp(pending.secret(), &row.username)?.check_current(code) else {
                return Err(ApiError::invalid(
                    ProblemCode::InvalidSecondFactor,
                    "code",
                    "the code is not correct; check the time on your phone and try the next code",
                ));
            };
            data::users::enable_totp(
                &mut *tx,
                user.user_id,
                i64::try_from(step).unwrap_or(i64::MAX),
            )
            .await?;
            data::users::replace_recovery_codes(&mut *tx, user.user_id, hashes).await?;
            own_event(&mut *tx, user, "security.second_factor_on").await
        })
    })
    .await?;
    tracing::info!(user_id = %user.user_id, "second factor enabled");
    Ok(RecoveryCodesResponse {
        recovery_codes: codes,
    })
}

/// Turns the second factor off. The user proves who they are again, with the password and a
/// current code: with the password alone, a stolen session could turn it off and enrol its own.
pub async fn disable_totp(
    state: &AppState,
    user: &SessionUser,
    password: String,
    code: &str,
) -> Result<(), ApiError> {
    verify_own_password(state, user, password, "password").await?;
    verify_own_code(state, user, code).await?;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            still_signed_in(&mut *tx, user).await?;
            data::users::disable_totp(&mut *tx, user.user_id).await?;
            own_event(&mut *tx, user, "security.second_factor_off").await
        })
    })
    .await
}

/// Locks the user's row and refuses when this session ended meanwhile (a reset, a password
/// changed elsewhere): every change a session makes to its own sign-in takes this first, so it
/// waits for a reset that holds the row and then yields to it, never undoing it.
async fn still_signed_in(
    conn: &mut data::PgConnection,
    user: &SessionUser,
) -> Result<(), ApiError> {
    if data::users::lock_user_in_session(conn, user.user_id, user.session_id).await? {
        Ok(())
    } else {
        Err(ApiError::Unauthenticated {
            code: ProblemCode::SessionInvalid,
            detail: "the session has expired or was signed out; sign in again",
        })
    }
}

/// Audits a change the user made to their own sign-in.
async fn own_event(
    conn: &mut data::PgConnection,
    user: &SessionUser,
    action: &str,
) -> Result<(), ApiError> {
    crate::audit::user_event(
        conn,
        (user.user_id, user.customer_id),
        action,
        ("user", user.user_id.to_string()),
        serde_json::json!({ "username": user.username }),
    )
    .await
}

/// Changes the password and signs every other session out.
pub async fn change_password(
    state: &AppState,
    user: &SessionUser,
    current: String,
    new: String,
    code: Option<&str>,
) -> Result<(), ApiError> {
    // The words an attacker would try first: the username and, for a customer, their name,
    // email and birth year.
    let holder = match user.customer_id {
        Some(id) => {
            crate::unit_of_work::read(state, |conn, _| {
                Box::pin(async move { Ok(data::customers::find_customer(&mut *conn, id).await?) })
            })
            .await?
        }
        None => None,
    };
    let birth_year = holder
        .as_ref()
        .and_then(|h| h.date_of_birth)
        .map(|day| day.year().to_string());
    let mut personal = vec![user.username.as_str()];
    if let Some(holder) = &holder {
        personal.extend([holder.full_name.as_str(), holder.email.as_str()]);
        personal.extend(holder.phone.as_deref());
        personal.extend(holder.id_document.as_deref());
    }
    personal.extend(birth_year.as_deref());
    password::check_policy(&new, &personal)?;
    if new == current {
        return Err(ApiError::invalid(
            ProblemCode::WeakPassword,
            "new_password",
            "choose a password you have not used here",
        ));
    }
    verify_own_password(state, user, current, "current_password").await?;
    // With two-step sign-in on, a password alone (perhaps the one that leaked) changes nothing;
    // a password someone else set is replaced by the session that has just signed in with it
    // and every factor, and nothing else is allowed meanwhile.
    if !user.password_change_due && totp_enabled(state, user.user_id).await? {
        let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
            return Err(ApiError::invalid(
                ProblemCode::ReauthenticationRequired,
                "code",
                "two-step sign-in is on: changing the password needs a current code too",
            ));
        };
        verify_own_code(state, user, code).await?;
    }
    // Checked only once the caller has shown the current password: a check costs a few hashes.
    let (previous, recent) = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            let previous = data::users::previous_password_hashes(&mut *conn, user.user_id).await?;
            let recent = data::users::password_changes_within(&mut *conn, user.user_id, 24).await?;
            Ok((previous, recent))
        })
    })
    .await?;
    // Five quick changes would bring back any old password; a few a day leave room for a
    // mistake, and replacing a password someone else set is always allowed.
    if !user.password_change_due && recent >= PASSWORD_CHANGES_PER_DAY {
        return Err(ApiError::refused(
            ProblemCode::PasswordChangeLimit,
            format!(
                "the password was changed {recent} times in the last 24 hours; \
                 try again tomorrow, or ask the bank to reset it"
            ),
        ));
    }
    if password::matches_any(new.clone(), previous).await? {
        return Err(ApiError::invalid(
            ProblemCode::PasswordReused,
            "new_password",
            "choose a password you have not used here: none of your last four",
        ));
    }
    let hash = password::hash(new).await?;
    let hash = &hash;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            still_signed_in(&mut *tx, user).await?;
            data::users::set_password_hash(&mut *tx, user.user_id, hash).await?;
            data::sessions::revoke_other_sessions(&mut *tx, user.user_id, user.session_id).await?;
            own_event(&mut *tx, user, "security.password_change").await
        })
    })
    .await?;
    tracing::info!(user_id = %user.user_id, "password changed; other sessions signed out");
    Ok(())
}

/// The user's own password, refused as `field` when wrong.
async fn verify_own_password(
    state: &AppState,
    user: &SessionUser,
    password: String,
    field: &'static str,
) -> Result<(), ApiError> {
    // Counted before the check, as a sign-in is: a stolen token buys no password guesses.
    crate::throttle::take_check(state, &user.username, crate::throttle::FAILURES_BEFORE_LOCK)
        .await?;
    let row = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::users::find_user(&mut *conn, user.user_id).await?) })
    })
    .await?
    .ok_or_else(|| ApiError::Internal("signed-in user vanished".into()))?;
    if password.chars().count() > password::PASSWORD_MAX_CHARS
        || !password::verify(password, row.password_hash).await
    {
        return Err(ApiError::invalid(
            ProblemCode::InvalidCurrentPassword,
            field,
            "your current password is not correct",
        ));
    }
    crate::throttle::clear_checks(state, &user.username).await
}

/// A current code of the user's second factor (or a recovery code, which it spends), counted
/// per account before it is checked.
async fn verify_own_code(state: &AppState, user: &SessionUser, code: &str) -> Result<(), ApiError> {
    let key = crate::throttle::second_factor_key(user.user_id);
    crate::throttle::take_check(
        state,
        &key,
        crate::throttle::SECOND_FACTOR_FAILURES_BEFORE_LOCK,
    )
    .await?;
    let accepted = crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let row = data::users::find_user(&mut *tx, user.user_id)
                .await?
                .ok_or_else(|| ApiError::Internal("signed-in user vanished".into()))?;
            let accepted = accept_code(&mut *tx, &state.server_key, &row, code).await?;
            Ok(accepted)
        })
    })
    .await?;
    if !accepted {
        return Err(ApiError::invalid(
            ProblemCode::InvalidSecondFactor,
            "code",
            "the code is not correct",
        ));
    }
    crate::throttle::clear_checks(state, &key).await
}

/// A page of the user's live sessions, newest sign-in first.
pub async fn sessions(
    state: &AppState,
    user: &SessionUser,
    cursor: Option<&str>,
    limit: i64,
) -> Result<SessionListResponse, ApiError> {
    let before = cursor.map(crate::cursor::decode_time).transpose()?;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(data::sessions::list_live_sessions(
                &mut *conn,
                user.user_id,
                state.settings.session_idle_s,
                before,
                limit + 1,
            )
            .await?)
        })
    })
    .await?;
    let (rows, next_cursor) = crate::cursor::page(rows, limit, |row| {
        crate::cursor::encode_time(row.created_at, row.id)
    });
    Ok(SessionListResponse {
        next_cursor,
        sessions: rows
            .into_iter()
            .map(|row| SessionInfo {
                current: row.id == user.session_id,
                id: row.id,
                created_at: row.created_at,
                last_seen_at: row.last_seen_at,
                expires_at: row.expires_at,
                user_agent: row.user_agent,
                client_ip: row.client_ip,
            })
            .collect(),
    })
}

/// The audit actions a user is shown of their own sign-in, and what each is to them.
const ACTIVITY: [(&str, SecurityActivityKind); 7] = [
    ("session.sign_in", SecurityActivityKind::SignedIn),
    ("session.sign_in_failed", SecurityActivityKind::SignInFailed),
    (
        "session.second_factor_failed",
        SecurityActivityKind::SecondFactorFailed,
    ),
    (
        "security.password_change",
        SecurityActivityKind::PasswordChanged,
    ),
    (
        "security.second_factor_on",
        SecurityActivityKind::SecondFactorOn,
    ),
    (
        "security.second_factor_off",
        SecurityActivityKind::SecondFactorOff,
    ),
    ("user.sign_in_reset", SecurityActivityKind::SignInReset),
];

/// What happened to the user's own sign-in, newest first, read from the audit log: sign-ins and
/// failed ones (with where from), changes they made, and resets by the bank's staff. A user who
/// did not do something listed here has someone else's hand on the account.
pub async fn activity(
    state: &AppState,
    user: &SessionUser,
    cursor: Option<&str>,
    limit: i64,
) -> Result<SecurityActivityListResponse, ApiError> {
    let before = cursor.map(crate::cursor::decode_serial).transpose()?;
    let actions = ACTIVITY.map(|(action, _)| action);
    let rows =
        crate::unit_of_work::read(state, |conn, _| {
            Box::pin(async move {
                Ok(data::audit::sign_in_activity(
                    &mut *conn,
                    user.user_id,
                    &actions,
                    before,
                    limit + 1,
                )
                .await?)
            })
        })
        .await?;
    let (rows, next_cursor) =
        crate::cursor::page(rows, limit, |row| crate::cursor::encode_serial(row.id));
    Ok(SecurityActivityListResponse {
        next_cursor,
        activity: rows
            .into_iter()
            .map(|row| SecurityActivity {
                kind: ACTIVITY
                    .iter()
                    .find(|(action, _)| *action == row.action)
                    .map_or(SecurityActivityKind::Unknown, |(_, kind)| *kind),
                occurred_at: row.occurred_at,
                by_bank: row.actor_user_id.is_some_and(|actor| actor != user.user_id),
                client_ip: row.client_ip,
                user_agent: row.user_agent,
            })
            .collect(),
    })
}

pub async fn totp_enabled(state: &AppState, user_id: Uuid) -> Result<bool, ApiError> {
    let row = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::users::find_user(&mut *conn, user_id).await?) })
    })
    .await?;
    Ok(row.is_some_and(|r| r.totp_secret.is_some()))
}

/// [`RECOVERY_CODE_CHARS`] characters drawn uniformly from an unambiguous alphabet (random bytes
/// past the largest multiple of its size are drawn again, so no character is likelier), shown
/// in groups: `xxxxx-xxxxx-xxxxx-xxxxx`.
fn recovery_code() -> String {
    let alphabet = RECOVERY_ALPHABET.len();
    let unbiased_below = 256 - 256 % alphabet;
    let mut chars = Vec::with_capacity(RECOVERY_CODE_CHARS);
    while chars.len() < RECOVERY_CODE_CHARS {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source");
        chars.extend(
            bytes
                .iter()
                .map(|b| usize::from(*b))
                .filter(|b| *b < unbiased_below)
                .map(|b| char::from(RECOVERY_ALPHABET[b % alphabet])),
        );
    }
    chars.truncate(RECOVERY_CODE_CHARS);
    chars
        .chunks(RECOVERY_GROUP_CHARS)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// How long a sent portal form is remembered: longer than any page can live (a portal session
/// ends sooner, and with it the form's CSRF token).
pub const FORM_SUBMISSION_KEPT_S: i64 = 24 * 60 * 60;

/// Length bounds of a form token (22 is 128 random bits in unpadded base64).
const FORM_TOKEN_CHARS: std::ops::RangeInclusive<usize> = 22..=128;

/// Records that the user sent the portal form rendered with `token`, once: the same token again
/// is refused with `form_already_sent`, so the form does not act twice.
pub async fn record_form_submission(
    state: &AppState,
    user: &SessionUser,
    token: &str,
) -> Result<(), ApiError> {
    if !FORM_TOKEN_CHARS.contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            ProblemCode::InvalidField,
            "token",
            "a form token is 22 to 128 printable ASCII characters",
        ));
    }
    let digest = {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes())
    };
    let user_id = user.user_id;
    let first = crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            Ok(data::sessions::record_form_submission(&mut *tx, user_id, &digest).await?)
        })
    })
    .await?;
    if first {
        Ok(())
    } else {
        Err(ApiError::Conflict {
            code: ProblemCode::FormAlreadySent,
            detail: "this form was already sent; it was not acted on again".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_carry_over_80_bits_and_read_back_however_typed() {
        // alphabet ^ length ≥ 2 ^ 80, in integers.
        let alphabet = u128::try_from(RECOVERY_ALPHABET.len()).unwrap();
        let codes = alphabet.checked_pow(u32::try_from(RECOVERY_CODE_CHARS).unwrap());
        assert!(codes.is_none_or(|codes| codes >= 1 << 80), "{codes:?}");
        let code = recovery_code();
        assert_eq!(code.len(), RECOVERY_CODE_CHARS + 3, "{code}");
        assert_eq!(code.matches('-').count(), 3, "{code}");
        let plain = normalise_recovery_code(&code).unwrap();
        assert_eq!(plain.len(), RECOVERY_CODE_CHARS);
        let typed = format!("  {} ", code.to_uppercase().replace('-', " - "));
        assert_eq!(
            normalise_recovery_code(&typed).as_deref(),
            Some(plain.as_str())
        );
        assert_eq!(normalise_recovery_code(&code[..10]), None);
        assert_eq!(normalise_recovery_code(&"0".repeat(20)), None);
        assert_eq!(normalise_recovery_code(&"a".repeat(65)), None);
        assert_ne!(recovery_code(), recovery_code());
    }

    #[test]
    fn every_character_of_the_alphabet_is_drawn_about_equally_often() {
        let mut counts = [0usize; 256];
        for _ in 0..20_000 {
            for b in normalise_recovery_code(&recovery_code()).unwrap().bytes() {
                counts[usize::from(b)] += 1;
            }
        }
        // 400,000 draws over 31 characters: about 12,900 each (a standard deviation of 112).
        // Bytes taken modulo 31 without redrawing would give the first eight characters 9/256
        // each, about 14,060: ten deviations out.
        for &c in RECOVERY_ALPHABET {
            let n = counts[usize::from(c)];
            assert!(
                (12_300..13_500).contains(&n),
                "{} drawn {n} times",
                char::from(c)
            );
        }
    }
}
