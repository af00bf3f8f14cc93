//! The audit log for supervisors and admins: search, and verify the chain end to end.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{query_value, require};
use crate::error::PageError;
use crate::filters;
use crate::logic::types::{AuditRecord, Verification};
use crate::session::Staff;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/audit", get(search))
        .route("/staff/audit/export.csv", get(export))
        .route("/staff/audit/verify", post(verify))
}

#[derive(Debug, Default, Clone, Deserialize)]
struct SearchForm {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

impl SearchForm {
    fn query(&self) -> String {
        let mut query = String::new();
        for (name, value) in [
            ("actor", &self.actor),
            ("customer_id", &self.customer_id),
            ("account", &self.account),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            let value = value.trim();
            if !value.is_empty() {
                query.push_str(&format!("&{name}={}", query_value(value)));
            }
        }
        query
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_audit.html")]
struct AuditPage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    form: SearchForm,
    records: Vec<Entry>,
    /// The same search as a CSV download.
    export: String,
    next: Option<String>,
    verification: Option<Verification>,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

async fn page(
    state: &AppState,
    staff: &Staff,
    form: SearchForm,
    verification: Option<Verification>,
) -> Result<AuditPage, PageError> {
    require(staff, &["supervisor", "admin"])?;
    let filters = form.query();
    let cursor = if form.cursor.is_empty() {
        String::new()
    } else {
        format!("&cursor={}", query_value(&form.cursor))
    };
    let (records, next, error) = match state
        .logic
        .audit(staff.caller(), &format!("{filters}{cursor}"))
        .await
    {
        Ok(list) => (
            list.records,
            list.next_cursor.map(|c| {
                format!(
                    "/staff/audit?{}&cursor={}",
                    filters.trim_start_matches('&'),
                    query_value(&c)
                )
            }),
            None,
        ),
        Err(crate::logic::LogicError::Problem(problem)) if problem.status == 422 => {
            (Vec::new(), None, Some(super::refusal_words(problem.code)))
        }
        Err(error) => return Err(error.into()),
    };
    let export = format!(
        "/staff/audit/export.csv?{}",
        filters.trim_start_matches('&')
    );
    Ok(AuditPage {
        csrf: staff.csrf(),
        section: "audit",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        form,
        records: records.into_iter().map(Entry::from).collect(),
        export,
        next,
        verification,
        error,
        notice: None,
    })
}

async fn search(
    State(state): State<AppState>,
    staff: Staff,
    Query(form): Query<SearchForm>,
) -> Result<AuditPage, PageError> {
    page(&state, &staff, form, None).await
}

/// Checks the whole chain and ledger now and shows the result above the log.
async fn verify(State(state): State<AppState>, staff: Staff) -> Result<AuditPage, PageError> {
    require(&staff, &["supervisor", "admin"])?;
    let verification = state.logic.verify_audit(staff.caller()).await?;
    page(&state, &staff, SearchForm::default(), Some(verification)).await
}

/// One field of a record as it changed: its value before and after (absent when it had none).
pub struct Change {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// An audit record as a person reads it: who did what to what, and what changed.
pub struct Entry {
    pub record: AuditRecord,
    /// Only the fields whose value differs between before and after; every field when the
    /// record created or removed its subject.
    pub changes: Vec<Change>,
}

impl Entry {
    /// Who acted: the member of staff or customer, or the bank's own service; for a wrong
    /// password, whoever typed it, who is not known.
    pub fn who(&self) -> &str {
        if self.record.action == "session.sign_in_failed" {
            return "unknown (a wrong password)";
        }
        self.record
            .actor
            .as_deref()
            .or(self.record.actor_service.as_deref())
            .unwrap_or("")
    }

    /// The changes on one line, for a CSV cell.
    fn changes_line(&self) -> String {
        self.changes
            .iter()
            .map(|c| match (&c.before, &c.after) {
                (Some(before), Some(after)) => format!("{}: {before} → {after}", c.field),
                (None, Some(after)) => format!("{}: {after}", c.field),
                (Some(before), None) => format!("{}: {before} → (none)", c.field),
                (None, None) => c.field.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl From<AuditRecord> for Entry {
    fn from(record: AuditRecord) -> Self {
        let changes = changes(record.before.as_ref(), record.after.as_ref());
        Self { record, changes }
    }
}

/// A value as it reads in a cell: text as it is, anything else as compact JSON.
fn shown(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// The fields that differ between `before` and `after`, by name.
fn changes(before: Option<&serde_json::Value>, after: Option<&serde_json::Value>) -> Vec<Change> {
    let empty = serde_json::Map::new();
    let (old, new) = (
        before.and_then(serde_json::Value::as_object),
        after.and_then(serde_json::Value::as_object),
    );
    let (old_fields, new_fields) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let mut names: Vec<&String> = new_fields.keys().collect();
    names.extend(old_fields.keys().filter(|k| !new_fields.contains_key(*k)));
    names
        .into_iter()
        // A field set to null reads as one not set.
        .filter(|name| {
            let before = old_fields.get(*name).filter(|v| !v.is_null());
            let after = new_fields.get(*name).filter(|v| !v.is_null());
            before != after
        })
        .map(|name| Change {
            field: name.replace('_', " "),
            before: old_fields.get(name).and_then(shown),
            after: new_fields.get(name).and_then(shown),
        })
        .collect()
}

/// Records exported in one download at most: twenty pages of the log.
const EXPORT_PAGES_MAX: usize = 20;

/// The search as a CSV file: up to [`EXPORT_PAGES_MAX`] pages of it, newest first.
async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Query(form): Query<SearchForm>,
) -> Result<axum::response::Response, PageError> {
    use axum::response::IntoResponse;
    require(&staff, &["supervisor", "admin"])?;
    let filters = form.query();
    let mut rows = vec![crate::statement::csv_line(&[
        "id",
        "occurred_at",
        "who",
        "action",
        "subject_type",
        "subject_id",
        "changes",
        "request_id",
    ])];
    let mut cursor = String::new();
    let mut complete = false;
    for _ in 0..EXPORT_PAGES_MAX {
        let page = state
            .logic
            .audit(staff.caller(), &format!("{filters}{cursor}"))
            .await?;
        for record in page.records {
            let entry = Entry::from(record);
            let r = &entry.record;
            rows.push(crate::statement::csv_line(&[
                &r.id.to_string(),
                &r.occurred_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                entry.who(),
                &r.action,
                &r.subject_type,
                &r.subject_id,
                &entry.changes_line(),
                r.request_id.as_deref().unwrap_or_default(),
            ]));
        }
        match page.next_cursor {
            Some(next) => cursor = format!("&cursor={}", query_value(&next)),
            None => {
                complete = true;
                break;
            }
        }
    }
    if !complete {
        // Never taken for the whole log: the file says where it stops.
        rows.push(crate::statement::csv_line(&[
            "",
            "",
            "",
            "export truncated",
            "",
            "",
            "more records match: narrow the search (a shorter period) to export them",
            "",
        ]));
    }
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        rows.concat(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_lists_only_what_differs_and_a_creation_everything() {
        let before = serde_json::json!({ "status": "open", "name": "Everyday", "reason": null });
        let after =
            serde_json::json!({ "status": "frozen", "name": "Everyday", "reason": "Lost card" });
        let listed: Vec<(String, Option<String>, Option<String>)> =
            changes(Some(&before), Some(&after))
                .into_iter()
                .map(|c| (c.field, c.before, c.after))
                .collect();
        assert_eq!(
            listed,
            [
                ("reason".into(), None, Some("Lost card".into())),
                ("status".into(), Some("open".into()), Some("frozen".into())),
            ]
        );
        assert_eq!(changes(None, Some(&after)).len(), 3);
        assert_eq!(changes(Some(&before), None).len(), 2);
    }
}
