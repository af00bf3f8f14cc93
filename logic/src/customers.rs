//! Customers: onboarding and edits by staff (audited with before and after), search, profiles,
//! recent activity and daily transfer limits.

use bank_api::ProblemCode;
use data::customers::NewCustomer;
use data::users::Role;
use rust_decimal::Decimal;
use time::Date;
use uuid::Uuid;

use crate::auth::SessionUser;
use crate::domain::text;
use crate::error::ApiError;
use crate::identity::FirstPassword;
use crate::state::AppState;
use crate::wire::FromData;
use crate::wire::{
    ActivityListResponse, ActivityResponse, CustomerListResponse, CustomerResponse,
    DailyLimitResponse,
};

/// Longest name accepted, as in the `customers.full_name` column.
const FULL_NAME_MAX_CHARS: usize = 200;
/// Shortest search text: fewer characters match too many customers to be useful.
const SEARCH_MIN_CHARS: usize = 2;

/// A customer's identity fields, validated.
#[derive(Debug, Clone)]
pub struct Identity {
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<Date>,
    pub address: Option<String>,
    pub id_document: Option<IdentityDocument>,
}

/// An identity document as recorded: its kind, the country that issued it, its number and the
/// day it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityDocument {
    pub kind: Option<DocumentKind>,
    pub country: Option<String>,
    pub number: String,
    pub expires: Option<Date>,
}

pub use bank_api::customers::DocumentKind;

pub use bank_api::customers::IdentityFields;

fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

impl Identity {
    pub fn parse(fields: &IdentityFields) -> Result<Self, ApiError> {
        let today = time::OffsetDateTime::now_utc().date();
        if let Some(born) = fields.date_of_birth
            && (born > today || born.year() < today.year() - 130)
        {
            return Err(ApiError::invalid(
                ProblemCode::InvalidField,
                "date_of_birth",
                "the date of birth is in the past, and no more than 130 years ago",
            ));
        }
        Ok(Self {
            full_name: text::required("full_name", &fields.full_name, FULL_NAME_MAX_CHARS)?,
            email: text::email(&fields.email)?,
            phone: present(fields.phone.as_deref())
                .map(text::phone)
                .transpose()?,
            date_of_birth: fields.date_of_birth,
            address: present(fields.address.as_deref())
                .map(text::address)
                .transpose()?,
            id_document: document(fields, today)?,
        })
    }

    fn row(&self, id: Uuid) -> NewCustomer<'_> {
        let document = self.id_document.as_ref();
        NewCustomer {
            id,
            full_name: &self.full_name,
            email: &self.email,
            phone: self.phone.as_deref(),
            date_of_birth: self.date_of_birth,
            address: self.address.as_deref(),
            id_document: document.map(|d| d.number.as_str()),
            id_document_kind: document.and_then(|d| d.kind).map(DocumentKind::as_str),
            id_document_country: document.and_then(|d| d.country.as_deref()),
            id_document_expires: document.and_then(|d| d.expires),
        }
    }
}

/// The identity document a request describes: a number alone (as recorded before documents had
/// kinds), or a number with its kind, issuing country and expiry, all four, unexpired.
fn document(fields: &IdentityFields, today: Date) -> Result<Option<IdentityDocument>, ApiError> {
    let number = present(fields.id_document.as_deref())
        .map(text::id_document)
        .transpose()?;
    let country = present(fields.id_document_country.as_deref());
    let described = fields.id_document_kind.is_some()
        || country.is_some()
        || fields.id_document_expires.is_some();
    let Some(number) = number else {
        if described {
            return Err(missing("id_document", "enter the document's number"));
        }
        return Ok(None);
    };
    if !described {
        return Ok(Some(IdentityDocument {
            kind: None,
            country: None,
            number,
            expires: None,
        }));
    }
    let kind = match fields.id_document_kind {
        Some(DocumentKind::Unknown) | None => {
            return Err(missing(
                "id_document_kind",
                "say what the document is: passport, national_id or driving_licence",
            ));
        }
        Some(kind) => kind,
    };
    let country = match country {
        Some(code) if crate::domain::countries::is_country(&code.to_ascii_uppercase()) => {
            code.to_ascii_uppercase()
        }
        _ => {
            return Err(missing(
                "id_document_country",
                "the issuing country is its two-letter ISO 3166 code, such as GB (XK for Kosovo)",
            ));
        }
    };
    let expires = match fields.id_document_expires {
        Some(day) if day > today => day,
        Some(_) => {
            return Err(missing(
                "id_document_expires",
                "this document has expired: ask for one that is valid",
            ));
        }
        None => {
            return Err(missing(
                "id_document_expires",
                "enter the day the document expires",
            ));
        }
    };
    Ok(Some(IdentityDocument {
        kind: Some(kind),
        country: Some(country),
        number,
        expires: Some(expires),
    }))
}

