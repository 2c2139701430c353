//! logto-actix against the project's Logto-compatible provider: the cases every web
//! framework's integration runs (`tests/cases/web_provider.rs`), on logto-actix's app
//! (`support`).

mod support;

use logto_actix as sdk;

#[path = "../../tests/cases/web_provider.rs"]
mod cases;
