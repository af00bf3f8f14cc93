//! The teller's cash drawer: open it with a float, watch its position, move cash to and from the
//! vault, and close it by counting notes and coins.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use bank_api::drawers::{CloseDrawerRequest, Direction, OpenDrawerRequest, VaultTransferRequest};
use serde::Deserialize;

use super::accounts::fields;
use super::outcome::{Sent, after_keyed};
use super::{Messages, new_key, refuse, require};
use crate::error::PageError;
use crate::filters;
use crate::logic::types::{Drawer, DrawerState};
use crate::session::Staff;
use crate::state::AppState;

/// The notes and coins a drawer is counted in (euro and the like).
pub const DENOMINATIONS: [&str; 15] = [
    "500.00", "200.00", "100.00", "50.00", "20.00", "10.00", "5.00", "2.00", "1.00", "0.50",
    "0.20", "0.10", "0.05", "0.02", "0.01",
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/drawer", get(page))
        .route("/staff/drawer/open", post(open))
        .route("/staff/drawer/{id}/position", get(position))
        .route("/staff/drawer/{id}/vault", post(vault))
        .route("/staff/drawer/{id}/close", post(close))
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_drawer.html")]
struct DrawerPage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    open: Option<Drawer>,
    closed: Vec<Drawer>,
    key: String,
    denominations: [&'static str; 15],
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(messages): Query<Messages>,
) -> Result<DrawerPage, PageError> {
    require(&staff, &["teller", "supervisor"])?;
    let list = state.logic.drawers(staff.caller(), 10).await?;
    let (open, closed): (Vec<Drawer>, Vec<Drawer>) = list
        .drawers
        .into_iter()
        .partition(|d| d.state == DrawerState::Open);
    let open = match open.into_iter().next() {
        Some(drawer) => Some(state.logic.drawer(staff.caller(), drawer.id).await?),
        None => None,
    };
    Ok(DrawerPage {
        csrf: staff.csrf(),
        section: "drawer",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        open,
        closed,
        key: new_key(),
        denominations: DENOMINATIONS,
        error: messages.error(),
        notice: messages.notice(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_drawer_position.html")]
struct PositionFragment {
    drawer: Drawer,
}

/// The drawer's position, refreshed in place by htmx while the page is open.
async fn position(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<PositionFragment, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    Ok(PositionFragment {
        drawer: state.logic.drawer(staff.caller(), id).await?,
    })
}

#[derive(Deserialize)]
struct OpenForm {
    currency: String,
    opening_float: String,
    idempotency_key: String,
}

async fn open(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<OpenForm>,
) -> Result<Response, PageError> {
    let opening_float = match crate::pages::typed_amount(&form.opening_float) {
        Ok(amount) => amount,
        Err(code) => return refuse("/staff/drawer", code),
    };
    let sent = Sent::new(
        "/staff/drawer/open",
        "/staff/drawer",
        &format!(
            "Drawer opening with {} {}",
            form.opening_float, form.currency
        ),
        fields([
            ("currency", &form.currency),
            ("opening_float", &form.opening_float),
            ("idempotency_key", &form.idempotency_key),
        ]),
    );
    let request = OpenDrawerRequest {
        currency: form.currency,
        opening_float,
    };
    let answer = state
        .logic
        .open_drawer(staff.caller(), &form.idempotency_key, &request)
        .await;
    after_keyed(&staff, answer, sent, "drawer_opened")
}

#[derive(Deserialize)]
struct VaultForm {
    direction: String,
    amount: String,
    idempotency_key: String,
}

async fn vault(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<VaultForm>,
) -> Result<Response, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let Some(direction) = Direction::parse(&form.direction) else {
        return refuse("/staff/drawer", "unknown_choice");
    };
    let request = VaultTransferRequest {
        direction,
        amount: match crate::pages::typed_amount(&form.amount) {
            Ok(amount) => amount,
            Err(code) => return refuse("/staff/drawer", code),
        },
    };
    let sent = Sent::new(
        &format!("/staff/drawer/{id}/vault"),
        "/staff/drawer",
        &format!(
            "Vault transfer of {} {}",
            request.amount,
            if request.direction == Direction::ToVault {
                "to the vault"
            } else {
                "from the vault"
            }
        ),
        fields([
            ("direction", &form.direction),
            ("amount", &form.amount),
            ("idempotency_key", &form.idempotency_key),
        ]),
    );
    let answer = state
        .logic
        .vault_transfer(staff.caller(), id, &form.idempotency_key, &request)
        .await;
    after_keyed(&staff, answer, sent, "posted")
}

async fn close(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let mut key = String::new();
    let mut denominations = std::collections::BTreeMap::new();
    for (name, value) in &form {
        if name == "idempotency_key" {
            key.clone_from(value);
        } else if let Some(denomination) = name.strip_prefix("count_") {
            let value = value.trim();
            let pieces: u32 = if value.is_empty() {
                0
            } else {
                match value.parse() {
                    Ok(pieces) => pieces,
                    Err(_) => {
                        return refuse("/staff/drawer", "invalid_count");
                    }
                }
            };
            denominations.insert(denomination.to_owned(), pieces);
        }
    }
    let request = CloseDrawerRequest { denominations };
    let answer = state
        .logic
        .close_drawer(staff.caller(), id, &key, &request)
        .await;
    let sent = Sent::new(
        &format!("/staff/drawer/{id}/close"),
        "/staff/drawer",
        "Drawer closing",
        form.into_iter()
            .filter(|(name, _)| name != "csrf_token")
            .collect(),
    );
    after_keyed(&staff, answer, sent, "drawer_closed")
}
