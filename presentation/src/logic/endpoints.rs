//! The logic tier's endpoints the customer portal calls, one method each, with the contract's
//! request and answer types: a path is spelt once, here, and a body cannot be built with a field
//! the logic tier does not read.

use bank_api::AccountNumber;
use bank_api::payees::AddPayeeRequest;
use bank_api::sessions::{
    ChangePasswordRequest, ConfirmTotpRequest, DisableTotpRequest, EnrolTotpRequest,
    SecondFactorRequest,
};
use bank_api::transfers::TransferRequest;
use time::Date;
use uuid::Uuid;

use super::types::{
    Account, AccountList, Cluster, CustomerProfile, History, Me, Payee, PayeeList, RecoveryCodes,
    Session, SessionInfo, SessionList, Statement, TotpEnrolment, Transfer,
};
use super::{Caller, Logic, LogicError};

/// A query value, percent-encoded.
fn encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Logic {
    /// `GET /v1/accounts`, every page: the caller's own accounts.
    pub async fn my_accounts(&self, caller: Caller<'_>) -> Result<Vec<Account>, LogicError> {
        self.get_all::<AccountList>("/v1/accounts?limit=100", caller)
            .await
    }

    /// `GET /v1/accounts/{number}`.
    pub async fn account(
        &self,
        caller: Caller<'_>,
        number: &AccountNumber,
    ) -> Result<Account, LogicError> {
        self.get(&format!("/v1/accounts/{number}"), caller).await
    }

    /// `GET /v1/accounts/{number}/entries`: a page of `limit` entries, newest first; `query` is
    /// the filter's own query string (dates, direction, cursor), already encoded.
    pub async fn entries(
        &self,
        caller: Caller<'_>,
        number: &AccountNumber,
        limit: u32,
        query: &str,
    ) -> Result<History, LogicError> {
        self.get(
            &format!("/v1/accounts/{number}/entries?limit={limit}&{query}"),
            caller,
        )
        .await
    }

    /// `GET /v1/accounts/{number}/statement` for the days `from` to `to`.
    pub async fn statement(
        &self,
        caller: Caller<'_>,
        number: &AccountNumber,
        from: Date,
        to: Date,
    ) -> Result<Statement, LogicError> {
        self.get(
            &format!("/v1/accounts/{number}/statement?from={from}&to={to}"),
            caller,
        )
        .await
    }

    /// `POST /v1/transfers` under the idempotency key `key`.
    pub async fn transfer(
        &self,
        caller: Caller<'_>,
        key: &str,
        request: &TransferRequest,
    ) -> Result<Transfer, LogicError> {
        self.post_idempotent("/v1/transfers", caller, key, request)
            .await
    }

    /// `GET /v1/transfers?idempotency_key=…`: the transfer made under `key`, if one was.
    pub async fn transfer_by_key(
        &self,
        caller: Caller<'_>,
        key: &str,
    ) -> Result<Transfer, LogicError> {
        self.get(
            &format!("/v1/transfers?idempotency_key={}", encoded(key)),
            caller,
        )
        .await
    }

    /// `GET /v1/payees`, every page.
    pub async fn payees(&self, caller: Caller<'_>) -> Result<Vec<Payee>, LogicError> {
        self.get_all::<PayeeList>("/v1/payees?limit=100", caller)
            .await
    }

    /// `POST /v1/payees`.
    pub async fn add_payee(
        &self,
        caller: Caller<'_>,
        request: &AddPayeeRequest,
    ) -> Result<Payee, LogicError> {
        Ok(self.post("/v1/payees", caller, request).await?.1)
    }

    /// `DELETE /v1/payees/{id}`.
    pub async fn remove_payee(&self, caller: Caller<'_>, id: Uuid) -> Result<(), LogicError> {
        self.delete(&format!("/v1/payees/{id}"), caller).await
    }

    /// `GET /v1/me`.
    pub async fn me(&self, caller: Caller<'_>) -> Result<Me, LogicError> {
        self.get("/v1/me", caller).await
    }

    /// `GET /v1/me/sessions`, every page.
    pub async fn my_sessions(&self, caller: Caller<'_>) -> Result<Vec<SessionInfo>, LogicError> {
        self.get_all::<SessionList>("/v1/me/sessions?limit=100", caller)
            .await
    }

    /// `POST /v1/me/password`.
    pub async fn change_password(
        &self,
        caller: Caller<'_>,
        request: &ChangePasswordRequest,
    ) -> Result<(), LogicError> {
        self.post::<_, serde_json::Value>("/v1/me/password", caller, request)
            .await
            .map(drop)
    }

    /// `POST /v1/me/totp`: a new secret, not yet in force.
    pub async fn enrol_totp(&self, caller: Caller<'_>) -> Result<TotpEnrolment, LogicError> {
        let request = EnrolTotpRequest::default();
        Ok(self.post("/v1/me/totp", caller, &request).await?.1)
    }

    /// `POST /v1/me/totp/confirm`: puts the secret in force; answers the recovery codes.
    pub async fn confirm_totp(
        &self,
        caller: Caller<'_>,
        request: &ConfirmTotpRequest,
    ) -> Result<RecoveryCodes, LogicError> {
        Ok(self.post("/v1/me/totp/confirm", caller, request).await?.1)
    }

    /// `POST /v1/me/totp/disable`.
    pub async fn disable_totp(
        &self,
        caller: Caller<'_>,
        request: &DisableTotpRequest,
    ) -> Result<(), LogicError> {
        self.post::<_, serde_json::Value>("/v1/me/totp/disable", caller, request)
            .await
            .map(drop)
    }

    /// `POST /v1/sessions/second-factor`: completes a sign-in a second factor was asked for.
    pub async fn second_factor(
        &self,
        caller: Caller<'_>,
        request: &SecondFactorRequest,
    ) -> Result<Session, LogicError> {
        Ok(self
            .post("/v1/sessions/second-factor", caller, request)
            .await?
            .1)
    }

    /// `DELETE /v1/sessions`: signs the caller out everywhere.
    pub async fn sign_out_everywhere(&self, caller: Caller<'_>) -> Result<(), LogicError> {
        self.delete("/v1/sessions", caller).await
    }

    /// `DELETE /v1/sessions/current`.
    pub async fn sign_out(&self, caller: Caller<'_>) -> Result<(), LogicError> {
        self.delete("/v1/sessions/current", caller).await
    }

    /// `GET /v1/customers/{id}`.
    pub async fn customer(
        &self,
        caller: Caller<'_>,
        id: Uuid,
    ) -> Result<CustomerProfile, LogicError> {
        self.get(&format!("/v1/customers/{id}"), caller).await
    }

    /// `GET /v1/admin/cluster`.
    pub async fn cluster(&self, caller: Caller<'_>) -> Result<Cluster, LogicError> {
        self.get("/v1/admin/cluster", caller).await
    }
}