fn missing(field: &'static str, detail: &str) -> ApiError {
    ApiError::invalid(ProblemCode::InvalidField, field, detail.to_owned())
}

/// What a customer still lacks before an account can be opened for them: the fields of a
/// complete, unexpired identity, by name; empty when nothing does.
pub fn identity_gaps(customer: &data::customers::CustomerRow, today: Date) -> Vec<&'static str> {
    let mut gaps = Vec::new();
    if customer.date_of_birth.is_none() {
        gaps.push("date_of_birth");
    }
    if customer.address.is_none() {
        gaps.push("address");
    }
    if customer.id_document.is_none() {
        gaps.push("id_document");
    }
    if customer.id_document_kind.is_none() {
        gaps.push("id_document_kind");
    }
    if customer.id_document_country.is_none() {
        gaps.push("id_document_country");
    }
    if customer.id_document_expires.is_none_or(|day| day <= today) {
        gaps.push("id_document_expires");
    }
    gaps
}

/// The refusal of a document another customer holds, naming that customer for the teller.
fn document_taken(existing: Uuid) -> ApiError {
    ApiError::Conflict {
        code: ProblemCode::IdentityDocumentTaken,
        detail: format!("customer {existing} has this identity document"),
    }
}

/// Refuses a document that identifies another customer than `id`.
async fn check_document_free(
    conn: &mut data::PgConnection,
    identity: &Identity,
    id: Uuid,
) -> Result<(), ApiError> {
    let Some(IdentityDocument {
        country: Some(country),
        number,
        ..
    }) = &identity.id_document
    else {
        return Ok(());
    };
    match data::customers::find_by_document(conn, (country, number)).await? {
        Some(existing) if existing.id != id => Err(document_taken(existing.id)),
        _ => Ok(()),
    }
}

/// A parsed onboarding request.
#[derive(Debug, Clone)]
pub struct Onboarding {
    pub identity: Identity,
    /// The customer's sign-in for the web banking portal, if they get one now.
    pub login: Option<(String, String)>,
    /// Who chose the first password: the teller, normally, so the customer replaces it.
    pub first_password: FirstPassword,
}

impl Onboarding {
    pub fn parse(fields: &IdentityFields, login: Option<(&str, String)>) -> Result<Self, ApiError> {
        let identity = Identity::parse(fields)?;
        Ok(Self {
            login: match login {
                Some((username, password)) => {
                    let birth_year = identity.date_of_birth.map(|day| day.year().to_string());
                    let mut personal = vec![username, &identity.full_name, &identity.email];
                    personal.extend(birth_year.as_deref());
                    personal.extend(identity.phone.as_deref());
                    personal.extend(identity.id_document.as_ref().map(|d| d.number.as_str()));
                    crate::auth::password::check_policy(&password, &personal)?;
                    Some((text::username(username)?, password))
                }
                None => None,
            },
            identity,
            first_password: FirstPassword::ChosenForThem,
        })
    }
}

fn email_taken(e: data::DataError) -> ApiError {
    match e.violation() {
        Some(data::Violation::EmailTaken) => ApiError::Conflict {
            code: ProblemCode::EmailTaken,
            detail: "another customer has this email address".into(),
        },
        // Another onboarding of the same document committed between the check and the insert.
        Some(data::Violation::IdentityDocumentTaken) => ApiError::Conflict {
            code: ProblemCode::IdentityDocumentTaken,
            detail: "another customer has this identity document".into(),
        },
        _ => ApiError::from(e),
    }
}

fn not_found() -> ApiError {
    ApiError::NotFound {
        code: ProblemCode::CustomerNotFound,
        detail: "no such customer",
    }
}

