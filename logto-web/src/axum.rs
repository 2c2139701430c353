//! axum's response for an [`Answer`] and an [`Error`] (the `axum` feature, for logto-axum).

use crate::{Answer, Error};
use axum_core::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body).into_response();
        let headers = response.headers_mut();
        // The body's own type is the answer's, if it names one.
        headers.remove(http::header::CONTENT_TYPE);
        for (name, value) in self.headers {
            // A name or value a header cannot carry is left out (the rules build none).
            let name = HeaderName::from_bytes(name.as_bytes());
            if let (Ok(name), Ok(value)) = (name, HeaderValue::try_from(value)) {
                headers.append(name, value);
            }
        }
        response
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.answer().into_response()
    }
}
