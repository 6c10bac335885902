//! Plain types and rules. Architecture invariant: nothing here does IO — no store,
//! no clock reads (callers pass `now`), no network.

pub mod access;
pub mod account;
pub mod billing;
pub mod email;
pub mod invalid;
pub mod invite;
pub mod json_bounds;
pub mod order;
pub mod password;
pub mod petition;
pub mod will;
pub use invalid::Invalid;