pub async fn onboard(
    state: &AppState,
    staff: &SessionUser,
    request_id: Option<&str>,
    onboarding: &Onboarding,
) -> Result<CustomerResponse, ApiError> {
    staff.require_role(&[Role::Teller, Role::Supervisor, Role::Service])?;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let id = Uuid::now_v7();
            check_document_free(&mut *tx, &onboarding.identity, id).await?;
            data::customers::insert_customer(&mut *tx, &onboarding.identity.row(id))
                .await
                .map_err(email_taken)?;
            if let Some((username, password)) = &onboarding.login {
                crate::identity::new_user(
                    &mut *tx,
                    username,
                    (password.clone(), onboarding.first_password),
                    Role::Customer,
                    Some(id),
                )
                .await?;
            }
            let row = data::customers::find_customer(&mut *tx, id)
                .await?
                .ok_or_else(not_found)?;
            let response = CustomerResponse::from_data(row);
            crate::audit::record(
                &mut *tx,
                Some(staff.user_id),
                request_id,
                crate::audit::Change {
                    action: "customer.create",
                    subject_type: "customer",
                    subject_id: response.id.to_string(),
                    before: None,
                    after: serde_json::to_value(&response).ok(),
                },
            )
            .await?;
            Ok(response)
        })
    })
    .await
}

/// Replaces a customer's identity fields; the audit record keeps both versions.
pub async fn update(
    state: &AppState,
    staff: &SessionUser,
    request_id: Option<&str>,
    id: Uuid,
    identity: &Identity,
) -> Result<CustomerResponse, ApiError> {
    staff.require_role(&[Role::Teller, Role::Supervisor, Role::Service])?;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let before = data::customers::lock_customer(&mut *tx, id)
                .await?
                .map(CustomerResponse::from_data)
                .ok_or_else(not_found)?;
            check_document_free(&mut *tx, identity, id).await?;
            let after = data::customers::update_customer(&mut *tx, &identity.row(id))
                .await
                .map_err(email_taken)?;
            // A customer who holds accounts keeps a complete identity: an edit may correct it,
            // never remove it.
            let today = data::transaction_now(&mut *tx).await?.date();
            let gaps = identity_gaps(&after, today);
            if let Some(first) = gaps.first()
                && !data::accounts::list_customer_accounts(&mut *tx, id, None, 1)
                    .await?
                    .is_empty()
            {
                return Err(ApiError::invalid(
                    ProblemCode::IdentityIncomplete,
                    first,
                    format!(
                        "this customer holds accounts: keep their {} recorded",
                        gaps.join(", ").replace('_', " ")
                    ),
                ));
            }
            let after = CustomerResponse::from_data(after);
            crate::audit::record(
                &mut *tx,
                Some(staff.user_id),
                request_id,
                crate::audit::Change {
                    action: "customer.update",
                    subject_type: "customer",
                    subject_id: id.to_string(),
                    before: serde_json::to_value(&before).ok(),
                    after: serde_json::to_value(&after).ok(),
                },
            )
            .await?;
            Ok(after)
        })
    })
    .await
}

/// Staff find customers by name, email, phone, identity document or account number.
pub async fn search(
    state: &AppState,
    staff: &SessionUser,
    text: &str,
    cursor: Option<&str>,
    limit: i64,
) -> Result<CustomerListResponse, ApiError> {
    staff.require_role(&[Role::Teller, Role::Supervisor, Role::Admin, Role::Service])?;
    let text = text::bounded("q", text, 200)?;
    if text.chars().count() < SEARCH_MIN_CHARS {
        return Err(ApiError::invalid(
            ProblemCode::InvalidQuery,
            "q",
            format!("search with at least {SEARCH_MIN_CHARS} characters"),
        ));
    }
    let after = cursor.map(crate::cursor::decode_text).transpose()?;
    let text = &text;
    let after = &after;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(
                data::customers::search_customers(&mut *conn, text, after.clone(), limit + 1)
                    .await?,
            )
        })
    })
    .await?;
    let (rows, next_cursor) = crate::cursor::page(rows, limit, |row| {
        crate::cursor::encode_text(&row.full_name, row.id)
    });
    Ok(CustomerListResponse {
        customers: rows.into_iter().map(CustomerResponse::from_data).collect(),
        next_cursor,
    })
}

