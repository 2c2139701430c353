//! logto-axum against the project's Logto-compatible provider: the cases every web
//! framework's integration runs (`tests/cases/web_provider.rs`), on logto-axum's app
//! (`support`).

mod support;

use logto_axum as sdk;

#[path = "../../tests/cases/web_provider.rs"]
mod cases;
