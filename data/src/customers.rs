//! Customers: the people the bank holds money for.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerRow {
    pub id: Uuid,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<Date>,
    pub created_at: OffsetDateTime,
    /// The customer's portal sign-in, if they have one.
    pub username: Option<String>,
    pub address: Option<String>,
    pub id_document: Option<String>,
    pub updated_at: Option<OffsetDateTime>,
    /// `passport`, `national_id` or `driving_licence`.
    pub id_document_kind: Option<String>,
    /// ISO 3166-1 alpha-2 code of the country that issued the document.
    pub id_document_country: Option<String>,
    pub id_document_expires: Option<Date>,
}

#[derive(Debug)]
pub struct NewCustomer<'a> {
    pub id: Uuid,
    pub full_name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub date_of_birth: Option<Date>,
    pub address: Option<&'a str>,
    pub id_document: Option<&'a str>,
    pub id_document_kind: Option<&'a str>,
    pub id_document_country: Option<&'a str>,
    pub id_document_expires: Option<Date>,
}

macro_rules! customer_query {
    ($tail:literal) => {
        concat!(
            "SELECT c.id, c.full_name, c.email, c.phone, c.date_of_birth, c.created_at,
    (SELECT u.username FROM users u WHERE u.customer_id = c.id ORDER BY u.created_at LIMIT 1)
        AS username,
    c.address, c.id_document, c.updated_at, c.id_document_kind, c.id_document_country,
    c.id_document_expires FROM customers c",
            " ",
            $tail
        )
    };
}

pub async fn insert_customer(
    conn: &mut PgConnection,
    new: &NewCustomer<'_>,
) -> Result<CustomerRow, DataError> {
    sqlx::query_as(
        "INSERT INTO customers (id, full_name, email, phone, date_of_birth, address, id_document,
                                id_document_kind, id_document_country, id_document_expires)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING id, full_name, email, phone, date_of_birth, created_at, NULL::text AS username,
                   address, id_document, updated_at, id_document_kind, id_document_country,
                   id_document_expires",
    )
    .bind(new.id)
    .bind(new.full_name)
    .bind(new.email)
    .bind(new.phone)
    .bind(new.date_of_birth)
    .bind(new.address)
    .bind(new.id_document)
    .bind(new.id_document_kind)
    .bind(new.id_document_country)
    .bind(new.id_document_expires)
    .fetch_one(conn)
    .await
    .classify()
}

/// The customer identified by this document (issuing country and number, separators aside, as
/// `customers_identity_document_key` compares them), if one is.
pub async fn find_by_document(
    conn: &mut PgConnection,
    (country, number): (&str, &str),
) -> Result<Option<CustomerRow>, DataError> {
    sqlx::query_as(customer_query!(
        "WHERE c.id_document_country = $1
           AND replace(c.id_document, '-', '') = replace($2, '-', '')"
    ))
    .bind(country)
    .bind(number)
    .fetch_optional(conn)
    .await
    .classify()
}

pub async fn find_customer(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<CustomerRow>, DataError> {
    sqlx::query_as(customer_query!("WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// Locks a customer's row for an edit.
pub async fn lock_customer(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<CustomerRow>, DataError> {
    sqlx::query_as(customer_query!("WHERE c.id = $1 FOR UPDATE OF c"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// Replaces a customer's identity fields; [`crate::Violation::EmailTaken`] if the new email
/// address is another customer's, [`crate::Violation::IdentityDocumentTaken`] if the document
/// is.
pub async fn update_customer(
    conn: &mut PgConnection,
    changed: &NewCustomer<'_>,
) -> Result<CustomerRow, DataError> {
    sqlx::query(
        "UPDATE customers SET full_name = $2, email = $3, phone = $4, date_of_birth = $5,
                              address = $6, id_document = $7, id_document_kind = $8,
                              id_document_country = $9, id_document_expires = $10,
                              updated_at = now()
         WHERE id = $1",
    )
    .bind(changed.id)
    .bind(changed.full_name)
    .bind(changed.email)
    .bind(changed.phone)
    .bind(changed.date_of_birth)
    .bind(changed.address)
    .bind(changed.id_document)
    .bind(changed.id_document_kind)
    .bind(changed.id_document_country)
    .bind(changed.id_document_expires)
    .execute(&mut *conn)
    .await
    .classify()?;
    sqlx::query_as(customer_query!("WHERE c.id = $1"))
        .bind(changed.id)
        .fetch_one(conn)
        .await
        .classify()
}

/// Customers matching `text`: part of the name or email (any case), the phone number with spaces
/// ignored, the identity document, or the number of one of their accounts. A page in order of
/// name, then id: up to `limit` after the place `after` of the last one read.
pub async fn search_customers(
    conn: &mut PgConnection,
    text: &str,
    after: Option<(String, Uuid)>,
    limit: i64,
) -> Result<Vec<CustomerRow>, DataError> {
    let pattern = crate::like_pattern(text);
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let (after_name, after_id) = after.unzip();
    sqlx::query_as(customer_query!(
        "WHERE (c.full_name ILIKE $1 OR c.email ILIKE $1
            OR ($2 <> '' AND length($2) >= 4 AND replace(c.phone, ' ', '') LIKE '%' || $2 || '%')
            OR upper(c.id_document) = upper($3)
            OR EXISTS (SELECT 1 FROM accounts a WHERE a.customer_id = c.id AND a.number = $2))
           AND ($4::text IS NULL OR (c.full_name, c.id) > ($4, $5))
         ORDER BY c.full_name, c.id
         LIMIT $6"
    ))
    .bind(pattern)
    .bind(digits)
    .bind(text)
    .bind(after_name)
    .bind(after_id)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}
