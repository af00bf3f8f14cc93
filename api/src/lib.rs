//! The contract between the portal and the logic tier, shared so that the two cannot drift: the
//! request and response bodies of the logic API, one module per feature; every refusal's
//! [`ProblemCode`]; the values both read the same way (an [`AccountNumber`] with its check digit,
//! an [`Amount`] in its [`Currency`]'s decimal places, from one table); and (feature `server`) the
//! request [`metrics`] both servers record and their log and traces ([`telemetry`]). It holds no
//! business rule and never touches the database.
//!
//! Enumerations a response carries have a catch-all, `Unknown`: a portal built before the logic
//! tier learnt a new value reads it rather than failing the whole page. The logic tier never sends
//! it (it cannot be serialised) and no request accepts it.

/// An enumeration of the contract: each value with its label on the wire, `as_str`, `Display`,
/// `ALL` (every known value) and the catch-all `Unknown` for values a newer logic tier may send.
macro_rules! values {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $label:tt,)+ }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $label)] $variant,)+
            /// A value this build does not know: read, never sent.
            #[serde(other, skip_serializing)]
            Unknown,
        }

        impl $name {
            /// Every value this build knows.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The known value whose label is `label`; `None` for any other text.
            pub fn parse(label: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == label)
            }

            /// The value's label on the wire; `unknown` for the catch-all.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                    $name::Unknown => "unknown",
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod account_number;
pub mod accounts;
pub mod admin;
pub mod approvals;
pub mod audit;
pub mod cluster;
pub mod customers;
pub mod drawers;
pub mod events;
pub mod money;
pub mod payees;
pub mod problem;
pub mod sessions;
pub mod transfers;

#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod telemetry;

pub use account_number::AccountNumber;
pub use money::{Amount, Currency};
pub use problem::ProblemCode;

/// The longest memo (reference) a transfer carries, in characters.
pub const MEMO_MAX_CHARS: usize = 140;

/// Lists are read a page at a time: `next_cursor` leads to the next page.
pub trait Page {
    type Item;
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>);
}

macro_rules! paged {
    ($($list:ty => $field:ident: $item:ty,)+) => {
        $(impl Page for $list {
            type Item = $item;
            fn into_parts(self) -> (Vec<$item>, Option<String>) {
                (self.$field, self.next_cursor)
            }
        })+
    };
}

paged! {
    accounts::AccountListResponse => accounts: accounts::AccountResponse,
    accounts::ActivityListResponse => entries: accounts::ActivityResponse,
    accounts::HoldListResponse => holds: accounts::HoldResponse,
    admin::StaffListResponse => staff: admin::StaffResponse,
    admin::ApiKeyListResponse => api_keys: admin::ApiKeyResponse,
    approvals::ApprovalListResponse => approvals: approvals::ApprovalResponse,
    customers::CustomerListResponse => customers: customers::CustomerResponse,
    drawers::DrawerListResponse => drawers: drawers::DrawerResponse,
    payees::PayeeListResponse => payees: payees::PayeeResponse,
    sessions::SessionListResponse => sessions: sessions::SessionInfo,
    transfers::PendingTransferListResponse => pending_transfers: transfers::PendingTransferResponse,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each value's label on the wire, read back: what `as_str` says is what serde writes, what
    /// the document lists, and what reads back as the same value.
    fn labels_round_trip<T>(values: &[T])
    where
        T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + serde::Serialize,
        T: serde::de::DeserializeOwned + utoipa::ToSchema,
    {
        let schema = serde_json::to_value(T::schema()).unwrap();
        let documented: Vec<String> = serde_json::from_value(schema["enum"].clone()).unwrap();
        let labels: Vec<String> = values.iter().map(ToString::to_string).collect();
        assert_eq!(documented, labels, "{} documents its labels", T::name());
        for (value, label) in values.iter().zip(&labels) {
            assert_eq!(serde_json::to_value(value).unwrap(), label.as_str());
            let read: T = serde_json::from_value(label.as_str().into()).unwrap();
            assert_eq!(read, *value);
        }
    }

    #[test]
    fn every_enumeration_writes_documents_and_reads_its_labels() {
        labels_round_trip(transfers::TransferKind::ALL);
        labels_round_trip(transfers::TransferStatus::ALL);
        labels_round_trip(transfers::PendingStatus::ALL);
        labels_round_trip(accounts::AccountKind::ALL);
        labels_round_trip(accounts::AccountStatus::ALL);
        labels_round_trip(accounts::Product::ALL);
        labels_round_trip(accounts::FreezeScope::ALL);
        labels_round_trip(accounts::HoldState::ALL);
        labels_round_trip(sessions::Role::ALL);
        labels_round_trip(approvals::ApprovalKind::ALL);
        labels_round_trip(approvals::ApprovalStatus::ALL);
        labels_round_trip(drawers::DrawerState::ALL);
        labels_round_trip(admin::StaffRole::ALL);
        labels_round_trip(admin::Scope::ALL);
        labels_round_trip(transfers::NameMatch::ALL);
        labels_round_trip(customers::DocumentKind::ALL);
    }

    #[test]
    fn a_value_this_build_does_not_know_reads_as_unknown_and_is_never_written() {
        let read: accounts::AccountStatus = serde_json::from_value("dormant".into()).unwrap();
        assert_eq!(read, accounts::AccountStatus::Unknown);
        assert!(serde_json::to_value(accounts::AccountStatus::Unknown).is_err());
        assert_eq!(accounts::AccountStatus::parse("dormant"), None);
        assert_eq!(accounts::AccountStatus::parse("unknown"), None);
        assert_eq!(
            accounts::AccountStatus::parse("frozen"),
            Some(accounts::AccountStatus::Frozen)
        );
    }
}