/// A customer's profile: staff see any, a customer sees only their own.
pub async fn profile(
    state: &AppState,
    user: &SessionUser,
    id: Uuid,
) -> Result<CustomerResponse, ApiError> {
    if !user.reaches_every_customer() && user.customer_id != Some(id) {
        return Err(not_found());
    }
    let row = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::customers::find_customer(&mut *conn, id).await?) })
    })
    .await?
    .ok_or_else(not_found)?;
    Ok(CustomerResponse::from_data(row))
}

/// A page of the entries across the customer's accounts, newest first, for staff.
pub async fn activity(
    state: &AppState,
    staff: &SessionUser,
    id: Uuid,
    cursor: Option<&str>,
    limit: i64,
) -> Result<ActivityListResponse, ApiError> {
    staff.require_role(&[Role::Teller, Role::Supervisor, Role::Admin])?;
    let before = cursor.map(crate::cursor::decode_serial).transpose()?;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(data::transfers::customer_recent_entries(&mut *conn, id, before, limit + 1).await?)
        })
    })
    .await?;
    let (rows, next_cursor) = crate::cursor::page(rows, limit, |row| {
        crate::cursor::encode_serial(row.entry.id)
    });
    let entries = rows
        .iter()
        .map(|row| ActivityResponse {
            account: row.account_number.clone(),
            currency: row.currency.clone(),
            entry: crate::wire::entry(
                &row.entry,
                data::accounts::NormalSide::Credit,
                &row.currency,
            ),
        })
        .collect();
    Ok(ActivityListResponse {
        entries,
        next_cursor,
    })
}

/// The customer's daily transfer limits per currency and what they used today.
pub async fn daily_limits(
    state: &AppState,
    user: &SessionUser,
    id: Uuid,
) -> Result<Vec<DailyLimitResponse>, ApiError> {
    if !user.reaches_every_customer() && user.customer_id != Some(id) {
        return Err(not_found());
    }
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            if data::customers::find_customer(&mut *conn, id)
                .await?
                .is_none()
            {
                return Err(not_found());
            }
            Ok(data::limits::customer_daily_limits(&mut *conn, id).await?)
        })
    })
    .await?;
    Ok(rows
        .iter()
        .map(|row| DailyLimitResponse {
            currency: row.currency.clone(),
            daily_limit: crate::domain::money::format_in_scale(row.daily_limit, &row.currency),
            own: row.own,
            used_today: crate::domain::money::format_in_scale(row.used_today, &row.currency),
        })
        .collect())
}

/// Sets a customer's own daily limit in a currency (admins), or with `None` returns them to the
/// bank's limit.
pub async fn set_daily_limit(
    state: &AppState,
    admin: &SessionUser,
    request_id: Option<&str>,
    id: Uuid,
    currency: &crate::domain::Currency,
    limit: Option<&str>,
) -> Result<Vec<DailyLimitResponse>, ApiError> {
    admin.require_role(&[Role::Admin])?;
    let limit = match limit.map(str::trim) {
        None | Some("") => None,
        Some("0") => Some(Decimal::ZERO),
        Some(text) => Some(
            crate::domain::Amount::parse(text, *currency)
                .map_err(|e| {
                    ApiError::invalid(ProblemCode::InvalidAmount, "daily_limit", e.to_string())
                })?
                .value(),
        ),
    };
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            if data::customers::lock_customer(&mut *tx, id)
                .await?
                .is_none()
            {
                return Err(not_found());
            }
            let before = data::limits::customer_daily_limits(&mut *tx, id)
                .await?
                .into_iter()
                .find(|row| row.currency == currency.code());
            data::limits::set_customer_daily_limit(&mut *tx, id, currency.code(), limit).await?;
            let after = data::limits::customer_daily_limits(&mut *tx, id)
                .await?
                .into_iter()
                .find(|row| row.currency == currency.code());
            let describe = |row: Option<data::limits::DailyLimitRow>| {
                row.map(|row| {
                    serde_json::json!({
                        "customer_id": id,
                        "currency": row.currency,
                        "daily_limit": row.daily_limit.to_string(),
                        "own": row.own,
                    })
                })
            };
            crate::audit::record(
                &mut *tx,
                Some(admin.user_id),
                request_id,
                crate::audit::Change {
                    action: "customer.daily_limit",
                    subject_type: "customer",
                    subject_id: id.to_string(),
                    before: describe(before),
                    after: describe(after),
                },
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    daily_limits(state, admin, id).await
}
