//! logto-reqwest's machine client and API validator against the provider: the async cases
//! every async transport runs (`tests/cases/async_api.rs`).

use logto_reqwest as sdk;

#[path = "../../tests/cases/async_api.rs"]
mod cases;
