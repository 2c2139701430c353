//! logto-actix's instances sharing one real `redis-server`: the cases every web framework's
//! integration runs (`tests/cases/web_redis.rs`), on logto-actix's app (`support`).

mod support;

use logto_actix as sdk;

#[path = "../../tests/cases/web_redis.rs"]
mod cases;
