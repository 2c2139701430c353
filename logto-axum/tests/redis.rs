//! logto-axum's instances sharing one real `redis-server`: the cases every web framework's
//! integration runs (`tests/cases/web_redis.rs`), on logto-axum's app (`support`).

mod support;

use logto_axum as sdk;

#[path = "../../tests/cases/web_redis.rs"]
mod cases;
