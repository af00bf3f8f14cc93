//! The schema is embedded by `sqlx::migrate!` at build time: rebuild when a migration is added or
//! changed, not only when this crate's own sources change.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
