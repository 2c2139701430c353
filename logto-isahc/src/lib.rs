//! Async Logto client over [`logto_proto`], driven by `isahc`.
//!
//! The client API lands in a following step; today this crate only re-exports the core.
#![forbid(unsafe_code)]

pub use logto_proto as proto;
